// GET /directory's core: Finch's reconciliation guidance (name + date of birth, then email, never
// the name alone) as a pure function, and the read-through over fakes (paging, skipped connections).
import fc from 'fast-check';
import { readDirectory as readDirectoryBy } from '#core/directory.js';
import { type PersonRecord, reconcile } from '#core/people.js';
import { FinchDeadlineExceeded, FinchTimeout } from '#core/errors.js';
import type { Connection } from '#core/model.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from '#core/ports/finch-data.js';
import type { ProxyDeps } from '#core/proxy.js';
import { answerOf, statusOf } from '#http/errors.js';
import { fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

const person = (connection_id: string, individual_id: string, fields: Partial<PersonRecord> = {}): PersonRecord => ({
  connection_id, individual_id, first_name: 'Ada', last_name: 'Lovelace', dob: '1990-12-10', emails: [], ...fields,
});

const shape = (rows: ReturnType<typeof reconcile>) =>
  rows.map((row) => row.sources.map((s) => `${s.connection_id}/${s.individual_id}:${s.matched_by}`));

describe('reconciliation', () => {
  test('same first name, last name and date of birth in two connections: one row with both sources', () => {
    const rows = reconcile([person('c2', 'i2'), person('c1', 'i1')]);
    expect(rows).toEqual([{
      first_name: 'Ada', last_name: 'Lovelace',
      sources: [
        { connection_id: 'c1', individual_id: 'i1', matched_by: 'self' },
        { connection_id: 'c2', individual_id: 'i2', matched_by: 'name_dob' },
      ],
    }]);
  });

  test('the same name with another date of birth is another person', () => {
    expect(shape(reconcile([person('c1', 'i1'), person('c2', 'i2', { dob: '1991-01-01' })]))).toEqual([['c1/i1:self'], ['c2/i2:self']]);
  });

  test('never on the name alone: without dates of birth and without a shared email, two rows', () => {
    const rows = reconcile([
      person('c1', 'i1', { dob: null, emails: ['ada@one.example'] }),
      person('c2', 'i2', { dob: null, emails: ['ada@two.example'] }),
      person('c3', 'i3', { dob: null }),
    ]);
    expect(rows).toHaveLength(3);
  });

  test('a missing date of birth falls back to a shared email', () => {
    const rows = reconcile([
      person('c1', 'i1', { emails: ['Ada.Lovelace@Acme.example'] }),
      person('c2', 'i2', { dob: null, emails: [' ada.lovelace@acme.example '] }),
    ]);
    expect(shape(rows)).toEqual([['c1/i1:self', 'c2/i2:email']]);
  });

  test('missing names fall back to email too (a name changed between systems still matches on email)', () => {
    const rows = reconcile([
      person('c1', 'i1', { last_name: 'Byron', dob: null, emails: ['ada@acme.example'] }),
      person('c2', 'i2', { first_name: null, emails: ['ada@acme.example'] }),
    ]);
    expect(shape(rows)).toEqual([['c1/i1:self', 'c2/i2:email']]);
  });

  test('two complete records that differ are two people even if they share a mailbox', () => {
    const rows = reconcile([
      person('c1', 'i1', { emails: ['family@home.example'] }),
      person('c2', 'i2', { first_name: 'Augusta', dob: '1815-12-10', emails: ['family@home.example'] }),
    ]);
    expect(rows).toHaveLength(2);
  });

  test('a record whose email points at two different people stays on its own row', () => {
    const rows = reconcile([
      person('c1', 'i1', { emails: ['shared@acme.example'] }),
      person('c1', 'i2', { first_name: 'Grace', last_name: 'Hopper', dob: '1906-12-09', emails: ['shared@acme.example'] }),
      person('c2', 'i3', { dob: null, emails: ['shared@acme.example'] }),
    ]);
    expect(shape(rows).find((sources) => sources.includes('c2/i3:self'))).toEqual(['c2/i3:self']);
    expect(rows).toHaveLength(3);
  });

  test('names compare normalized (case, spaces, Unicode forms) but accents still count', () => {
    expect(reconcile([person('c1', 'i1'), person('c2', 'i2', { first_name: '  ADA ', last_name: 'lovelace' })])).toHaveLength(1);
    expect(reconcile([person('c1', 'i1', { first_name: 'José' }), person('c2', 'i2', { first_name: 'Jose\u0301' })])).toHaveLength(1);
    expect(reconcile([person('c1', 'i1', { first_name: 'José' }), person('c2', 'i2', { first_name: 'Jose' })])).toHaveLength(2);
  });

  test('a malformed date of birth is treated as missing, not as a key', () => {
    expect(reconcile([person('c1', 'i1', { dob: 'unknown' }), person('c2', 'i2', { dob: 'unknown' })])).toHaveLength(2);
  });

  test('rows are sorted by last name, then first name', () => {
    const rows = reconcile([
      person('c1', 'i1', { first_name: 'Grace', last_name: 'Hopper' }),
      person('c1', 'i2', { first_name: 'Alan', last_name: 'Turing' }),
      person('c1', 'i3', { first_name: 'Ada', last_name: 'Hopper' }),
    ]);
    expect(rows.map((row) => `${row.first_name} ${row.last_name}`)).toEqual(['Ada Hopper', 'Grace Hopper', 'Alan Turing']);
  });

  test('property: the order records arrive in never changes the rows, and every record is in exactly one row', () => {
    const first = fc.constantFrom('Ada', 'ada', 'Grace', null);
    const dob = fc.constantFrom('1990-12-10', '1906-12-09', null);
    const email = fc.constantFrom('a@x.example', 'g@x.example', 'shared@x.example');
    const record = fc.record({ first_name: first, dob, emails: fc.array(email, { maxLength: 2 }) });
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), fc.integer(), (fields, seed) => {
      const records = fields.map((f, i) => person(`c${i % 3}`, `i${i}`, { ...f, last_name: 'Lovelace' }));
      const shuffled = [...records].sort((a, b) => ((a.individual_id.length * seed) % 7) - ((b.individual_id.length * seed) % 7) || (seed % 2 ? 1 : -1));
      expect(reconcile(shuffled)).toEqual(reconcile(records));
      const ids = reconcile(records).flatMap((row) => row.sources.map((s) => s.individual_id));
      expect(ids.sort()).toEqual(records.map((r) => r.individual_id).sort());
      // Never merged on the name alone: each joined record shares name + date of birth with the row's
      // first record, or (lacking a date of birth) an email with another record of the row.
      const byId = new Map(records.map((r) => [r.individual_id, r]));
      for (const row of reconcile(records)) {
        const members = row.sources.map((s) => byId.get(s.individual_id)!);
        row.sources.slice(1).forEach((source, index) => {
          const member = members[index + 1];
          if (source.matched_by === 'name_dob') {
            expect(member.dob).not.toBeNull();
            expect([member.first_name?.toLowerCase(), member.dob]).toEqual([members[0].first_name?.toLowerCase(), members[0].dob]);
          } else {
            expect(source.matched_by).toBe('email');
            expect(member.dob === null || member.first_name === null).toBe(true);
            expect(members.some((other) => other !== member && other.emails.some((e) => member.emails.includes(e)))).toBe(true);
          }
        });
      }
    }));
  });
});

