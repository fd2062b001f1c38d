// Finch failing: errors map to clear API errors, the code exchange is never retried, and a token
// lost to a timeout after Finch issued it is recovered through the adopt path.
import { keys } from '#adapters/table.js';
import { hashState } from '#core/ids.js';
import { FINCH_REFUSALS } from '#core/errors.js';
import { RETURN_ORIGIN, authorizeAtFinch, connectCustomer, emulatorFault, getItem, harnessForFile, scanTable } from '../support/harness.js';

const h = harnessForFile({ env: { FINCH_TIMEOUT_MS: '400' }, clearFaults: true });

const claims = (customer_id: string) => ({ customer_id });
const calls = (key: string) => h.emulator.state().calls[key] ?? 0;

async function sessionAndCode(customer: string) {
  const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/` } });
  expect(session.statusCode).toBe(201);
  const back = await authorizeAtFinch(session.json.connect_url);
  return { session: session.json, query: { code: back.code!, state: back.state } };
}

describe('Finch errors on session creation', () => {
  test('5xx → 502 finch_unavailable and no session stored', async () => {
    const before = (await scanTable(h)).length;
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 500, times: 2 });
    const res = await h.invoke('POST /connect/sessions', { claims: claims('down-co'), body: {} });
    expect(res.statusCode).toBe(502);
    expect(res.json.error.code).toBe('finch_unavailable');
    expect((await scanTable(h)).length).toBe(before);
  });

  test('429 → 429 with Retry-After', async () => {
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 429, times: 2 });
    const res = await h.invoke('POST /connect/sessions', { claims: claims('busy-co'), body: {} });
    expect(res.statusCode).toBe(429);
    expect(res.json.error.code).toBe('finch_rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('no answer in time → 504 finch_timeout', async () => {
    await emulatorFault(h, { method: 'POST', path: '/connect/sessions', delay_ms: 1500, times: 2 });
    const res = await h.invoke('POST /connect/sessions', { claims: claims('slow-co'), body: {} });
    expect(res.statusCode).toBe(504);
    expect(res.json.error.code).toBe('finch_timeout');
  });
});

describe('the code exchange', () => {
  test('a 5xx is never retried: one /auth/token call, the session fails, nothing stored', async () => {
    const { session, query } = await sessionAndCode('exchange-down-co');
    await emulatorFault(h, { method: 'POST', path: '/auth/token', status: 503, times: 5 });
    const before = calls('POST /auth/token');
    const res = await h.invoke('GET /connect/callback', { query });
    expect(new URL(res.headers.location).searchParams.get('error')).toBe('finch_unavailable');
    expect(calls('POST /auth/token')).toBe(before + 1);
    expect(await getItem(h, keys.session(hashState(session.state)))).toMatchObject({ status: 'failed' });
  });

  test('a code Finch refuses → invalid_code', async () => {
    const { query } = await sessionAndCode('bad-code-co');
    const res = await h.invoke('GET /connect/callback', { query: { ...query, code: `${query.code}x` } });
    expect(new URL(res.headers.location).searchParams.get('error')).toBe('invalid_code');
  });

  test('a timeout after Finch issued the token loses nothing for good: the adopt path recovers the connection', async () => {
    const { query } = await sessionAndCode('timeout-co');
    await emulatorFault(h, { method: 'POST', path: '/auth/token', after_response: true, delay_ms: 1500 });
    const before = calls('POST /auth/token');
    const res = await h.invoke('GET /connect/callback', { query });
    expect(new URL(res.headers.location).searchParams.get('error')).toBe('finch_unavailable');
    expect(calls('POST /auth/token')).toBe(before + 1);
    const lost = h.emulator.state().connections.find((c) => c.customer_id === 'timeout-co')!;
    expect(lost.tokens).toHaveLength(1);

    const adopt = await h.invoke('POST /connect/sessions', { claims: claims('timeout-co'), body: { return_to: `${RETURN_ORIGIN}/` } });
    expect(adopt.statusCode).toBe(201);
    expect(adopt.json.adopts_connection_id).toBe(lost.connection_id);
    const back = await authorizeAtFinch(adopt.json.connect_url);
    const done = await h.invoke('GET /connect/callback', { query: { code: back.code!, state: back.state } });
    const location = new URL(done.headers.location);
    expect(location.searchParams.get('status')).toBe('connected');
    expect(location.searchParams.get('connection_id')).toBe(lost.connection_id);
    const item = await getItem(h, keys.connection('timeout-co', lost.connection_id));
    expect(item).toMatchObject({ status: 'connected', token_version: 1 });
  });
});

// Finch's answers to a call with a connection's token that a retry does not change ("Error Types",
// https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types): neither the
// caller's request (no 400) nor Finch being down (no finch_unavailable).
describe('Finch refusing a call with a connection\'s token for good', () => {
  test('a refresh whose /introspect Finch answers 402 payment_required → 502 finch_refused saying so, sent once, nothing stored', async () => {
    const id = await connectCustomer(h, claims('unpaid-co'));
    const before = await getItem(h, keys.connection('unpaid-co', id));
    await emulatorFault(h, { method: 'GET', path: '/introspect', error: 'payment_required', times: 2 });
    const introspects = calls('GET /introspect');
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims('unpaid-co'), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(502);
    expect(res.json.error).toMatchObject({ code: 'finch_refused', message: FINCH_REFUSALS.payment_required });
    expect(calls('GET /introspect')).toBe(introspects + 1);
    expect(await getItem(h, keys.connection('unpaid-co', id))).toMatchObject({ status: before!.status, updated_at: before!.updated_at });
  });

  test('a DELETE whose /disconnect Finch answers 403 error_permissions finishes here: 204, disconnected, revocation_confirmed false, no token kept', async () => {
    const id = await connectCustomer(h, claims('no-perms-co'));
    await emulatorFault(h, { method: 'POST', path: '/disconnect', error: 'error_permissions' });
    const res = await h.invoke(`DELETE /connections/${id}`, { claims: claims('no-perms-co') });
    expect(res.statusCode).toBe(204);
    const item = await getItem(h, keys.connection('no-perms-co', id));
    expect(item).toMatchObject({ status: 'disconnected', revocation_confirmed: false });
    expect(item).not.toHaveProperty('token_ciphertext');
  });

  test('a DELETE whose /disconnect Finch answers 402 payment_required keeps the connection and its token (502 finch_refused): once paid, a retry revokes it', async () => {
    const id = await connectCustomer(h, claims('unpaid-delete-co'));
    const before = await getItem(h, keys.connection('unpaid-delete-co', id));
    await emulatorFault(h, { method: 'POST', path: '/disconnect', error: 'payment_required' });
    const refused = await h.invoke(`DELETE /connections/${id}`, { claims: claims('unpaid-delete-co') });
    expect(refused.statusCode).toBe(502);
    expect(refused.json.error).toMatchObject({ code: 'finch_refused', message: FINCH_REFUSALS.payment_required });
    expect(await getItem(h, keys.connection('unpaid-delete-co', id))).toMatchObject({ status: before!.status, token_ciphertext: before!.token_ciphertext });
    // Paid: the same DELETE revokes at Finch.
    const retried = await h.invoke(`DELETE /connections/${id}`, { claims: claims('unpaid-delete-co') });
    expect(retried.statusCode).toBe(204);
    expect(await getItem(h, keys.connection('unpaid-delete-co', id))).toMatchObject({ status: 'disconnected', revocation_confirmed: true });
  });
});
