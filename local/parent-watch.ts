// npm passes a SIGTERM aimed at `npm start` to its shell only, so tsx and this process would live
// on, holding Java and the ports. The stack therefore watches the processes that launched it (up
// to the package manager) and stops when one of them is gone. Linux reads /proc; elsewhere only
// the direct parent is watched (a changed ppid means it died).
import { readFileSync } from 'node:fs';
import { isAlive } from './processes.ts';

const POLL_MS = 1000;
const MAX_DEPTH = 4;

export function watchLaunchers(onGone: (pid: number) => void): () => void {
  const watched = launcherPids();
  const firstPpid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== firstPpid) return onGone(firstPpid);
    const gone = watched.find((pid) => !isAlive(pid));
    if (gone !== undefined) onGone(gone);
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The parent, then its ancestors up to and including npm/yarn/pnpm when there is one. */
function launcherPids(): number[] {
  const pids: number[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
    const stat = procStat(pid);
    if (!stat) return pids.length ? pids : [process.ppid];
    pids.push(pid);
    if (/\b(npm|npx|yarn|pnpm)\b/.test(stat.cmdline)) return pids;
    pid = stat.ppid;
  }
  // No package manager above us (say `tsx local/start.ts` from a shell): only the direct parent,
  // so `nohup` and a closed terminal's shell do not stop the stack.
  return pids.slice(0, 1);
}

function procStat(pid: number): { ppid: number; cmdline: string } | undefined {
  try {
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return Number.isInteger(ppid) ? { ppid, cmdline } : undefined;
  } catch {
    return undefined;
  }
}
