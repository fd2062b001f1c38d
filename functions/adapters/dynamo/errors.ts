// How the stores read DynamoDB's answers that are not results: a fault worth retrying becomes
// TransientStoreError (`guard`), and a failed condition hands back the old item
// (ReturnValuesOnConditionCheckFailure: ALL_OLD), one per transaction item when a transaction was
// cancelled.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TransientStoreError } from '#core/errors.js';
import { asSdkError, isTransient } from '../aws-errors.js';
import type { Item } from './items.js';

/** Retryable faults become TransientStoreError; condition failures and bugs pass through as they are. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isTransient(error)) throw new TransientStoreError(error);
    throw error;
  }
}

export function isConditionFailure(error: unknown): boolean {
  return asSdkError(error).name === 'ConditionalCheckFailedException';
}

/** The item as it was when a single-item condition failed; null when there was none. */
export function conditionFailedItem(error: unknown): Item | null {
  const item = asSdkError(error).Item;
  return item ? fromAttributeMap(item) : null;
}

export interface CancellationReason { code: string; item: Item | null }

/** One reason per TransactItem, in order, or null when the error is not a cancelled transaction. */
export function cancellationReasons(error: unknown): CancellationReason[] | null {
  const e = asSdkError(error);
  if (e.name !== 'TransactionCanceledException' || !e.CancellationReasons) return null;
  return e.CancellationReasons.map((reason) => ({
    code: reason.Code ?? 'None',
    item: reason.Item ? fromAttributeMap(reason.Item) : null,
  }));
}

/** True when the transaction was cancelled because the condition of its item at `index` failed. */
export function conditionFailedAt(error: unknown, index: number): boolean {
  return cancellationReasons(error)?.[index]?.code === 'ConditionalCheckFailed';
}

// The document client unmarshalls responses but not the items carried by errors, so those are
// unmarshalled here. An item already unmarshalled (a future SDK might do it) is passed through:
// every item has `pk`.
function fromAttributeMap(item: Record<string, AttributeValue>): Item {
  if (typeof (item as Item).pk === 'string') return item;
  return unmarshall(item);
}
