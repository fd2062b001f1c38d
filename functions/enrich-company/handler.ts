// enrich-company: the enrichment queue's consumer (issue 15). The bus's rule puts each of
// ENRICHING_EVENTS (connection.connected, connection.reauthenticated, the org data's
// connection.initial_sync_completed) on an SQS queue, and Lambda's SQS event-source mapping hands
// them here in small batches, a few at a time (lib/constructs/company-enrichment.ts). For each, it
// reads the connection's employer from Finch with the stored token and records it
// (functions/core/enrichment.ts), so the callback keeps its one Finch call. Not an HTTP route.
//
// Retries are the queue's (functions/enrich-company/batch.ts): a failed message is reported in the
// partial batch response and comes back after its visibility timeout, which a refusal of the Finch
// budget sets to when the budget has room. A token Finch refuses is not an error; an event it
// cannot read is logged and dropped. Locally, `npm start` invokes this same handler with each
// local bus event wrapped as the queue's message (local/enrich-company.ts).
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildEnrichmentContainer, makeNow } from '#adapters/container.js';
import { logOf, serviceLogger } from '#adapters/log.js';
import { metrics } from '#adapters/metrics.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import { enrichCompany } from '#core/enrichment.js';
import { enrichBatch } from './batch.js';
import { enrichmentEvent } from './schema.js';

// Never a token here: the core logs ids and outcomes, and nothing logs a message body.
const logger = serviceLogger();
const log = logOf(logger);

export const enrichment = buildEnrichmentContainer(process.env, log, configuredCipher);
// Every event decrypts a token: the KMS client is made during init, which runs with more CPU.
makeNow(enrichment.clients.kms);
const queueUrl = enrichment.config.ENRICHMENT_QUEUE_URL;
/**
 * Only for ChangeMessageVisibility (receiving and deleting are the mapping's). Its endpoint is the
 * queue URL's origin: in AWS the URL CloudFormation gives (https://sqs.<region>.amazonaws.com/…),
 * locally the local queue's loopback endpoint (local/events/queue-endpoint.ts).
 */
export const sqs = new SQSClient({ endpoint: new URL(queueUrl).origin });
const schema = enrichmentEvent();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  if (context) logger.addContext(context);
  try {
    return await enrichBatch(event.Records ?? [], {
      schema,
      enrich: (detail) => enrichCompany(enrichment.deps, detail),
      hide: async (receiptHandle, seconds) => {
        await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
      },
      log,
      // One datum a message (CompanyEnrichments), flushed once a batch as the HTTP stack flushes a request's.
      observe: (outcome) => metrics.add('CompanyEnrichments', { Outcome: outcome }),
    });
  } finally {
    metrics.flush();
  }
}
