// moto's server (Python, `moto_server`): KMS and Secrets Manager speaking the real AWS protocols,
// for the adapter tests that need AWS's own answers (test/support/moto.ts). global-setup.ts starts
// one per Jest run when `moto_server` is on PATH, next to DynamoDB Local.
//
// Node loads this file itself (type stripping, from global-setup.ts): `.ts` specifiers, no subpath
// imports, and no syntax type stripping refuses (no parameter properties, no enums).
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { freePort } from '../../local/dynamodb-local.ts';
import { captureOutput, settlesWithin } from '../../local/processes.ts';

export interface RunningMoto {
  endpoint: string;
  pid: number;
  startedInMs: number;
  /** SIGTERM to moto and anything it started, SIGKILL if they linger; resolves once moto has exited. */
  stop(): Promise<void>;
  /** Synchronous last resort for `process.on('exit')`. */
  killNow(): void;
}

const POLL_MS = 50;
const STOP_GRACE_MS = 3_000;

export async function startMotoServer(executable: string, readyTimeoutMs = 30_000): Promise<RunningMoto> {
  // A free port can be taken between our probe and moto's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(executable, await freePort(), readyTimeoutMs);
    } catch (error) {
      lastError = error;
      if (!/Address already in use/i.test(String((error as Error).message))) break;
    }
  }
  throw lastError;
}

async function startOnce(executable: string, port: number, readyTimeoutMs: number): Promise<RunningMoto> {
  const started = Date.now();
  // Not detached: a Ctrl-C in the terminal reaches moto along with Jest. Without `-r` moto runs no
  // reloader, and pyenv's shim execs Python, so the pid is moto's own; stop() still sweeps children.
  const proc = spawn(executable, ['-p', String(port), '-H', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const output = captureOutput(proc);
  const exited = new Promise<void>((resolve) => { proc.once('exit', () => resolve()); });
  const failedEarly = new Promise<never>((_, reject) => {
    proc.once('error', reject);
    void exited.then(() => reject(new Error(`moto_server exited before it answered on port ${port}. Its output:\n${output()}`)));
  });
  failedEarly.catch(() => undefined);

  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const killNow = () => {
    if (!alive()) return;
    for (const pid of [...descendantsOf(proc.pid), proc.pid]) signal(pid, 'SIGKILL');
  };
  // Whatever ends this process, moto must not outlive it.
  process.once('exit', killNow);
  const stop = async () => {
    process.removeListener('exit', killNow);
    const children = descendantsOf(proc.pid);
    if (alive()) {
      signal(proc.pid, 'SIGTERM');
      if (!(await settlesWithin(exited, STOP_GRACE_MS))) {
        signal(proc.pid, 'SIGKILL');
        await settlesWithin(exited, STOP_GRACE_MS);
      }
    }
    for (const pid of children) signal(pid, 'SIGKILL');
    proc.stdout?.destroy();
    proc.stderr?.destroy();
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilAnswering(endpoint, readyTimeoutMs), failedEarly]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, pid: proc.pid!, startedInMs: Date.now() - started, stop, killNow };
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Any HTTP answer will do: the dashboard is served once the Flask app is up.
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) }).then((response) => response.arrayBuffer());
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

/** Every process below `pid`, from /proc (Linux); none elsewhere, where moto's pid is all there is. */
function descendantsOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const parents = new Map<number, number>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last ')'.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // The process ended while we looked.
      }
    }
  } catch {
    return [];
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
