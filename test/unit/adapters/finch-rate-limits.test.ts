// When to tell the caller to come back after Finch's 429, and which answers the SDK may retry
// inside a request (functions/adapters/finch-rate-limits.ts). Finch documents the limits and their
// finch_codes, and no Retry-After (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits).
import { retryAfterSeconds, withoutLongRetries } from '#adapters/finch-rate-limits.js';

const headers = (retryAfter?: string) => new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter });

describe('retryAfterSeconds', () => {
  test.each([
    ['finch_application_rl', 60],
    ['upstream_rate_limit_exceeded', 60],
    ['finch_api_ip_rl', 3600],
    ['finch_auth_ip_rl', 3600],
    [undefined, 60],
    ['something_new', 60],
  ])('no Retry-After, finch_code %s → %i', (code, seconds) => {
    expect(retryAfterSeconds(headers(), code)).toBe(seconds);
  });

  test.each([
    ['5', 5],
    ['0.2', 1],
    ['86400', 3600],
  ])('Retry-After: %s seconds → %i (rounded up, at most an hour), whatever the finch_code', (sent, seconds) => {
    expect(retryAfterSeconds(headers(sent), 'finch_api_ip_rl')).toBe(seconds);
  });

  test('an HTTP date counts from now; one in the past, zero or garbage falls back to the finch_code', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryAfterSeconds(headers('Tue, 01 Jan 2030 00:02:00 GMT'), null, now)).toBe(120);
    expect(retryAfterSeconds(headers('Mon, 31 Dec 2029 00:00:00 GMT'), 'finch_auth_ip_rl', now)).toBe(3600);
    expect(retryAfterSeconds(headers('0'), null, now)).toBe(60);
    expect(retryAfterSeconds(headers('soon'), null, now)).toBe(60);
  });
});

describe('withoutLongRetries: what the SDK may retry inside a request', () => {
  const answering = (status: number, extra: Record<string, string> = {}) =>
    withoutLongRetries(async () => new Response('{}', { status, headers: { 'content-type': 'application/json', ...extra } }));
  const shouldRetry = async (status: number, extra?: Record<string, string>) =>
    (await answering(status, extra)('https://api.example/x')).headers.get('x-should-retry');

  test.each([
    ['a 429', 429, {}],
    ['a 409', 409, {}],
    ['a 503 asking for an hour', 503, { 'retry-after': '3600' }],
    ['a 500 asking for 5 s in ms', 500, { 'retry-after-ms': '5000' }],
  ])('%s is not retried', async (_name, status, extra) => {
    expect(await shouldRetry(status, extra)).toBe('false');
  });

  test.each([
    ['a 503 without Retry-After', 503, {}],
    ['a 502 asking for 1 s', 502, { 'retry-after': '1' }],
    ['a 200', 200, {}],
    ['a 400', 400, {}],
  ])('%s is left as it is', async (_name, status, extra) => {
    expect(await shouldRetry(status, extra)).toBeNull();
  });

  test('the answer keeps its status and body', async () => {
    const response = await answering(429, { 'retry-after': '7' })('https://api.example/x');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({});
  });
});
