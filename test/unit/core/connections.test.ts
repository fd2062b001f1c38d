// DELETE /connections/{id} in the core, over the in-memory store: two DELETEs of one connection in
// every order their Finch calls can finish, each call answered or failed. After any 204 the
// connection is `disconnected` and Finch disconnected it; when Finch failed for both, it stays usable.
import { disconnectConnection } from '#core/connections.js';
import { AccessTokenRejected, FinchUnavailable } from '#core/errors.js';
import type { Connection } from '#core/model.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import { statusOf } from '#http/errors.js';
import { FakeFinch, fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

const acme = { customer_id: 'acme', admin: false, actor: 'user-1' };

function seed(store: MemoryTable, connectionId: string) {
  const connection: Connection = {
    connection_id: connectionId, customer_id: 'acme', entity: null, finch_customer_id: 'acme', provider_id: 'gusto',
    company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['company'], status: 'connected', status_message: null,
    authentication_methods: [], connected_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
    last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
  };
  store.connections.set(`acme/${connectionId}`, { ...connection, token: { ciphertext: `enc(acme/${connectionId}):tok-1`, token_issued_at: 1 } });
  store.owners.set(connectionId, 'acme');
}

type Outcome = 'answered' | 'down';

/** Finch whose /disconnect calls wait until the test answers them; once disconnected, its tokens are refused. */
class ScriptedFinch extends FakeFinch {
  disconnected = false;
  waiting: Array<(outcome: Outcome) => void> = [];

  override async disconnect() {
    this.calls.push('POST /disconnect');
    const outcome = await new Promise<Outcome>((resolve) => this.waiting.push(resolve));
    if (outcome === 'down') throw new FinchUnavailable();
    if (this.disconnected) throw new AccessTokenRejected(null);
    this.disconnected = true;
  }
}

/** The status the HTTP layer would answer. */
const settle = async (promise: Promise<unknown>) => promise.then(() => 204, statusOf);

async function until(condition: () => boolean) {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('the DELETEs never reached Finch');
}

describe('two concurrent DELETEs of one connection (core, every order)', () => {
  const cases: Array<[number, Outcome, Outcome]> = [];
  for (const first of [0, 1]) for (const a of ['answered', 'down'] as const) for (const b of ['answered', 'down'] as const) cases.push([first, a, b]);

  test.each(cases)('Finch answers DELETE #%i first (%s, then %s): every 204 leaves it disconnected, and both failing leaves it usable', async (first, firstOutcome, secondOutcome) => {
    const finch = new ScriptedFinch();
    const { deps, store } = fakeDeps({ finch });
    seed(store, 'conn-1');
    const deletes = [settle(disconnectConnection(deps, acme, 'conn-1')), settle(disconnectConnection(deps, acme, 'conn-1'))];
    await until(() => finch.waiting.length === 2);
    const answers = [...finch.waiting];
    answers[first](firstOutcome);
    // The first DELETE restores or finishes before the second's Finch call comes back.
    const firstStatus = await deletes[first];
    answers[1 - first](secondOutcome);
    const secondStatus = await deletes[1 - first];

    const stored = store.connections.get('acme/conn-1')!;
    for (const status of [firstStatus, secondStatus]) {
      if (status === 204) {
        expect(stored.status).toBe('disconnected');
        expect(finch.disconnected).toBe(true);
      }
    }
    if (firstOutcome === 'down' && secondOutcome === 'down') {
      expect([firstStatus, secondStatus]).toEqual([502, 502]);
      expect(stored).toMatchObject<Partial<StoredConnection>>({ status: 'connected', token: expect.objectContaining({ ciphertext: expect.any(String) }) });
    } else {
      expect([firstStatus, secondStatus]).toContain(204);
      expect(stored).toMatchObject({ status: 'disconnected', token: null, revocation_confirmed: true });
      expect(store.audits.filter((entry) => entry.action === 'disconnected')).toHaveLength(1);
    }
  });

  test('a store whose finishing write does not apply and leaves the item connected → no 204', async () => {
    const { deps, store } = fakeDeps();
    seed(store, 'conn-2');
    // Not a state the DynamoDB store can reach; the core must still not answer 204 over it.
    deps.connections.finishDisconnect = async () => {
      store.connections.get('acme/conn-2')!.status = 'connected';
      return false;
    };
    await expect(disconnectConnection(deps, acme, 'conn-2')).rejects.toThrow();
    expect(store.connections.get('acme/conn-2')!.status).toBe('connected');
  });
});
