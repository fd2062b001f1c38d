// The events pipe over a test file's table, built from the local stack's own parts
// (local/events/index.ts): DynamoDB Local's stream → the stream runner (Powertools' schema, the
// mapping's filter, redelivery) → the real events handler → its EventBridge client → the local bus.
// The runner does not poll by itself here: drain() reads the stream to its end and waits for every
// delivery, so a test asserts on what every committed change produced without a timed wait.
import { LOCAL_REGION } from '#local/dynamodb-local.js';
import { type LocalEvents, startLocalEvents } from '#local/events/index.js';
import type { StreamRunner } from '#local/events/stream-runner.js';
import { localEndpoint } from './dynamo.js';
import type { TestTable } from './dynamo.js';

export interface EventsPipe extends LocalEvents {
  runner: StreamRunner;
}

export async function startEventsPipe(table: TestTable, options: { stateDir?: string; forwardUrl?: string } = {}): Promise<EventsPipe> {
  const events = await startLocalEvents({
    region: process.env.AWS_REGION ?? LOCAL_REGION,
    stateDir: options.stateDir,
    forwardUrl: options.forwardUrl,
    bus: { attempts: 3, retryDelayMs: 10 },
    log: () => undefined,
  });
  // The events handler reads these at import, as at a cold start.
  Object.assign(process.env, events.env);
  const runner = await events.startStream({
    endpoint: localEndpoint(),
    tableName: table.tableName,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' },
    runner: { maxAttempts: 3, retryDelayMs: 5 },
    poll: false,
  });
  return { ...events, runner };
}
