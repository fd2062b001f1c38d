// EventsPublished (functions/core/metrics.ts) from the events function's batch logic
// (functions/events/publish.ts), EventBridge mocked: only the entries EventBridge accepted count.
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { publishStreamRecords } from '../../../functions/events/publish.js';
import { RecordingMetrics, silentLog } from '../../support/fakes.js';

const eventBridge = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mocked = mockClient(eventBridge);
beforeEach(() => mocked.reset());

let sequence = 5000;
function connectionStored(): DynamoDBRecord {
  sequence += 1;
  const image = marshall({
    pk: `AUDIT#acme#conn-${sequence}`, sk: `2026-11-30T12:00:00.000Z#${sequence}`, id: `entry-${sequence}`, action: 'connection_stored', actor: 'callback:redirect',
    customer_id: 'acme', connection_id: `conn-${sequence}`, at: '2026-11-30T12:00:00.000Z',
    subject: { entity: null, provider_id: 'gusto', company_id: 'company-1', status: 'connected' }, details: {},
  }) as NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
  return {
    eventID: `event-${sequence}`, eventName: 'INSERT', eventVersion: '1.1', eventSource: 'aws:dynamodb', awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-11-30T00:00:00.000',
    dynamodb: { Keys: { pk: image.pk, sk: image.sk }, NewImage: image, SequenceNumber: String(sequence), SizeBytes: 200, StreamViewType: 'NEW_IMAGE' },
  };
}

test('EventsPublished counts the events EventBridge accepted: all of a first call of 10, the one before the failed entry of the second', async () => {
  mocked.on(PutEventsCommand)
    .resolvesOnce({ FailedEntryCount: 0, Entries: Array.from({ length: 10 }, (_, i) => ({ EventId: `eb-${i}` })) })
    .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'eb-10' }, { ErrorCode: 'InternalFailure' }] });
  const metrics = new RecordingMetrics();
  const response = await publishStreamRecords(Array.from({ length: 12 }, connectionStored), { eventBridge, busName: 'bus', log: silentLog, metrics });
  expect(response.batchItemFailures).toHaveLength(1);
  expect(metrics.data).toEqual([
    { name: 'EventsPublished', dimensions: {}, value: 10 },
    { name: 'EventsPublished', dimensions: {}, value: 1 },
  ]);
});
