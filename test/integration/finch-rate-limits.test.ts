// Finch's 429s through the real handlers. Finch's limits belong to the whole application (per
// product) or to our IP address (with a 60-minute penalty), and Finch documents no Retry-After
// (DOCS.rateLimits): so no request waits on Finch or asks again, the caller is told when to retry
// (Finch's header when it sent one, capped, else by finch_code), and the code exchange stays one call.
import { RETURN_ORIGIN, authorizeAtFinch, clearFinchBudget, connectCustomer, customerIds, emulatorFault, harnessForFile } from '../support/harness.js';
import { DOCS } from '../fidelity/support.js';

const h = harnessForFile({ clearFaults: true });
// Each test meets Finch's 429 afresh: a Finch IP 429 blocks the shared budget for an hour
// (test/integration/finch-budget.test.ts), which would refuse the next tests before Finch.
afterEach(() => clearFinchBudget(h));

const claims = (customer_id: string) => ({ customer_id });
const calls = (key: string) => h.emulator.state().calls[key] ?? 0;
const customer = customerIds();

/** A 429 of Finch's table with this finch_code, sent as often as an SDK retry would ask for it. */
const rateLimited = (method: string, path: string, finch_code: string, headers?: Record<string, string>) =>
  emulatorFault(h, { method, path, error: 'rate_limit_exceeded_error', finch_code, times: 3, ...(headers ? { headers } : {}) });

/** The handler's answer, or a failure if it takes longer than a request should (the SDK sleeping on Retry-After). */
async function within<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function connect(name: string) {
  const id = customer(name);
  return { customer: id, connection_id: await connectCustomer(h, claims(id)) };
}

describe(`POST /connect/sessions: Finch's 429 (${DOCS.rateLimits})`, () => {
  test.each([
    // Application and upstream limits: a rolling 60-second window.
    ['finch_application_rl', '60'],
    ['upstream_rate_limit_exceeded', '60'],
    // IP address limits: "a penalty is enforced", 60 minutes.
    ['finch_api_ip_rl', '3600'],
    ['finch_auth_ip_rl', '3600'],
  ])('%s without Retry-After → 429 finch_rate_limited, Retry-After %s, the finch_code in the answer, one call to Finch', async (finch_code, seconds) => {
    await rateLimited('POST', '/connect/sessions', finch_code);
    const before = calls('POST /connect/sessions');
    const res = await h.invoke('POST /connect/sessions', { claims: claims(customer('busy')), body: {} });
    expect(res.statusCode).toBe(429);
    expect(res.json.error).toMatchObject({ code: 'finch_rate_limited', finch_code });
    expect(res.headers['retry-after']).toBe(seconds);
    // The limit is the whole application's: asking again inside the request only adds to it.
    expect(calls('POST /connect/sessions')).toBe(before + 1);
  });

  test('Finch\'s Retry-After: 3600 → answered at once (the SDK does not sleep on it), with Retry-After 3600', async () => {
    await rateLimited('POST', '/connect/sessions', 'finch_application_rl', { 'Retry-After': '3600' });
    const before = calls('POST /connect/sessions');
    const res = await within(5000, h.invoke('POST /connect/sessions', { claims: claims(customer('slow-limit')), body: {} }));
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('3600');
    expect(calls('POST /connect/sessions')).toBe(before + 1);
  });

  test.each([
    ['120', 'finch_api_ip_rl', '120'],
    ['a day', 'finch_application_rl', '3600'],
  ])('Finch\'s Retry-After (%s) wins over the finch_code\'s default, capped at an hour', async (_name, finch_code, expected) => {
    const header = _name === 'a day' ? '86400' : _name;
    await rateLimited('POST', '/connect/sessions', finch_code, { 'Retry-After': header });
    const res = await within(5000, h.invoke('POST /connect/sessions', { claims: claims(customer('told')), body: {} }));
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(expected);
  });

  test('a 5xx whose Retry-After asks for an hour is not waited for: 502 at once', async () => {
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 503, headers: { 'Retry-After': '3600' }, times: 3 });
    const res = await within(5000, h.invoke('POST /connect/sessions', { claims: claims(customer('down')), body: {} }));
    expect(res.statusCode).toBe(502);
    expect(res.json.error.code).toBe('finch_unavailable');
  });
});

describe(`GET /connections/{id}?refresh=true: Finch's 429 (${DOCS.rateLimits})`, () => {
  test('finch_api_ip_rl on /introspect → 429, Retry-After 3600, one call, the connection unchanged', async () => {
    const { customer: id, connection_id } = await connect('refresh-limit');
    await rateLimited('GET', '/introspect', 'finch_api_ip_rl');
    const before = calls('GET /introspect');
    const res = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(id), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(429);
    expect(res.json.error).toMatchObject({ code: 'finch_rate_limited', finch_code: 'finch_api_ip_rl' });
    expect(res.headers['retry-after']).toBe('3600');
    expect(calls('GET /introspect')).toBe(before + 1);
    const plain = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(id) });
    expect(plain.json.status).toBe('connected');
  });

  test('Finch\'s Retry-After: 3600 → answered at once', async () => {
    const { customer: id, connection_id } = await connect('refresh-told');
    await rateLimited('GET', '/introspect', 'finch_application_rl', { 'Retry-After': '3600' });
    const res = await within(5000, h.invoke(`GET /connections/${connection_id}`, { claims: claims(id), query: { refresh: 'true' } }));
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('3600');
  });
});

describe(`the Finch proxy passes Finch's 429 on, with a Retry-After (${DOCS.rateLimits})`, () => {
  test('without Finch\'s Retry-After: Finch\'s body, and Retry-After by finch_code', async () => {
    const { customer: id, connection_id } = await connect('proxy-limit');
    await rateLimited('GET', '/employer/directory', 'finch_api_ip_rl');
    const before = calls('GET /employer/directory');
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims(id), headers: { 'finch-connection-id': connection_id } });
    expect(res.statusCode).toBe(429);
    expect(res.json).toMatchObject({ name: 'rate_limit_exceeded_error', finch_code: 'finch_api_ip_rl' });
    expect(res.headers['retry-after']).toBe('3600');
    expect(calls('GET /employer/directory')).toBe(before + 1);
  });

  test('with Finch\'s Retry-After: Finch\'s', async () => {
    const { customer: id, connection_id } = await connect('proxy-told');
    await rateLimited('GET', '/employer/directory', 'finch_application_rl', { 'Retry-After': '17' });
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims(id), headers: { 'finch-connection-id': connection_id } });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('17');
  });
});

describe(`the code exchange under Finch's 429 (${DOCS.rateLimits}, ${DOCS.createAccessToken})`, () => {
  test('finch_auth_ip_rl with Retry-After: 3600 → finch_unavailable at once, exactly one /auth/token call', async () => {
    const id = customer('exchange-limit');
    const session = await h.invoke('POST /connect/sessions', { claims: claims(id), body: { return_to: `${RETURN_ORIGIN}/` } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    await rateLimited('POST', '/auth/token', 'finch_auth_ip_rl', { 'Retry-After': '3600' });
    const before = calls('POST /auth/token');
    const res = await within(5000, h.invoke('GET /connect/callback', { query: { code: code!, state } }));
    expect(new URL(res.headers.location).searchParams.get('error')).toBe('finch_unavailable');
    expect(calls('POST /auth/token')).toBe(before + 1);
  });
});
