// Which AWS SDK faults are worth retrying, for every adapter: the DynamoDB stores'
// TransientStoreError (functions/adapters/dynamo/errors.ts), Powertools' idempotency records, KMS
// and Secrets Manager. What a failed DynamoDB condition says is read in dynamo/errors.ts.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

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

/** The fields of an AWS SDK error the adapters read. */
export interface SdkError {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[];
  Item?: Record<string, AttributeValue>;
}

export const asSdkError = (error: unknown): SdkError => (typeof error === 'object' && error !== null ? error as SdkError : {});

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
