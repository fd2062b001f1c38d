// Load on the local stack (`npm start` as a child process, test/e2e/stack-process.ts): K full
// connect flows at once over loopback, each as an application and an employer's browser would
// make it; then the table is checked for duplicate owners and the emulator for exchanges.
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#adapters/table.js';
import { BUCKET_NAMES } from '#core/finch-budget.js';
import { type Answer, type StackProcess, http, parseConnectForm, startStackProcess } from '../test/e2e/stack-process.js';
import { median, percentile } from './counting.js';

export interface StartedStack {
  stack: StackProcess;
  /** From spawning the process to its `ready` line. */
  readyMs: number;
}

/**
 * The load measures the handlers under a burst of connect flows (hundreds of Finch calls in
 * seconds): past the shared Finch budget's IP burst at Finch's numbers, whose refusals it would
 * count as errors. So the stack it starts has a budget it cannot reach (each call still takes it).
 */
const ROOMY_FINCH_BUDGET = BUCKET_NAMES.map((name) => `${name}=1000000/60`).join(',');

export async function startLocalStack(env: Record<string, string> = {}): Promise<StartedStack> {
  const started = Date.now();
  const stack = await startStackProcess(['--quiet'], 120_000, { FINCH_RATE_LIMITS: ROOMY_FINCH_BUDGET, ...env });
  return { stack, readyMs: Date.now() - started };
}

