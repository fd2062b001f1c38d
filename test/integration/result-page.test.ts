// The built-in result page (GET /connect/result) is on the API's own origin and needs no JWT, so
// anyone can link to it with any query. It shows only what the callback itself could have put
// there: a known callback error code, or a connection id of the connection-id pattern. Any other
// text renders as a generic error, so the page cannot be made to say "Call this number".
import { CALLBACK_ERROR_CODES } from '#core/model.js';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const page = async (query: Record<string, string>) => {
  const res = await h.invoke('GET /connect/result', { query });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  return res.body;
};
const GENERIC = 'Something went wrong. Start again from the application.';

describe('GET /connect/result shows only codes and ids the callback could have sent', () => {
  test('an error= text that is not a callback error code renders as a generic error, and its text is nowhere on the page', async () => {
    const body = await page({ status: 'error', error: 'Your payroll account is locked. Call 1-800-555-0100' });
    expect(body).toContain('data-status="error"');
    expect(body).toContain(GENERIC);
    expect(body).not.toMatch(/payroll|locked|555/);
  });

  test('a code-shaped error= that is not on the list renders as a generic error', async () => {
    const body = await page({ status: 'error', error: 'account_locked_call_support' });
    expect(body).toContain(GENERIC);
    expect(body).not.toContain('account_locked');
  });

  test.each(CALLBACK_ERROR_CODES)('the callback error code %s is shown', async (code) => {
    const body = await page({ status: 'error', error: code });
    expect(body).toContain('data-status="error"');
    expect(body).toContain(`Error: ${code}.`);
  });

  test('a connection_id outside the connection-id pattern renders as a generic error, not "connected"', async () => {
    const body = await page({ status: 'connected', connection_id: 'Your account is locked, call 1-800-555-0100', reauthenticated: 'false' });
    expect(body).toContain('data-status="error"');
    expect(body).toContain(GENERIC);
    expect(body).not.toMatch(/locked|555/);
  });

  test('a connection_id longer than the pattern allows is not cut down to one that fits', async () => {
    const long = `Call-1-800-555-0100.${'a'.repeat(200)}`;
    const body = await page({ status: 'connected', connection_id: long });
    expect(body).toContain(GENERIC);
    expect(body).not.toContain('555');
  });

  test('status=connected without a connection_id renders as a generic error', async () => {
    const body = await page({ status: 'connected' });
    expect(body).toContain('data-status="error"');
    expect(body).toContain(GENERIC);
  });

  test('a connection id of the pattern is shown as connected', async () => {
    const id = '3c1b2a4e-5f60-4d7a-9b8c-0d1e2f3a4b5c';
    expect(await page({ status: 'connected', connection_id: id, reauthenticated: 'true' }))
      .toContain(`data-status="connected"`);
    expect(await page({ status: 'connected', connection_id: id, reauthenticated: 'true' }))
      .toContain(`Connection ${id} was reauthenticated.`);
  });

  test('no query at all renders as a generic error', async () => {
    expect(await page({})).toContain(GENERIC);
  });
});
