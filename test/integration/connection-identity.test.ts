// Connection identity, as Finch's "Disconnect Tokens" page tells it (DOCS.disconnectTokens): the same
// company on the same provider with the same credentials is one connection (a new token); other
// credentials make another connection. Finch expects one customer to hold several connections
// (DOCS.manageConnections); the backend stores and lists each as its own, and a token of one is
// never stored as the other's.
import { keys } from '#adapters/table.js';
import { RETURN_ORIGIN, authorizeAtFinch, getItem, startHarness, type Harness } from '../support/harness.js';
import { DOCS } from '../fidelity/support.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = (customer_id: string) => ({ customer_id });
const atFinch = (connection_id: string) => h.emulator.state().connections.find((c) => c.connection_id === connection_id)!;

/** Starts a session (a new one, or a reauthentication), logs in at Finch's page with `login`, and takes the callback. */
async function connect(customer: string, body: Record<string, unknown>, login?: string, route = 'POST /connect/sessions') {
  const session = await h.invoke(route, { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/`, ...body } });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url, { login });
  const back = new URL((await h.invoke('GET /connect/callback', { query: { code: code!, state } })).headers.location).searchParams;
  return { status: back.get('status'), error: back.get('error'), connection_id: back.get('connection_id') };
}

describe(`one customer, one company, two logins: two connections (${DOCS.disconnectTokens}, ${DOCS.manageConnections})`, () => {
  test('another login for the same company (under another entity) is stored and listed as a second connection', async () => {
    const first = await connect('ident-co', {}, 'admin@ident-co');
    const second = await connect('ident-co', { entity: 'payroll-team' }, 'payroll@ident-co');
    expect(second.status).toBe('connected');
    expect(second.connection_id).not.toBe(first.connection_id);
    // The same employer at Finch: one company, two connections.
    expect(atFinch(second.connection_id!).company_id).toBe(atFinch(first.connection_id!).company_id);

    const list = await h.invoke('GET /connections', { claims: claims('ident-co') });
    expect(list.statusCode).toBe(200);
    const rows = list.json.connections.map((c: Record<string, unknown>) => [c.connection_id, c.entity, c.status]);
    expect(rows).toEqual(expect.arrayContaining([
      [first.connection_id, null, 'connected'],
      [second.connection_id, 'payroll-team', 'connected'],
    ]));
    expect(rows).toHaveLength(2);
    // Each refreshes on its own token: nothing of one was stored as the other's.
    for (const { connection_id } of [first, second]) {
      const refreshed = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-co'), query: { refresh: 'true' } });
      expect(refreshed.json).toMatchObject({ connection_id, status: 'connected', token_version: 1 });
    }
  });

  test('a reauthentication with another login keeps its connection: same id, a new token', async () => {
    const first = await connect('ident-reauth-co', {}, 'admin@ident-reauth-co');
    const again = await connect('ident-reauth-co', { connection_id: first.connection_id }, 'someone-else@ident-reauth-co', 'POST /connect/sessions/reauthenticate');
    expect(again).toMatchObject({ status: 'connected', connection_id: first.connection_id });
    expect(await getItem(h, keys.connection('ident-reauth-co', first.connection_id!))).toMatchObject({ token_version: 2 });
    const list = await h.invoke('GET /connections', { claims: claims('ident-reauth-co') });
    expect(list.json.connections).toHaveLength(1);
  });

  test('the same login under another entity is Finch\'s first connection again: nothing new is stored, the first is unchanged', async () => {
    const first = await connect('ident-same-co', {}, 'admin@ident-same-co');
    const before = await getItem(h, keys.connection('ident-same-co', first.connection_id!));
    const again = await connect('ident-same-co', { entity: 'other' }, 'admin@ident-same-co');
    // Finch answers a token of the first connection, whose Finch customer id is not this session's.
    expect(again).toMatchObject({ status: 'error', error: 'customer_mismatch' });
    expect(await getItem(h, keys.connection('ident-same-co', first.connection_id!))).toEqual(before);
    const list = await h.invoke('GET /connections', { claims: claims('ident-same-co') });
    expect(list.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([first.connection_id]);
  });
});
