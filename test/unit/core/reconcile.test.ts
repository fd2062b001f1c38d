// The reconciler's core (functions/core/reconcile.ts) over the in-memory stores and a queue in
// memory: which of Finch's answers stop the run, skip one connection or are recorded; the webhook
// rule; what counts as drift. The DynamoDB queue, the budget and the events are in
// test/integration/reconcile.test.ts.
import { FinchRateLimited, FinchTimeout, FinchUnavailable, TransientStoreError } from '#core/errors.js';
import type { Connection } from '#core/model.js';
import type { CheckQueue, CheckedConnection, QueuedConnection } from '#core/ports/check-queue.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import { type ReconcileDeps, WEBHOOK_QUIET_INTERVALS, driftedFields, reconcile } from '#core/reconcile.js';
import { fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

const NOW = new Date('2027-05-01T12:00:00.000Z');
const SETTINGS = { intervalMinutes: 15, maxConnections: 10 };
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

/** The queue over the memory table: each connection's turn, introspection and webhook times beside it. */
class MemoryCheckQueue implements CheckQueue {
  readonly turns = new Map<string, { checked_at: string; introspected_at: string | null; webhook_at: string | null }>();
  constructor(private readonly table: MemoryTable) {}

  async oldestChecked(limit: number): Promise<QueuedConnection[]> {
    return [...this.table.connections.values()]
      .filter((c) => c.status !== 'disconnecting' && c.status !== 'disconnected' && this.turns.has(c.connection_id))
      .sort((a, b) => this.turns.get(a.connection_id)!.checked_at.localeCompare(this.turns.get(b.connection_id)!.checked_at))
      .slice(0, limit)
      .map((c) => ({ customer_id: c.customer_id, connection_id: c.connection_id }));
  }

  async readForCheck(customerId: string, connectionId: string): Promise<CheckedConnection | null> {
    const connection = this.table.connections.get(this.table.key(customerId, connectionId));
    if (!connection) return null;
    return { connection: structuredClone(connection), ...this.turns.get(connectionId)! };
  }

  async markChecked(customerId: string, connectionId: string, at: Date, introspected: boolean): Promise<boolean> {
    const connection = this.table.connections.get(this.table.key(customerId, connectionId));
    if (!connection || connection.status === 'disconnecting' || connection.status === 'disconnected') return false;
    const turn = this.turns.get(connectionId)!;
    this.turns.set(connectionId, { ...turn, checked_at: at.toISOString(), introspected_at: introspected ? at.toISOString() : turn.introspected_at });
    return true;
  }
}

function setup() {
  const { deps: core, store, finch } = fakeDeps({ clock: { now: () => NOW } });
  const checks = new MemoryCheckQueue(store);
  const deps: ReconcileDeps = { connections: core.connections, cipher: core.cipher, clock: core.clock, log: core.log, finch, checks };
  /** What introspect answers, so a check finds nothing new unless a test changes it. */
  finch.introspection = { status: 'connected', products: ['company'], authentication_methods: ['credential'] };
  const seed = (id: string, checkedMinutesAgo: number, fields: Partial<Connection> = {}, times: { introspected?: number; webhook?: number } = {}) => {
    const connection: StoredConnection = {
      connection_id: id, customer_id: 'acme', entity: null, finch_customer_id: 'acme', provider_id: 'gusto',
      company_name: null, company_id: null, entity_ids: [], connection_type: 'provider', manual: null, last_successful_sync: null,
      products: ['company'], status: 'connected', status_message: null, authentication_methods: ['credential'],
      connected_at: '2027-01-01T00:00:00.000Z', updated_at: '2027-01-01T00:00:00.000Z', last_synced_at: null,
      initial_sync_completed_at: { org: null, payroll: null }, token_version: 1, ...fields,
      token: { ciphertext: `enc(acme/${id}):tok-${id}`, token_issued_at: 1 },
    };
    store.connections.set(store.key('acme', id), connection);
    checks.turns.set(id, {
      checked_at: minutesAgo(checkedMinutesAgo),
      introspected_at: times.introspected === undefined ? null : minutesAgo(times.introspected),
      webhook_at: times.webhook === undefined ? null : minutesAgo(times.webhook),
    });
  };
  return { deps, store, finch, checks, seed };
}

describe('reconcile: what stops a run, and what only skips a connection', () => {
  test('Finch down for one connection: its turn moves (failed), the next one is still checked', async () => {
    const { deps, finch, checks, seed } = setup();
    seed('a', 30);
    seed('b', 20);
    const introspect = finch.introspect.bind(finch);
    let calls = 0;
    finch.introspect = async () => (++calls === 1 ? Promise.reject(new FinchTimeout()) : introspect());
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ stopped: 'done', outcomes: expect.objectContaining({ failed: 1, unchanged: 1 }) });
    expect(checks.turns.get('a')).toMatchObject({ checked_at: NOW.toISOString(), introspected_at: null });
    expect(checks.turns.get('b')).toMatchObject({ checked_at: NOW.toISOString(), introspected_at: NOW.toISOString() });
  });

  test('the budget (or Finch) says 429: the run stops there, that connection keeps its turn, the rest are not asked', async () => {
    const { deps, finch, checks, seed } = setup();
    seed('a', 30);
    seed('b', 20);
    seed('c', 10);
    const introspect = finch.introspect.bind(finch);
    let calls = 0;
    finch.introspect = async () => (++calls === 2 ? Promise.reject(new FinchRateLimited(12, null)) : introspect());
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ stopped: 'budget', checked: 1 });
    expect(calls).toBe(2);
    expect(checks.turns.get('b')!.checked_at).toBe(minutesAgo(20));
    expect((await checks.oldestChecked(1))[0].connection_id).toBe('b');
  });

  test('the store failing through its retries fails the run (the error alarm sees it)', async () => {
    const { deps, finch, seed } = setup();
    seed('a', 30);
    finch.introspection = { status: 'reauth' };
    deps.connections.recordStatus = async () => { throw new TransientStoreError(new Error('throttled')); };
    await expect(reconcile(deps, SETTINGS, () => true)).rejects.toBeInstanceOf(TransientStoreError);
  });

  test('Finch unavailable is skipped like a timeout, not an error of the run', async () => {
    const { deps, finch, seed } = setup();
    seed('a', 30);
    finch.introspect = async () => { throw new FinchUnavailable(); };
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ outcomes: expect.objectContaining({ failed: 1 }), errors: 0 });
  });

  test('a connection that fails for a reason of its own (a bug, a ciphertext that does not decrypt) moves its turn, counts as an error, and the run goes on', async () => {
    const { deps, finch, checks, seed } = setup();
    seed('a', 30);
    seed('b', 20);
    const introspect = finch.introspect.bind(finch);
    let calls = 0;
    finch.introspect = async () => (++calls === 1 ? Promise.reject(new TypeError('a bug')) : introspect());
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ stopped: 'done', errors: 1, outcomes: expect.objectContaining({ failed: 1, unchanged: 1 }) });
    // Not at the head of the queue any more: the next run does not stop at it again.
    expect(checks.turns.get('a')!.checked_at).toBe(NOW.toISOString());
  });
});