// ---- readDirectory over fakes ---------------------------------------------------------------

/** Without a deadline in sight (the deadline tests below pass their own). */
const readDirectory = (deps: ProxyDeps, customerId: string, page: { limit: number; cursor?: string }) =>
  readDirectoryBy(deps, customerId, page, Number.POSITIVE_INFINITY);

interface FakePerson { id: string; first_name: string; last_name: string; dob: string | null; email: string | null }

/** Finch's directory (paged by limit/offset) and individual batch, per access token. */
class FakeFinchData implements FinchDataGateway {
  people = new Map<string, FakePerson[]>();
  override = new Map<string, FinchDataResponse>();
  calls: Array<{ token: string; method: string; path: string; query: FinchDataRequest['query'] }> = [];

  async forward(request: FinchDataRequest, accessToken: AccessTokenSource): Promise<FinchDataResponse> {
    // Sends every call, so asks for the token as the real gateway does once the budget granted it.
    const token = await accessToken();
    this.calls.push({ token, method: request.method, path: request.path, query: request.query });
    const forced = this.override.get(token);
    if (forced) return forced;
    const everyone = this.people.get(token) ?? [];
    if (request.path === '/employer/directory') {
      const offset = Number(request.query.offset ?? 0);
      const limit = Number(request.query.limit ?? everyone.length);
      const page = everyone.slice(offset, offset + limit);
      return { status: 200, body: { paging: { count: everyone.length, offset }, individuals: page.map(({ id, first_name, last_name }) => ({ id, first_name, last_name })) }, headers: {} };
    }
    const ids = (request.body as { requests: Array<{ individual_id: string }> }).requests.map((r) => r.individual_id);
    return {
      status: 200,
      body: {
        responses: ids.map((id) => {
          const p = everyone.find((candidate) => candidate.id === id)!;
          return { individual_id: id, code: 200, body: { first_name: p.first_name, last_name: p.last_name, dob: p.dob, emails: p.email ? [{ data: p.email, type: 'work' }] : [] } };
        }),
      },
      headers: {},
    };
  }
}

