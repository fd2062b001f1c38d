// The budget in the SDK's fetch (functions/adapters/finch-budget-fetch.ts): a refusal or a fault of
// the budget stops the request before it leaves, reaches the caller as itself (not as Finch's 429
// nor as Finch unavailable), and the SDK does not retry it; Finch's own 429 blocks by finch_code
// (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits).
import { SdkFinchDataGateway } from '#adapters/finch-data.js';
import { SdkFinchGateway } from '#adapters/finch-gateway.js';
import { StaticCredentials } from '#adapters/secrets.js';
import { FinchRateLimited, TransientStoreError } from '#core/errors.js';
import { DEFAULT_BUDGET, DEFAULT_RATE_LIMITS } from '#core/finch-budget.js';
import type { RateBuckets } from '#core/ports/rate-buckets.js';
import { MemoryRateBuckets, testBudget } from '../../support/budget.js';

const BASE = 'http://127.0.0.1:9';

function countingFetch(answer: () => Response) {
  const sent: string[] = [];
  const send: typeof fetch = async (input) => {
    sent.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return answer();
  };
  return { sent, send };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const read = { method: 'GET' as const, path: '/employer/directory', query: {}, headers: {} };

/** Buckets whose every take fails as DynamoDB throttling does through the retries. */
class FailingBuckets implements RateBuckets {
  takes = 0;
  async take(): Promise<never> {
    this.takes++;
    throw new TransientStoreError(new Error('throttled'));
  }
  async block(): Promise<void> {}
}

test('a refused take: FinchRateLimited with the bucket\'s Retry-After, and nothing sent', async () => {
  const { sent, send } = countingFetch(() => json(200, { individuals: [] }));
  const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, directory: { limit: 1, periodSeconds: 60 } } };
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget({ settings }) });
  expect((await gateway.forward(read, async () => 'token')).status).toBe(200);
  const refused = await gateway.forward(read, async () => 'token').catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(FinchRateLimited);
  expect((refused as FinchRateLimited).retryAfterSeconds).toBe(61);
  expect(sent).toEqual(['/employer/directory']);
});

test('the budget\'s store failing: the store\'s fault (503), not Finch unavailable, nothing sent, no SDK retry', async () => {
  const { sent, send } = countingFetch(() => json(200, {}));
  const buckets = new FailingBuckets();
  const data = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget({ buckets }) });
  await expect(data.forward(read, async () => 'token')).rejects.toBeInstanceOf(TransientStoreError);
  expect(sent).toEqual([]);
  // The client-credentials client retries a passing fault once: not this one.
  const before = buckets.takes;
  const gateway = new SdkFinchGateway(new StaticCredentials({ client_id: 'id', client_secret: 'secret', webhook_secret: null }), { baseURL: BASE, budget: testBudget({ buckets }) });
  await expect(gateway.introspect('token')).rejects.toBeInstanceOf(TransientStoreError);
  expect(buckets.takes - before).toBe(1);
});

test.each([
  ['finch_api_ip_rl', '/introspect', 3600],
  ['finch_auth_ip_rl', '/employer/company', 3600],
  ['finch_application_rl', '/employer/directory', 60],
])('Finch\'s 429 %s is answered as Finch\'s, then the budget refuses %s for %i s without sending it', async (finch_code, next, seconds) => {
  const { sent, send } = countingFetch(() => json(429, { code: 429, name: 'rate_limit_exceeded_error', message: 'Too many requests.', finch_code }));
  const buckets = new MemoryRateBuckets();
  const gateway = new SdkFinchDataGateway({ baseURL: BASE, fetch: send, budget: testBudget({ buckets }) });
  const first = await gateway.forward(read, async () => 'token');
  expect(first).toMatchObject({ status: 429, body: { finch_code } });
  const refused = await gateway.forward({ ...read, path: next }, async () => 'token').catch((error: unknown) => error);
  expect(refused).toMatchObject({ retryAfterSeconds: seconds, finch_code });
  expect(sent).toEqual(['/employer/directory']);
});
