// The enrichment consumer's core (functions/core/enrichment.ts) over the in-memory stores: what it
// records from Finch's /introspect and /employer/company, what it never overwrites or revives, and
// which of Finch's answers it records nothing for, skips, or throws for (the event is delivered again).
import { enrichCompany } from '#core/enrichment.js';
import { AccessTokenRejected, FinchRateLimited, FinchRejected, FinchTimeout, FinchUnavailable, TransientStoreError } from '#core/errors.js';
import type { Log } from '#core/deps.js';
import type { Connection } from '#core/model.js';
import { FakeFinch, fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

const detail = { customer_id: 'acme', connection_id: 'conn-1' };
const TOKEN = 'tok-secret-1';

function seed(store: MemoryTable, fields: Partial<Connection> = {}, issuedAt = 1) {
  const connection: Connection = {
    connection_id: 'conn-1', customer_id: 'acme', entity: 'payroll', finch_customer_id: 'acme~payroll', provider_id: 'gusto',
    company_name: null, company_id: null, entity_ids: [], connection_type: 'provider', manual: null, last_successful_sync: null,
    products: ['company', 'directory'], status: 'connected', status_message: null, authentication_methods: [],
    connected_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', last_synced_at: null,
    initial_sync_completed_at: { org: null, payroll: null }, token_version: 1, ...fields,
  };
  store.connections.set('acme/conn-1', { ...connection, token: { ciphertext: `enc(acme/conn-1):${TOKEN}`, token_issued_at: issuedAt } });
  store.owners.set('conn-1', 'acme');
}

function setup() {
  const lines: string[] = [];
  const log: Log = { info: (m, a) => lines.push(JSON.stringify([m, a])), warn: (m, a) => lines.push(JSON.stringify([m, a])), error: (m, a) => lines.push(JSON.stringify([m, a])) };
  const { deps, store, finch } = fakeDeps({ log });
  finch.introspection = { company_id: 'co-7f3a', manual: false, products: ['company', 'directory'] };
  finch.companyName = 'Acme Payroll LLC';
  return { deps, store, finch, lines };
}

const companyEntries = (store: MemoryTable) => store.audits.filter((entry) => entry.action === 'company_updated');

describe('enrichCompany: a live connection gets its employer', () => {
  test('a connected connection gets company_name, company_id and manual, and exactly one company_updated entry with its subject', async () => {
    const { deps, store, finch } = setup();
    seed(store);
    await expect(enrichCompany(deps, detail)).resolves.toBe('updated');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ company_name: 'Acme Payroll LLC', company_id: 'co-7f3a', manual: false, status: 'connected' });
    expect(finch.calls).toEqual(['GET /introspect', 'GET /employer/company']);
    expect(companyEntries(store)).toEqual([expect.objectContaining({
      action: 'company_updated', customer_id: 'acme', connection_id: 'conn-1',
      subject: { entity: 'payroll', provider_id: 'gusto', company_id: 'co-7f3a', status: 'connected' },
      details: { company_name: 'Acme Payroll LLC', manual: false },
    })]);
  });

  test('a redelivered event finds the same values stored and writes nothing: no second entry', async () => {
    const { deps, store } = setup();
    seed(store);
    await enrichCompany(deps, detail);
    const updatedAt = store.connections.get('acme/conn-1')!.updated_at;
    await expect(enrichCompany(deps, detail)).resolves.toBe('unchanged');
    expect(companyEntries(store)).toHaveLength(1);
    expect(store.connections.get('acme/conn-1')!.updated_at).toBe(updatedAt);
  });

  test('a company Finch renamed since is written again, with an entry of its own', async () => {
    const { deps, store, finch } = setup();
    seed(store, { company_name: 'Acme Old Name', company_id: 'co-7f3a', manual: false });
    finch.companyName = 'Acme Payroll LLC';
    await expect(enrichCompany(deps, detail)).resolves.toBe('updated');
    expect(store.connections.get('acme/conn-1')!.company_name).toBe('Acme Payroll LLC');
    expect(companyEntries(store)).toHaveLength(1);
  });

  test('what Finch does not say keeps what is stored (a name not readable, no manual, no company_id)', async () => {
    const { deps, store, finch } = setup();
    seed(store, { company_name: 'Acme Payroll LLC', company_id: 'co-7f3a', manual: true });
    finch.introspection = { company_id: null, manual: null, products: ['company'] };
    finch.companyName = null;
    await expect(enrichCompany(deps, detail)).resolves.toBe('unchanged');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ company_name: 'Acme Payroll LLC', company_id: 'co-7f3a', manual: true });
  });

  test.each([
    ['a token without the company product (Finch Permissions: /employer/company needs `company`)', { products: ['directory'] }],
    ['a connection Finch still sets up (pending: /employer/company answers 202, no data)', { status: 'pending' as const }],
  ])('%s: no /employer/company call; company_id and manual are still recorded', async (_name, introspection) => {
    const { deps, store, finch } = setup();
    seed(store);
    finch.introspection = { ...finch.introspection, ...introspection };
    await expect(enrichCompany(deps, detail)).resolves.toBe('updated');
    expect(finch.calls).toEqual(['GET /introspect']);
    expect(store.connections.get('acme/conn-1')).toMatchObject({ company_name: null, company_id: 'co-7f3a', manual: false });
  });

  test('Finch refusing the company read (404) leaves the name unknown and records the rest', async () => {
    const { deps, store, finch } = setup();
    seed(store);
    finch.getCompanyName = async () => { finch.calls.push('GET /employer/company'); throw new FinchRejected(); };
    await expect(enrichCompany(deps, detail)).resolves.toBe('updated');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ company_name: null, company_id: 'co-7f3a' });
  });

  test('the token never reaches a log line', async () => {
    const { deps, store, finch, lines } = setup();
    seed(store);
    finch.introspect = async () => { throw new AccessTokenRejected(null); };
    await enrichCompany(deps, detail);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});

