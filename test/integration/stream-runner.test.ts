// The local event-source mapping (local/events/stream-runner.ts) over DynamoDB Local's real stream:
// what Lambda's mapping promises the events function, checked with handlers that record or fail —
// Lambda-shaped records that pass Powertools' schema, only the filter's records, redelivery from
// the reported record or the whole batch after a throw, a bounded number of attempts then the
// dead-letter file, and a restart that resumes from its checkpoint.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { auditPut } from '#adapters/dynamo/items.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '#local/dynamodb-local.js';
import { StreamRunner, type StreamHandler } from '#local/events/stream-runner.js';
import { type TestTable, createTestTable, localEndpoint } from '../support/dynamo.js';

let table: TestTable;
const dir = mkdtempSync(join(tmpdir(), 'stream-runner-'));
beforeAll(async () => { table = await createTestTable('stream'); });
afterAll(() => {
  table?.client.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const runners: StreamRunner[] = [];
afterEach(async () => { await Promise.all(runners.splice(0).map((runner) => runner.stop())); });

function runner(handler: StreamHandler, options: { deadLetterFile?: string; checkpointFile?: string } = {}) {
  const made = new StreamRunner({
    endpoint: localEndpoint(), region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, tableName: table.tableName, handler,
    maxAttempts: 3, retryDelayMs: 1, ...options,
  });
  runners.push(made);
  return made;
}

let count = 0;
/** An audit entry as the stores write it (auditPut), in its own transaction-less put. */
async function writeEntry(connection: string) {
  const { Put } = auditPut(table.tableName, { action: 'connection_stored', actor: 'finch', customer_id: 'runner-co', connection_id: connection, at: new Date(Date.UTC(2026, 10, 30, 12, 0, count++)).toISOString() });
  await table.doc.send(new PutCommand(Put));
  return Put.Item as { pk: string; sk: string; id: string };
}

/** Every record a handler saw, by invocation; answers what `answer` says. */
function recording(answer: (event: DynamoDBStreamEvent, invocation: number) => DynamoDBBatchResponse | Promise<DynamoDBBatchResponse> = () => ({ batchItemFailures: [] })) {
  const invocations: DynamoDBRecord[][] = [];
  const handler: StreamHandler = async (event) => {
    invocations.push(event.Records);
    return answer(event, invocations.length);
  };
  return { invocations, handler, ids: () => invocations.flat().map((record) => record.dynamodb!.NewImage!.id.S) };
}

// One table for the file: each test reads from the stream's start and keeps the records of its own connections.
const mine = (ids: Array<string | undefined>, written: Array<{ id: string }>) => ids.filter((id) => written.some((item) => item.id === id));

test('records reach the handler in Lambda\'s shape (Powertools\' schema), in order, and only the filter\'s: new audit entries', async () => {
  const written = [await writeEntry('shape-1'), await writeEntry('shape-1')];
  // Neither is an audit INSERT: a connection item, and an update of an audit item.
  await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { pk: 'CUSTOMER#runner-co', sk: 'CONNECTION#shape-1', status: 'connected' } }));
  await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: { pk: written[0].pk, sk: written[0].sk }, UpdateExpression: 'SET touched = :t', ExpressionAttributeValues: { ':t': true } }));
  const seen = recording();
  await runner(seen.handler).drain();
  const records = seen.invocations.flat();
  expect(DynamoDBStreamSchema.safeParse({ Records: records }).success).toBe(true);
  expect(records.every((record) => record.eventName === 'INSERT' && record.dynamodb!.Keys!.pk.S!.startsWith('AUDIT#'))).toBe(true);
  expect(mine(seen.ids(), written)).toEqual(written.map((item) => item.id));
  const [first] = records.filter((record) => record.dynamodb!.NewImage!.id.S === written[0].id);
  expect(first).toMatchObject({
    eventSource: 'aws:dynamodb', awsRegion: LOCAL_REGION, eventSourceARN: expect.stringContaining(`table/${table.tableName}/stream/`),
    dynamodb: { StreamViewType: 'NEW_IMAGE', SequenceNumber: expect.any(String), ApproximateCreationDateTime: expect.any(Number), Keys: { pk: { S: written[0].pk }, sk: { S: written[0].sk } } },
  });
});

