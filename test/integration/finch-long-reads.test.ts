// Reads that outlast the gateway (issue 17), through the real finch-proxy and webhook handlers,
// DynamoDB Local and the Finch emulator: Finch's freshness headers passed through
// ("Headers": https://developer.tryfinch.com/api-reference/development-guides/Headers) and the
// oldest one a /directory page merged; Finch's 202 for an assisted connection whose data is not
// ready ("Handling API Responses", 202 Response Codes); a read slower than the function's time
// (the emulator's delay_ms past a small deadline: the Lambda context's remaining time) answered
// 504 finch_timeout saying whether the initial sync is still pending, before and after Finch's
// job.initial_data_sync_*.succeeded; and statuses Finch documents that the SDK's union misses.
import { PROXY_RESERVE_MS } from '#core/finch-reads.js';
import { connectCustomer, customerIds, deliverWebhook, emulatorFault, getItem, harnessForFile } from '../support/harness.js';
import { keys } from '#adapters/table.js';

// Finch's per-call timeout short, so a proxied read shows it waits for its deadline instead.
const FINCH_TIMEOUT_MS = 1000;
const h = harnessForFile({ clearFaults: true, env: { FINCH_TIMEOUT_MS: String(FINCH_TIMEOUT_MS) } });
const newCustomer = customerIds();
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const PRODUCTS = ['company', 'directory', 'individual', 'payment'];

/** A deadline of 400 ms: the context's remaining time, less what the proxy keeps for answering. */
const SMALL_BUDGET = { remainingTimeMs: PROXY_RESERVE_MS + 400 };
/** Longer than that budget: Finch "reading the provider live" before the initial sync. */
const SLOW = 2500;

async function connect(customer: string, body: Record<string, unknown> = {}) {
  return connectCustomer(h, claims(customer), { products: PRODUCTS, ...body });
}

const read = (customer: string, connectionId: string, path: string, options: { remainingTimeMs?: number } = {}) =>
  h.invoke(`GET /finch${path}`, { claims: claims(customer), headers: { 'finch-connection-id': connectionId }, query: path.includes('payment') ? { start_date: '2025-01-01', end_date: '2025-02-01' } : undefined, ...options });

async function emulatorControl(path: string, body: Record<string, unknown>) {
  const res = await fetch(`${h.emulator.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function webhook(body: Record<string, unknown>) {
  const res = await deliverWebhook(h, body);
  expect(res.statusCode).toBe(200);
}

const tokenOf = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens.at(-1)!;
async function finchDirect(path: string, token: string) {
  return fetch(`${h.emulator.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'finch-api-version': '2020-09-17' } });
}

describe('Finch\'s freshness headers', () => {
  test('a proxied read answers Finch-Data-Retrieved and Finch-Last-Attempted-Update-Date/-Result as Finch sent them', async () => {
    const customer = newCustomer('fresh');
    const id = await connect(customer);
    const direct = await finchDirect('/employer/company', tokenOf(id));
    expect(direct.headers.get('finch-data-retrieved')).toMatch(/^\d{4}-\d\d-\d\dT/);
    const res = await read(customer, id, '/employer/company');
    expect(res.statusCode).toBe(200);
    expect(res.headers['finch-data-retrieved']).toBe(direct.headers.get('finch-data-retrieved'));
    expect(res.headers['finch-last-attempted-update-date']).toBe(direct.headers.get('finch-last-attempted-update-date'));
    expect(res.headers['finch-last-attempted-update-result']).toBe('success');
  });

  test('/directory answers the oldest retrieval time of the answers it merged', async () => {
    const customer = newCustomer('fresh-dir');
    await connect(customer);
    await connect(customer, { entity: 'second' });
    // One connection's directory was retrieved long ago (Finch's header, set on one answer).
    await emulatorFault(h, { method: 'GET', path: '/employer/directory', headers: { 'Finch-Data-Retrieved': '2021-03-04T05:06:07Z' }, times: 1 });
    const res = await h.invoke('GET /directory', { claims: claims(customer) });
    expect(res.statusCode).toBe(200);
    expect(res.json.skipped).toEqual([]);
    expect(res.json.oldest_data_retrieved_at).toBe('2021-03-04T05:06:07.000Z');
  });

  test('/directory says null when nothing was merged', async () => {
    const res = await h.invoke('GET /directory', { claims: claims(newCustomer('nobody')) });
    expect(res.statusCode).toBe(200);
    expect(res.json).toMatchObject({ people: [], oldest_data_retrieved_at: null });
  });
});