describe('enrichCompany: what it never touches', () => {
  test('a missing connection (or another customer\'s) is answered `missing`, and Finch is not called', async () => {
    const { deps, store, finch } = setup();
    seed(store);
    await expect(enrichCompany(deps, { customer_id: 'other', connection_id: 'conn-1' })).resolves.toBe('missing');
    expect(finch.calls).toEqual([]);
  });

  test.each(['disconnecting', 'disconnected'] as const)('a %s connection is not enriched nor revived, and Finch is not called', async (status) => {
    const { deps, store, finch } = setup();
    seed(store, { status });
    await expect(enrichCompany(deps, detail)).resolves.toBe('ended');
    expect(finch.calls).toEqual([]);
    expect(store.connections.get('acme/conn-1')!.status).toBe(status);
    expect(companyEntries(store)).toEqual([]);
  });
});

/** Finch whose /employer/company waits until the test lets it answer. */
class WaitingFinch extends FakeFinch {
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => { this.release = resolve; });
  reached = false;

  override async getCompanyName() {
    this.reached = true;
    await this.released;
    return super.getCompanyName();
  }

  answer() { this.release(); }
}

async function until(condition: () => boolean) {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('never reached');
}

describe('enrichCompany: a change racing it wins', () => {
  function racing() {
    const finch = new WaitingFinch();
    finch.introspection = { company_id: 'co-7f3a', manual: false, products: ['company'] };
    const { deps, store } = fakeDeps({ finch });
    seed(store);
    return { deps, store, finch };
  }

  test('disconnected while it waits on Finch: stays disconnected, no company, no entry, no token', async () => {
    const { deps, store, finch } = racing();
    const enriching = enrichCompany(deps, detail);
    await until(() => finch.reached);
    await deps.connections.beginDisconnect('acme', 'conn-1', new Date());
    await deps.connections.finishDisconnect('acme', 'conn-1', { disconnected_by: 'user-1', disconnected_at: new Date().toISOString(), revocation_confirmed: true }, {
      action: 'disconnected', actor: 'user-1', customer_id: 'acme', connection_id: 'conn-1', at: new Date().toISOString(),
    });
    finch.answer();
    await expect(enriching).resolves.toBe('ended');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ status: 'disconnected', token: null, company_name: null, company_id: null });
    expect(companyEntries(store)).toEqual([]);
  });

  test('reauthenticated with a newer token while it waits: its write is refused (`superseded`)', async () => {
    const { deps, store, finch } = racing();
    const enriching = enrichCompany(deps, detail);
    await until(() => finch.reached);
    store.connections.get('acme/conn-1')!.token = { ciphertext: 'enc(acme/conn-1):tok-2', token_issued_at: 2 };
    finch.answer();
    await expect(enriching).resolves.toBe('superseded');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ company_name: null, token: { token_issued_at: 2 } });
    expect(companyEntries(store)).toEqual([]);
  });

  test('a status change while it waits: read again, written with the status the write leaves in its subject', async () => {
    const { deps, store, finch } = racing();
    const enriching = enrichCompany(deps, detail);
    await until(() => finch.reached);
    store.connections.get('acme/conn-1')!.status = 'reauth';
    finch.answer();
    await expect(enriching).resolves.toBe('updated');
    expect(companyEntries(store)).toEqual([expect.objectContaining({ subject: expect.objectContaining({ status: 'reauth', company_id: 'co-7f3a' }) })]);
  });

  test('a status that keeps changing under every write: gives up by throwing, so the event is delivered again', async () => {
    const { deps, store } = setup();
    seed(store);
    const record = deps.connections.recordCompany.bind(deps.connections);
    let flips = 0;
    deps.connections.recordCompany = async (...args) => {
      const stored = store.connections.get('acme/conn-1')!;
      stored.status = ++flips % 2 ? 'reauth' : 'connected';
      return record(...args);
    };
    await expect(enrichCompany(deps, detail)).rejects.toThrow(/kept changing/);
    expect(companyEntries(store)).toEqual([]);
  });
});

describe('enrichCompany: Finch\'s answers', () => {
  test.each([['/introspect'], ['/employer/company']])('Finch refuses the token on %s (401): nothing recorded, no throw (`token_refused`)', async (path) => {
    const { deps, store, finch } = setup();
    seed(store);
    if (path === '/introspect') finch.introspect = async () => { throw new AccessTokenRejected('reauthenticate_user'); };
    else finch.getCompanyName = async () => { throw new AccessTokenRejected(null); };
    await expect(enrichCompany(deps, detail)).resolves.toBe('token_refused');
    expect(store.connections.get('acme/conn-1')).toMatchObject({ status: 'connected', company_name: null, company_id: null });
    expect(store.audits).toEqual([]);
  });

  test.each([
    ['unavailable (5xx)', new FinchUnavailable()],
    ['timed out', new FinchTimeout()],
    ['rate limited (429)', new FinchRateLimited(60, 'finch_application_rl')],
  ])('Finch %s: throws, so the event is delivered again, and nothing is recorded', async (_name, error) => {
    const { deps, store, finch } = setup();
    seed(store);
    finch.getCompanyName = async () => { throw error; };
    await expect(enrichCompany(deps, detail)).rejects.toBe(error);
    expect(store.audits).toEqual([]);
  });

  test('a store fault on the write throws (retried with the event)', async () => {
    const { deps, store } = setup();
    seed(store);
    deps.connections.recordCompany = async () => { throw new TransientStoreError(new Error('throttled')); };
    await expect(enrichCompany(deps, detail)).rejects.toBeInstanceOf(TransientStoreError);
  });
});