function seed(store: MemoryTable, customer: string, connectionId: string, overrides: Partial<StoredConnection> = {}) {
  const connection: Connection = {
    connection_id: connectionId, customer_id: customer, entity: null, finch_customer_id: customer, provider_id: 'gusto',
    company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['directory', 'individual'], status: 'connected', status_message: null,
    authentication_methods: [], connected_at: `2026-01-01T00:00:0${store.connections.size}.000Z`, updated_at: '2026-01-01T00:00:00.000Z',
    last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
  };
  store.connections.set(`${customer}/${connectionId}`, {
    ...connection, token: { ciphertext: `enc(${customer}/${connectionId}):tok-${connectionId}`, token_issued_at: 1 }, ...overrides,
  });
  store.owners.set(connectionId, customer);
}

const pool: FakePerson[] = Array.from({ length: 250 }, (_, i) => ({
  id: `p${i}`, first_name: `First${i}`, last_name: `Last${String(i).padStart(3, '0')}`, dob: i === 3 ? null : `1980-01-${String((i % 28) + 1).padStart(2, '0')}`,
  email: `person${i}@acme.example`,
}));
const withIds = (people: FakePerson[], prefix: string) => people.map((p) => ({ ...p, id: `${prefix}-${p.id}` }));

function setup() {
  const { deps: core, store } = fakeDeps();
  const finchData = new FakeFinchData();
  const deps: ProxyDeps = { ...core, finchData, proxy: { writeRoutes: new Set() }, statusOf };
  return { deps, store, finchData };
}

