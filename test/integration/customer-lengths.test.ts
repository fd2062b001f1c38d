// customer_id and customer_name: Finch takes 1 to 255 characters of each (DOCS.newSession,
// "Required string length: 1 - 255"). The backend's limits agree: what it accepts Finch accepts,
// and what Finch would refuse is refused here first, naming the field, with no call to Finch.
import { RETURN_ORIGIN, authorizeAtFinch, startHarness, type Harness } from '../support/harness.js';
import { DOCS } from '../fidelity/support.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const ADMIN = { sub: 'backoffice', scope: 'connections:admin' };
const calls = () => h.emulator.state().calls['POST /connect/sessions'] ?? 0;
let made = 0;
/** A customer id of exactly `length` characters, unique in this run. */
const customerOf = (length: number) => {
  const prefix = `c${++made}-`;
  return `${prefix}${'x'.repeat(length - prefix.length)}`;
};

/** Connects through the hosted page and the callback; answers the stored connection and what Finch holds. */
async function connectAs(claims: Record<string, unknown>, body: Record<string, unknown>) {
  const session = await h.invoke('POST /connect/sessions', { claims, body: { return_to: `${RETURN_ORIGIN}/`, ...body } });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const back = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
  const connection_id = new URL(back.headers.location).searchParams.get('connection_id')!;
  expect(connection_id).toBeTruthy();
  return { session: session.json, atFinch: h.emulator.state().connections.find((c) => c.connection_id === connection_id)!, connection_id };
}

describe(`customer_id: 1 to 255 characters, as Finch's (${DOCS.newSession})`, () => {
  test.each([1, 255])('a customer_id claim of %i characters connects, and Finch gets it whole', async (length) => {
    const customer_id = length === 1 ? 'q' : customerOf(length);
    const { atFinch, connection_id } = await connectAs({ customer_id }, {});
    expect(atFinch.customer_id).toBe(customer_id);
    const list = await h.invoke('GET /connections', { claims: { customer_id } });
    expect(list.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([connection_id]);
  });

  test('a customer_id claim of 256 characters → 403, no call to Finch', async () => {
    const before = calls();
    const res = await h.invoke('POST /connect/sessions', { claims: { customer_id: customerOf(256) }, body: {} });
    expect(res.statusCode).toBe(403);
    expect(calls()).toBe(before);
  });

  test('an admin names a customer_id of 255 characters: 201; of 256: 400 naming customer_id, no call to Finch', async () => {
    const ok = await h.invoke('POST /connect/sessions', { claims: ADMIN, body: { customer_id: customerOf(255) } });
    expect(ok.statusCode).toBe(201);
    const before = calls();
    const res = await h.invoke('POST /connect/sessions', { claims: ADMIN, body: { customer_id: customerOf(256) } });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.details).toEqual([{ path: 'customer_id', message: expect.stringContaining('1-255') }]);
    expect(calls()).toBe(before);
  });

  test('customer_id~entity is Finch\'s customer_id: 255 characters connect; 256 → 400 naming entity, no call to Finch', async () => {
    const entity = 'e'.repeat(32);
    const customer_id = customerOf(222);
    const { atFinch } = await connectAs({ customer_id }, { entity });
    expect(atFinch.customer_id).toBe(`${customer_id}~${entity}`);
    expect(atFinch.customer_id).toHaveLength(255);
    const before = calls();
    const res = await h.invoke('POST /connect/sessions', { claims: { customer_id: customerOf(223) }, body: { entity } });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.details).toEqual([{ path: 'entity', message: expect.stringContaining('255') }]);
    expect(calls()).toBe(before);
  });
});

describe(`customer_name: 1 to 255 characters, as Finch's (${DOCS.newSession})`, () => {
  test('a customer_name of 255 characters connects, and Finch gets it whole', async () => {
    const customer_name = 'N'.repeat(255);
    const { atFinch } = await connectAs({ customer_id: customerOf(20) }, { customer_name });
    expect(atFinch.customer_name).toBe(customer_name);
  });

  test.each([
    ['256 characters', 'N'.repeat(256)],
    ['empty', ''],
  ])('a customer_name of %s → 400 naming customer_name, no call to Finch', async (_name, customer_name) => {
    const before = calls();
    const res = await h.invoke('POST /connect/sessions', { claims: { customer_id: customerOf(20) }, body: { customer_name } });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('invalid_request');
    expect(res.json.error.details).toEqual([{ path: 'customer_name', message: expect.any(String) }]);
    expect(calls()).toBe(before);
  });

  test('a customer_name claim longer than 255 characters is sent cut to 255 (the caller cannot change a claim)', async () => {
    const claimed = `${'Ä'.repeat(254)}😀 and more`;
    const { atFinch } = await connectAs({ customer_id: customerOf(20), customer_name: claimed }, {});
    // Cut at 255 UTF-16 units, never inside a surrogate pair: the emoji would be split, so it goes.
    expect(atFinch.customer_name).toBe('Ä'.repeat(254));
  });
});
