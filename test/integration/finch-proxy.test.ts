// GET|POST|DELETE /finch/{path+} through the real handler, DynamoDB Local and the Finch emulator.
// Every request the handler sends is seen through a spy on fetch, so "no outgoing call" and "never
// the caller's Authorization" are checked on what actually left, not only on the emulator's counts.
import { jest } from '@jest/globals';
import { keys } from '#adapters/table.js';
import { capturedLogs, connectCustomer, getItem, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
const outgoing: Array<{ url: URL; method: string; headers: Headers }> = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  h = await startHarness({ FINCH_PROXY_WRITE_PATHS: 'POST /employer/benefits' });
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // Only what goes to Finch (the emulator), not the test's own calls to its controls.
    if (url.origin === h.emulator.url && !url.pathname.startsWith('/_emulator') && !url.pathname.startsWith('/connect')) {
      outgoing.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]) });
    }
    return realFetch(input, init);
  });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await h?.close();
});

const claims = (customer_id: string, extra: Record<string, unknown> = {}) => ({ customer_id, sub: `user-of-${customer_id}`, ...extra });
const finchCalls = () => Object.entries(h.emulator.state().calls).filter(([key]) => / \/(employer|payroll)\//.test(key)).reduce((sum, [, n]) => sum + n, 0);
const tokenOf = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens.at(-1)!;

const connect = (customer: string, body: Record<string, unknown> = {}) =>
  connectCustomer(h, claims(customer), { products: ['company', 'directory', 'individual'], ...body });

async function direct(path: string, token: string, init: RequestInit = {}) {
  const res = await realFetch(`${h.emulator.url}${path}`, {
    ...init, headers: { authorization: `Bearer ${token}`, 'finch-api-version': '2020-09-17', 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

let acme: string;
beforeAll(async () => { acme = await connect('acme'); });

describe('reads through the proxy', () => {
  test('company, directory (with limit) and individuals equal what Finch itself answers', async () => {
    const token = tokenOf(acme);
    const company = await h.invoke('GET /finch/employer/company', { claims: claims('acme'), headers: { 'finch-connection-id': acme } });
    expect(company.statusCode).toBe(200);
    expect(company.json).toEqual((await direct('/employer/company', token)).json);

    const page = await h.invoke('GET /finch/employer/directory', {
      claims: claims('acme'), headers: { 'finch-connection-id': acme }, query: { limit: '2', offset: '1' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.json).toEqual((await direct('/employer/directory?limit=2&offset=1', token)).json);
    expect(page.json.individuals).toHaveLength(2);

    const ids = page.json.individuals.map((i: { id: string }) => ({ individual_id: i.id }));
    const people = await h.invoke('POST /finch/employer/individual', {
      claims: claims('acme'), headers: { 'finch-connection-id': acme }, body: { requests: ids },
    });
    expect(people.statusCode).toBe(200);
    expect(people.json).toEqual((await direct('/employer/individual', token, { method: 'POST', body: JSON.stringify({ requests: ids }) })).json);
  });

  test('Finch\'s own error status and body come back as they are', async () => {
    const res = await h.invoke('POST /finch/employer/individual', {
      claims: claims('acme'), headers: { 'finch-connection-id': acme }, body: { requests: [] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
  });

  test('the caller\'s Authorization is never forwarded: Finch gets the stored token and its API version', async () => {
    outgoing.length = 0;
    const res = await h.invoke('GET /finch/employer/company', {
      claims: claims('acme'),
      headers: { 'finch-connection-id': acme, authorization: 'Bearer caller-jwt-must-stay-here', cookie: 'sid=1', 'x-api-key': 'k' },
    });
    expect(res.statusCode).toBe(200);
    expect(outgoing).toHaveLength(1);
    const sent = outgoing[0].headers;
    expect(sent.get('authorization')).toBe(`Bearer ${tokenOf(acme)}`);
    expect(sent.get('finch-api-version')).toBe('2020-09-17');
    expect(sent.get('cookie')).toBeNull();
    expect(sent.get('x-api-key')).toBeNull();
    expect(JSON.stringify([...sent])).not.toContain('caller-jwt-must-stay-here');
    expect(outgoing[0].url.origin).toBe(h.emulator.url);
  });

  test('an admin caller names the customer in the query; that parameter is not sent to Finch', async () => {
    outgoing.length = 0;
    const res = await h.invoke('GET /finch/employer/directory', {
      claims: { sub: 'svc', scope: 'connections:admin' }, headers: { 'finch-connection-id': acme }, query: { customer_id: 'acme', limit: '1' },
    });
    expect(res.statusCode).toBe(200);
    expect(outgoing).toHaveLength(1);
    expect(Object.fromEntries(outgoing[0].url.searchParams)).toEqual({ limit: '1' });
  });

});

describe('refused before anything leaves', () => {
  const nasty = [
    '/finch/employer%2Fcompany',
    '/finch/employer%2fdirectory',
    '/finch/employer/%2F%2Fevil.example%2Femployer%2Fcompany',
    '/finch/employer/benefits/%2e%2e/company',
    '/finch/employer/benefits/%2E%2E%2F%2E%2E%2Fintrospect',
    '/finch/employer/../introspect',
    '/finch/employer/./company',
    '/finch//employer/company',
    '/finch/employer//company',
    '/finch/employer/company/',
    '/finch/employer\\company',
    '/finch/employer%5Ccompany',
    '/finch/employer/benefits/me@evil.example',
    '/finch/employer/benefits/me%40evil.example',
    '/finch/https://evil.example/employer/company',
    '/finch/https%3A%2F%2Fevil.example%2Femployer%2Fcompany',
    '/finch//evil.example/employer/company',
    '/finch/employer%252Fcompany',
    '/finch/employer/benefits/%252e%252e',
    '/finch/employer/benefits/%00',
    '/finch/employer/benefits/a%0d%0aHost:evil.example',
    '/finch/employer/benefits/%E0%A4%A',
    '/finch/introspect',
    '/finch/auth/token',
    '/finch/connect/sessions',
    '/finch/sandbox/connections/accounts',
    '/finch/_emulator/state',
    '/finch/employer/individual',
  ];

  test.each(nasty)('GET %s → 400 path_not_allowed, nothing sent', async (path) => {
    const beforeCalls = finchCalls();
    outgoing.length = 0;
    const res = await h.invoke(`GET ${path}`, { claims: claims('acme'), headers: { 'finch-connection-id': acme } });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('path_not_allowed');
    expect(outgoing).toHaveLength(0);
    expect(finchCalls()).toBe(beforeCalls);
  });

  test.each([
    ['POST', '/finch/employer/company', { a: 1 }],
    ['POST', '/finch/disconnect', {}],
    ['DELETE', '/finch/employer/directory', undefined],
    ['POST', '/finch/employer/benefits/b1/individuals', { individuals: [] }],
  ])('%s %s → 400 path_not_allowed (not allowlisted for the method, or a write not enabled)', async (method, path, body) => {
    outgoing.length = 0;
    const res = await h.invoke(`${method} ${path}`, { claims: claims('acme', { scope: 'connections:write' }), headers: { 'finch-connection-id': acme }, body });
    expect(res.statusCode).toBe(400);
    expect(res.json.error.code).toBe('path_not_allowed');
    expect(outgoing).toHaveLength(0);
  });

  test('a parameter the template does not take is 400 with nothing sent', async () => {
    outgoing.length = 0;
    const res = await h.invoke('GET /finch/employer/directory', {
      claims: claims('acme'), headers: { 'finch-connection-id': acme }, rawQuery: 'limit=1&redirect_uri=https%3A%2F%2Fevil.example', query: { limit: '1' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'query.redirect_uri' }] });
    expect(outgoing).toHaveLength(0);
  });

  test('a missing or malformed Finch-Connection-Id is 400; a GET with a body is 400', async () => {
    outgoing.length = 0;
    const missing = await h.invoke('GET /finch/employer/company', { claims: claims('acme') });
    expect(missing.statusCode).toBe(400);
    expect(missing.json.error.details).toEqual([{ path: 'headers.finch-connection-id', message: expect.any(String) }]);
    const bad = await h.invoke('GET /finch/employer/company', { claims: claims('acme'), headers: { 'finch-connection-id': '../x' } });
    expect(bad.statusCode).toBe(400);
    const withBody = await h.invoke('GET /finch/employer/company', { claims: claims('acme'), headers: { 'finch-connection-id': acme }, body: { a: 1 } });
    expect(withBody.statusCode).toBe(400);
    expect(outgoing).toHaveLength(0);
  });

  test('without a JWT: 401', async () => {
    const res = await h.invoke('GET /finch/employer/company', { headers: { 'finch-connection-id': acme } });
    expect(res.statusCode).toBe(401);
  });
});

describe('whose connection', () => {
  test('another customer\'s connection is answered exactly like an unknown one (404), with no call', async () => {
    outgoing.length = 0;
    const foreign = await h.invoke('GET /finch/employer/company', { claims: claims('globex'), headers: { 'finch-connection-id': acme } });
    const unknown = await h.invoke('GET /finch/employer/company', { claims: claims('globex'), headers: { 'finch-connection-id': 'c0ffee00-0000-4000-8000-000000000000' } });
    expect(foreign.statusCode).toBe(404);
    expect(unknown.statusCode).toBe(404);
    const { request_id: _a, ...foreignError } = foreign.json.error;
    const { request_id: _b, ...unknownError } = unknown.json.error;
    expect(foreignError).toEqual(unknownError);
    expect(foreignError.code).toBe('connection_not_found');
    expect(outgoing).toHaveLength(0);
  });

  test('a disconnected connection is 409 connection_disconnected', async () => {
    const id = await connect('gone-co');
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims('gone-co') })).statusCode).toBe(204);
    outgoing.length = 0;
    const res = await h.invoke('GET /finch/employer/company', { claims: claims('gone-co'), headers: { 'finch-connection-id': id } });
    expect(res.statusCode).toBe(409);
    expect(res.json.error.code).toBe('connection_disconnected');
    expect(outgoing).toHaveLength(0);
  });
});

describe('reauthentication needed', () => {
  test('Finch\'s 401 reauthenticate_user flips the stored status to reauth and answers 409 reauth_required', async () => {
    const id = await connect('stale-co');
    await realFetch(`${h.emulator.url}/_emulator/connections/${id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'reauth' }),
    });
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims('stale-co'), headers: { 'finch-connection-id': id } });
    expect(res.statusCode).toBe(409);
    expect(res.json.error).toMatchObject({ code: 'reauth_required', connection_id: id });
    expect(await getItem(h, keys.connection('stale-co', id))).toMatchObject({ status: 'reauth' });
    const listed = await h.invoke(`GET /connections/${id}`, { claims: claims('stale-co') });
    expect(listed.json.status).toBe('reauth');
    const trail = await h.invoke(`GET /connections/${id}/audit`, { claims: claims('stale-co') });
    expect(trail.json.entries[0]).toMatchObject({ action: 'reauth_required', actor: 'finch-proxy', details: { finch_code: 'reauthenticate_user' } });

    // Known to need reauthentication: answered without spending another call on Finch.
    outgoing.length = 0;
    const again = await h.invoke('GET /finch/employer/company', { claims: claims('stale-co'), headers: { 'finch-connection-id': id } });
    expect(again.statusCode).toBe(409);
    expect(outgoing).toHaveLength(0);
  });
});

describe('writes (enabled here: POST /employer/benefits)', () => {
  test('without the write scope: 403 and nothing sent; with it: forwarded, Finch\'s answer returned', async () => {
    outgoing.length = 0;
    const body = { description: 'Dental', type: 's125_dental' };
    const denied = await h.invoke('POST /finch/employer/benefits', { claims: claims('acme'), headers: { 'finch-connection-id': acme }, body });
    expect(denied.statusCode).toBe(403);
    expect(denied.json.error.code).toBe('write_scope_required');
    expect(outgoing).toHaveLength(0);

    const allowed = await h.invoke('POST /finch/employer/benefits', {
      claims: claims('acme', { scope: 'openid connections:write' }), headers: { 'finch-connection-id': acme }, body,
    });
    expect(outgoing).toHaveLength(1);
    expect(outgoing[0].method).toBe('POST');
    expect(outgoing[0].url.pathname).toBe('/employer/benefits');
    // acme's connection was not granted the benefits product: Finch's 403 comes back as its answer.
    expect(allowed.statusCode).toBe(403);
    expect(allowed.json).toMatchObject({ code: 403, name: 'insufficient_scope_error' });
  });
});

describe('the token never leaves', () => {
  test('no response of this file and no log line holds any token Finch issued', async () => {
    const tokens = h.emulator.state().connections.flatMap((c) => c.tokens);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    const everything = h.transcript.map((t) => t.text).join('\n') + capturedLogs();
    for (const token of tokens) expect(everything).not.toContain(token);
    expect(capturedLogs()).toMatch(/"message":"finch proxy call"[^\n]*"template":"\/employer\/company"/);
  });
});
