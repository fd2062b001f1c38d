// The shared Finch budget's arithmetic (functions/core/finch-budget.ts): which bucket a Finch path
// counts against, a pace that never lets Finch see more than its documented limit in any sliding
// window (Rate Limits: "summed on a rolling 60-second basis",
// https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits), the reserve left to
// interactive callers, and what a Finch 429 blocks.
import fc from 'fast-check';
import { FinchRateLimited } from '#core/errors.js';
import {
  DEFAULT_BUDGET, DEFAULT_RATE_LIMITS, FinchBudget, WINDOW_MARGIN_MS, bucketsOfPath, burstOf, gcraTake, paceOf, parseRateLimits, productOfPath,
  type BudgetSettings, type RateLimit,
} from '#core/finch-budget.js';
import type { BucketState } from '#core/ports/rate-buckets.js';
import { MemoryRateBuckets, quietObserver } from '../../support/budget.js';

describe('which bucket a Finch path counts against (the API reference\'s endpoints)', () => {
  test.each([
    ['/employer/company', 'company'],
    ['/employer/directory', 'directory'],
    ['/employer/individual', 'individual'],
    ['/employer/employment', 'employment'],
    ['/employer/payment', 'payment'],
    ['/employer/pay-statement', 'pay_statement'],
    ['/employer/pay-statement-item', 'pay_statement_item'],
    ['/employer/pay-statement-item/rule', 'pay_statement_item'],
    ['/employer/pay-groups', 'pay_groups'],
    ['/employer/pay-groups/5f1c', 'pay_groups'],
    ['/employer/benefits', 'benefits'],
    ['/employer/benefits/meta', 'benefits'],
    ['/employer/benefits/b-1/individuals', 'benefits'],
    ['/employer/documents', 'documents'],
    ['/employer/documents/d-1', 'documents'],
  ])('%s → %s, and the IP address', (path, product) => {
    expect(productOfPath(path)).toBe(product);
    expect(bucketsOfPath(path)).toEqual([product, 'ip']);
  });

  test.each(['/introspect', '/disconnect', '/auth/token', '/connect/sessions', '/connect/sessions/reauthenticate', '/employer/somethingnew', '/employer/directoryx', '/'])(
    '%s counts against the IP address only', (path) => {
      expect(productOfPath(path)).toBeNull();
      expect(bucketsOfPath(path)).toEqual(['ip']);
    },
  );
});

describe('the pace: no sliding window of Finch\'s period ever sees more than the limit', () => {
  /** Runs takes at the given times through gcraTake; answers the accepted ones. */
  function accepted(limit: RateLimit, settings: Pick<BudgetSettings, 'burst' | 'reserve'>, takes: Array<{ at: number; background: boolean }>): number[] {
    let state: BucketState | null = null;
    const times: number[] = [];
    for (const take of takes) {
      const { outcome, next } = gcraTake(state, paceOf(limit, settings, take.background ? 'background' : 'interactive'), take.at);
      state = next;
      if (outcome.taken) times.push(take.at);
    }
    return times;
  }

  /** The most requests in any window [t, t + period) of these arrival times. */
  function busiestWindow(arrivals: number[], periodMs: number): number {
    const sorted = [...arrivals].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (sorted[i] - sorted[j] >= periodMs) j++;
      most = Math.max(most, i - j + 1);
    }
    return most;
  }

  test('Finch\'s documented limits, bursts and steady streams, each request reaching Finch up to a second after its take', () => {
    fc.assert(fc.property(
      fc.constantFrom(...Object.values(DEFAULT_RATE_LIMITS)),
      fc.double({ min: 0.05, max: 1, noNaN: true }),
      fc.array(fc.record({ gap: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 4000 }), weight: 3 }), background: fc.boolean(), delay: fc.integer({ min: 0, max: WINDOW_MARGIN_MS }) }), { minLength: 1, maxLength: 400, size: 'max' }),
      (limit, burst, steps) => {
        let at = 1_800_000_000_000;
        const takes = steps.map((step) => ({ at: (at += step.gap), background: step.background, delay: step.delay }));
        const times = accepted(limit, { burst, reserve: 0.25 }, takes);
        const delays = new Map(takes.map((take) => [take.at, take.delay]));
        const arrivals = times.map((time) => time + (delays.get(time) ?? 0));
        expect(busiestWindow(arrivals, limit.periodSeconds * 1000)).toBeLessThanOrEqual(limit.limit);
      },
    ), { numRuns: 300 });
  });

  test('any limit and period (1 to 50 per 1 to 600 s)', () => {
    fc.assert(fc.property(
      fc.record({ limit: fc.integer({ min: 1, max: 50 }), periodSeconds: fc.integer({ min: 1, max: 600 }) }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 300, size: 'max' }),
      (limit, burst, gaps) => {
        let at = 0;
        const times = accepted(limit, { burst, reserve: 0 }, gaps.map((gap) => ({ at: (at += gap), background: false })));
        expect(busiestWindow(times, limit.periodSeconds * 1000 + WINDOW_MARGIN_MS)).toBeLessThanOrEqual(limit.limit);
      },
    ));
  });

  test('the defaults: a quarter of each limit at once, then the rest of the window paced (20/min: 5, then one every 3.82 s)', () => {
    const pace = paceOf(DEFAULT_RATE_LIMITS.directory, DEFAULT_BUDGET, 'interactive');
    expect(burstOf(DEFAULT_RATE_LIMITS.directory, DEFAULT_BUDGET.burst)).toBe(5);
    expect(pace).toEqual({ intervalMs: Math.ceil(61_000 / 16), toleranceMs: 4 * Math.ceil(61_000 / 16) });
    expect(burstOf(DEFAULT_RATE_LIMITS.pay_statement, DEFAULT_BUDGET.burst)).toBe(3);
    expect(burstOf(DEFAULT_RATE_LIMITS.ip, DEFAULT_BUDGET.burst)).toBe(250);
  });
});

