// The Finch budget's buckets on the table (functions/core/finch-budget.ts; layout in ../table.ts):
// one item a bucket, `RATE#<bucket>` / `BUCKET`, holding `tat`, `taken` and, after Finch's own
// 429, `blocked_until` and `blocked_by`.
//
// A take is gcraTake in DynamoDB conditions, with no read: `tat` moves to max(tat, now) + interval,
// which one update expression cannot say, so there are two updates, each for one side of the max:
//   busy: SET tat = tat + :interval     IF tat BETWEEN :now AND :now + tolerance
//   idle: SET tat = :now + :interval    IF tat is absent OR tat < :now
// both also IF no block runs (`blocked_until`), so the block costs no request of its own. Each hands
// back the item as it was when its condition fails (ALL_OLD), which says exactly what to do next:
// refuse (blocked, or `tat` past the tolerance) or try the other side. The first try is the side
// this container saw last, so a take is one request when the bucket stays busy or stays idle, two
// when it changes, and three only when another take restarts an idle bucket between our two:
// `tat` only grows while `now` stays, so a bucket cannot go back from busy to idle within one take.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BucketName, Pace, TakeOutcome } from '#core/finch-budget.js';
import type { BucketState, RateBuckets } from '#core/ports/rate-buckets.js';
import { keys } from '../table.js';
import { conditionFailedItem, guard, isConditionFailure } from './errors.js';

const NOT_BLOCKED = '(attribute_not_exists(blocked_until) OR blocked_until <= :now)';
const BUSY = `tat BETWEEN :now AND :latest AND ${NOT_BLOCKED}`;
const IDLE = `(attribute_not_exists(tat) OR tat < :now) AND ${NOT_BLOCKED}`;
/** busy, idle, busy: the most a take can need (see above). */
const MAX_TRIES = 3;

export class DynamoRateBuckets implements RateBuckets {
  /** The side each bucket was on when this container last saw it: the side to try first. */
  private readonly lastTat = new Map<BucketName, number>();

  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async take(bucket: BucketName, pace: Pace, now: number): Promise<TakeOutcome> {
    let busy = (this.lastTat.get(bucket) ?? 0) >= now;
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const tried = await this.update(bucket, pace, now, busy);
      if ('tat' in tried) {
        this.lastTat.set(bucket, tried.tat);
        return { taken: true, tat: tried.tat };
      }
      const old = tried.old;
      if (old?.tat !== undefined) this.lastTat.set(bucket, old.tat);
      if (old?.blocked_until !== undefined && old.blocked_until > now) {
        return { taken: false, retryAt: old.blocked_until, blockedBy: old.blocked_by ?? null };
      }
      if (old?.tat !== undefined && old.tat > now + pace.toleranceMs) return { taken: false, retryAt: old.tat - pace.toleranceMs, blockedBy: null };
      busy = old?.tat !== undefined && old.tat >= now;
    }
    // Not reached (see above); a bound all the same: come back in a second.
    return { taken: false, retryAt: now + 1000, blockedBy: null };
  }

  async block(bucket: BucketName, until: number, finchCode: string): Promise<void> {
    try {
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.rateBucket(bucket),
        UpdateExpression: 'SET blocked_until = :until, blocked_by = :code',
        // A longer block already set stays.
        ConditionExpression: 'attribute_not_exists(blocked_until) OR blocked_until < :until',
        ExpressionAttributeValues: { ':until': until, ':code': finchCode },
      })));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async update(bucket: BucketName, pace: Pace, now: number, busy: boolean): Promise<{ tat: number } | { old: BucketState | null }> {
    try {
      const { Attributes } = await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.rateBucket(bucket),
        UpdateExpression: busy ? 'SET tat = tat + :interval ADD taken :one' : 'SET tat = :next ADD taken :one',
        ConditionExpression: busy ? BUSY : IDLE,
        ExpressionAttributeValues: busy
          ? { ':interval': pace.intervalMs, ':now': now, ':latest': now + pace.toleranceMs, ':one': 1 }
          : { ':next': now + pace.intervalMs, ':now': now, ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return { tat: Number(Attributes?.tat) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = conditionFailedItem(error);
      return { old: old ? toState(old) : null };
    }
  }
}

function toState(item: Record<string, unknown>): BucketState {
  const number = (value: unknown) => (typeof value === 'number' ? value : value === undefined ? undefined : Number(value));
  return {
    tat: number(item.tat),
    taken: number(item.taken),
    blocked_until: number(item.blocked_until),
    blocked_by: typeof item.blocked_by === 'string' ? item.blocked_by : undefined,
  };
}
