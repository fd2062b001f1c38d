// A 250-person company (the emulator's default size) read through the real handlers: the proxy
// pages Finch's directory with limit and offset, and GET /directory walks Finch's pages (of 100)
// and its own cursor, reaching a second and third page on both sides.
import { connectCustomer, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const tokenOf = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens.at(-1)!;
const finchCalls = (route: string) => h.emulator.state().calls[route] ?? 0;

const connect = (customer: string, entity?: string) =>
  connectCustomer(h, claims(customer), { products: ['company', 'directory', 'individual'], ...(entity ? { entity } : {}) });

/** What Finch itself lists for a connection: its people's ids and emails, read with its token. */
async function peopleAtFinch(connectionId: string): Promise<Array<{ id: string; email: string }>> {
  const headers = { authorization: `Bearer ${tokenOf(connectionId)}`, 'finch-api-version': '2020-09-17', 'content-type': 'application/json' };
  const directory = await (await fetch(`${h.emulator.url}/employer/directory`, { headers })).json() as { individuals: Array<{ id: string }> };
  const answer = await (await fetch(`${h.emulator.url}/employer/individual`, {
    method: 'POST', headers, body: JSON.stringify({ requests: directory.individuals.map((i) => ({ individual_id: i.id })) }),
  })).json() as { responses: Array<{ individual_id: string; body: { emails: Array<{ data: string }> } }> };
  return answer.responses.map((r) => ({ id: r.individual_id, email: r.body.emails[0].data }));
}

let east: string;
let west: string;
beforeAll(async () => {
  east = await connect('paging-co');
  west = await connect('paging-co', 'west');
});

describe('a 250-person directory through the proxy', () => {
  test('GET /finch/employer/directory pages with limit and offset: 100, 100, 50 of paging.count 250, every person once', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await h.invoke('GET /finch/employer/directory', {
        claims: claims('paging-co'), headers: { 'finch-connection-id': east }, query: { limit: '100', offset: String(offset) },
      });
      expect(page.statusCode).toBe(200);
      expect(page.json.paging).toEqual({ count: 250, offset });
      sizes.push(page.json.individuals.length);
      seen.push(...page.json.individuals.map((person: { id: string }) => person.id));
      if (offset + 100 >= page.json.paging.count) break;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(seen).size).toBe(250);
    expect(seen).toEqual((await peopleAtFinch(east)).map((person) => person.id));
  });
});

describe('a 250-person directory through GET /directory', () => {
  test('the backend reads every Finch page of both connections and pages its merged rows with its cursor', async () => {
    const eastPeople = await peopleAtFinch(east);
    const westPeople = await peopleAtFinch(west);
    const atFinch = [...eastPeople, ...westPeople];
    // The same person in both connections has one email: the merged directory has one row per email.
    const emails = new Set(atFinch.map((person) => person.email));
    expect(emails.size).toBeLessThan(atFinch.length);

    const directoryPagesBefore = finchCalls('GET /employer/directory');
    const rows: Array<{ sources: Array<{ connection_id: string; individual_id: string }> }> = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await h.invoke('GET /directory', { claims: claims('paging-co'), query: { limit: '100', ...(cursor ? { cursor } : {}) } });
      expect(res.statusCode).toBe(200);
      expect(res.json.skipped).toEqual([]);
      rows.push(...res.json.people);
      sizes.push(res.json.people.length);
      cursor = res.json.next_cursor ?? undefined;
    } while (cursor && sizes.length < 10);

    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(sizes.slice(0, -1).every((size) => size === 100)).toBe(true);
    expect(rows).toHaveLength(emails.size);
    const sources = rows.flatMap((row) => row.sources.map((source) => `${source.connection_id}/${source.individual_id}`));
    expect(sources.sort()).toEqual([
      ...eastPeople.map((person) => `${east}/${person.id}`), ...westPeople.map((person) => `${west}/${person.id}`),
    ].sort());
    // Each GET /directory read both connections' three Finch pages (100, 100, 50).
    expect(finchCalls('GET /employer/directory') - directoryPagesBefore).toBe(sizes.length * 2 * 3);
  });
});
