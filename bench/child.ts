// A benchmark phase in a process of its own: forked with tsx, stdout going nowhere (the handlers'
// log lines), one request in and one result out over IPC.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export type PhaseReply<T> = { ok: true; result: T } | { ok: false; error: string };

export function runPhase<T>(script: string, env: Record<string, string>, request: object): Promise<T> {
  const child = fork(join(REPO_ROOT, 'bench', script), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    // Only what the phase is given: nothing of the developer's AWS profile or shell reaches it.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-4000); });
  return new Promise((resolve, reject) => {
    child.once('message', (reply: PhaseReply<T>) => {
      if (reply.ok) resolve(reply.result);
      else reject(new Error(`${script} failed: ${reply.error}`));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) without a result\n${stderr}`)));
    child.send(request);
  });
}

/** The child's side: answers the one request with `work`'s result, then exits. */
export function servePhase<Req, Res>(work: (request: Req) => Promise<Res>): void {
  const reply = (message: PhaseReply<Res>, code: number) => process.send!(message, undefined, undefined, () => process.exit(code));
  process.once('message', (request: Req) => {
    work(request).then(
      (result) => reply({ ok: true, result }, 0),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }, 1),
    );
  });
}
