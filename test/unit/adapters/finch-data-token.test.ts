// The data gateway asks for the connection's token (a KMS Decrypt in the proxy) only for a request
// that leaves: past the origin check and the shared Finch budget (functions/adapters/finch-data.ts
// withAccessToken). Rate limits: https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits
import { AccessTokenUnsendable, SdkFinchDataGateway } from '#adapters/finch-data.js';
import { FinchRateLimited, PathNotAllowed } from '#core/errors.js';
import { DEFAULT_BUDGET, DEFAULT_RATE_LIMITS } from '#core/finch-budget.js';
import { testBudget } from '../../support/budget.js';

const BASE = 'http://127.0.0.1:9';
const read = { method: 'GET' as const, path: '/employer/directory', query: {}, headers: {} };

/** Finch stand-in recording each request's path and Authorization. */
function finch() {
  const sent: Array<{ path: string; authorization: string | null }> = [];
  const send: typeof fetch = async (input, init) => {
    sent.push({ path: new URL(String(input)).pathname, authorization: new Headers(init?.headers).get('authorization') });
    return new Response('{"individuals":[]}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { sent, send };
}

/** A token source counting how often it was asked. */
function source(token: string | Error) {
  const asked = { count: 0 };
  const get = async () => {
    asked.count++;
    if (token instanceof Error) throw token;
    return token;
  };
  return { asked, get };
}

test('granted: the token is asked for once the budget granted the request, and sent as the bearer', async () => {
  const { sent, send } = finch();
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget() });
  const token = source('tok-1');
  expect((await gateway.forward(read, token.get)).status).toBe(200);
  expect(token.asked.count).toBe(1);
  expect(sent).toEqual([{ path: '/employer/directory', authorization: 'Bearer tok-1' }]);
});

test('refused by the budget: FinchRateLimited, nothing sent, the token never asked for', async () => {
  const { sent, send } = finch();
  const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, directory: { limit: 1, periodSeconds: 60 } } };
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget({ settings }) });
  await gateway.forward(read, source('tok-1').get);
  const token = source('tok-2');
  await expect(gateway.forward(read, token.get)).rejects.toBeInstanceOf(FinchRateLimited);
  expect(token.asked.count).toBe(0);
  expect(sent).toHaveLength(1);
});

test('a path off Finch\'s origin: refused before the token is asked for', async () => {
  const { sent, send } = finch();
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget() });
  const token = source('tok-1');
  await expect(gateway.forward({ ...read, path: 'http://elsewhere.example/employer/directory' }, token.get)).rejects.toBeInstanceOf(PathNotAllowed);
  expect(token.asked.count).toBe(0);
  expect(sent).toEqual([]);
});

test('the token cannot be had (a KMS fault): that error as it is, not Finch unavailable, and nothing sent', async () => {
  const { sent, send } = finch();
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget() });
  const fault = new Error('kms throttled');
  await expect(gateway.forward(read, source(fault).get)).rejects.toBe(fault);
  expect(sent).toEqual([]);
});

test('a token that is no header value: refused without quoting it, and nothing sent', async () => {
  const { sent, send } = finch();
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget() });
  const error = await gateway.forward(read, source('secret-tok\nX-Injected: 1').get).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AccessTokenUnsendable);
  expect(String((error as Error).message)).not.toContain('secret-tok');
  expect(sent).toEqual([]);
});
