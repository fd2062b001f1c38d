// The Finch budget's CDK context (lib/stack-config.ts): Finch's documented limits by default
// (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits), overrides checked
// with the functions' own parser before anything is built, and passed to every function's environment.
import type { Node } from 'constructs';
import { loadConfig } from '#adapters/config.js';
import { DEFAULT_RATE_LIMITS } from '#core/finch-budget.js';
import { StackConfigError, readStackConfig } from '../../lib/stack-config.js';

const read = (context: Record<string, unknown>) =>
  readStackConfig({ tryGetContext: (key: string) => ({ dev: true, ...context })[key] } as unknown as Node);

test('by default: no override (Finch\'s numbers), a quarter of each burst reserved, a quarter of each limit at once', () => {
  expect(read({})).toMatchObject({ finchRateLimits: '', finchBudgetReserve: 0.25, finchBudgetBurst: 0.25 });
});

test('an override from -c (comma-separated) or cdk.json (a list) reaches the functions as FINCH_RATE_LIMITS they parse alike', () => {
  for (const finchRateLimits of ['directory=10,ip=500/300', ['directory=10', 'ip=500/300']]) {
    const config = read({ finchRateLimits });
    expect(config.finchRateLimits).toBe('directory=10,ip=500/300');
    const env = loadConfig({ TABLE_NAME: 'table', FINCH_RATE_LIMITS: config.finchRateLimits }, ['store', 'budget']);
    expect(env.FINCH_RATE_LIMITS).toEqual({ ...DEFAULT_RATE_LIMITS, directory: { limit: 10, periodSeconds: 60 }, ip: { limit: 500, periodSeconds: 300 } });
  }
});

test.each([
  [{ finchRateLimits: 'people=5' }, /finchRateLimits: people is not a bucket/],
  [{ finchRateLimits: 'directory=0' }, /finchRateLimits: directory: the limit/],
  [{ finchBudgetReserve: 1 }, /finchBudgetReserve must be a number from 0 to 0.9/],
  [{ finchBudgetBurst: 0 }, /finchBudgetBurst must be a number from 0.01 to 1/],
])('synth refuses %j, naming the key', (context, message) => {
  expect(() => read(context)).toThrow(StackConfigError);
  expect(() => read(context)).toThrow(message);
});

test('the functions refuse a bad FINCH_RATE_LIMITS at cold start, naming the variable', () => {
  expect(() => loadConfig({ TABLE_NAME: 'table', FINCH_RATE_LIMITS: 'directory=many' }, ['store', 'budget'])).toThrow(/FINCH_RATE_LIMITS: "directory=many" is not bucket=limit/);
});
