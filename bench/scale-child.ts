// The scale scenario, in a process of its own (bench/scale.ts starts it): the real finch-proxy and
// reconcile handlers in process over DynamoDB Local and the Finch emulator (in process too, Finch's
// documented rate limits enforced), on a simulated clock (./sim-clock.ts, installed first) that
// the budget and the emulator both read. Customers are connected through the core's own connect
// flow (create session, the hosted page, the callback) before the clock starts; then the demand of
// ./scale-workload.ts is sent step by step, the clock moved forward between steps, the reconciler
// run on its interval. KMS is a counting stub (as in the round trips); DynamoDB and Finch are real.
import './sim-clock.js';
import { DynamoDBDocumentClient, DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { buildContainer } from '#adapters/container.js';
import { keys } from '#adapters/table.js';
import { finchCredentials } from '#adapters/secrets.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import { handleCallback } from '#core/callback.js';
import type { Log } from '#core/deps.js';
import { BUCKET_NAMES } from '#core/finch-budget.js';
import { createConnectSession } from '#core/sessions.js';
import type { HttpEvent, HttpResult } from '#http/stack.js';
import { startFinchEmulator } from '#local/finch-emulator/index.js';
import { createTestTable } from '../test/support/dynamo.js';
import { authorizeAtFinch } from '../test/support/harness.js';
import { kmsAnswers } from './aws-stubs.js';
import { servePhase } from './child.js';
import { type CallCounter, type SdkClientLike, answerCalls, countCalls, delta } from './counting.js';
import { apiEvent, lambdaContext } from './events.js';
import { type Collector, type ScaleRequest, type ScaleResult, type Storage, newCollector, summarize } from './scale.js';
import { type Demand, READ_MIX, generateDemand } from './scale-workload.js';
import { advanceTo, simNow } from './sim-clock.js';

const CLIENT_ID = 'client-scale';
const CLIENT_SECRET = 'secret-scale-bench';
const PRODUCTS = ['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement'];
const ROOMY = BUCKET_NAMES.map((name) => `${name}=1000000/60`).join(',');
const quiet: Log = { info() {}, warn() {}, error() {} };
type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/**
 * The budget's refusals, by caller kind and bucket, from the functions' own log lines ("finch
 * budget throttled", a WARN: Powertools writes it to stderr).
 */
function countThrottleLines(into: Collector): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = String(chunk);
      for (const line of text.includes('finch budget throttled') ? text.split('\n') : []) {
        try {
          const { message, kind, bucket } = JSON.parse(line) as { message?: string; kind?: string; bucket?: string };
          if (message === 'finch budget throttled') into.throttles[`${kind} ${bucket}`] = (into.throttles[`${kind} ${bucket}`] ?? 0) + 1;
        } catch { /* not a JSON line */ }
      }
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Counts a container's DynamoDB commands, and apart the budget's (a `RATE#` key). */
function countDynamo(client: SdkClientLike, counter: CallCounter, budget: { takes: number }): void {
  countCalls(client, counter);
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'UpdateItemCommand' && String(args.input?.Key?.pk ?? '').startsWith('RATE#')) budget.takes++;
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'scaleBudgetCounter' });
}

