// Invariant 7 (docs/ARCHITECTURE.md): every bad input gets a clear 4xx and changes nothing.
import { scanTable, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const acme = { customer_id: 'acme' };
const finchCalls = () => Object.values(h.emulator.state().calls).reduce((a, b) => a + b, 0);

interface Case { name: string; route: string; claims?: Record<string, unknown>; body?: unknown; rawBody?: string;
  headers?: Record<string, string>; query?: Record<string, string>; status: number; code: string; path?: string }

const cases: Case[] = [
  { name: 'malformed JSON', route: 'POST /connect/sessions', claims: acme, rawBody: '{"flow":', status: 400, code: 'invalid_request' },
  { name: 'a JSON array body', route: 'POST /connect/sessions', claims: acme, rawBody: '[]', status: 400, code: 'invalid_request' },
  { name: 'an unknown field', route: 'POST /connect/sessions', claims: acme, body: { color: 'red' }, status: 400, code: 'invalid_request' },
  { name: 'a wrong type', route: 'POST /connect/sessions', claims: acme, body: { minutes_to_expire: '10' }, status: 400, code: 'invalid_request', path: 'minutes_to_expire' },
  { name: 'minutes_to_expire out of range', route: 'POST /connect/sessions', claims: acme, body: { minutes_to_expire: 129601 }, status: 400, code: 'invalid_request', path: 'minutes_to_expire' },
  { name: 'an unknown product', route: 'POST /connect/sessions', claims: acme, body: { products: ['company', 'payroll'] }, status: 400, code: 'invalid_request', path: 'products.1' },
  { name: 'a product beyond ALLOWED_PRODUCTS', route: 'POST /connect/sessions', claims: acme, body: { products: ['ssn'] }, status: 400, code: 'invalid_request', path: 'products.0' },
  { name: 'a bad entity', route: 'POST /connect/sessions', claims: acme, body: { entity: 'West~1' }, status: 400, code: 'invalid_request', path: 'entity' },
  { name: 'a bad email', route: 'POST /connect/sessions', claims: acme, body: { customer_email: 'not-an-email' }, status: 400, code: 'invalid_request', path: 'customer_email' },
  { name: 'return_to off the allowlist', route: 'POST /connect/sessions', claims: acme, body: { return_to: 'https://evil.example/' }, status: 400, code: 'invalid_request', path: 'return_to' },
  { name: 'return_to protocol-relative', route: 'POST /connect/sessions', claims: acme, body: { return_to: '//app.example/' }, status: 400, code: 'invalid_request', path: 'return_to' },
  { name: 'return_to javascript:', route: 'POST /connect/sessions', claims: acme, body: { return_to: 'javascript:alert(1)' }, status: 400, code: 'invalid_request', path: 'return_to' },
  { name: 'return_to with userinfo', route: 'POST /connect/sessions', claims: acme, body: { return_to: 'https://app.example@evil.example/' }, status: 400, code: 'invalid_request', path: 'return_to' },
  { name: 'return_to with the embedded flow', route: 'POST /connect/sessions', claims: acme, body: { flow: 'embedded', return_to: 'https://app.example/' }, status: 400, code: 'invalid_request', path: 'return_to' },
  { name: 'a 17 KiB body', route: 'POST /connect/sessions', claims: acme, body: { customer_name: 'x'.repeat(17 * 1024) }, status: 413, code: 'payload_too_large' },
  { name: 'a wrong content type', route: 'POST /connect/sessions', claims: acme, rawBody: 'flow=redirect', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'a non-admin naming another customer', route: 'POST /connect/sessions', claims: acme, body: { customer_id: 'globex' }, status: 403, code: 'forbidden' },
  { name: 'a customer_name unlike the claim', route: 'POST /connect/sessions', claims: { ...acme, customer_name: 'Acme' }, body: { customer_name: 'Evil' }, status: 400, code: 'invalid_request', path: 'customer_name' },
  { name: 'a claim that is not a customer id', route: 'POST /connect/sessions', claims: { customer_id: 'acme~x' }, body: {}, status: 403, code: 'forbidden' },
  { name: 'no JWT', route: 'POST /connect/sessions', body: {}, status: 401, code: 'unauthorized' },
  { name: 'an admin not naming the customer', route: 'POST /connect/sessions', claims: { scope: 'connections:admin' }, body: {}, status: 400, code: 'invalid_request', path: 'customer_id' },
  { name: 'reauth without connection_id', route: 'POST /connect/sessions/reauthenticate', claims: acme, body: {}, status: 400, code: 'invalid_request', path: 'connection_id' },
  { name: 'reauth with an unknown field', route: 'POST /connect/sessions/reauthenticate', claims: acme, body: { connection_id: 'c', entity: 'x' }, status: 400, code: 'invalid_request' },
  { name: 'reauth naming another customer', route: 'POST /connect/sessions/reauthenticate', claims: acme, body: { connection_id: 'c', customer_id: 'globex' }, status: 403, code: 'forbidden' },
  { name: 'reauth of an unknown connection', route: 'POST /connect/sessions/reauthenticate', claims: acme, body: { connection_id: 'nope' }, status: 404, code: 'connection_not_found' },
  { name: 'embedded callback without code', route: 'POST /connect/callback', claims: acme, body: { state: 'x' }, status: 400, code: 'invalid_request', path: 'code' },
  { name: 'embedded callback with a malformed state', route: 'POST /connect/callback', claims: acme, body: { code: 'c', state: 'x' }, status: 400, code: 'invalid_state' },
  { name: 'embedded callback with malformed JSON', route: 'POST /connect/callback', claims: acme, rawBody: '{', status: 400, code: 'invalid_request' },
  { name: 'embedded callback without JWT', route: 'POST /connect/callback', body: { code: 'c', state: 'A'.repeat(43) }, status: 401, code: 'unauthorized' },
  { name: 'list with limit 0', route: 'GET /connections', claims: acme, query: { limit: '0' }, status: 400, code: 'invalid_request', path: 'limit' },
  { name: 'list with limit 101', route: 'GET /connections', claims: acme, query: { limit: '101' }, status: 400, code: 'invalid_request', path: 'limit' },
  { name: 'list with an unknown status', route: 'GET /connections', claims: acme, query: { status: 'happy' }, status: 400, code: 'invalid_request', path: 'status' },
  { name: 'list with an unknown parameter', route: 'GET /connections', claims: acme, query: { sort: 'asc' }, status: 400, code: 'invalid_request' },
  { name: 'list with a forged cursor', route: 'GET /connections', claims: acme, query: { cursor: 'bm9wZQ' }, status: 400, code: 'invalid_request', path: 'cursor' },
  { name: 'list naming another customer', route: 'GET /connections', claims: acme, query: { customer_id: 'globex' }, status: 403, code: 'forbidden' },
  { name: 'get with refresh=yes', route: 'GET /connections/c1', claims: acme, query: { refresh: 'yes' }, status: 400, code: 'invalid_request', path: 'refresh' },
  { name: 'get with a bad id', route: 'GET /connections/..', claims: acme, status: 400, code: 'invalid_request', path: 'connection_id' },
];

describe('bad input on every route → the documented 4xx, no write, no Finch call', () => {
  test.each(cases)('$name → $status $code', async ({ route, claims, body, rawBody, headers, query, status, code, path }) => {
    const writesBefore = (await scanTable(h)).length;
    const callsBefore = finchCalls();
    const res = await h.invoke(route, { claims, body, rawBody, headers, query });
    expect(res.statusCode).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toEqual(expect.any(String));
    expect(res.json.error.request_id).toEqual(expect.any(String));
    if (path) expect(res.json.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await scanTable(h)).length).toBe(writesBefore);
    expect(finchCalls()).toBe(callsBefore);
  });

  test('a redirect callback without a usable state shows the result page with 400, whatever the query', async () => {
    for (const query of <Record<string, string>[]>[{}, { code: 'c' }, { state: 'x'.repeat(600) }, { state: 'A'.repeat(43), code: 'bad code' }]) {
      const res = await h.invoke('GET /connect/callback', { query });
      expect(res.statusCode).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toContain('invalid_state');
    }
  });
});