describe('reconcile: a connection whose webhooks flow is asked less often', () => {
  test(`a webhook and an introspection both within ${WEBHOOK_QUIET_INTERVALS} intervals: passed over, Finch not asked, the turn moves`, async () => {
    const { deps, finch, checks, seed } = setup();
    seed('a', 15, {}, { introspected: 15, webhook: 2 });
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ outcomes: expect.objectContaining({ postponed: 1 }) });
    expect(finch.calls).toEqual([]);
    expect(checks.turns.get('a')).toMatchObject({ checked_at: NOW.toISOString(), introspected_at: minutesAgo(15) });
  });

  test.each([
    ['its last introspection is older than the quiet period', { introspected: WEBHOOK_QUIET_INTERVALS * 15, webhook: 2 }],
    ['its last webhook is older than the quiet period', { introspected: 15, webhook: WEBHOOK_QUIET_INTERVALS * 15 }],
    ['it was never introspected', { webhook: 2 }],
  ])('asked when %s', async (_name, times) => {
    const { deps, finch, seed } = setup();
    seed('a', 15, {}, times);
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ outcomes: expect.objectContaining({ unchanged: 1 }) });
    expect(finch.calls).toEqual(['GET /introspect']);
  });
});

describe('reconcile: what is recorded', () => {
  test('a status Finch reports that is ours to set (disconnected) is never written through this write', async () => {
    const { deps, store, finch, seed } = setup();
    seed('a', 30);
    finch.introspection = { status: 'disconnected', status_message: 'gone' };
    await reconcile(deps, SETTINGS, () => true);
    expect(store.connections.get(store.key('acme', 'a'))).toMatchObject({ status: 'connected', status_message: 'gone' });
    expect(store.audits).toEqual([expect.objectContaining({ details: expect.objectContaining({ status: 'connected', previous_status: 'connected', changed: 'status_message' }) })]);
  });

  test('drift is written with the guard of the token and status it read, and names what changed (never a value)', async () => {
    const { deps, store, finch, seed } = setup();
    seed('a', 30);
    finch.introspection = { status: 'error_permissions', status_message: 'Missing scope' };
    const guards: unknown[] = [];
    const record = deps.connections.recordStatus.bind(deps.connections);
    deps.connections.recordStatus = async (...args) => { guards.push(args[5]); return record(...args); };
    await expect(reconcile(deps, SETTINGS, () => true)).resolves.toMatchObject({ outcomes: expect.objectContaining({ drift: 1 }) });
    expect(guards).toEqual([{ token_issued_at: 1, status: 'connected' }]);
    expect(store.audits).toEqual([expect.objectContaining({
      action: 'refreshed', actor: 'reconciler',
      details: { status: 'error_permissions', previous_status: 'connected', changed: 'status,status_message' },
    })]);
  });

  test('driftedFields: a field Finch left out is no change; lists compare by value', () => {
    const { store, seed } = setup();
    seed('a', 30);
    const stored = store.connections.get(store.key('acme', 'a'))!;
    expect(driftedFields(stored, { status: 'connected', status_message: null })).toEqual([]);
    expect(driftedFields(stored, { status: 'connected', status_message: null, products: ['company'], authentication_methods: ['credential'] })).toEqual([]);
    expect(driftedFields(stored, { status: 'connected', status_message: null, products: ['company', 'directory'], last_successful_sync: '2027-05-01T00:00:00.000Z' }))
      .toEqual(['products', 'last_successful_sync']);
  });
});
