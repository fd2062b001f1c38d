// The Finch budget's buckets on DynamoDB Local (functions/adapters/dynamo/rate-buckets.ts): the
// conditional updates agree with the GCRA model (gcraTake) on any sequence, concurrent takes from
// many callers never pass the limit, the bucket refills as the (injected) clock moves, background
// callers leave the reserve, and Finch's IP 429 blocks every take for the penalty.
import fc from 'fast-check';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRateBuckets } from '#adapters/dynamo/rate-buckets.js';
import { keys } from '#adapters/table.js';
import { FinchRateLimited } from '#core/errors.js';
import {
  type BucketName, type BudgetSettings, DEFAULT_BUDGET, DEFAULT_RATE_LIMITS, FinchBudget, type Pace, gcraTake, paceOf,
} from '#core/finch-budget.js';
import type { BucketState } from '#core/ports/rate-buckets.js';
import { quietObserver } from '../support/budget.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

let table: TestTable;
beforeAll(async () => { table = await createTestTable('rate'); });
afterAll(() => table?.client.destroy());

const stored = async (bucket: string) =>
  (await table.doc.send(new GetCommand({ TableName: table.tableName, Key: keys.rateBucket(bucket), ConsistentRead: true }))).Item;

/** The file's buckets are shared (`ip` by every test): each test's clock starts after the one before's. */
const budgetOn = (buckets: DynamoRateBuckets, settings: BudgetSettings, kind: 'interactive' | 'background', now: () => number) =>
  new FinchBudget(buckets, settings, kind, now, quietObserver);

describe('the conditional updates are the GCRA model', () => {
  test('any sequence of takes (both kinds, any pace), blocks and clock moves: same outcomes and same stored tat', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ op: fc.constant('take' as const), gap: fc.integer({ min: 0, max: 6000 }), background: fc.boolean() }),
        fc.record({ op: fc.constant('block' as const), gap: fc.integer({ min: 0, max: 6000 }), seconds: fc.integer({ min: 1, max: 30 }) }),
      ), { minLength: 1, maxLength: 25, size: 'max' }),
      fc.record({ limit: fc.integer({ min: 1, max: 12 }), periodSeconds: fc.integer({ min: 5, max: 60 }) }),
      async (steps, limit) => {
        // A bucket of its own per run: `ip` and every product would share items across runs.
        const bucket = `model-${++run}` as BucketName;
        const buckets = new DynamoRateBuckets(table.doc, table.tableName);
        let model: BucketState | null = null;
        let now = 1_900_000_000_000;
        for (const step of steps) {
          now += step.gap;
          if (step.op === 'block') {
            await buckets.block(bucket, now + step.seconds * 1000, 'finch_application_rl');
            if ((model?.blocked_until ?? -Infinity) < now + step.seconds * 1000) model = { ...(model ?? {}), blocked_until: now + step.seconds * 1000, blocked_by: 'finch_application_rl' };
            continue;
          }
          const pace: Pace = paceOf(limit, DEFAULT_BUDGET, step.background ? 'background' : 'interactive');
          const expected = gcraTake(model, pace, now);
          model = expected.next;
          expect(await buckets.take(bucket, pace, now)).toEqual(expected.outcome);
        }
        const item = await stored(bucket);
        expect(item?.tat).toBe(model?.tat);
        expect(item?.taken).toBe(model?.taken);
      },
    ), { numRuns: 30 });
  });
});

