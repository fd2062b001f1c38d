// enrich-company: the bus rule's target for connection.connected and connection.reauthenticated
// (issue 15). It reads the connection's employer from Finch with the stored token and records it
// (functions/core/enrichment.ts), so the callback keeps its one Finch call. Not an HTTP route.
//
// EventBridge invokes a Lambda target asynchronously: an error thrown here is retried by Lambda's
// asynchronous invocation (its retry attempts and maximum event age, then its on-failure
// destination), https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html.
// So it throws only what a retry can get past (Finch 5xx, timeout or 429; a store or key-service
// fault); an event it cannot read is logged and dropped, and a token Finch refuses is not an error.
// Locally, `npm start` invokes this same handler with the local bus's events (local/stack.ts).
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import { buildEnrichmentContainer, makeNow } from '#adapters/container.js';
import { metrics } from '#adapters/metrics.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import type { Log } from '#core/deps.js';
import { type EnrichmentOutcome, enrichCompany } from '#core/enrichment.js';
import { enrichmentEvent } from './schema.js';

// Never a token here: the core logs ids and outcomes, and nothing logs the event whole.
const logger = new Logger({ serviceName: 'finch-connections' });
const log: Log = {
  info: (message, attributes = {}) => logger.info(message, attributes as LogAttributes),
  warn: (message, attributes = {}) => logger.warn(message, attributes as LogAttributes),
  error: (message, attributes = {}) => logger.error(message, attributes as LogAttributes),
};

export const enrichment = buildEnrichmentContainer(process.env, log, configuredCipher);
// Every event decrypts a token: the KMS client is made during init, which runs with more CPU.
makeNow(enrichment.clients.kms);
const schema = enrichmentEvent();

export async function handler(event: unknown, context?: Context): Promise<{ outcome: EnrichmentOutcome | 'dropped' }> {
  if (context) logger.addContext(context);
  let outcome: EnrichmentOutcome | 'dropped' | 'failed' = 'failed';
  try {
    ({ outcome } = await enrich(event));
    return { outcome };
  } finally {
    // One EMF line a run (CompanyEnrichments), as the HTTP stack writes a request's.
    metrics.add('CompanyEnrichments', { Outcome: outcome });
    metrics.flush();
  }
}

async function enrich(event: unknown): Promise<{ outcome: EnrichmentOutcome | 'dropped' }> {
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    // Not retried: the same event would fail the same way. Paths only, never the values.
    log.error('enrich-company: not an event it takes; dropped', { problems: parsed.error.issues.map((issue) => issue.path.join('.') || 'event') });
    return { outcome: 'dropped' };
  }
  const { detail } = parsed.data;
  const ids = { event_id: detail.id, type: detail.type, connection_id: detail.connection_id, customer_id: detail.customer_id };
  try {
    const outcome = await enrichCompany(enrichment.deps, detail);
    log.info('company enrichment', { ...ids, outcome });
    return { outcome };
  } catch (error) {
    log.warn('company enrichment failed; the event will be delivered again', { ...ids, error: (error as Error).name });
    throw error;
  }
}
