// The events pipe on one machine, as the stack runs it in AWS: DynamoDB Local's stream → the real
// events handler (local/events/stream-runner.ts, the event-source mapping's stand-in) → its real
// EventBridge client → the local bus (local/events/bus.ts, behind a PutEvents endpoint on a
// loopback port). `npm start` (local/stack.ts) and the integration tests both build it here, with
// the enrichment queue's ChangeMessageVisibility endpoint (local/events/queue-endpoint.ts) that
// enrich-company's SQS client talks to (local/enrich-company.ts subscribes it to the bus).
import { join } from 'node:path';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { LocalBus } from './bus.js';
import { type RunningEndpoint, startPutEventsEndpoint } from './put-events-endpoint.js';
import { type LocalQueueEndpoint, startQueueEndpoint } from './queue-endpoint.js';
import { StreamRunner, type StreamHandler, type StreamRunnerOptions } from './stream-runner.js';

export const LOCAL_BUS_NAME = 'finch-connections-local';

export interface LocalEventsOptions {
  region: string;
  /** Where `events.jsonl`, the dead letters and the stream checkpoints are written; none: nothing is. */
  stateDir?: string;
  /** EVENTS_FORWARD_URL: each event's detail is POSTed there. */
  forwardUrl?: string;
  /** The PutEvents endpoint's port (default: any free one). */
  port?: number;
  log?: (line: string) => void;
  /** The bus's delivery retries (tests shorten them). */
  bus?: { attempts?: number; retryDelayMs?: number };
}

export interface StreamInput {
  endpoint: string;
  tableName: string;
  credentials: StreamRunnerOptions['credentials'];
  /** Runner settings beyond the defaults (tests: fewer attempts, shorter waits, no background polling). */
  runner?: Partial<Pick<StreamRunnerOptions, 'batchSize' | 'maxAttempts' | 'retryDelayMs' | 'pollIntervalMs'>>;
  /** false: no background polling, only drain() (tests decide when the stream is read). Default true. */
  poll?: boolean;
}

export interface LocalEvents {
  bus: LocalBus;
  /** The enrichment queue's stand-in: enrich-company's ChangeMessageVisibility calls land here. */
  queue: LocalQueueEndpoint;
  /** What the events and enrich-company handlers read at import: set it in process.env before importing them. */
  env: { EVENT_BUS_NAME: string; EVENTBRIDGE_ENDPOINT: string; ENRICHMENT_QUEUE_URL: string };
  /** Imports the events handler (with env set) and reads the table's stream into it. */
  startStream(input: StreamInput): Promise<StreamRunner>;
  /** Every change committed so far handed to the handler, and every delivery of its events settled. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalEvents(options: LocalEventsOptions): Promise<LocalEvents> {
  const bus = new LocalBus({
    busName: LOCAL_BUS_NAME,
    region: options.region,
    file: options.stateDir ? join(options.stateDir, 'events.jsonl') : undefined,
    forwardUrl: options.forwardUrl,
    log: options.log,
    ...options.bus,
  });
  const endpoint: RunningEndpoint = await startPutEventsEndpoint(bus, options.port ?? 0);
  const queue = await startQueueEndpoint();
  let runner: StreamRunner | undefined;

  return {
    bus,
    queue,
    env: { EVENT_BUS_NAME: LOCAL_BUS_NAME, EVENTBRIDGE_ENDPOINT: endpoint.url, ENRICHMENT_QUEUE_URL: queue.queueUrl },
    async startStream(input) {
      if (runner) throw new Error('the stream is already read');
      // The handler reads EVENT_BUS_NAME and EVENTBRIDGE_ENDPOINT at import, as at a Lambda cold start.
      const events = await import('../../functions/events/handler.js');
      let handler: StreamHandler = events.handler;
      // The tests' IAM check records the function's PutEvents calls (test/support/aws-calls.ts). Never set by `npm start`.
      if (process.env.AWS_CALLS_DIR) {
        const calls = await import('../../test/support/aws-calls.js');
        calls.recordEventsCalls(events.eventBridge, LOCAL_BUS_NAME);
        handler = (event: DynamoDBStreamEvent, context) => calls.invokeAs('events', () => events.handler(event, context));
      }
      runner = new StreamRunner({
        endpoint: input.endpoint,
        region: options.region,
        credentials: input.credentials,
        tableName: input.tableName,
        handler,
        deadLetterFile: options.stateDir ? join(options.stateDir, 'events-dead-letters.jsonl') : undefined,
        checkpointFile: options.stateDir ? join(options.stateDir, 'stream-checkpoints.json') : undefined,
        log: options.log,
        ...input.runner,
      });
      if (input.poll !== false) runner.start();
      return runner;
    },
    async drain() {
      await runner?.drain();
      await bus.settled();
    },
    async close() {
      await runner?.stop();
      bus.close();
      await bus.settled();
      await endpoint.close();
      await queue.close();
    },
  };
}