describe('concurrent takes', () => {
  test('200 callers at once, each with its own container: exactly the burst is let through, the rest told when to come back', async () => {
    const now = 2_000_000_000_000;
    const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, directory: { limit: 20, periodSeconds: 60 } } };
    const outcomes = await Promise.all(Array.from({ length: 200 }, () =>
      budgetOn(new DynamoRateBuckets(table.doc, table.tableName), settings, 'interactive', () => now).take('/employer/directory').then(() => 'taken', (error: unknown) => error)));
    expect(outcomes.filter((outcome) => outcome === 'taken')).toHaveLength(5);
    const refused = outcomes.filter((outcome) => outcome !== 'taken');
    expect(refused.every((error) => error instanceof FinchRateLimited && error.retryAfterSeconds === 4)).toBe(true);
    expect(await stored('directory')).toMatchObject({ taken: 5, tat: now + 5 * paceOf(settings.limits.directory, settings, 'interactive').intervalMs });
  });

  test('callers spread over 3 simulated minutes never put more than the limit in any 60 s window', async () => {
    const limit = { limit: 12, periodSeconds: 60 };
    const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, payment: limit } };
    const accepted: number[] = [];
    const start = 2_100_000_000_000;
    for (let second = 0; second < 180; second += 2) {
      const now = start + second * 1000;
      // Eight callers at once every two seconds, each its own container.
      const results = await Promise.all(Array.from({ length: 8 }, () =>
        budgetOn(new DynamoRateBuckets(table.doc, table.tableName), settings, 'interactive', () => now).take('/employer/payment').then(() => true, () => false)));
      accepted.push(...results.filter(Boolean).map(() => now));
    }
    for (const from of accepted) expect(accepted.filter((at) => at >= from && at < from + 60_000).length).toBeLessThanOrEqual(12);
    // Not starved either: the paced rate (3 at once, then one every 6.1 s) over 3 minutes.
    expect(accepted.length).toBeGreaterThanOrEqual(30);
  });
});

describe('refill, reserve and blocks (an injected clock)', () => {
  test('an emptied bucket lets one more through per interval as time passes, and a full burst after a quiet period', async () => {
    let now = 2_200_000_000_000;
    const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, company: { limit: 20, periodSeconds: 60 } } };
    const budget = budgetOn(new DynamoRateBuckets(table.doc, table.tableName), settings, 'interactive', () => now);
    const { intervalMs } = paceOf(settings.limits.company, settings, 'interactive');
    for (let i = 0; i < 5; i++) await budget.take('/employer/company');
    await expect(budget.take('/employer/company')).rejects.toMatchObject({ retryAfterSeconds: Math.ceil(intervalMs / 1000) });
    now += intervalMs;
    await budget.take('/employer/company');
    await expect(budget.take('/employer/company')).rejects.toBeInstanceOf(FinchRateLimited);
    now += 5 * intervalMs + 60_000;
    for (let i = 0; i < 5; i++) await budget.take('/employer/company');
    await expect(budget.take('/employer/company')).rejects.toBeInstanceOf(FinchRateLimited);
  });

  test('background callers stop at the reserve; interactive ones take what is left', async () => {
    const now = 2_300_000_000_000;
    const buckets = new DynamoRateBuckets(table.doc, table.tableName);
    const background = budgetOn(buckets, DEFAULT_BUDGET, 'background', () => now);
    const interactive = budgetOn(buckets, DEFAULT_BUDGET, 'interactive', () => now);
    const backgroundTakes = await Promise.all(Array.from({ length: 10 }, () => background.take('/employer/employment').then(() => true, () => false)));
    expect(backgroundTakes.filter(Boolean)).toHaveLength(3);
    const interactiveTakes = await Promise.all(Array.from({ length: 10 }, () => interactive.take('/employer/employment').then(() => true, () => false)));
    expect(interactiveTakes.filter(Boolean)).toHaveLength(2);
  });

  test('after Finch\'s IP 429 every take of every bucket is refused for 60 minutes, with the IP block\'s Retry-After and finch_code', async () => {
    let now = 2_400_000_000_000;
    const budget = budgetOn(new DynamoRateBuckets(table.doc, table.tableName), DEFAULT_BUDGET, 'interactive', () => now);
    await budget.take('/employer/individual');
    await budget.sawRateLimit('/employer/individual', 'finch_api_ip_rl', 60);
    expect(await stored('ip')).toMatchObject({ blocked_until: now + 3_600_000, blocked_by: 'finch_api_ip_rl' });
    for (const path of ['/employer/individual', '/introspect', '/connect/sessions']) {
      await expect(budget.take(path)).rejects.toMatchObject({ retryAfterSeconds: 3600, finch_code: 'finch_api_ip_rl' });
    }
    // A shorter block later does not shorten it.
    await budget.sawRateLimit('/employer/individual', 'finch_application_rl', 60);
    await new DynamoRateBuckets(table.doc, table.tableName).block('ip', now + 1000, 'finch_auth_ip_rl');
    expect(await stored('ip')).toMatchObject({ blocked_until: now + 3_600_000 });
    now += 3_600_000;
    await budget.take('/introspect');
  });
});
