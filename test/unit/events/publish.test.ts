// The events function's batch logic (functions/events/publish.ts) with EventBridge mocked
// (aws-sdk-client-mock): what it puts, in which calls, and which record it reports when PutEvents
// fails. For a DynamoDB stream, Lambda retries from the reported record and everything after it,
// so the report is the FIRST record that failed
// (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { publishStreamRecords } from '../../../functions/events/publish.js';
import type { AuditRecord } from '#core/ports/audit.js';

const eventBridge = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mocked = mockClient(eventBridge);
const logged: Array<{ level: string; message: string; attributes?: Record<string, unknown> }> = [];
const log = {
  info: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'info', message, attributes }),
  warn: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'warn', message, attributes }),
  error: (message: string, attributes?: Record<string, unknown>) => logged.push({ level: 'error', message, attributes }),
};
const deps = { eventBridge, busName: 'finch-connections-bus', log };

beforeEach(() => {
  mocked.reset();
  logged.length = 0;
});

let sequence = 1000;
/** A stream record of Lambda's DynamoDB event (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). */
function streamRecord(item: Record<string, unknown>, eventName: DynamoDBRecord['eventName'] = 'INSERT'): DynamoDBRecord {
  sequence += 1;
  const image = marshall(item, { removeUndefinedValues: true }) as NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
  return {
    eventID: `event-${sequence}`, eventName, eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-11-30T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1_796_000_000, Keys: { pk: image.pk, sk: image.sk }, NewImage: image,
      SequenceNumber: String(sequence), SizeBytes: 200, StreamViewType: 'NEW_IMAGE',
    },
  };
}

let count = 0;
/** An audit item as auditPut writes it, with a secret-looking detail the event must not carry. */
function auditItem(action: AuditRecord['action'] = 'connection_stored', connection = `conn-${++count}`) {
  return {
    pk: `AUDIT#acme#${connection}`, sk: `2026-11-30T12:00:00.000Z#${count}`, id: `entry-${count}`, action, actor: 'finch',
    customer_id: 'acme', connection_id: connection, at: '2026-11-30T12:00:00.000Z',
    subject: { entity: null, provider_id: 'gusto', company_id: 'company-1', status: 'connected' },
    details: { flow: 'redirect', note: 'tok_must_not_leave' },
  };
}

const putEntries = () => mocked.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
const detailIds = (entries: PutEventsRequestEntry[]) => entries.map((entry) => JSON.parse(entry.Detail!).id as string);
const accepted = (n: number) => ({ FailedEntryCount: 0, Entries: Array.from({ length: n }, (_, i) => ({ EventId: `eb-${i}` })) });

describe('what is put', () => {
  test('each new audit entry that is an event, in the stream\'s order, at most 10 a call, on the configured bus', async () => {
    mocked.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => accepted(input.Entries.length));
    const items = Array.from({ length: 23 }, () => auditItem());
    const response = await publishStreamRecords(items.map((item) => streamRecord(item)), deps);
    expect(response).toEqual({ batchItemFailures: [] });
    const calls = putEntries();
    expect(calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(calls.flatMap(detailIds)).toEqual(items.map((item) => item.id));
    expect(calls[0][0]).toEqual({
      Source: 'finch-connections', DetailType: 'connection.connected', EventBusName: 'finch-connections-bus',
      Time: new Date('2026-11-30T12:00:00.000Z'), Detail: expect.any(String),
    });
    expect(JSON.stringify(calls)).not.toContain('tok_must_not_leave');
  });

  test('records that are no event are read past: updates, other items, sessions, unchanged statuses', async () => {
    mocked.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => accepted(input.Entries.length));
    const event = auditItem('reauthenticated');
    const records = [
      streamRecord(auditItem(), 'MODIFY'),
      streamRecord({ pk: 'CUSTOMER#acme', sk: 'CONNECTION#c', status: 'connected' }),
      streamRecord({ ...auditItem('session_created'), connection_id: null, subject: undefined }),
      streamRecord({ ...auditItem('refreshed'), details: { previous_status: 'connected' } }),
      streamRecord(event),
    ];
    expect(await publishStreamRecords(records, deps)).toEqual({ batchItemFailures: [] });
    expect(putEntries().map(detailIds)).toEqual([[event.id]]);
    expect(await publishStreamRecords(records.slice(0, 4), deps)).toEqual({ batchItemFailures: [] });
    expect(mocked.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});

describe('partial batch failure: the first record that failed', () => {
  test('an entry EventBridge refuses (FailedEntryCount): its record, and no later call is made', async () => {
    const items = Array.from({ length: 25 }, () => auditItem());
    const records = items.map((item) => streamRecord(item));
    mocked.on(PutEventsCommand)
      .resolvesOnce(accepted(10))
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: Array.from({ length: 10 }, (_, i) => (i === 4 || i === 7 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'x' } : { EventId: `eb-${i}` })),
      });
    const response = await publishStreamRecords(records, deps);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[14].dynamodb!.SequenceNumber }] });
    expect(mocked.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(logged.filter((line) => line.message === 'event put').map((line) => line.attributes!.id)).toEqual(items.slice(0, 14).map((item) => item.id));
  });

  test('records that are no event before the failure do not move the report: it names the failed event\'s record', async () => {
    const records = [streamRecord(auditItem('code_exchanged')), streamRecord(auditItem()), streamRecord(auditItem('session_created')), streamRecord(auditItem())];
    mocked.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'eb-1' }, { ErrorCode: 'ThrottlingException' }] });
    expect(await publishStreamRecords(records, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: records[3].dynamodb!.SequenceNumber }] });
  });

  test('PutEvents throwing (after the SDK\'s own retries): the first record of that call', async () => {
    const records = Array.from({ length: 12 }, () => streamRecord(auditItem()));
    mocked.on(PutEventsCommand).resolvesOnce(accepted(10)).rejectsOnce(Object.assign(new Error('down'), { name: 'InternalException' }));
    expect(await publishStreamRecords(records, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: records[10].dynamodb!.SequenceNumber }] });
  });

  test('FailedEntryCount with no entry marked: the whole call is in doubt, its first record is reported', async () => {
    const records = [streamRecord(auditItem()), streamRecord(auditItem())];
    mocked.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    expect(await publishStreamRecords(records, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: records[0].dynamodb!.SequenceNumber }] });
  });

  test('a record that cannot be read (no NewImage): the events before it are put, it is reported', async () => {
    mocked.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => accepted(input.Entries.length));
    const good = [auditItem(), auditItem()];
    const broken = streamRecord(auditItem());
    delete broken.dynamodb!.NewImage;
    const records = [...good.map((item) => streamRecord(item)), broken, streamRecord(auditItem())];
    expect(await publishStreamRecords(records, deps)).toEqual({ batchItemFailures: [{ itemIdentifier: broken.dynamodb!.SequenceNumber }] });
    expect(putEntries().map(detailIds)).toEqual([good.map((item) => item.id)]);
  });
});

test('logs name ids and types only: never a detail', async () => {
  mocked.on(PutEventsCommand).resolvesOnce(accepted(1)).resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
  await publishStreamRecords([streamRecord(auditItem())], deps);
  await publishStreamRecords([streamRecord(auditItem())], deps);
  expect(logged.length).toBeGreaterThan(1);
  const text = JSON.stringify(logged);
  for (const field of ['tok_must_not_leave', 'gusto', 'company-1', 'occurred_at', 'Detail']) expect(text).not.toContain(field);
});
