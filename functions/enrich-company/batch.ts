// One batch of the enrichment queue (lib/constructs/company-enrichment.ts), as the SQS event-source
// mapping hands it over with ReportBatchItemFailures: a message enriched (or dropped) is deleted by
// Lambda when the function returns, a message listed in `batchItemFailures` stays on the queue and
// comes back once its visibility timeout ends
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). Its receive count
// grows with each delivery; at the queue's maxReceiveCount (ENRICHMENT_ATTEMPTS) SQS moves it to the
// dead-letter queue.
//
// A message the Finch budget refused (FinchRateLimited, with the budget's Retry-After) is hidden
// until the budget has room: ChangeMessageVisibility to that many seconds, plus a spread that grows
// with its receive count, so a burst of connects does not come back all at once to be refused all
// again (each refusal spends one of the message's receives). Other retryable faults keep the
// queue's visibility timeout. An event it cannot read is logged and dropped, not retried.
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { Log } from '#core/deps.js';
import type { EnrichmentOutcome } from '#core/enrichment.js';
import { FinchRateLimited } from '#core/errors.js';
import { type EnrichmentEvent, type enrichmentEvent, readMessageBody } from './schema.js';

/** SQS's longest visibility timeout, 12 hours (ChangeMessageVisibility's VisibilityTimeout: 0 to 43,200 seconds). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** What became of one message. */
export type MessageOutcome = EnrichmentOutcome | 'dropped' | 'throttled' | 'failed';

export interface BatchDeps {
  schema: ReturnType<typeof enrichmentEvent>;
  enrich(detail: EnrichmentEvent['detail']): Promise<EnrichmentOutcome>;
  /** ChangeMessageVisibility of the message with this receipt handle. */
  hide(receiptHandle: string, seconds: number): Promise<void>;
  log: Log;
  /** Each message's outcome (the CompanyEnrichments metric). */
  observe(outcome: MessageOutcome): void;
  /** [0, 1); Math.random unless a test fixes it. */
  random?: () => number;
}

/**
 * How long a message the budget refused stays hidden: at least its Retry-After, and up to
 * Retry-After × 2^receives, uniformly ("full jitter" above the floor the budget sets). The refused
 * messages of a burst spread over a window that doubles with each refusal until they arrive about as
 * fast as the budget lets them through; test/unit/enrich-company/batch.test.ts runs a burst
 * against the budget's own GCRA.
 */
export function hiddenFor(retryAfterSeconds: number, receiveCount: number, random: () => number): number {
  const floor = Math.max(1, Math.ceil(retryAfterSeconds));
  const window = floor * 2 ** Math.min(Math.max(receiveCount, 1), 16);
  return Math.min(MAX_VISIBILITY_SECONDS, floor + Math.floor(random() * (window - floor)));
}

export async function enrichBatch(records: readonly SQSRecord[], deps: BatchDeps): Promise<SQSBatchResponse> {
  const random = deps.random ?? Math.random;
  const batchItemFailures: SQSBatchItemFailure[] = [];
  // Once the budget refused one message, the rest of the batch would be refused too (they take the
  // same buckets): each is hidden without spending a take on it.
  let refusedFor: number | null = null;
  for (const record of records) {
    const message = { message_id: record.messageId, receive_count: receiveCountOf(record) };
    if (refusedFor !== null) {
      await hide(deps, record, hiddenFor(refusedFor, message.receive_count, random), message);
      batchItemFailures.push({ itemIdentifier: record.messageId });
      deps.observe('throttled');
      continue;
    }
    const read = readMessageBody(deps.schema, record.body);
    if ('problems' in read) {
      // Not retried: the same message would fail the same way. Paths only, never the values.
      deps.log.error('enrich-company: not an event it takes; dropped', { ...message, problems: read.problems });
      deps.observe('dropped');
      continue;
    }
    const { detail } = read.event;
    const ids = { ...message, event_id: detail.id, type: detail.type, connection_id: detail.connection_id, customer_id: detail.customer_id };
    try {
      const outcome = await deps.enrich(detail);
      deps.log.info('company enrichment', { ...ids, outcome });
      deps.observe(outcome);
    } catch (error) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      if (error instanceof FinchRateLimited) {
        refusedFor = error.retryAfterSeconds;
        const seconds = hiddenFor(refusedFor, message.receive_count, random);
        deps.log.info('company enrichment throttled by the Finch budget; hidden until it has room', { ...ids, retry_after_seconds: refusedFor, hidden_seconds: seconds });
        await hide(deps, record, seconds, message);
        deps.observe('throttled');
      } else {
        deps.log.warn('company enrichment failed; the message comes back after the queue\'s visibility timeout', { ...ids, error: (error as Error).name });
        deps.observe('failed');
      }
    }
  }
  return { batchItemFailures };
}

/** A visibility change that fails leaves the queue's own visibility timeout: the message still comes back, so this is only logged. */
async function hide(deps: BatchDeps, record: SQSRecord, seconds: number, message: object): Promise<void> {
  try {
    await deps.hide(record.receiptHandle, seconds);
  } catch (error) {
    deps.log.warn('enrich-company: the message\'s visibility could not be changed; it comes back after the queue\'s visibility timeout', { ...message, error: (error as Error).name });
  }
}

function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}