describe('the reserve: background callers leave a share of the burst to interactive ones', () => {
  const budget = (buckets: MemoryRateBuckets, kind: 'interactive' | 'background', now: () => number) =>
    new FinchBudget(buckets, DEFAULT_BUDGET, kind, now, quietObserver);

  test('directory (burst 5, reserve 25%): background takes 3 at once, interactive the 2 left', async () => {
    const buckets = new MemoryRateBuckets();
    const now = () => 1_000_000;
    const background = budget(buckets, 'background', now);
    const interactive = budget(buckets, 'interactive', now);
    for (let i = 0; i < 3; i++) await background.take('/employer/directory');
    await expect(background.take('/employer/directory')).rejects.toBeInstanceOf(FinchRateLimited);
    await interactive.take('/employer/directory');
    await interactive.take('/employer/directory');
    await expect(interactive.take('/employer/directory')).rejects.toBeInstanceOf(FinchRateLimited);
  });

  test('whatever the mix, a background request is let through only when an interactive one at that moment would be too', () => {
    fc.assert(fc.property(
      fc.constantFrom(...Object.values(DEFAULT_RATE_LIMITS)),
      fc.array(fc.record({ gap: fc.integer({ min: 0, max: 5000 }), background: fc.boolean() }), { maxLength: 150, size: 'max' }),
      (limit, steps) => {
        let state: BucketState | null = null;
        let at = 0;
        for (const step of steps) {
          at += step.gap;
          const { outcome, next } = gcraTake(state, paceOf(limit, DEFAULT_BUDGET, step.background ? 'background' : 'interactive'), at);
          if (outcome.taken && step.background) expect(gcraTake(next, paceOf(limit, DEFAULT_BUDGET, 'interactive'), at).outcome.taken).toBe(true);
          state = next;
        }
      },
    ));
  });
});

