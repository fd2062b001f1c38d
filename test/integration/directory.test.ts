// GET /directory through the real handler, DynamoDB Local and the Finch emulator, whose fake
// companies for two connections of one customer (acme and acme~west) share people on purpose,
// under different individual ids.
import { keys } from '#adapters/table.js';
import { DIRECTORY_RESERVE_MS } from '#core/directory.js';
import { clearEmulatorFaults, connectCustomer, emulatorFault, getItem, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const tokenOf = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens.at(-1)!;

async function connect(customer: string, entity?: string): Promise<string> {
  const id = await connectCustomer(h, claims(customer), { products: ['company', 'directory', 'individual'], ...(entity ? { entity } : {}) });
  // Small companies (8 people, not the emulator's 250) keep every /directory call to one Finch page
  // and the rows countable; test/integration/directory-paging.test.ts pages through 250.
  const sized = await fetch(`${h.emulator.url}/_emulator/connections/${id}/data`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employee_size: 8 }),
  });
  expect(sized.status).toBe(200);
  return id;
}

interface Individual { id: string; first_name: string; last_name: string; dob: string | null; emails: Array<{ data: string }> }

/** What Finch itself says about a connection's people, read with its token straight from the emulator. */
async function peopleAtFinch(connectionId: string): Promise<Array<Individual & { connection_id: string }>> {
  const headers = { authorization: `Bearer ${tokenOf(connectionId)}`, 'finch-api-version': '2020-09-17', 'content-type': 'application/json' };
  const directory = await (await fetch(`${h.emulator.url}/employer/directory`, { headers })).json() as { individuals: Array<{ id: string }> };
  const answer = await (await fetch(`${h.emulator.url}/employer/individual`, {
    method: 'POST', headers, body: JSON.stringify({ requests: directory.individuals.map((i) => ({ individual_id: i.id })) }),
  })).json() as { responses: Array<{ body: Individual }> };
  return answer.responses.map((r) => ({ ...r.body, connection_id: connectionId }));
}

type Row = { first_name: string; last_name: string; sources: Array<{ connection_id: string; individual_id: string; matched_by: string }> };

async function wholeDirectory(customer: string, limit: number) {
  const rows: Row[] = [];
  let cursor: string | undefined;
  let skipped: unknown;
  let pages = 0;
  do {
    const res = await h.invoke('GET /directory', { claims: claims(customer), query: { limit: String(limit), ...(cursor ? { cursor } : {}) } });
    expect(res.statusCode).toBe(200);
    rows.push(...res.json.people);
    skipped = res.json.skipped;
    cursor = res.json.next_cursor ?? undefined;
    pages++;
  } while (cursor && pages < 50);
  return { rows, skipped, pages };
}

let east: string;
let west: string;
let north: string;
beforeAll(async () => {
  east = await connect('acme');
  west = await connect('acme', 'west');
  north = await connect('acme', 'north');
  await connect('globex');
});