describe('Finch\'s 202 for an assisted connection whose data is not ready', () => {
  test('is answered 202 with what it means and what to do, then 200 once Finch has the data', async () => {
    const customer = newCustomer('assisted');
    const id = await connect(customer, { manual: true });
    // The emulator holds an assisted connection `pending` until Finch's team has access (its 202).
    expect(h.emulator.state().connections.find((c) => c.connection_id === id)!.status).toBe('pending');
    const res = await read(customer, id, '/employer/directory');
    expect(res.statusCode).toBe(202);
    expect(res.json).toEqual({
      code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', connection_id: id, manual: res.json.manual,
      initial_sync: { sync: 'org', pending: true, completed_at: null },
      message: expect.stringContaining('connection.initial_sync_completed'),
    });
    expect(res.json.message).toMatch(/Retry later/);
    // `manual` is /introspect's, known once a refresh or an event read it.
    expect([true, null]).toContain(res.json.manual);

    await emulatorControl(`/_emulator/connections/${id}`, { status: 'connected' });
    const ready = await read(customer, id, '/employer/directory');
    expect(ready.statusCode).toBe(200);
    expect(ready.json.individuals.length).toBeGreaterThan(0);
  });

  test('a 202 whose body lacks Finch\'s fields is still a 202 that says so', async () => {
    const customer = newCustomer('assisted-bare');
    const id = await connect(customer, { manual: true });
    await emulatorFault(h, { method: 'GET', path: '/employer/payment', omit_fields: ['code', 'name', 'finch_code', 'message'], times: 1 });
    const res = await read(customer, id, '/employer/payment');
    expect(res.statusCode).toBe(202);
    expect(res.json).toMatchObject({ code: 202, finch_code: null, connection_id: id, initial_sync: { sync: 'payroll', pending: true } });
  });
});

