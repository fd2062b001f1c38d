// The Finch budget (functions/core/finch-budget.ts) for tests that build a Finch client themselves:
// in memory, on the same GCRA the DynamoDB adapter is property-tested against.
import {
  type BucketName, type BudgetObserver, type BudgetSettings, type CallerKind, DEFAULT_BUDGET, FinchBudget, type Pace, type TakeOutcome, gcraTake,
} from '#core/finch-budget.js';
import type { BucketState, RateBuckets } from '#core/ports/rate-buckets.js';

/** The buckets in a Map, each take applying gcraTake at once (the model of the DynamoDB adapter). */
export class MemoryRateBuckets implements RateBuckets {
  readonly states = new Map<BucketName, BucketState>();

  async take(bucket: BucketName, pace: Pace, now: number): Promise<TakeOutcome> {
    const { outcome, next } = gcraTake(this.states.get(bucket) ?? null, pace, now);
    if (next) this.states.set(bucket, next);
    return outcome;
  }

  async block(bucket: BucketName, until: number, finchCode: string): Promise<void> {
    const state = this.states.get(bucket) ?? {};
    if ((state.blocked_until ?? -Infinity) < until) this.states.set(bucket, { ...state, blocked_until: until, blocked_by: finchCode });
  }
}

export const quietObserver: BudgetObserver = { taken: () => undefined, throttled: () => undefined, penalized: () => undefined };

/**
 * A budget in memory; by default one no test reaches (a million requests a minute a bucket), for
 * tests about something else that still go through the budget as every Finch client does.
 */
export function testBudget(options: { settings?: BudgetSettings; kind?: CallerKind; now?: () => number; buckets?: RateBuckets } = {}): FinchBudget {
  const roomy = Object.fromEntries(Object.keys(DEFAULT_BUDGET.limits).map((name) => [name, { limit: 1_000_000, periodSeconds: 60 }]));
  const settings = options.settings ?? { ...DEFAULT_BUDGET, limits: roomy as BudgetSettings['limits'] };
  return new FinchBudget(options.buckets ?? new MemoryRateBuckets(), settings, options.kind ?? 'interactive', options.now ?? Date.now, quietObserver);
}