describe('FinchBudget', () => {
  test('an empty bucket: FinchRateLimited with the wait the bucket computes, the latest of the two buckets\', no finch_code', async () => {
    let now = 5_000_000;
    const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, company: { limit: 2, periodSeconds: 60 } } };
    const budget = new FinchBudget(new MemoryRateBuckets(), settings, 'interactive', () => now, quietObserver);
    // limit 2, burst 1: one every (60 s + 1 s) / 2.
    await budget.take('/employer/company');
    const refused = await budget.take('/employer/company').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FinchRateLimited);
    expect(refused).toMatchObject({ retryAfterSeconds: 31, finch_code: null });
    now += 30_500;
    await budget.take('/employer/company');
  });

  // Side by side, each request a saturated product refused also spent an IP place: at 4× demand the
  // scale scenario's IP bucket filled with requests Finch never saw (BENCHMARKS.md, issue 17 part L).
  test('a request its product refuses spends no place of the IP bucket', async () => {
    const now = 1_000;
    const buckets = new MemoryRateBuckets();
    const budget = new FinchBudget(buckets, DEFAULT_BUDGET, 'interactive', () => now, quietObserver);
    // company: a burst of 5 (a quarter of 20), then refused.
    for (let i = 0; i < 5; i++) await budget.take('/employer/company');
    for (let i = 0; i < 20; i++) await expect(budget.take('/employer/company')).rejects.toBeInstanceOf(FinchRateLimited);
    expect(buckets.states.get('company')?.taken).toBe(5);
    expect(buckets.states.get('ip')?.taken).toBe(5);
  });

  test('Finch\'s IP limit answered anyway: every path is refused for 60 minutes, naming finch_api_ip_rl', async () => {
    let now = 1_000;
    const buckets = new MemoryRateBuckets();
    const budget = new FinchBudget(buckets, DEFAULT_BUDGET, 'interactive', () => now, quietObserver);
    await budget.sawRateLimit('/employer/directory', 'finch_api_ip_rl', 60);
    for (const path of ['/introspect', '/employer/company', '/auth/token']) {
      await expect(budget.take(path)).rejects.toMatchObject({ retryAfterSeconds: 3600, finch_code: 'finch_api_ip_rl' });
    }
    now += 3_599_000;
    await expect(budget.take('/introspect')).rejects.toMatchObject({ retryAfterSeconds: 1 });
    now += 1_000;
    await budget.take('/introspect');
  });

  // The employer's authorization code is single-use and Finch's documents give it minutes: a code
  // refused here is a Connect the employer must do again. Our pacing is stricter than Finch's limit
  // (a quarter of it as burst, a window a second longer), so the exchange goes when only the pacing
  // says no; Finch's own IP penalty still stops it (Finch would refuse it anyway).
  test('the code exchange is never refused by our own pacing, only by Finch\'s IP penalty', async () => {
    let now = 1_000;
    const buckets = new MemoryRateBuckets();
    const settings = { ...DEFAULT_BUDGET, limits: { ...DEFAULT_RATE_LIMITS, ip: { limit: 1, periodSeconds: 300 } } };
    const budget = new FinchBudget(buckets, settings, 'interactive', () => now, quietObserver);
    await budget.take('/introspect');
    await expect(budget.take('/introspect')).rejects.toBeInstanceOf(FinchRateLimited);
    await budget.take('/auth/token');
    await budget.sawRateLimit('/introspect', 'finch_api_ip_rl', 60);
    now += 1_000;
    await expect(budget.take('/auth/token')).rejects.toMatchObject({ finch_code: 'finch_api_ip_rl' });
  });

  test('Finch\'s application limit: that product is refused until its Retry-After, others are not; the provider\'s limit blocks nothing', async () => {
    const now = 1_000;
    const buckets = new MemoryRateBuckets();
    const budget = new FinchBudget(buckets, DEFAULT_BUDGET, 'interactive', () => now, quietObserver);
    await budget.sawRateLimit('/employer/payment', 'finch_application_rl', 60);
    await expect(budget.take('/employer/payment')).rejects.toMatchObject({ retryAfterSeconds: 60, finch_code: 'finch_application_rl' });
    await budget.take('/employer/directory');
    await budget.sawRateLimit('/employer/directory', 'upstream_rate_limit_exceeded', 60);
    await budget.sawRateLimit('/employer/directory', null, 60);
    await budget.take('/employer/directory');
    expect(buckets.states.get('directory')?.blocked_until).toBeUndefined();
  });
});

describe('FINCH_RATE_LIMITS', () => {
  test('overrides the named buckets and keeps Finch\'s numbers for the rest', () => {
    expect(parseRateLimits('directory=10, ip=500/120')).toEqual({
      limits: { ...DEFAULT_RATE_LIMITS, directory: { limit: 10, periodSeconds: 60 }, ip: { limit: 500, periodSeconds: 120 } },
    });
    expect(parseRateLimits('')).toEqual({ limits: DEFAULT_RATE_LIMITS });
  });

  test.each(['directory', 'directory=x', 'people=5', 'directory=0', 'ip=5/0', 'directory=5/60/1'])('refuses %s', (text) => {
    expect(parseRateLimits(text)).toHaveProperty('error');
  });
});