describe('readDirectory', () => {
  test('two connections sharing people: one row per person with both sources; all directory pages and batches read', async () => {
    const { deps, store, finchData } = setup();
    seed(store, 'acme', 'east');
    seed(store, 'acme', 'west');
    seed(store, 'globex', 'other');
    finchData.people.set('tok-east', withIds(pool.slice(0, 230), 'e'));
    finchData.people.set('tok-west', withIds(pool.slice(0, 5), 'w'));
    finchData.people.set('tok-other', withIds(pool.slice(0, 5), 'o'));

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let skipped;
    do {
      const page = await readDirectory(deps, 'acme', { limit: 100, cursor });
      seen.push(...page.people.flatMap((row) => row.sources.map((s) => `${s.connection_id}/${s.individual_id}`)));
      if (pages === 0) {
        const ada = page.people.find((row) => row.first_name === 'First0')!;
        expect(ada.sources).toEqual([
          { connection_id: 'east', individual_id: 'e-p0', matched_by: 'self' },
          { connection_id: 'west', individual_id: 'w-p0', matched_by: 'name_dob' },
        ]);
        // No date of birth: matched on the shared email instead.
        expect(page.people.find((row) => row.first_name === 'First3')!.sources.map((s) => s.matched_by)).toEqual(['self', 'email']);
        expect(JSON.stringify(page.people)).not.toMatch(/1980-|acme\.example/);
      }
      skipped = page.skipped;
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(skipped).toEqual([]);
    expect(seen).toHaveLength(235);
    expect(new Set(seen).size).toBe(235);
    expect(seen.some((s) => s.startsWith('other/'))).toBe(false);
    // Per read of the directory: east 3 directory pages + 3 batches of ≤ 100, west 1 + 1; no foreign token used.
    expect(finchData.calls.filter((c) => c.token === 'tok-east' && c.path === '/employer/directory')).toHaveLength(3 * pages);
    expect(finchData.calls.filter((c) => c.token === 'tok-east' && c.path === '/employer/individual')).toHaveLength(3 * pages);
    expect(finchData.calls.some((c) => c.token === 'tok-other')).toBe(false);
  });

  test('a connection in reauth is skipped and named, without calling Finch with its token', async () => {
    const { deps, store, finchData } = setup();
    seed(store, 'acme', 'east');
    seed(store, 'acme', 'stale', { status: 'reauth' });
    seed(store, 'acme', 'gone', { status: 'disconnected', token: null });
    seed(store, 'acme', 'assisted', { status: 'pending' });
    finchData.people.set('tok-east', withIds(pool.slice(0, 3), 'e'));
    const page = await readDirectory(deps, 'acme', { limit: 50 });
    expect(page.people).toHaveLength(3);
    expect(page.skipped).toEqual([
      { connection_id: 'assisted', reason: 'not_connected' },
      { connection_id: 'stale', reason: 'reauth_required' },
    ]);
    expect(finchData.calls.every((c) => c.token === 'tok-east')).toBe(true);
  });

  test('Finch answering 401 reauthenticate_user marks the connection reauth and skips it; a 5xx skips it too', async () => {
    const { deps, store, finchData } = setup();
    seed(store, 'acme', 'east');
    seed(store, 'acme', 'west');
    seed(store, 'acme', 'down');
    finchData.people.set('tok-east', withIds(pool.slice(0, 3), 'e'));
    finchData.override.set('tok-west', { status: 401, body: { code: 401, finch_code: 'reauthenticate_user' }, headers: {} });
    finchData.override.set('tok-down', { status: 503, body: { code: 503 }, headers: {} });
    const page = await readDirectory(deps, 'acme', { limit: 50 });
    expect(page.skipped).toEqual([
      { connection_id: 'down', reason: 'finch_unavailable' },
      { connection_id: 'west', reason: 'reauth_required' },
    ]);
    expect(store.connections.get('acme/west')!.status).toBe('reauth');
    expect(store.connections.get('acme/down')!.status).toBe('connected');
    expect(page.people).toHaveLength(3);
  });

  test('a cursor this API did not return is a 400', async () => {
    const { deps } = setup();
    for (const cursor of ['x', Buffer.from('{"v":1,"offset":-1}').toString('base64url'), Buffer.from('{"offset":5}').toString('base64url')]) {
      expect(await readDirectory(deps, 'acme', { limit: 10, cursor }).catch(answerOf)).toMatchObject({ status: 400, code: 'invalid_request' });
    }
  });
});

describe('readDirectory within its deadline', () => {
  /**
   * Finch calls that each take `costMs[token]` of virtual time, running concurrently: whenever
   * every read is waiting on Finch, the clock jumps to the next call due and answers it. A call
   * still running at its deadline is cut there, as the adapter does. No sleeping.
   */
  function timed(costMs: Record<string, number>) {
    const { deps: core, store } = fakeDeps();
    const start = Date.parse('2026-01-01T00:00:00Z');
    let now = start;
    const finchData = new FakeFinchData();
    const starts: Array<{ token: string; at: number; deadline: number | undefined }> = [];
    const running: Array<{ dueAt: number; cut: boolean; settle: () => void }> = [];
    const answer = finchData.forward.bind(finchData);
    const advance = () => {
      if (running.length === 0) return;
      running.sort((a, b) => a.dueAt - b.dueAt);
      const next = running.shift()!;
      now = Math.max(now, next.dueAt);
      next.settle();
      setImmediate(advance);
    };
    finchData.forward = async (request, source) => { const token = await source(); return new Promise((resolve, reject) => {
      starts.push({ token, at: now, deadline: request.deadline });
      const dueAt = now + costMs[token];
      const cut = request.deadline !== undefined && dueAt > request.deadline;
      running.push({
        dueAt: cut ? request.deadline! : dueAt, cut,
        settle: () => (cut ? reject(new FinchDeadlineExceeded()) : resolve(answer(request, source))),
      });
      if (running.length === 1) setImmediate(advance);
    }); };
    const deps: ProxyDeps = { ...core, clock: { now: () => new Date(now) }, finchData, proxy: { writeRoutes: new Set() }, statusOf };
    return { deps, store, finchData, starts, start };
  }

  test('past the deadline: the people gathered so far, the unfinished connections skipped as deadline_exceeded, no Finch call started after it', async () => {
    const cost: Record<string, number> = {};
    const { deps, store, finchData, starts, start } = timed(cost);
    // Ten connections, four read at a time, each 2 calls of 600 ms, deadline at 2.3 s: four are read
    // by 1.2 s, the next four are cut in their second call, the last two never start.
    const ids = Array.from({ length: 10 }, (_, i) => `conn-${i}`);
    for (const id of ids) {
      seed(store, 'acme', id);
      finchData.people.set(`tok-${id}`, withIds(pool.slice(0, 2), id));
      cost[`tok-${id}`] = 600;
    }
    const deadline = start + 2300;
    const page = await readDirectoryBy(deps, 'acme', { limit: 100 }, deadline);

    expect(starts.length).toBeGreaterThan(0);
    expect(starts.filter((call) => call.at >= deadline)).toEqual([]);
    // Each call is cut at the deadline at the latest.
    expect(starts.every((call) => call.deadline === deadline)).toBe(true);
    const gathered = new Set(page.people.flatMap((row) => row.sources.map((s) => s.connection_id)));
    expect(gathered.size).toBe(4);
    expect(page.people.flatMap((row) => row.sources)).toHaveLength(2 * 4);
    expect(page.skipped).toHaveLength(6);
    expect(page.skipped.every((s) => s.reason === 'deadline_exceeded')).toBe(true);
    // Every connection is either in the answer or named as skipped, never both.
    expect([...gathered, ...page.skipped.map((s) => s.connection_id)].sort()).toEqual([...ids].sort());
    // Some were cut while Finch was answering, some never started.
    const called = new Set(starts.map((c) => c.token.slice('tok-'.length)));
    expect(page.skipped.some((s) => called.has(s.connection_id))).toBe(true);
    expect(page.skipped.some((s) => !called.has(s.connection_id))).toBe(true);
  });

  test('a call that times out on its own before the deadline is finch_unavailable; one cut by the deadline is deadline_exceeded', async () => {
    const { deps, store, finchData, start } = timed({ 'tok-slow': 10_000, 'tok-quick': 5 });
    seed(store, 'acme', 'slow');
    seed(store, 'acme', 'quick');
    finchData.people.set('tok-quick', withIds(pool.slice(0, 2), 'q'));
    const page = await readDirectoryBy(deps, 'acme', { limit: 100 }, start + 2000);
    expect(page.skipped).toEqual([{ connection_id: 'slow', reason: 'deadline_exceeded' }]);
    expect(page.people).toHaveLength(2);

    const late = timed({ 'tok-down': 5 });
    seed(late.store, 'acme', 'down');
    late.finchData.forward = async () => { throw new FinchTimeout(); };
    expect((await readDirectoryBy(late.deps, 'acme', { limit: 100 }, late.start + 60_000)).skipped)
      .toEqual([{ connection_id: 'down', reason: 'finch_unavailable' }]);
  });
});
