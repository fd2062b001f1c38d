// Starts `local/start.ts` as `npm start` would, as a child process on free ports with its own state
// folder, and stops it with a signal. The e2e tests drive it over HTTP only.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../../local/processes.js';
import { checkAnswer } from '../support/openapi-check.js';
export { isAlive };

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StackFile {
  apiUrl: string;
  finchUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  pid: number;
  dynamodbPid: number;
}

export interface StackProcess {
  child: ChildProcess;
  stack: StackFile;
  stackFile: string;
  stateDir: string;
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, wait for the exit; SIGKILL after the grace period. Resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export function spawnStack(args: string[] = [], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', FINCH_EMULATOR_PORT: '0', DYNAMODB_PORT: '0', ...env };
  // The stack records its functions' AWS calls in AWS_CALLS_DIR (inherited): name this test file in
  // them. Outside Jest (npm run bench) there is no `expect`, and nothing is recorded.
  const testPath = (globalThis as { expect?: { getState(): { testPath?: string } } }).expect?.getState().testPath;
  childEnv.AWS_CALLS_SOURCE = relative(REPO_ROOT, testPath ?? 'test/e2e');
  // Jest's own DynamoDB Local must not leak in: the stack starts and owns its own.
  delete childEnv.DYNAMODB_ENDPOINT;
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
  child.stderr!.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

export async function startStackProcess(args: string[] = ['--quiet'], timeoutMs = 100_000, env: Record<string, string> = {}): Promise<StackProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'finch-connections-e2e-'));
  const { child, output, exited } = spawnStack(args, { ...env, LOCAL_STATE_DIR: stateDir });
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => { exitCode = code; });
  while (!/^ready in /m.test(output())) {
    if (exitCode !== undefined) throw new Error(`the stack exited (${exitCode}) before it was ready:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the stack was not ready within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stackFile = join(stateDir, 'stack.json');
  const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as StackFile;
  apiOrigins.add(new URL(stack.apiUrl).origin);
  return {
    child, stack, stackFile, stateDir, output,
    stop: async (signal = 'SIGTERM', graceMs = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Last resort for afterAll: nothing the test started may outlive it. */
export function killStack(stack: StackProcess | undefined): void {
  if (!stack) return;
  if (stack.child.exitCode === null && stack.child.signalCode === null) stack.child.kill('SIGKILL');
  if (isAlive(stack.stack.dynamodbPid)) process.kill(stack.stack.dynamodbPid, 'SIGKILL');
  rmSync(stack.stateDir, { recursive: true, force: true });
}

// ---- HTTP, as an application and a browser would speak it --------------------------------
/** The stacks' API origins: each answer from one is checked against openapi.json (test/support/openapi-check.ts). */
const apiOrigins = new Set<string>();

export interface Answer { status: number; headers: Headers; text: string; json: any; location: string | null }

export async function http(method: string, url: string, options: { token?: string; body?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  const target = new URL(url);
  if (apiOrigins.has(target.origin)) {
    checkAnswer({ method, path: target.pathname, status: res.status, headers: Object.fromEntries(res.headers), body: text });
  }
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, location: res.headers.get('location') };
}

/** The emulator's hosted Connect page: its form's action and fields, as a browser would post them. */
export function parseConnectForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error('the hosted page has no form');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields[match[1]] = match[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  }
  return { action, fields };
}
