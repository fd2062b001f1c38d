// The events function: the DynamoDB stream's consumer (event-source filter AUDIT_STREAM_FILTER in
// functions/adapters/table.ts: new audit entries only), which puts each entry's public event on the
// stack's bus (functions/events/publish.ts). Not an HTTP route; its only AWS call is PutEvents
// (reading the stream is the event-source mapping's). Locally, local/events/stream-runner.ts
// invokes this same handler with records from DynamoDB Local's stream.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { loadConfig } from '#adapters/config.js';
import { logOf, serviceLogger } from '#adapters/log.js';
import { metrics } from '#adapters/metrics.js';
import { publishStreamRecords } from './publish.js';

// The stream carries audit entries, which never hold a secret; still, only ids and types are logged.
const logger = serviceLogger();
const log = logOf(logger);
const config = loadConfig(process.env, ['events']);

/** Made once per container; locally pointed at the local bus (EVENTBRIDGE_ENDPOINT). */
export const eventBridge = new EventBridgeClient(config.EVENTBRIDGE_ENDPOINT ? { endpoint: config.EVENTBRIDGE_ENDPOINT } : {});

export async function handler(event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> {
  if (context) logger.addContext(context);
  try {
    const response = await publishStreamRecords(event.Records ?? [], { eventBridge, busName: config.EVENT_BUS_NAME, log, metrics });
    logger.info('stream batch', { records: event.Records?.length ?? 0, failed_at: response.batchItemFailures[0]?.itemIdentifier ?? null });
    if (response.batchItemFailures.length > 0) metrics.add('EventRecordsFailed', {});
    return response;
  } finally {
    // The batch's EMF lines (EventsPublished, EventRecordsFailed), as the HTTP stack writes a request's.
    metrics.flush();
  }
}
