// From the table's stream to the bus: each new audit entry (the transactional outbox,
// functions/core/ports/audit.ts) that is a public event (functions/core/events.ts) is put on the
// EventBridge bus, in the stream's order, at most 10 entries a PutEvents call (PutEvents' limit:
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
//
// A stream record is Lambda's DynamoDB stream record: `eventName`, `dynamodb.Keys`,
// `dynamodb.NewImage` (the view type NEW_IMAGE), `dynamodb.SequenceNumber`
// (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html,
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html).
//
// Failures are reported per record (ReportBatchItemFailures): the sequence number of the first
// record that failed, because for a stream Lambda checkpoints before it and delivers it and every
// record after it again (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
// So nothing after a failure is put in this invocation (it would be put twice), and a record put
// before the failure in the same call may be put again: at-least-once, the detail's `id` dedupes.
//
// Not Powertools' batch processor (processPartialResponse with EventType.DynamoDBStreams): cheap
// to bundle (+6.2 KB minified, +0.5% of the import's instructions, measured with bench/bundling.ts'
// settings and bench/cold.ts), but it handles one record at a time, so one PutEvents call per event
// instead of one per 10, and it goes on after a failure, putting events that will be delivered again.
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { toAuditRecord } from '#adapters/dynamo/items.js';
import { TABLE_KEYS } from '#adapters/table.js';
import { type ConnectionEventDetail, EVENT_SOURCE, toConnectionEvent } from '#core/events.js';
import type { Log } from '#core/deps.js';
import type { Metrics } from '#core/ports/metrics.js';

const MAX_ENTRIES_PER_CALL = 10;
const AUDIT_PREFIX = 'AUDIT#';

export interface PublishDeps {
  eventBridge: EventBridgeClient;
  /** EVENT_BUS_NAME: the stack's bus. */
  busName: string;
  log: Log;
  /** EventsPublished counts here (functions/core/metrics.ts); absent, nothing is counted. */
  metrics?: Metrics;
}

interface Pending {
  sequenceNumber: string;
  detail: ConnectionEventDetail;
}

/** The audit entry a record inserted, or null when the record is not one (the mapping's filter, checked again here). */
function insertedAuditItem(record: DynamoDBRecord): Record<string, unknown> | null {
  if (record.eventName !== 'INSERT') return null;
  const pk = record.dynamodb?.Keys?.[TABLE_KEYS.partitionKey]?.S;
  if (!pk?.startsWith(AUDIT_PREFIX)) return null;
  const image = record.dynamodb?.NewImage;
  // NEW_IMAGE streams always carry it: without it the record cannot be read, so it fails (and, after
  // the mapping's bounded retries, goes to its on-failure destination) rather than vanish.
  if (!image) throw new Error('stream record without NewImage (is the stream view type NEW_IMAGE?)');
  // aws-lambda's AttributeValue is the same wire shape as the SDK's.
  return unmarshall(image as Record<string, AttributeValue>);
}

const entryOf = (detail: ConnectionEventDetail, busName: string): PutEventsRequestEntry => ({
  Source: EVENT_SOURCE,
  DetailType: detail.type,
  Detail: JSON.stringify(detail),
  EventBusName: busName,
  // The event's time is the change's, so a replay from the archive keeps it.
  Time: new Date(detail.occurred_at),
});

const failed = (sequenceNumber: string): DynamoDBBatchResponse => ({ batchItemFailures: [{ itemIdentifier: sequenceNumber }] });

/** Puts the events of one batch of stream records; the batch response names the first record that failed. */
export async function publishStreamRecords(records: readonly DynamoDBRecord[], deps: PublishDeps): Promise<DynamoDBBatchResponse> {
  const pending: Pending[] = [];
  // A record that cannot be read stops the batch there: the ones before it are still put.
  let unreadable: string | undefined;
  for (const record of records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
    try {
      const item = insertedAuditItem(record);
      const detail = item ? toConnectionEvent(toAuditRecord(item)) : null;
      if (detail) pending.push({ sequenceNumber, detail });
    } catch (error) {
      deps.log.error('stream record not readable', { sequence_number: sequenceNumber, error: error instanceof Error ? error.message : 'unknown' });
      unreadable = sequenceNumber;
      break;
    }
  }

  for (let start = 0; start < pending.length; start += MAX_ENTRIES_PER_CALL) {
    const chunk = pending.slice(start, start + MAX_ENTRIES_PER_CALL);
    let firstFailed: number;
    try {
      const answer = await deps.eventBridge.send(new PutEventsCommand({ Entries: chunk.map(({ detail }) => entryOf(detail, deps.busName)) }));
      firstFailed = (answer.FailedEntryCount ?? 0) > 0 ? (answer.Entries ?? []).findIndex((entry) => !entry.EventId || entry.ErrorCode) : -1;
      // FailedEntryCount without a failed entry to point at: the whole call is in doubt.
      if ((answer.FailedEntryCount ?? 0) > 0 && firstFailed < 0) firstFailed = 0;
      if (firstFailed >= 0) {
        const entry = answer.Entries?.[firstFailed];
        deps.log.warn('event not put', { id: chunk[firstFailed].detail.id, type: chunk[firstFailed].detail.type, error_code: entry?.ErrorCode ?? 'unknown', failed_entries: answer.FailedEntryCount });
      }
    } catch (error) {
      deps.log.warn('PutEvents failed', { error: error instanceof Error ? error.name : 'unknown', events: chunk.length });
      firstFailed = 0;
    }
    const put = firstFailed < 0 ? chunk : chunk.slice(0, firstFailed);
    for (const { detail } of put) deps.log.info('event put', { id: detail.id, type: detail.type, connection_id: detail.connection_id });
    if (put.length > 0) deps.metrics?.add('EventsPublished', {}, put.length);
    if (firstFailed >= 0) return failed(chunk[firstFailed].sequenceNumber);
  }
  return unreadable === undefined ? { batchItemFailures: [] } : failed(unreadable);
}