describe('a read slower than the function\'s time: 504 finch_timeout with a body, never a gateway timeout', () => {
  test('before the initial sync: says the sync of that data is still pending and how to wait for it', async () => {
    const customer = newCustomer('slow');
    const id = await connect(customer);
    await emulatorFault(h, { method: 'GET', path: '/employer/directory', delay_ms: SLOW, times: 1 });
    const res = await read(customer, id, '/employer/directory', SMALL_BUDGET);
    expect(res.statusCode).toBe(504);
    expect(res.json.error).toMatchObject({
      code: 'finch_timeout', connection_id: id, initial_sync: { sync: 'org', pending: true, completed_at: null },
    });
    expect(res.json.error.message).toMatch(/initial sync of this data is still pending/);
    expect(res.json.error.message).toMatch(/connection\.initial_sync_completed/);
  });

  test('after Finch\'s job.initial_data_sync_org.succeeded: says it has completed (org data), while payroll data still waits', async () => {
    const customer = newCustomer('slow-synced');
    const id = await connect(customer);
    await webhook({ event_type: 'job.initial_data_sync_org.succeeded', connection_id: id, data: { job_id: 'job-org', job_url: 'https://api.tryfinch.com/jobs/job-org' } });
    const connection = await h.invoke(`GET /connections/${id}`, { claims: claims(customer) });
    const completedAt = connection.json.initial_sync_completed_at.org;
    expect(completedAt).toEqual(expect.any(String));
    expect(connection.json.initial_sync_completed_at.payroll).toBeNull();

    await emulatorFault(h, { method: 'GET', path: '/employer/company', delay_ms: SLOW, times: 1 });
    const org = await read(customer, id, '/employer/company', SMALL_BUDGET);
    expect(org.statusCode).toBe(504);
    expect(org.json.error).toMatchObject({ code: 'finch_timeout', connection_id: id, initial_sync: { sync: 'org', pending: false, completed_at: completedAt } });
    expect(org.json.error.message).toMatch(/has completed; retry shortly/);

    await emulatorFault(h, { method: 'GET', path: '/employer/payment', delay_ms: SLOW, times: 1 });
    const payroll = await read(customer, id, '/employer/payment', SMALL_BUDGET);
    expect(payroll.statusCode).toBe(504);
    expect(payroll.json.error.initial_sync).toEqual({ sync: 'payroll', pending: true, completed_at: null });
  });

  test('a read no initial sync covers (benefits) says neither', async () => {
    const customer = newCustomer('slow-benefits');
    // Benefits are not in ALLOWED_PRODUCTS: an admin connects them for the customer.
    const id = await connectCustomer(h, { sub: 'svc', scope: 'connections:admin' }, { customer_id: customer, products: ['company', 'benefits'] });
    await emulatorFault(h, { method: 'GET', path: '/employer/benefits', delay_ms: SLOW, times: 1 });
    const res = await read(customer, id, '/employer/benefits', SMALL_BUDGET);
    expect(res.statusCode).toBe(504);
    expect(res.json.error).toMatchObject({ code: 'finch_timeout', connection_id: id, initial_sync: null, message: 'Finch did not answer within this API\'s time; retry shortly.' });
  });

  test('with the function\'s usual time a read slower than Finch\'s per-call timeout is still answered: it waits for its deadline', async () => {
    const customer = newCustomer('slow-ok');
    const id = await connect(customer);
    await emulatorFault(h, { method: 'GET', path: '/employer/company', delay_ms: FINCH_TIMEOUT_MS + 600, times: 1 });
    const res = await read(customer, id, '/employer/company');
    expect(res.statusCode).toBe(200);
  });
});

describe('statuses Finch documents that the SDK\'s union misses, from the emulator\'s /introspect', () => {
  test('Finch\'s disconnected while it still accepts the token: a refresh stores reauth and keeps the token', async () => {
    const customer = newCustomer('lost');
    const id = await connect(customer);
    await emulatorControl(`/_emulator/connections/${id}`, { status: 'connected', reported_status: 'disconnected' });
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims(customer), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.status).toBe('reauth');
    const stored = await getItem(h, keys.connection(customer, id));
    expect(stored).toMatchObject({ status: 'reauth' });
    expect(stored!.token_ciphertext).toEqual(expect.any(String));
  });

  test('account.updated saying disconnected while Finch still accepts the token: reauth, never our disconnected with a token kept', async () => {
    const customer = newCustomer('lost-webhook');
    const id = await connect(customer);
    await emulatorControl(`/_emulator/connections/${id}`, { status: 'connected', reported_status: 'disconnected' });
    await webhook({ event_type: 'account.updated', connection_id: id, data: { status: 'disconnected', authentication_method: { type: 'credential' } } });
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims(customer) });
    expect(res.json.status).toBe('reauth');
  });

  test.each([['reauth_error', 'reauth'], ['permissions_error', 'error_permissions']])('an automated job\'s %s reported as the status: %s', async (reported, ours) => {
    const customer = newCustomer('job-status');
    const id = await connect(customer);
    await emulatorControl(`/_emulator/connections/${id}`, { status: 'connected', reported_status: reported });
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims(customer), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.status).toBe(ours);
  });

  test('a status nobody documents yet keeps the stored one: no failed refresh, no made-up status', async () => {
    const customer = newCustomer('future');
    const id = await connect(customer);
    await emulatorControl(`/_emulator/connections/${id}`, { status: 'connected', reported_status: 'hibernating' });
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims(customer), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.status).toBe('connected');
  });
});