test('a reported failure is delivered again from that record; a throw delivers the whole batch again', async () => {
  const written = [await writeEntry('redeliver-1'), await writeEntry('redeliver-1'), await writeEntry('redeliver-1')];
  const seen = recording((event, invocation) => {
    if (invocation === 1) {
      const second = event.Records.find((record) => record.dynamodb!.NewImage!.id.S === written[1].id)!;
      return { batchItemFailures: [{ itemIdentifier: second.dynamodb!.SequenceNumber! }] };
    }
    if (invocation === 2) throw new Error('the function crashed');
    return { batchItemFailures: [] };
  });
  await runner(seen.handler).drain();
  const idsOf = (records: DynamoDBRecord[]) => mine(records.map((record) => record.dynamodb!.NewImage!.id.S), written);
  expect(idsOf(seen.invocations[0])).toEqual(written.map((item) => item.id));
  // From the reported record on, twice (the throw), then taken.
  expect(idsOf(seen.invocations[1])).toEqual(written.slice(1).map((item) => item.id));
  expect(idsOf(seen.invocations[2])).toEqual(written.slice(1).map((item) => item.id));
  expect(seen.invocations).toHaveLength(3);
});

test('a record that keeps failing goes to the dead-letter file after the bounded attempts; the records after it go on', async () => {
  const deadLetterFile = join(dir, 'dead.jsonl');
  const written = [await writeEntry('poison-1'), await writeEntry('poison-1'), await writeEntry('poison-1')];
  const poison = written[1].id;
  const seen = recording((event) => {
    const bad = event.Records.find((record) => record.dynamodb!.NewImage!.id.S === poison);
    return { batchItemFailures: bad ? [{ itemIdentifier: bad.dynamodb!.SequenceNumber! }] : [] };
  });
  const poller = runner(seen.handler, { deadLetterFile });
  await poller.drain();
  const dead = readFileSync(deadLetterFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  expect(dead).toEqual([expect.objectContaining({ reason: 'failed 3 times', record: expect.objectContaining({ dynamodb: expect.objectContaining({ NewImage: expect.objectContaining({ id: { S: poison } }) }) }) })]);
  expect(poller.stats.deadLettered).toBe(1);
  // Three invocations failed at the poison record (the last two delivered from it), then one with what follows it.
  const withPoison = seen.invocations.filter((records) => records.some((record) => record.dynamodb!.NewImage!.id.S === poison));
  expect(withPoison).toHaveLength(3);
  expect(withPoison.slice(1).every((records) => records[0].dynamodb!.NewImage!.id.S === poison)).toBe(true);
  expect(seen.invocations.at(-1)!.map((record) => record.dynamodb!.NewImage!.id.S)).toEqual([written[2].id]);
});

test('a restart with the checkpoint file goes on after the last record handled', async () => {
  const checkpointFile = join(dir, 'checkpoints.json');
  const before = await writeEntry('restart-1');
  const first = recording();
  await runner(first.handler, { checkpointFile }).drain();
  expect(first.ids()).toContain(before.id);
  const after = await writeEntry('restart-1');
  const second = recording();
  await runner(second.handler, { checkpointFile }).drain();
  expect(second.ids()).toEqual([after.id]);
});

test('the background poller delivers what is written while it runs', async () => {
  const seen = recording();
  const poller = runner(seen.handler);
  poller.start();
  const written = await writeEntry('background-1');
  // No timed assertion: drain() waits for the poll in flight and reads whatever is left.
  await poller.drain();
  expect(seen.ids()).toContain(written.id);
  expect(seen.ids().filter((id) => id === written.id)).toHaveLength(1);
});
