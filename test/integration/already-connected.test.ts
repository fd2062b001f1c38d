// Finch refuses a new Connect session for a customer id that already has a live connection and
// asks for reauthentication instead (DOCS.manageConnections, DOCS.newSession), but documents no
// body for the refusal. Every shape the emulator can answer must be recognised: with a connection
// id the backend answers 409 with it (ours) or adopts it (nobody's); without one, 409 with guidance.
// Never a 5xx, never a retry of the refusal, never a session for a new connection.
import { keys } from '#adapters/table.js';
import { RETURN_ORIGIN, authorizeAtFinch, connectCustomer, customerIds, emulatorFault, getItem, harnessForFile, scanTable } from '../support/harness.js';
import { DOCS } from '../fidelity/support.js';

const h = harnessForFile({ clearFaults: true });

const claims = (customer_id: string) => ({ customer_id });
const calls = (key: string) => h.emulator.state().calls[key] ?? 0;
const customer = customerIds();

/** A connection stored here for a new customer. */
async function connected(name: string) {
  const id = customer(name);
  return { customer: id, connection_id: await connectCustomer(h, claims(id)) };
}

/** A connection Finch has for a new customer that nobody here owns (the callback never came back). */
async function lost(name: string) {
  const id = customer(name);
  const session = await h.invoke('POST /connect/sessions', { claims: claims(id), body: { return_to: `${RETURN_ORIGIN}/` } });
  await authorizeAtFinch(session.json.connect_url);
  const at = h.emulator.state().connections.find((c) => c.customer_id === id)!;
  return { customer: id, connection_id: at.connection_id };
}

/** The refusal's shape: status 400 or 409, its finch_code (null: none), whether context names the connection. */
type Shape = { status: 400 | 409; finch_code: string | null; context: boolean };
const refuse = (shape: Shape) => emulatorFault(h, { method: 'POST', path: '/connect/sessions', error: 'connection_already_exists', ...shape, times: 3 });

const SHAPES: Array<[string, Shape]> = [
  ['400 connection_already_exists with context (the default)', { status: 400, finch_code: 'connection_already_exists', context: true }],
  ['400 with another finch_code, with context', { status: 400, finch_code: 'customer_already_connected', context: true }],
  ['400 without finch_code, with context', { status: 400, finch_code: null, context: true }],
  ['409 with context', { status: 409, finch_code: 'connection_already_exists', context: true }],
  ['409 without finch_code, with context', { status: 409, finch_code: null, context: true }],
];
const WITHOUT_ID: Array<[string, Shape]> = [
  ['400 connection_already_exists without context', { status: 400, finch_code: 'connection_already_exists', context: false }],
  ['400 with another finch_code, without context', { status: 400, finch_code: 'customer_already_connected', context: false }],
  ['400 without finch_code or context', { status: 400, finch_code: null, context: false }],
  ['409 without context', { status: 409, finch_code: 'connection_already_exists', context: false }],
  ['409 without finch_code or context', { status: 409, finch_code: null, context: false }],
];

function expectGuidance(res: { statusCode: number; json: any }) {
  expect(res.statusCode).toBe(409);
  expect(res.json.error.code).toBe('connection_already_exists');
  expect(res.json.error).not.toHaveProperty('connection_id');
  // What to do instead: reauthenticate the connection the caller knows, or connect another entity.
  expect(res.json.error.message).toMatch(/reauthenticate/i);
  expect(res.json.error.message).toMatch(/entity/);
}

describe(`"already connected" on POST /connect/sessions, a connection id in the refusal (${DOCS.manageConnections})`, () => {
  test.each(SHAPES)('%s, the caller\'s connection → 409 connection_already_exists with its id, one call to Finch', async (_name, shape) => {
    const mine = await connected('mine');
    await refuse(shape);
    const before = calls('POST /connect/sessions');
    const res = await h.invoke('POST /connect/sessions', { claims: claims(mine.customer), body: {} });
    expect(res.statusCode).toBe(409);
    expect(res.json.error).toMatchObject({ code: 'connection_already_exists', connection_id: mine.connection_id });
    expect(calls('POST /connect/sessions')).toBe(before + 1);
  });

  test.each(SHAPES)('%s, a connection nobody here owns → 201 adopting it', async (_name, shape) => {
    const orphan = await lost('orphan');
    await refuse(shape);
    const res = await h.invoke('POST /connect/sessions', { claims: claims(orphan.customer), body: { return_to: `${RETURN_ORIGIN}/` } });
    expect(res.statusCode).toBe(201);
    expect(res.json.adopts_connection_id).toBe(orphan.connection_id);
  });
});

describe(`"already connected" without a connection id (${DOCS.manageConnections})`, () => {
  test.each(WITHOUT_ID)('%s, the caller\'s connection → 409 with guidance, one call to Finch', async (_name, shape) => {
    const mine = await connected('mine-no-id');
    await refuse(shape);
    const before = calls('POST /connect/sessions');
    const res = await h.invoke('POST /connect/sessions', { claims: claims(mine.customer), body: {} });
    expectGuidance(res);
    expect(calls('POST /connect/sessions')).toBe(before + 1);
  });

  test.each(WITHOUT_ID)('%s, a connection nobody here owns → 409 with guidance; no session, no reauthentication at Finch, no new connection', async (_name, shape) => {
    const orphan = await lost('orphan-no-id');
    await refuse(shape);
    const sessions = (await scanTable(h)).filter((item) => String(item.pk).startsWith('SESSION#') && item.customer_id === orphan.customer).length;
    const reauths = calls('POST /connect/sessions/reauthenticate');
    const res = await h.invoke('POST /connect/sessions', { claims: claims(orphan.customer), body: { return_to: `${RETURN_ORIGIN}/` } });
    expectGuidance(res);
    expect((await scanTable(h)).filter((item) => String(item.pk).startsWith('SESSION#') && item.customer_id === orphan.customer).length).toBe(sessions);
    expect(calls('POST /connect/sessions/reauthenticate')).toBe(reauths);
    expect(h.emulator.state().connections.filter((c) => c.customer_id === orphan.customer)).toHaveLength(1);
    expect(await getItem(h, keys.owner(orphan.connection_id))).toBeUndefined();
  });
});

describe(`a 400 about something else stays a refusal of the request (${DOCS.errorTypes})`, () => {
  test('400 bad_request/invalid_request → 400 finch_rejected_request, not "already connected"', async () => {
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', error: 'bad_request', finch_code: 'invalid_request' });
    const res = await h.invoke('POST /connect/sessions', { claims: claims(customer('bad-products')), body: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('finch_rejected_request');
  });

  test('400 whose message is about the products → 400 finch_rejected_request', async () => {
    await emulatorFault(h, {
      method: 'POST', path: '/connect/sessions', status: 400,
      body: { code: 400, name: 'bad_request', message: 'products[0] must be one of the Finch products.', finch_code: 'invalid_request' },
    });
    const res = await h.invoke('POST /connect/sessions', { claims: claims(customer('bad-products')), body: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('finch_rejected_request');
  });
});