async function run(request: ScaleRequest): Promise<ScaleResult> {
  const { workload } = request;
  const collector = newCollector();
  countThrottleLines(collector);
  const table = await createTestTable('scale');
  const emulator = await startFinchEmulator({ port: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, autoEvents: false, now: simNow });
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${emulator.url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`emulator ${path} answered ${res.status}`);
    return res.json() as Promise<any>;
  };
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    FINCH_API_BASE_URL: emulator.url,
    CALLBACK_URL: 'https://api.example/connect/callback',
    FINCH_CLIENT_ID: CLIENT_ID,
    FINCH_CLIENT_SECRET: CLIENT_SECRET,
    // As in AWS: tokens under KMS, answered here by a counting stub.
    KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    RECONCILE_INTERVAL_MINUTES: String(request.reconcileMinutes),
    RECONCILE_MAX_CONNECTIONS: String(request.reconcileMaxConnections),
  });

  // Connecting: the core's own flow with a budget it cannot reach (not what is measured).
  const t0 = performance.now();
  const seeding = buildContainer({ ...process.env, FINCH_RATE_LIMITS: ROOMY }, quiet, finchCredentials, configuredCipher);
  answerCalls(seeding.clients.kms!() as SdkClientLike, kmsAnswers());
  const customers = Array.from({ length: workload.customers }, (_, i) => `scale-${i}`);
  const connections: string[][] = customers.map(() => []);
  let nextCustomer = 0;
  const connectWorker = async () => {
    while (nextCustomer < customers.length) {
      const i = nextCustomer++;
      const caller = { customer_id: customers[i], admin: false, actor: `${customers[i]}-user` };
      for (let c = 0; c < workload.connectionsPerCustomer; c++) {
        const started = await createConnectSession(seeding.deps, caller, { flow: 'redirect', products: PRODUCTS, entity: `e${c}` });
        const back = await authorizeAtFinch(started.connect_url);
        const { result } = await handleCallback(seeding.deps, { flow: 'redirect', state: back.state, code: back.code });
        if (result.status !== 'connected' || !result.connection_id) throw new Error(`connecting ${customers[i]}/e${c} failed: ${JSON.stringify(result)}`);
        connections[i].push(result.connection_id);
        await control(`/_emulator/connections/${result.connection_id}/data`, { employee_size: request.employees });
      }
    }
  };
  await Promise.all(Array.from({ length: request.connectConcurrency }, connectWorker));
  const connectMs = performance.now() - t0;

  // The budget and Finch's windows start empty; Finch's limits on from here.
  await clearBuckets(table.doc, table.tableName);
  const afterConnect = await census(table.doc, table.tableName);
  await control('/_emulator/rate-limits', { reset: true, enforce: true });
  process.env.FINCH_RATE_LIMITS = '';
  const proxy = (await import('../functions/finch-proxy/handler.js')).handler as unknown as Handler;
  const { dataApp } = await import('#http/data-app.js');
  const data = { dynamo: { commands: {}, attempts: {} } as CallCounter, budget: { takes: 0 }, kms: { commands: {}, attempts: {} } as CallCounter };
  countDynamo(dataApp.clients.dynamo, data.dynamo, data.budget);
  const dataKms = dataApp.clients.kms!() as SdkClientLike;
  countCalls(dataKms, data.kms);
  answerCalls(dataKms, kmsAnswers());
  const reconcile = await loadReconciler();
  const bg = { dynamo: { commands: {}, attempts: {} } as CallCounter, budget: { takes: 0 }, kms: { commands: {}, attempts: {} } as CallCounter };
  if (reconcile) {
    countDynamo(reconcile.container.clients.dynamo, bg.dynamo, bg.budget);
    const kms = reconcile.container.clients.kms!() as SdkClientLike;
    countCalls(kms, bg.kms);
    answerCalls(kms, kmsAnswers());
  }

  /** One request through the handler; the Retry-After of its 429, if any. */
  const send = async (demand: Demand & { attempt: number }): Promise<number | null> => {
    const claims = { customer_id: customers[demand.customer], sub: `${customers[demand.customer]}-user` };
    let event: HttpEvent;
    if (demand.kind === 'merge') event = apiEvent('GET', '/directory?limit=100', { claims });
    else {
      const read = READ_MIX.find((entry) => entry.product === demand.product)!;
      event = apiEvent(read.method, `/finch${read.path}`, {
        claims, headers: { 'finch-connection-id': connections[demand.customer][demand.connection] }, ...('body' in read ? { body: read.body } : {}),
      });
    }
    const t = performance.now();
    const result = await proxy(event, lambdaContext('finch-proxy'));
    return collector.record(demand, result, performance.now() - t);
  };

  // One of each flow alone first: its round trips (the cost model's), then the budget and Finch's windows reset again.
  const snapshot = () => ({ dynamo: { ...data.dynamo.commands }, budget: data.budget.takes, kms: { ...data.kms.commands }, finch: { ...emulator.state().calls } });
  const calibrate = async (operation: string, demand: Demand) => {
    const before = snapshot();
    const t = performance.now();
    await send({ ...demand, attempt: 0 });
    const ms = performance.now() - t;
    const after = snapshot();
    collector.flows.push({
      operation, ms, finch: delta(after.finch, before.finch), dynamodb: delta(after.dynamo, before.dynamo),
      budgetTakes: after.budget - before.budget, kms: delta(after.kms, before.kms),
    });
  };
  for (const read of READ_MIX) await calibrate(`proxied read: ${read.product}`, { at: 0, customer: 0, kind: 'read', product: read.product, connection: 0 });
  await calibrate(`GET /directory (${workload.connectionsPerCustomer} connections, ${request.employees} people each)`, { at: 0, customer: 1, kind: 'merge' });
  collector.reset();
  await clearBuckets(table.doc, table.tableName);
  await control('/_emulator/rate-limits', { reset: true, enforce: true });
  const before = { data: snapshot(), bg: { dynamo: { ...bg.dynamo.commands }, budget: bg.budget.takes, kms: { ...bg.kms.commands } } };

  // The simulation: `tickMs` steps of simulated time; each step's requests at once, awaited before the clock moves.
  const demand = generateDemand(workload);
  const start = Math.ceil(simNow() / 60_000) * 60_000 + 60_000;
  advanceTo(start);
  const span = workload.minutes * 60_000;
  const retries: Array<Demand & { attempt: number }> = [];
  const runs: Array<Promise<void>> = [];
  let next = 0;
  let nextReconcile = request.reconcileOffsetMinutes * 60_000;
  let lastSeen: Record<string, number> = {};
  let lastRefused: Record<string, number> = {};
  const t1 = performance.now();
  for (let t = 0; t < span; t += request.tickMs) {
    // At most `speed` simulated seconds a real one: the reconciler, running beside the steps, keeps a pace near a Lambda's.
    const behind = t / request.speed - (performance.now() - t1);
    if (request.speed > 0 && behind > 0) await new Promise((resolve) => setTimeout(resolve, behind));
    advanceTo(start + t);
    const limits = await control('/_emulator/rate-limits') as { in_window: Record<string, number>; seen: Record<string, number>; refused: Record<string, number>; ip_blocked_until: number | null };
    collector.sampleWindows(limits.in_window, limits.ip_blocked_until !== null);
    if (t % 60_000 === 0 && t > 0) {
      collector.minutes.push({ seen: delta(limits.seen, lastSeen), refused: delta(limits.refused, lastRefused) });
      lastSeen = limits.seen;
      lastRefused = limits.refused;
    }
    if (reconcile && t >= nextReconcile) {
      runs.push(reconcile.run(request.reconcileMinutes * 60_000 - 5_000).then((report) => { collector.reconcileRuns.push({ at: t, ...report }); }));
      nextReconcile += request.reconcileMinutes * 60_000;
    }
    const due: Array<Demand & { attempt: number }> = [];
    while (next < demand.length && demand[next].at < t + request.tickMs) due.push({ ...demand[next++], attempt: 0 });
    for (let i = retries.length - 1; i >= 0; i--) if (retries[i].at < t + request.tickMs) due.push(...retries.splice(i, 1));
    await Promise.all(due.map(async (item) => {
      const retryAfter = await send(item);
      // An application that is told Retry-After comes back then, once, if the simulation still runs.
      if (retryAfter !== null && item.attempt < request.retries && t + retryAfter * 1000 < span) {
        retries.push({ ...item, at: t + retryAfter * 1000, attempt: item.attempt + 1 });
      }
    }));
  }
  await Promise.all(runs);
  const limits = await control('/_emulator/rate-limits') as { seen: Record<string, number>; refused: Record<string, number> };
  collector.minutes.push({ seen: delta(limits.seen, lastSeen), refused: delta(limits.refused, lastRefused) });
  const simulateMs = performance.now() - t1;

  const totals = {
    proxy: { dynamodb: delta(data.dynamo.commands, before.data.dynamo), budgetTakes: data.budget.takes - before.data.budget, kms: delta(data.kms.commands, before.data.kms) },
    reconcile: { dynamodb: delta(bg.dynamo.commands, before.bg.dynamo), budgetTakes: bg.budget.takes - before.bg.budget, kms: delta(bg.kms.commands, before.bg.kms) },
    finch: { seen: limits.seen, refused: limits.refused },
  };
  const storage = { afterConnect, afterSimulation: await census(table.doc, table.tableName) };
  await emulator.close();
  table.client.destroy();
  return summarize(request, collector, { connectMs, simulateMs, connections: connections.flat().length, reconciler: reconcile !== null, totals, storage });
}