describe('GET /directory', () => {
  test('two connections sharing people merge into one row per person with both sources; a reauth one is skipped and flipped', async () => {
    // north needs reauthentication at Finch, but we have not heard yet: the directory finds out.
    await fetch(`${h.emulator.url}/_emulator/connections/${north}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'reauth' }),
    });
    const atFinch = [...await peopleAtFinch(east), ...await peopleAtFinch(west)];
    // The emulator's pool gives each person one email: the same person in both connections shares it.
    const byPerson = new Map<string, typeof atFinch>();
    for (const p of atFinch) byPerson.set(p.emails[0].data, [...(byPerson.get(p.emails[0].data) ?? []), p]);
    const shared = [...byPerson.values()].filter((group) => group.length === 2);
    expect(shared.length).toBeGreaterThanOrEqual(3);

    const { rows, skipped, pages } = await wholeDirectory('acme', 3);
    expect(pages).toBeGreaterThan(1);
    expect(skipped).toEqual([{ connection_id: north, reason: 'reauth_required' }]);
    expect(await getItem(h, keys.connection('acme', north))).toMatchObject({ status: 'reauth' });

    expect(rows).toHaveLength(byPerson.size);
    for (const group of byPerson.values()) {
      const row = rows.find((r) => r.sources.some((s) => s.individual_id === group[0].id))!;
      expect(row.sources.map((s) => `${s.connection_id}/${s.individual_id}`).sort())
        .toEqual(group.map((p) => `${p.connection_id}/${p.id}`).sort());
      expect(row.first_name).toBe(group[0].first_name);
      if (group.length === 2) {
        expect(row.sources[0].matched_by).toBe('self');
        // The pool's person without a date of birth can only be matched on the email.
        expect(row.sources[1].matched_by).toBe(group.every((p) => p.dob) ? 'name_dob' : 'email');
      }
    }
    // Every individual exactly once, and nothing of globex's.
    const all = rows.flatMap((r) => r.sources.map((s) => s.individual_id));
    expect(new Set(all).size).toBe(atFinch.length);
    expect(all).toHaveLength(atFinch.length);
    expect(rows.every((r) => r.sources.every((s) => s.connection_id === east || s.connection_id === west))).toBe(true);
  });

  test('rows hold names and sources only: no date of birth, no email, no token', async () => {
    const res = await h.invoke('GET /directory', { claims: claims('acme'), query: { limit: '100' } });
    expect(res.statusCode).toBe(200);
    for (const row of res.json.people) expect(Object.keys(row).sort()).toEqual(['first_name', 'last_name', 'sources']);
    // The only date answered is Finch's retrieval time (oldest_data_retrieved_at), never a person's.
    const { oldest_data_retrieved_at: retrieved, ...rest } = res.json;
    expect(retrieved).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(JSON.stringify(rest)).not.toMatch(/@|\d{4}-\d{2}-\d{2}/);
    for (const token of h.emulator.state().connections.flatMap((c) => c.tokens)) expect(res.body).not.toContain(token);
  });

  test('pages are stable: walking them with a small limit gives the same rows as one big page', async () => {
    const one = await h.invoke('GET /directory', { claims: claims('acme'), query: { limit: '100' } });
    const { rows } = await wholeDirectory('acme', 2);
    expect(rows).toEqual(one.json.people);
    expect(one.json.next_cursor).toBeNull();
  });

  test('bad paging input is 400; another customer sees only its own people', async () => {
    expect((await h.invoke('GET /directory', { claims: claims('acme'), query: { limit: '0' } })).statusCode).toBe(400);
    expect((await h.invoke('GET /directory', { claims: claims('acme'), query: { cursor: 'forged' } })).statusCode).toBe(400);
    expect((await h.invoke('GET /directory', { claims: claims('acme'), query: { ssn: 'true' } })).statusCode).toBe(400);
    const globex = await h.invoke('GET /directory', { claims: claims('globex'), query: { limit: '100' } });
    expect(globex.statusCode).toBe(200);
    const ids = new Set(globex.json.people.flatMap((r: Row) => r.sources.map((s) => s.connection_id)));
    expect([...ids]).toHaveLength(1);
    expect(ids.has(east) || ids.has(west) || ids.has(north)).toBe(false);
  });

  test('a customer with no connections gets an empty directory', async () => {
    const res = await h.invoke('GET /directory', { claims: claims('nobody-co') });
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({ people: [], next_cursor: null, skipped: [], oldest_data_retrieved_at: null });
  });
});

describe('GET /directory within the function\'s time', () => {
  afterEach(() => clearEmulatorFaults(h));

  test('Finch slow enough to outlast the budget → 200 with the people gathered, the unfinished connections skipped as deadline_exceeded, no Finch call after the deadline', async () => {
    // Nine connections, read four at a time; each directory read takes 2 s at Finch. With 3 s left
    // after the reserve, the first four finish, the next four are cut mid-call at the deadline,
    // and the last one never starts.
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push(await connect('slow-co', `e${i}`));
    const owner = new Map(ids.map((id) => [tokenOf(id), id]));
    await emulatorFault(h, { method: 'GET', path: '/employer/directory', delay_ms: 2000, times: 9 });

    // Every Finch data call the handler starts, with the connection whose token it carries.
    const started: Array<{ at: number; connection_id: string | undefined }> = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.startsWith(h.emulator.url) && new URL(url).pathname.startsWith('/employer/')) {
        const authorization = new Headers(input instanceof Request ? input.headers : init?.headers).get('authorization') ?? '';
        started.push({ at: Date.now(), connection_id: owner.get(authorization.replace(/^Bearer /, '')) });
      }
      return realFetch(input, init);
    }) as typeof fetch;
    const budgetMs = 3000;
    const before = Date.now();
    let answer;
    try {
      answer = await h.invoke('GET /directory', { claims: claims('slow-co'), query: { limit: '100' }, remainingTimeMs: DIRECTORY_RESERVE_MS + budgetMs });
    } finally {
      globalThis.fetch = realFetch;
    }

    expect(answer.statusCode).toBe(200);
    // The handler's deadline is at most `budgetMs` after it started, which was after `before`.
    expect(started.filter((call) => call.at >= before + budgetMs)).toEqual([]);
    const skipped = answer.json.skipped as Array<{ connection_id: string; reason: string }>;
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((s) => s.reason === 'deadline_exceeded')).toBe(true);
    const gathered = new Set((answer.json.people as Row[]).flatMap((row) => row.sources.map((s) => s.connection_id)));
    expect(gathered.size).toBeGreaterThan(0);
    expect([...gathered, ...skipped.map((s) => s.connection_id)].sort()).toEqual([...ids].sort());
    // Cut in the middle: some skipped connections had a call running, at least one never started.
    const called = new Set(started.map((call) => call.connection_id));
    expect(skipped.some((s) => called.has(s.connection_id))).toBe(true);
    expect(skipped.some((s) => !called.has(s.connection_id))).toBe(true);
  });
});
