// enrich-company's batch logic (functions/enrich-company/batch.ts) with SQS mocked
// (aws-sdk-client-mock), as the handler wires it: which messages it reports as batch item failures
// (Lambda deletes the others: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html),
// how long it hides a message the Finch budget refused (ChangeMessageVisibility, at most 12 hours),
// and a burst of connects against the budget's own GCRA: every message enriched within the queue's
// maxReceiveCount.
import { mockClient } from 'aws-sdk-client-mock';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { ENRICHMENT_ATTEMPTS, type EnrichmentOutcome } from '#core/enrichment.js';
import { FinchRateLimited, FinchUnavailable } from '#core/errors.js';
import { DEFAULT_BUDGET, gcraTake, paceOf } from '#core/finch-budget.js';
import type { BucketState } from '#core/ports/rate-buckets.js';
import { MAX_VISIBILITY_SECONDS, type MessageOutcome, enrichBatch, hiddenFor } from '../../../functions/enrich-company/batch.js';
import { enrichmentEvent } from '../../../functions/enrich-company/schema.js';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/FinchConnections-CompanyEnrichmentQueue';
const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mocked = mockClient(sqs);
const logged: Array<{ level: string; message: string; attributes?: Record<string, unknown> }> = [];
const log = {
  info: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'info', message, attributes }),
  warn: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'warn', message, attributes }),
  error: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'error', message, attributes }),
};

beforeEach(() => {
  mocked.reset();
  mocked.on(ChangeMessageVisibilityCommand).resolves({});
  logged.length = 0;
});

function record(n: number, options: { receiveCount?: number; body?: string; type?: string; reason?: string } = {}): SQSRecord {
  const type = options.type ?? 'connection.connected';
  const event = {
    version: '0', id: `eb-${n}`, 'detail-type': type, source: 'finch-connections', account: '123456789012', time: '2026-01-01T00:00:00Z',
    region: 'us-east-1', resources: [],
    detail: { id: `audit-${n}`, type, connection_id: `00000000-0000-4000-8000-00000000000${n}`, customer_id: 'acme', ...(options.reason ? { reason: options.reason } : {}) },
  };
  return {
    messageId: `message-${n}`, receiptHandle: `receipt-${n}`, body: options.body ?? JSON.stringify(event),
    attributes: { ApproximateReceiveCount: String(options.receiveCount ?? 1), SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q', awsRegion: 'us-east-1',
  };
}

/** The batch as the handler runs it: the real schema, this SQS client, `answers` in place of the core (one per call, in order). */
async function run(records: SQSRecord[], answers: Array<EnrichmentOutcome | Error>, random = () => 0.5) {
  const outcomes: MessageOutcome[] = [];
  const enriched: string[] = [];
  const response = await enrichBatch(records, {
    schema: enrichmentEvent(),
    enrich: async (detail) => {
      enriched.push(detail.connection_id);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('more enrichments than answers');
      if (answer instanceof Error) throw answer;
      return answer;
    },
    hide: async (receiptHandle, seconds) => {
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: QUEUE_URL, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
    },
    log,
    observe: (outcome) => outcomes.push(outcome),
    random,
  });
  const hidden = mocked.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
  return { response, outcomes, enriched, hidden };
}

describe('a batch: what Lambda deletes and what stays on the queue', () => {
  test('all enriched: no batch item failure, no visibility change', async () => {
    const { response, outcomes, hidden } = await run([record(1), record(2)], ['updated', 'unchanged']);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(outcomes).toEqual(['updated', 'unchanged']);
    expect(hidden).toEqual([]);
  });

  test('the budget refuses the second (Retry-After 7 s): it and the third are reported and hidden at least 7 s, the third without a take of its own', async () => {
    const { response, outcomes, enriched, hidden } = await run(
      [record(1), record(2), record(3, { receiveCount: 3 })],
      ['updated', new FinchRateLimited(7, null)],
      () => 0.5,
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-2' }, { itemIdentifier: 'message-3' }] });
    expect(enriched).toHaveLength(2);
    expect(outcomes).toEqual(['updated', 'throttled', 'throttled']);
    // At receive 1: 7 + half of (7·2 − 7); at receive 3: 7 + half of (7·8 − 7).
    expect(hidden).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'receipt-2', VisibilityTimeout: 10 },
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'receipt-3', VisibilityTimeout: 31 },
    ]);
  });

  test('Finch unavailable: reported with the queue\'s own visibility timeout (no ChangeMessageVisibility); the next message is still tried', async () => {
    const { response, outcomes, hidden } = await run([record(1), record(2)], [new FinchUnavailable(), 'updated']);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
    expect(outcomes).toEqual(['failed', 'updated']);
    expect(hidden).toEqual([]);
    expect(logged.find((line) => line.level === 'warn')?.attributes).toMatchObject({ error: 'FinchUnavailable', message_id: 'message-1' });
  });

  test.each([
    ['a body that is not JSON', record(1, { body: '{"source":' })],
    ['another type', record(1, { type: 'connection.disconnected' })],
    ['the payroll data\'s initial sync (the rule takes the org data\'s only)', record(1, { type: 'connection.initial_sync_completed', reason: 'payroll' })],
  ])('%s: dropped (deleted), logged by path, never retried', async (_name, message) => {
    const { response, outcomes, enriched } = await run([message], []);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(outcomes).toEqual(['dropped']);
    expect(enriched).toEqual([]);
    expect(logged).toEqual([expect.objectContaining({ level: 'error', message: 'enrich-company: not an event it takes; dropped' })]);
  });

  test('the org data\'s initial sync is enriched', async () => {
    const { outcomes } = await run([record(1, { type: 'connection.initial_sync_completed', reason: 'org' })], ['updated']);
    expect(outcomes).toEqual(['updated']);
  });

  test('ChangeMessageVisibility failing: the message is still reported (it comes back after the queue\'s timeout), and the failure logged', async () => {
    mocked.on(ChangeMessageVisibilityCommand).rejects(Object.assign(new Error('gone'), { name: 'ReceiptHandleIsInvalid' }));
    const { response } = await run([record(1)], [new FinchRateLimited(3, null)]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
    expect(logged.filter((line) => line.level === 'warn').map((line) => line.attributes?.error)).toEqual(['ReceiptHandleIsInvalid']);
  });
});

