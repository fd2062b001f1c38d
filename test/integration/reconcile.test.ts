// The reconciler (functions/reconcile/handler.ts over functions/core/reconcile.ts), over DynamoDB
// Local and the Finch emulator over HTTP, with the events pipe of the local stack: a status Finch
// changed silently (the emulator's control, no webhook) is found, stored through the audited
// status write and comes out of the pipe as the event a webhook's would; nothing new writes only
// the turn; the queue is oldest-checked first and bounded; the background budget stops a run and
// the next run resumes where it stopped; an ended connection is never touched, a DELETE racing a
// check wins; a token Finch refuses is reauth.
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { buildReconcileContainer } from '#adapters/container.js';
import { CHECK_PARTITION, RECONCILE_INDEX, keys } from '#adapters/table.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import type { Log } from '#core/deps.js';
import { RECONCILER_ACTOR, type ReconcileDeps, type ReconcileReport, reconcile } from '#core/reconcile.js';
import type { QueuedConnection } from '#core/ports/check-queue.js';
import { localInterval, startLocalReconciler } from '#local/reconcile.js';
import { invokeAs, recordCallsOf } from '../support/aws-calls.js';
import { type EventsPipe, startEventsPipe } from '../support/events-pipe.js';
import { emfData } from '../support/emf.js';
import {
  capturedLogs, clearFinchBudget, connectCustomer, customerIds, deliverWebhook, emulatorFault, getItem, harnessForFile,
} from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
const customer = customerIds();
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };

type Module = typeof import('../../functions/reconcile/handler.js');
let reconciler: Module['reconciler'];
let handler: Module['handler'];
let pipe: EventsPipe;

beforeAll(async () => {
  pipe = await startEventsPipe(h.table);
  // Imported once the harness has set the environment: the handler reads it at cold start, as in Lambda.
  const module = await import('../../functions/reconcile/handler.js');
  ({ reconciler, handler } = module);
  recordCallsOf(reconciler, 'reconcile');
});
afterAll(async () => { await pipe?.close(); });

/** One scheduled run, as EventBridge invokes it (the event is not read). */
const run = () => invokeAs('reconcile', () => handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { getRemainingTimeInMillis: () => 55_000 }));

/**
 * A run of the core over the container's real adapters, seeing only `mine` of the file's queue (in
 * the queue's own order), so a test's numbers are its own connections'.
 */
function runOver(mine: Set<string>, options: { deps?: ReconcileDeps; maxConnections?: number; hasTime?: () => boolean } = {}) {
  const deps = options.deps ?? reconciler.deps;
  const checks = {
    ...deps.checks,
    readForCheck: deps.checks.readForCheck.bind(deps.checks),
    markChecked: deps.checks.markChecked.bind(deps.checks),
    oldestChecked: async (limit: number): Promise<QueuedConnection[]> =>
      (await deps.checks.oldestChecked(1000)).filter((queued) => mine.has(queued.connection_id)).slice(0, limit),
  };
  return invokeAs('reconcile', () => reconcile({ ...deps, checks }, { intervalMinutes: 15, maxConnections: options.maxConnections ?? 100 }, options.hasTime ?? (() => true)));
}

async function connected(name: string) {
  const customerId = customer(name);
  const connectionId = await connectCustomer(h, claims(customerId));
  return { customerId, connectionId };
}

