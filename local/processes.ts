// Small helpers for the child processes the local stack and the tests start and stop (DynamoDB
// Local's Java, moto_server, the stack itself). Imported with `.ts` specifiers: Jest's global setup
// loads these files through Node's own type stripping.
import type { ChildProcess } from 'node:child_process';

/** True while a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `promise` settles within `ms`, without leaving a timer behind. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last few KiB of a child's output for error messages, and keeps its pipes drained. */
export function captureOutput(proc: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => { text = (text + chunk.toString('utf8')).slice(-8192); };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  return () => text;
}
