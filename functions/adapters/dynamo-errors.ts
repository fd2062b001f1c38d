// How the adapters read AWS SDK errors: which faults are worth retrying (`isTransient`: the
// DynamoDB store's TransientStoreError, and the same classification for KMS, Secrets Manager and
// Powertools' idempotency records), and the old item a failed DynamoDB condition hands back
// (ReturnValuesOnConditionCheckFailure: ALL_OLD).
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

type Item = Record<string, unknown>;

const RETRYABLE_ERRORS = new Set([
  'ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded',
  'InternalServerError', 'ServiceUnavailable', 'TransactionInProgressException',
  // A single-item write that met a transaction in flight on the same item, or a global-table replica's.
  'TransactionConflictException', 'ReplicatedWriteConflictException',
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException',
]);
/** Cancellation reason codes that say "try again", not "your condition is false". */
const RETRYABLE_REASONS = new Set([
  'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded',
  'InternalServerError',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

interface SdkError {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[];
  Item?: Record<string, AttributeValue>;
}

const asSdkError = (error: unknown): SdkError => (typeof error === 'object' && error !== null ? error as SdkError : {});

/** Throttling, transaction conflicts, 5xx and network faults: the same request may well succeed later. */
export function isTransient(error: unknown): boolean {
  const e = asSdkError(error);
  if (e.name === 'TransactionCanceledException') {
    return (e.CancellationReasons ?? []).some((reason) => RETRYABLE_REASONS.has(reason.Code ?? ''));
  }
  if (e.name && RETRYABLE_ERRORS.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return (status !== undefined && status >= 500) || e.$fault === 'server';
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

// The document client unmarshalls responses but not the items carried by errors, so those are read
// here. An item already unmarshalled (a future SDK might do it) is passed through: every item has `pk`.
function fromAttributeMap(item: Record<string, unknown>): Item {
  if (typeof item.pk === 'string') return item;
  return mapValues(item as Record<string, AttributeValue>);
}

function mapValues(map: Record<string, AttributeValue>): Item {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, fromAttributeValue(value)]));
}

function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return mapValues(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.B !== undefined) return value.B;
  if (value.BS !== undefined) return new Set(value.BS);
  return undefined;
}
