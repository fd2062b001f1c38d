// The shared buckets of the Finch budget (functions/core/finch-budget.ts), implemented on the table
// by functions/adapters/dynamo/rate-buckets.ts. Every method is one atomic step for all functions.
import type { BucketName, Pace, TakeOutcome } from '../finch-budget.js';

/** A bucket as stored: epoch ms throughout. */
export interface BucketState {
  /** The theoretical arrival time of the next request on schedule; absent before the first take. */
  tat?: number;
  /** Takes so far (for metrics and the test that every Finch call took the budget). */
  taken?: number;
  /** Finch's own 429 refuses every take until then. */
  blocked_until?: number;
  /** The finch_code that set the block. */
  blocked_by?: string;
}

export interface RateBuckets {
  /** Applies gcraTake (functions/core/finch-budget.ts) to the bucket atomically. */
  take(bucket: BucketName, pace: Pace, now: number): Promise<TakeOutcome>;
  /** Refuses every take of the bucket until `until`, unless a longer block is already set. */
  block(bucket: BucketName, until: number, finchCode: string): Promise<void>;
}
