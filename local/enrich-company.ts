// The bus rule → enrichment queue → enrich-company, locally (issue 15): the local bus
// (local/events/bus.ts) delivers each of ENRICHING_EVENTS to the real enrich-company handler,
// invoked as Lambda's SQS event-source mapping invokes it: a batch of one message whose body is the
// EventBridge event, with its receive count and a receipt handle the handler's own SQS client can
// change the visibility of (local/events/queue-endpoint.ts). A message the handler reports in
// `batchItemFailures` is delivered again by the bus after the visibility the handler asked for (a
// throttled enrichment: when the Finch budget has room), else after the bus's backoff (in AWS, the
// queue's visibility timeout), up to ENRICHMENT_ATTEMPTS deliveries, the queue's maxReceiveCount.
// So `npm start` shows the employer's name within seconds of connecting, and a burst of connects
// gets every name, with the code that runs in AWS.
import { createHash, randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENRICHED_EVENT_TYPES, ENRICHMENT_ATTEMPTS, enrichesCompany } from '#core/enrichment.js';
import type { ConnectionEvent } from './events/bus.js';
import type { LocalEvents } from './events/index.js';
import { LOCAL_QUEUE_NAME } from './events/queue-endpoint.js';

/** The message stays on the queue: the bus delivers it again, after `retryAfterSeconds` when the handler hid it that long. */
export class MessageNotDeleted extends Error {
  constructor(readonly retryAfterSeconds: number | undefined) {
    super('enrich-company reported the message as a batch item failure.');
    this.name = 'MessageNotDeleted';
  }
}

/** EventBridge's principal, as SQS records the sender of a rule target's message. */
const EVENTBRIDGE_SENDER = 'AIDAIENQZJOLO23YVJ4VO';

/** The SQS event Lambda's mapping would hand over for this delivery of the event's message. */
export function queueMessageEvent(event: ConnectionEvent, message: { messageId: string; receiveCount: number; sentAt: number }, receiptHandle: string): SQSEvent {
  const body = JSON.stringify(event);
  return {
    Records: [{
      messageId: message.messageId,
      receiptHandle,
      body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: EVENTBRIDGE_SENDER,
        ApproximateFirstReceiveTimestamp: String(message.sentAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${event.region}:${event.account}:${LOCAL_QUEUE_NAME}`,
      awsRegion: event.region,
    }],
  };
}

/**
 * Imports the handler (its container reads process.env, as at a Lambda cold start: set the
 * handlers' environment, `events.env` included, first) and subscribes it. Returns the unsubscribe.
 */
export async function subscribeEnrichment(events: Pick<LocalEvents, 'bus' | 'queue'>): Promise<() => void> {
  const module = await import('../functions/enrich-company/handler.js');
  let invoke = (event: SQSEvent): Promise<SQSBatchResponse> => module.handler(event);
  // The tests' IAM check records the function's AWS calls (test/support/aws-calls.ts). Never set by `npm start`.
  if (process.env.AWS_CALLS_DIR) {
    const calls = await import('../test/support/aws-calls.js');
    calls.recordCallsOf(module.enrichment, 'enrich-company');
    calls.recordQueueCalls(module.sqs, events.queue.queueUrl, 'enrich-company');
    invoke = (event) => calls.invokeAs('enrich-company', () => module.handler(event));
  }
  // One message per event, as the rule's target puts it on the queue: its id, and how often it was received.
  const messages = new WeakMap<ConnectionEvent, { messageId: string; receiveCount: number; sentAt: number }>();
  const deliver = async (event: ConnectionEvent) => {
    // The rule's pattern: of the initial syncs, only the org data's.
    if (!enrichesCompany(event.detail)) return;
    const message = messages.get(event) ?? { messageId: randomUUID(), receiveCount: 0, sentAt: Date.now() };
    message.receiveCount += 1;
    messages.set(event, message);
    const receiptHandle = events.queue.receive();
    let response: SQSBatchResponse;
    let hidden: number | undefined;
    try {
      response = await invoke(queueMessageEvent(event, message, receiptHandle));
    } finally {
      // The delivery ends here: Lambda deletes the message, or it waits out its visibility timeout.
      hidden = events.queue.settle(receiptHandle);
    }
    if (response.batchItemFailures.some((failure) => failure.itemIdentifier === message.messageId)) throw new MessageNotDeleted(hidden);
  };
  return events.bus.subscribe(ENRICHED_EVENT_TYPES, deliver, { attempts: ENRICHMENT_ATTEMPTS });
}