/** Deletes the budget's buckets (one item each, functions/adapters/dynamo/rate-buckets.ts): a fresh budget. */
async function clearBuckets(doc: DynamoDBDocumentClient, tableName: string): Promise<void> {
  await Promise.all(BUCKET_NAMES.map((name) => doc.send(new DeleteCommand({ TableName: tableName, Key: keys.rateBucket(name) }))));
}

/**
 * The table's items by kind (the key's first word, functions/adapters/table.ts) and their size as
 * DynamoDB bills it, about: attribute names plus values, as UTF-8 (numbers counted as their text).
 */
async function census(doc: DynamoDBDocumentClient, tableName: string): Promise<Storage> {
  const kinds: Storage['kinds'] = {};
  const reconcilerChanged: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const kind = String(item.pk).split('#')[0];
      const bytes = Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value)), 0);
      kinds[kind] = { items: (kinds[kind]?.items ?? 0) + 1, bytes: (kinds[kind]?.bytes ?? 0) + bytes };
      // What the reconciler found different (its audit entries' `details.changed`: field names, never values).
      const changed = item.actor === 'reconciler' ? (item.details as { changed?: string } | undefined)?.changed : undefined;
      if (changed) reconcilerChanged[changed] = (reconcilerChanged[changed] ?? 0) + 1;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { kinds, reconcilerChanged };
}

/** The reconcile handler, or null while it is not in this tree (it is imported only if its module loads). */
async function loadReconciler() {
  try {
    const module = await import('../functions/reconcile/handler.js');
    return {
      container: module.reconciler as unknown as { clients: { dynamo: SdkClientLike; kms?: () => unknown } },
      /** One run with `ms` of simulated time: the run is bounded by its connections and the background budget. */
      run: async (ms: number) => {
        const t = performance.now();
        const deadline = simNow() + ms;
        const report = await module.handler({}, { getRemainingTimeInMillis: () => deadline - simNow() });
        return { checked: report.checked, stopped: report.stopped, outcomes: report.outcomes, ms: performance.now() - t };
      },
    };
  } catch (error) {
    process.stderr.write(`scale: no reconciler (${(error as Error).message.split('\n')[0]})\n`);
    return null;
  }
}

servePhase(run);