export interface RouteLatency {
  route: string;
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface LoadResult {
  flows: number;
  /** Every flow's callback sent twice at once (a double submit) for this share of flows. */
  doubleSubmitEvery: number;
  completedFlows: number;
  wallMs: number;
  flowsPerSecond: number;
  requestsPerSecond: number;
  routes: RouteLatency[];
  errors: number;
  errorSamples: string[];
  connectionsStored: number;
  duplicateOwners: number;
  codeExchanges: number;
  /** Second callbacks of a double submit answered `callback_in_progress` after waiting for the first. */
  doubleSubmitsThatWaitedOut: number;
  peakRssMb: { gateway: number; dynamodbLocal: number };
  /** CPU the stack's two processes used during the load: where its time goes. */
  cpuSeconds: { gateway: number; dynamodbLocal: number };
}

export interface LoadOptions {
  flows: number;
  /** Every n-th flow double-submits its callback (0: none). */
  doubleSubmitEvery: number;
  timeoutMs: number;
}

const CONNECTION_SK_PREFIX = keys.connection('x', '').sk;
const OWNER_SK = keys.owner('x').sk;

/** VmRSS or VmHWM of a process in MiB (Linux); 0 where /proc is not there. */
function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU seconds of a process so far (Linux); 0 where /proc is not there. */
function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** USER_HZ: 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;

export async function runLoad(started: StartedStack, options: LoadOptions): Promise<LoadResult> {
  const { apiUrl, finchUrl, dynamodbEndpoint, tableName, pid, dynamodbPid } = started.stack.stack;
  const run = Date.now().toString(36);
  // The emulator counts since the stack started, and the events part connects on the same stack first.
  const exchanges = async () => ((await http('GET', `${finchUrl}/_emulator/state`)).json as { calls: Record<string, number> }).calls['POST /auth/token'] ?? 0;
  const exchangesBefore = await exchanges();
  const customers = Array.from({ length: options.flows }, (_, i) => `load-${run}-${i}`);

  // Tokens first, a few at a time: minting is not part of a flow.
  const tokens: string[] = [];
  for (let i = 0; i < customers.length; i += 16) {
    const batch = await Promise.all(customers.slice(i, i + 16).map(async (customer_id) => {
      const res = await http('POST', `${apiUrl}/_local/token`, { body: { customer_id, expires_in: 3600 } });
      if (res.status !== 200) throw new Error(`minting a dev token answered ${res.status}: ${res.text}`);
      return (res.json as { token: string }).token;
    }));
    tokens.push(...batch);
  }

  const latencies = new Map<string, number[]>();
  const routeErrors = new Map<string, number>();
  const errorSamples: string[] = [];
  let errors = 0;
  let requests = 0;
  const fail = (route: string, message: string) => {
    errors++;
    routeErrors.set(route, (routeErrors.get(route) ?? 0) + 1);
    if (errorSamples.length < 5) errorSamples.push(`${route}: ${message}`);
  };
  /** One request, timed under its route; a thrown error (timeout, refused) is an error of that route. */
  const timed = async (route: string, call: () => Promise<Answer>): Promise<Answer | undefined> => {
    const t0 = performance.now();
    requests++;
    try {
      const answer = await call();
      const list = latencies.get(route) ?? [];
      list.push(performance.now() - t0);
      latencies.set(route, list);
      return answer;
    } catch (error) {
      fail(route, (error as Error).message);
      return undefined;
    }
  };

  let peakGateway = 0;
  let peakJava = 0;
  const sampler = setInterval(() => {
    peakGateway = Math.max(peakGateway, memoryMb(pid, 'VmRSS'));
    peakJava = Math.max(peakJava, memoryMb(dynamodbPid, 'VmRSS'));
  }, 200);

  let completed = 0;
  let gaveUp = 0;
  const flow = async (i: number): Promise<void> => {
    const token = tokens[i];
    const session = await timed('POST /connect/sessions', () => http('POST', `${apiUrl}/connect/sessions`, { token, body: {} }));
    if (session?.status !== 201) return session && fail('POST /connect/sessions', `${session.status} ${session.text.slice(0, 160)}`);
    const connectUrl = (session.json as { connect_url: string }).connect_url;
    const page = await timed('Finch hosted page (emulator)', () => http('GET', connectUrl));
    if (page?.status !== 200) return page && fail('Finch hosted page (emulator)', String(page.status));
    const form = parseConnectForm(page.text);
    const authorize = await timed('Finch authorize (emulator)', () => http('POST', new URL(form.action, connectUrl).href, {
      form: { ...form.fields, provider_id: 'gusto', outcome: 'success' },
    }));
    if (authorize?.status !== 302 || !authorize.location) return authorize && fail('Finch authorize (emulator)', String(authorize.status));
    const callbackUrl = authorize.location;
    const double = options.doubleSubmitEvery > 0 && i % options.doubleSubmitEvery === 0;
    const answers = await Promise.all(Array.from({ length: double ? 2 : 1 }, () =>
      timed('GET /connect/callback', () => http('GET', callbackUrl))));
    const outcomes = answers.map((answer) => {
      const params = new URL(answer?.location ?? 'http://none/').searchParams;
      return { answer, connected: answer?.status === 302 && params.get('status') === 'connected', params };
    });
    const connectionId = outcomes.find((o) => o.connected)?.params.get('connection_id') ?? null;
    for (const { answer, connected, params } of outcomes) {
      if (!answer || connected) continue;
      // Of a double submit, the one that lost the claim waits 3 s for the other, then says so: by design.
      if (double && connectionId && params.get('error') === 'callback_in_progress') gaveUp++;
      else fail('GET /connect/callback', `${answer.status} ${params.toString() || answer.text.slice(0, 160)}`);
    }
    if (!connectionId) return;
    const list = await timed('GET /connections', () => http('GET', `${apiUrl}/connections`, { token }));
    const listed = (list?.json as { connections?: Array<{ connection_id: string }> } | undefined)?.connections ?? [];
    if (list?.status !== 200 || !listed.some((c) => c.connection_id === connectionId)) {
      return list && fail('GET /connections', `${list.status}, the new connection ${listed.length ? 'not ' : ''}listed`);
    }
    completed++;
  };

  const cpuBefore = { gateway: cpuSeconds(pid), java: cpuSeconds(dynamodbPid) };
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), options.timeoutMs); });
  const all = Promise.all(customers.map((_, i) => flow(i).catch((error: Error) => fail('flow', error.message))));
  const outcome = await Promise.race([all.then(() => 'done' as const), deadline]);
  const wallMs = performance.now() - t0;
  clearTimeout(timer);
  clearInterval(sampler);
  const cpu = { gateway: cpuSeconds(pid) - cpuBefore.gateway, dynamodbLocal: cpuSeconds(dynamodbPid) - cpuBefore.java };
  if (outcome === 'timeout') fail('flow', `${options.flows - completed} flows unfinished after ${options.timeoutMs} ms`);
  peakGateway = Math.max(peakGateway, memoryMb(pid, 'VmHWM'));
  peakJava = Math.max(peakJava, memoryMb(dynamodbPid, 'VmHWM'));

  const { connections, duplicates } = await checkOwners(dynamodbEndpoint, tableName, new Set(customers));
  const codeExchanges = await exchanges() - exchangesBefore;

  return {
    flows: options.flows,
    doubleSubmitEvery: options.doubleSubmitEvery,
    completedFlows: completed,
    wallMs,
    flowsPerSecond: completed / (wallMs / 1000),
    requestsPerSecond: requests / (wallMs / 1000),
    routes: [...latencies.entries()].map(([route, values]) => ({
      route, count: values.length, errors: routeErrors.get(route) ?? 0,
      p50Ms: median(values), p95Ms: percentile(values, 95), p99Ms: percentile(values, 99),
    })),
    errors,
    errorSamples,
    connectionsStored: connections,
    duplicateOwners: duplicates,
    codeExchanges,
    doubleSubmitsThatWaitedOut: gaveUp,
    peakRssMb: { gateway: peakGateway, dynamodbLocal: peakJava },
    cpuSeconds: cpu,
  };
}

/**
 * Invariant 1 as the table shows it: per connection_id at most one connection item, under the
 * customer its ownership item names. Returns this run's connections and the ids that break it.
 */
async function checkOwners(endpoint: string, tableName: string, customers: Set<string>) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const doc = DynamoDBDocumentClient.from(client);
  const holders = new Map<string, string[]>();
  const owners = new Map<string, string>();
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (sk === OWNER_SK) owners.set(String(item.connection_id), String(item.customer_id));
        else if (sk.startsWith(CONNECTION_SK_PREFIX) && customers.has(String(item.customer_id))) {
          const id = String(item.connection_id);
          holders.set(id, [...(holders.get(id) ?? []), String(item.customer_id)]);
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  let duplicates = 0;
  for (const [id, customersHolding] of holders) {
    if (customersHolding.length > 1 || owners.get(id) !== customersHolding[0]) duplicates++;
  }
  return { connections: holders.size, duplicates };
}