describe('hiddenFor: the budget\'s Retry-After, spread over a window doubling with each receive', () => {
  test('at least Retry-After, at most Retry-After × 2^receives, never over SQS\'s 12 hours', () => {
    for (const receives of [1, 2, 5, 10]) {
      expect(hiddenFor(4, receives, () => 0)).toBe(4);
      expect(hiddenFor(4, receives, () => 0.999999)).toBe(4 * 2 ** receives - 1);
    }
    expect(hiddenFor(60, 20, () => 0.999999)).toBe(MAX_VISIBILITY_SECONDS);
    expect(MAX_VISIBILITY_SECONDS).toBe(12 * 3600);
  });
});

describe('a burst of connects against the shared budget (its own GCRA, Finch\'s /employer/company numbers, a background caller)', () => {
  /** Each message received when it shows, refused or let through by the company bucket; answers the most receives any message needed. */
  function simulate(messages: number, hide: (retryAfterSeconds: number, receives: number) => number): { mostReceives: number; lastDoneAfterSeconds: number } {
    const pace = paceOf(DEFAULT_BUDGET.limits.company, DEFAULT_BUDGET, 'background');
    let state: BucketState | null = null;
    const waiting = Array.from({ length: messages }, (_, i) => ({ visibleAt: i * 10, receives: 0 }));
    let mostReceives = 0;
    let now = 0;
    while (waiting.length > 0) {
      waiting.sort((a, b) => a.visibleAt - b.visibleAt);
      const message = waiting.shift()!;
      now = Math.max(now, message.visibleAt);
      message.receives += 1;
      mostReceives = Math.max(mostReceives, message.receives);
      const { outcome, next } = gcraTake(state, pace, now);
      state = next;
      if (outcome.taken) continue;
      // As FinchBudget.take answers it.
      const retryAfter = Math.max(1, Math.ceil((outcome.retryAt - now) / 1000));
      message.visibleAt = now + hide(retryAfter, message.receives) * 1000;
      waiting.push(message);
    }
    return { mostReceives, lastDoneAfterSeconds: Math.round(now / 1000) };
  }
  /** A fixed sequence, so the run is the same every time. */
  const seeded = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  test('60 connects at once: every enrichment gets through within ENRICHMENT_ATTEMPTS receives', () => {
    const random = seeded(7);
    const { mostReceives, lastDoneAfterSeconds } = simulate(60, (retryAfter, receives) => hiddenFor(retryAfter, receives, random));
    expect(mostReceives).toBeLessThan(ENRICHMENT_ATTEMPTS);
    // The budget's pace is the floor: about one every 3.8 s after its burst.
    expect(lastDoneAfterSeconds).toBeGreaterThan(200);
  });

  test('hidden for exactly Retry-After instead (no spread), the burst comes back together and some message runs out of receives', () => {
    const { mostReceives } = simulate(60, (retryAfter) => retryAfter);
    expect(mostReceives).toBeGreaterThan(ENRICHMENT_ATTEMPTS);
  });
});