async function setFinchStatus(connectionId: string, status: string) {
  const res = await fetch(`${h.emulator.url}/_emulator/connections/${connectionId}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }),
  });
  expect(res.status).toBe(200);
}

const item = (customerId: string, connectionId: string) => getItem(h, keys.connection(customerId, connectionId));
const introspections = () => h.emulator.state().calls['GET /introspect'] ?? 0;

async function trail(customerId: string, connectionId: string) {
  const { entries } = await h.app.deps.connections.listAudit(customerId, connectionId, { limit: 100 });
  return entries;
}

/** The reconciler's entries that changed the status (its first check may also store what Finch says beyond it). */
const statusChanges = async (customerId: string, connectionId: string) => (await trail(customerId, connectionId))
  .filter((entry) => entry.actor === RECONCILER_ACTOR && entry.details?.previous_status !== entry.details?.status);

/** Every event of the connection the pipe put on the local bus, once every committed change went through it. */
async function eventsOf(connectionId: string) {
  await pipe.drain();
  return pipe.bus.events(connectionId);
}

/** Connected, then one check so what Finch says of it beyond the status is stored: the next check finds nothing new. */
async function settled(name: string) {
  const found = await connected(name);
  await runOver(new Set([found.connectionId]));
  return found;
}

describe('reconciler: drift Finch did not announce is recorded, with the event a webhook would make', () => {
  test.each([
    ['reauth', 'connection.reauth_required'],
    ['error_permissions', 'connection.status_changed'],
  ])('Finch says %s (no webhook): the status is stored, a refreshed entry by the reconciler with previous_status, and %s comes out of the pipe', async (status, type) => {
    const { customerId, connectionId } = await settled(`drift-${status}`);
    await setFinchStatus(connectionId, status);
    const report = await run();
    expect(report.outcomes.drift).toBeGreaterThanOrEqual(1);
    expect(await item(customerId, connectionId)).toMatchObject({ status });
    const got = await h.invoke(`GET /connections/${connectionId}`, { claims: claims(customerId) });
    expect(got.json).toMatchObject({ status });
    const entries = await statusChanges(customerId, connectionId);
    expect(entries).toEqual([expect.objectContaining({
      action: 'refreshed', subject: expect.objectContaining({ status }), details: expect.objectContaining({ status, previous_status: 'connected' }),
    })]);
    const events = (await eventsOf(connectionId)).filter((event) => event.type !== 'connection.connected');
    expect(events).toEqual([expect.objectContaining({ type, connection_id: connectionId, customer_id: customerId, status, previous_status: 'connected', id: entries[0].id })]);
    // Found once: the next run finds nothing new and writes no second entry.
    await run();
    expect(await statusChanges(customerId, connectionId)).toHaveLength(1);
  });

  test('each run writes its metrics: ReconcilerChecks by outcome (drift among them), ReconcilerRuns by why it stopped', async () => {
    const { connectionId } = await settled('metrics');
    await setFinchStatus(connectionId, 'reauth');
    const from = capturedLogs().length;
    const report = await run();
    const data = emfData(capturedLogs().slice(from));
    const sum = (name: string, dimension: string, value: string) => data
      .filter((datum) => datum.name === name && datum.dimensions[dimension] === value).flatMap((datum) => datum.values).reduce((a, b) => a + b, 0);
    expect(sum('ReconcilerRuns', 'Stopped', 'done')).toBe(1);
    expect(sum('ReconcilerChecks', 'Outcome', 'drift')).toBe(report.outcomes.drift);
    expect(report.outcomes.drift).toBeGreaterThanOrEqual(1);
    expect(sum('ReconcilerChecks', 'Outcome', 'unchanged')).toBe(report.outcomes.unchanged);
  });

  test('a token Finch refuses (401) is reauth, as a refresh stores it: connection.reauth_required', async () => {
    const { customerId, connectionId } = await settled('refused');
    await emulatorFault(h, { method: 'GET', path: '/introspect', status: 401 });
    const report = await runOver(new Set([connectionId]));
    expect(report.outcomes).toMatchObject({ drift: 1 });
    expect(await item(customerId, connectionId)).toMatchObject({ status: 'reauth', status_message: 'Finch no longer accepts this connection\'s token.' });
    const events = (await eventsOf(connectionId)).filter((event) => event.type !== 'connection.connected');
    expect(events).toEqual([expect.objectContaining({ type: 'connection.reauth_required', previous_status: 'connected' })]);
  });
});

describe('reconciler: nothing new moves only the turn', () => {
  test('Finch says what is stored: no audit entry, no event, checked_at advanced, updated_at kept', async () => {
    const { customerId, connectionId } = await settled('steady');
    const before = await item(customerId, connectionId);
    const entries = (await trail(customerId, connectionId)).length;
    const events = (await eventsOf(connectionId)).length;
    const calls = introspections();
    await expect(runOver(new Set([connectionId]))).resolves.toMatchObject({ outcomes: expect.objectContaining({ unchanged: 1, drift: 0 }), stopped: 'done' });
    expect(introspections()).toBe(calls + 1);
    const after = await item(customerId, connectionId);
    expect(after![RECONCILE_INDEX.sortKey] > before![RECONCILE_INDEX.sortKey]).toBe(true);
    expect(after!.introspected_at).toBe(after![RECONCILE_INDEX.sortKey]);
    expect(after!.updated_at).toBe(before!.updated_at);
    expect(after!.status).toBe('connected');
    expect(await trail(customerId, connectionId)).toHaveLength(entries);
    expect(await eventsOf(connectionId)).toHaveLength(events);
  });

  test('a connection whose webhooks flow is passed over while it was introspected lately: its turn moves, Finch is not asked', async () => {
    const { customerId, connectionId } = await settled('webhooked');
    // Finch's directory sync webhook: the webhook path records webhook_at with last_synced_at.
    const res = await deliverWebhook(h, { company_id: 'c', account_id: 'a', connection_id: connectionId, event_type: 'directory.updated', data: { individual_id: 'i' } });
    expect(res.statusCode).toBe(200);
    const before = await item(customerId, connectionId);
    expect(before!.webhook_at).toEqual(expect.any(String));
    await setFinchStatus(connectionId, 'error_permissions');
    const calls = introspections();
    await expect(runOver(new Set([connectionId]))).resolves.toMatchObject({ outcomes: expect.objectContaining({ postponed: 1 }) });
    expect(introspections()).toBe(calls);
    const after = await item(customerId, connectionId);
    expect(after![RECONCILE_INDEX.sortKey] > before![RECONCILE_INDEX.sortKey]).toBe(true);
    expect(after!.introspected_at).toBe(before!.introspected_at);
    expect(after!.status).toBe('connected');
  });
});

describe('reconciler: oldest-checked first, bounded, resumed by the next run', () => {
  test('a run takes at most maxConnections, oldest-checked first; the next run begins with the ones it did not reach', async () => {
    const all = [await settled('order-a'), await settled('order-b'), await settled('order-c')];
    const mine = new Set(all.map((c) => c.connectionId));
    // Every one drifts, so each check leaves a trace of its own.
    for (const { connectionId } of all) await setFinchStatus(connectionId, 'error_no_account_setup');
    const order = (await reconciler.deps.checks.oldestChecked(1000)).filter((queued) => mine.has(queued.connection_id)).map((queued) => queued.connection_id);
    // Checked a, b, c in that order by `settled`: the queue gives them back in it.
    expect(order).toEqual(all.map((c) => c.connectionId));
    const status = async (c: typeof all[number]) => (await item(c.customerId, c.connectionId))!.status;

    await expect(runOver(mine, { maxConnections: 2 })).resolves.toMatchObject({ checked: 2, outcomes: expect.objectContaining({ drift: 2 }) });
    expect(await Promise.all(all.map(status))).toEqual(['error_no_account_setup', 'error_no_account_setup', 'connected']);
    // c's turn is now the oldest.
    const next = (await reconciler.deps.checks.oldestChecked(1000)).filter((queued) => mine.has(queued.connection_id));
    expect(next[0].connection_id).toBe(all[2].connectionId);
    await expect(runOver(mine, { maxConnections: 1 })).resolves.toMatchObject({ checked: 1, outcomes: expect.objectContaining({ drift: 1 }) });
    expect(await status(all[2])).toBe('error_no_account_setup');
  });

  test('no check starts once the run\'s time is short: the run stops as `time` and the rest keeps its turn', async () => {
    const first = await settled('time-a');
    const second = await settled('time-b');
    const before = await item(second.customerId, second.connectionId);
    let checks = 0;
    const report = await runOver(new Set([first.connectionId, second.connectionId]), { hasTime: () => checks++ < 1 });
    expect(report).toMatchObject({ stopped: 'time', checked: 1 });
    expect((await item(second.customerId, second.connectionId))![RECONCILE_INDEX.sortKey]).toBe(before![RECONCILE_INDEX.sortKey]);
  });

  test('the queue holds live connections only: a disconnect takes the connection out, a new connection comes in behind the others', async () => {
    const { customerId, connectionId } = await connected('queued');
    const newest = (await h.table.doc.send(new QueryCommand({
      TableName: h.table.tableName, IndexName: RECONCILE_INDEX.name, KeyConditionExpression: '#p = :live',
      ExpressionAttributeNames: { '#p': RECONCILE_INDEX.partitionKey }, ExpressionAttributeValues: { ':live': CHECK_PARTITION }, ScanIndexForward: false, Limit: 1,
    }))).Items!;
    expect(newest[0]).toEqual({ ...keys.connection(customerId, connectionId), [RECONCILE_INDEX.partitionKey]: CHECK_PARTITION, [RECONCILE_INDEX.sortKey]: expect.any(String) });
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customerId) })).statusCode).toBe(204);
    const queued = await reconciler.deps.checks.oldestChecked(1000);
    expect(queued.map((q) => q.connection_id)).not.toContain(connectionId);
  });
});

describe('reconciler: a connection that cannot be checked does not hold up the others', () => {
  test('a token that does not decrypt: the run goes on past it and moves its turn, then fails the invocation (the error alarm sees it)', async () => {
    const broken = await settled('undecryptable');
    const fine = await settled('after-broken');
    const key = keys.connection(broken.customerId, broken.connectionId);
    const original = (await getItem(h, key))!.token_ciphertext as string;
    await h.table.doc.send(new UpdateCommand({ TableName: h.table.tableName, Key: key, UpdateExpression: 'SET token_ciphertext = :bad', ExpressionAttributeValues: { ':bad': 'aes:k1:not:a-ciphertext' } }));
    try {
      await setFinchStatus(fine.connectionId, 'error_permissions');
      const before = (await getItem(h, key))![RECONCILE_INDEX.sortKey];
      await expect(run()).rejects.toMatchObject({ name: 'ReconcileIncomplete', connections: 1 });
      expect((await getItem(h, key))![RECONCILE_INDEX.sortKey] > before).toBe(true);
      expect(await item(fine.customerId, fine.connectionId)).toMatchObject({ status: 'error_permissions' });
    } finally {
      await h.table.doc.send(new UpdateCommand({ TableName: h.table.tableName, Key: key, UpdateExpression: 'SET token_ciphertext = :ct', ExpressionAttributeValues: { ':ct': original } }));
    }
  });
});

describe('reconciler: within the background budget', () => {
  test('a run stops when the budget says no, touching nothing of the connection it stopped at; the next run (the budget refilled) resumes there', async () => {
    const all = [await settled('budget-a'), await settled('budget-b'), await settled('budget-c'), await settled('budget-d')];
    const mine = new Set(all.map((c) => c.connectionId));
    for (const { connectionId } of all) await setFinchStatus(connectionId, 'reauth');
    // A reconciler whose budget allows Finch 4 requests a minute, all at once (burst 1); as a
    // background caller it leaves the reserve (25%: 1 place) to requests, so it gets 3.
    const small = buildReconcileContainer({ ...process.env, FINCH_RATE_LIMITS: 'ip=4/60', FINCH_BUDGET_BURST: '1', FINCH_BUDGET_RESERVE: '0.25' }, quiet, configuredCipher);
    recordCallsOf(small, 'reconcile');
    await clearFinchBudget(h);
    try {
      const calls = introspections();
      const first: ReconcileReport = await runOver(mine, { deps: small.deps });
      expect(first).toMatchObject({ stopped: 'budget', checked: 3, outcomes: expect.objectContaining({ drift: 3 }) });
      // Refused before it left: Finch saw exactly the three.
      expect(introspections()).toBe(calls + 3);
      const last = all[3];
      expect(await item(last.customerId, last.connectionId)).toMatchObject({ status: 'connected' });
      // A minute later the bucket is full again.
      await clearFinchBudget(h);
      const second = await runOver(mine, { deps: small.deps, maxConnections: 1 });
      expect(second).toMatchObject({ stopped: 'done', checked: 1, outcomes: expect.objectContaining({ drift: 1 }) });
      expect(await item(last.customerId, last.connectionId)).toMatchObject({ status: 'reauth' });
    } finally {
      // The rest of the file runs on the harness's own (roomy) budget.
      await clearFinchBudget(h);
    }
  });
});

describe('reconciler: a connection being or already disconnected is never touched', () => {
  test('a disconnected connection: not checked, its tombstone unchanged', async () => {
    const { customerId, connectionId } = await settled('tombstone');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customerId) })).statusCode).toBe(204);
    const before = await item(customerId, connectionId);
    await run();
    expect(await item(customerId, connectionId)).toEqual(before);
    expect(before).not.toHaveProperty(RECONCILE_INDEX.partitionKey);
  });

  test('a DELETE while Finch is asked wins: the drift is not written, the connection stays disconnected, no refreshed entry', async () => {
    const { customerId, connectionId } = await settled('race-delete');
    await setFinchStatus(connectionId, 'error_permissions');
    // Finch answers the introspect late: the DELETE starts and finishes meanwhile.
    await emulatorFault(h, { method: 'GET', path: '/introspect', delay_ms: 1500, after_response: true });
    const calls = introspections();
    const checking = runOver(new Set([connectionId]));
    while (introspections() === calls) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customerId) })).statusCode).toBe(204);
    const tombstone = await item(customerId, connectionId);
    await expect(checking).resolves.toMatchObject({ outcomes: expect.objectContaining({ raced: 1, drift: 0 }) });
    expect(await item(customerId, connectionId)).toEqual(tombstone);
    expect(tombstone).toMatchObject({ status: 'disconnected' });
    expect(await statusChanges(customerId, connectionId)).toEqual([]);
    expect((await eventsOf(connectionId)).map((event) => event.type)).toEqual(['connection.connected', 'connection.disconnected']);
  });

  test('a connection disconnecting when its turn comes is out of the queue, and back in (at its turn) when the disconnect is aborted', async () => {
    const { customerId, connectionId } = await settled('aborted');
    const before = await item(customerId, connectionId);
    // Finch cannot be reached for the revocation: the DELETE aborts (502) and restores the status.
    await emulatorFault(h, { method: 'POST', path: '/disconnect', status: 500, times: 2 });
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customerId) })).statusCode).toBe(502);
    const after = await item(customerId, connectionId);
    expect(after).toMatchObject({ status: 'connected', [RECONCILE_INDEX.partitionKey]: CHECK_PARTITION, [RECONCILE_INDEX.sortKey]: before![RECONCILE_INDEX.sortKey] });
    expect((await reconciler.deps.checks.oldestChecked(1000)).map((q) => q.connection_id)).toContain(connectionId);
  });
});

describe('reconciler, locally: npm start\'s stand-in for the schedule (local/reconcile.ts)', () => {
  test('runs the handler on its interval, and once more on demand with what it did', async () => {
    const { customerId, connectionId } = await settled('local');
    const before = (await item(customerId, connectionId))![RECONCILE_INDEX.sortKey];
    const local = await startLocalReconciler({ intervalSeconds: 1, log: () => undefined });
    try {
      // The interval's run: waited for without a deadline of its own (jest's timeout bounds it).
      while ((await item(customerId, connectionId))![RECONCILE_INDEX.sortKey] === before) await new Promise((resolve) => setTimeout(resolve, 50));
      await setFinchStatus(connectionId, 'error_no_account_setup');
      await expect(local.runNow()).resolves.toMatchObject({ stopped: 'done', outcomes: expect.objectContaining({ drift: expect.any(Number) }) });
      expect(await item(customerId, connectionId)).toMatchObject({ status: 'error_no_account_setup' });
    } finally {
      await local.stop();
    }
  });

  test('RECONCILE_LOCAL_INTERVAL_SECONDS: 30 by default, 0 for on demand only, anything else refused by name', () => {
    expect(localInterval({})).toBe(30);
    expect(localInterval({ RECONCILE_LOCAL_INTERVAL_SECONDS: '0' })).toBe(0);
    expect(localInterval({ RECONCILE_LOCAL_INTERVAL_SECONDS: '5' })).toBe(5);
    for (const bad of ['-1', '1.5', 'soon']) expect(() => localInterval({ RECONCILE_LOCAL_INTERVAL_SECONDS: bad })).toThrow(/RECONCILE_LOCAL_INTERVAL_SECONDS/);
  });
});

describe('reconciler: secrets stay in the backend', () => {
  test('no token Finch issued appears in any log line, audit entry or event of these runs', async () => {
    const tokens = h.emulator.state().connections.flatMap((connection) => connection.tokens);
    expect(tokens.length).toBeGreaterThan(10);
    await pipe.drain();
    const audit = (await Promise.all(h.emulator.state().connections.map(async (c) => {
      const owner = await h.app.deps.connections.getOwner(c.connection_id);
      return owner ? JSON.stringify(await trail(owner, c.connection_id)) : '';
    }))).join('\n');
    const seen = `${capturedLogs()}\n${audit}\n${JSON.stringify(pipe.bus.events())}`;
    expect(seen).toContain(RECONCILER_ACTOR);
    for (const token of tokens) expect(seen.includes(token)).toBe(false);
  });
});
