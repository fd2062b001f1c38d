// Idempotency-Key on POST /connect/sessions: keyed by the caller (customer, admin or customer token,
// subject, client) and the key, the same body answers the first response, another body is 422, and
// the stored response is encrypted.
import { faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { emulatorFault, scanTable, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const sessions = () => h.emulator.state().calls['POST /connect/sessions'] ?? 0;
const create = (customer: string, key: string, body: Record<string, unknown> = { flow: 'embedded' }) =>
  h.invoke('POST /connect/sessions', { claims: { customer_id: customer }, body, headers: { 'idempotency-key': key } });

test('the same customer, key and body answer the first response without a second Finch call', async () => {
  const before = sessions();
  const first = await create('idem-co', 'key-1');
  expect(first.statusCode).toBe(201);
  const again = await create('idem-co', 'key-1');
  expect(again.statusCode).toBe(201);
  expect(again.json).toEqual(first.json);
  expect(sessions()).toBe(before + 1);
});

test('a throttled Idempotency-Key record is 503 service_unavailable; the retry with the same key creates the session once', async () => {
  // Powertools writes its record through the store's DynamoDB client: the injector sees it first.
  const inject = injectFaults(storeClient(h.app.deps));
  try {
    inject.add({ step: 'any-write', error: faults.throttling });
    const before = sessions();
    const refused = await create('idem-throttled', 'key-t');
    expect(refused.statusCode).toBe(503);
    expect(refused.json.error.code).toBe('service_unavailable');
    expect(sessions()).toBe(before);
    const first = await create('idem-throttled', 'key-t');
    expect(first.statusCode).toBe(201);
    expect((await create('idem-throttled', 'key-t')).json).toEqual(first.json);
    expect(sessions()).toBe(before + 1);
  } finally {
    inject.remove();
  }
});

test('the same key with another body is 422 and changes nothing', async () => {
  await create('idem-co', 'key-2');
  const before = (await scanTable(h)).length;
  const other = await create('idem-co', 'key-2', { flow: 'embedded', minutes_to_expire: 10 });
  expect(other.statusCode).toBe(422);
  expect(other.json.error.code).toBe('idempotency_key_reused');
  expect((await scanTable(h)).length).toBe(before);
});

test('another customer reusing the key gets its own session, never the first customer\'s', async () => {
  const first = await create('idem-a', 'shared-key');
  const second = await create('idem-b', 'shared-key');
  expect(second.statusCode).toBe(201);
  expect(second.json.state).not.toBe(first.json.state);
  expect(second.json.finch_customer_id).toBe('idem-b');
});

describe('the key is scoped to who calls, not only to the customer', () => {
  const send = (claims: Record<string, unknown>, key: string, body: Record<string, unknown>) =>
    h.invoke('POST /connect/sessions', { claims, body, headers: { 'idempotency-key': key } });
  const admin = (extra: Record<string, unknown> = {}) => ({ scope: 'connections:admin', sub: 'svc-backend', client_id: 'svc-backend', ...extra });

  test('the customer replaying an admin\'s key and body is held to ALLOWED_PRODUCTS and never gets the admin\'s session', async () => {
    const body = { customer_id: 'idem-ceiling', flow: 'embedded', products: ['company', 'benefits', 'ssn'] };
    const before = sessions();
    const first = await send(admin(), 'ceiling-key', body);
    expect(first.statusCode).toBe(201);
    const replay = await send({ customer_id: 'idem-ceiling', sub: 'user-1' }, 'ceiling-key', body);
    expect(replay.statusCode).toBe(400);
    expect(replay.json.error.code).toBe('invalid_request');
    expect(replay.body).not.toContain(first.json.state);
    expect(sessions()).toBe(before + 1);
  });

  test('an admin and the customer using one key (within the ceiling) get separate sessions', async () => {
    const body = { customer_id: 'idem-kinds', flow: 'embedded' };
    const byAdmin = await send(admin(), 'kinds-key', body);
    const byCustomer = await send({ customer_id: 'idem-kinds', sub: 'user-1' }, 'kinds-key', body);
    expect([byAdmin.statusCode, byCustomer.statusCode]).toEqual([201, 201]);
    expect(byCustomer.json.state).not.toBe(byAdmin.json.state);
    // Each replays its own.
    expect((await send({ customer_id: 'idem-kinds', sub: 'user-1' }, 'kinds-key', body)).json).toEqual(byCustomer.json);
    expect((await send(admin(), 'kinds-key', body)).json).toEqual(byAdmin.json);
  });

  test('two users of one customer, or two admin clients, using one key get their own sessions', async () => {
    const body = { flow: 'embedded' };
    const userOne = await send({ customer_id: 'idem-users', sub: 'user-1' }, 'users-key', body);
    const userTwo = await send({ customer_id: 'idem-users', sub: 'user-2' }, 'users-key', body);
    expect(userTwo.statusCode).toBe(201);
    expect(userTwo.json.state).not.toBe(userOne.json.state);
    const adminBody = { customer_id: 'idem-users', flow: 'embedded' };
    const clientA = await send(admin({ sub: undefined, client_id: 'svc-a' }), 'clients-key', adminBody);
    const clientB = await send(admin({ sub: undefined, client_id: 'svc-b' }), 'clients-key', adminBody);
    expect(clientB.statusCode).toBe(201);
    expect(clientB.json.state).not.toBe(clientA.json.state);
  });

  test('options are checked before the key is recorded: a request over the ceiling is 400 even when the record cannot be written', async () => {
    const inject = injectFaults(storeClient(h.app.deps));
    try {
      inject.add({ step: 'any-write', error: faults.throttling, times: Infinity });
      const before = sessions();
      const refused = await send({ customer_id: 'idem-order', sub: 'user-1' }, 'order-key', { flow: 'embedded', products: ['ssn'] });
      expect(refused.statusCode).toBe(400);
      expect(refused.json.error.details).toEqual([{ path: 'products.0', message: '"ssn" is not in ALLOWED_PRODUCTS' }]);
      expect(sessions()).toBe(before);
    } finally {
      inject.remove();
    }
  });
});

test('the stored response is encrypted: the live state is not in the table', async () => {
  const first = await create('idem-secret-co', 'key-3');
  const records = (await scanTable(h)).filter((i) => i.pk === 'IDEMPOTENCY');
  expect(records.length).toBeGreaterThan(0);
  const text = JSON.stringify(records);
  expect(text).not.toContain(first.json.state);
  expect(text).not.toContain('idem-secret-co');
  expect(records.every((r) => typeof r.ttl === 'number')).toBe(true);
});

test('a failed request is not remembered: a retry after the failure runs again', async () => {
  await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 500, times: 2 });
  const failed = await create('idem-retry-co', 'key-4');
  expect(failed.statusCode).toBe(502);
  expect(failed.json.error.code).toBe('finch_unavailable');
  const retried = await create('idem-retry-co', 'key-4');
  expect(retried.statusCode).toBe(201);
});

test('a malformed key is 400', async () => {
  const res = await create('idem-co', 'has space');
  expect(res.statusCode).toBe(400);
});
