import type { CallbackErrorCode } from './model.js';

// Typed errors carry their HTTP status and a stable snake_case code; the HTTP layer maps them to
// the error shape of docs/ARCHITECTURE.md. Messages are written for the API's caller and never hold a secret.

export interface ErrorDetail { path: string; message: string }

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { details?: ErrorDetail[]; headers?: Record<string, string>; body?: Record<string, unknown> } = {},
  ) {
    super(message);
  }
}

/**
 * Names error classes on their prototypes, for logs (`error_name`). Not `new.target.name`: the
 * bundles are minified without keepNames (lib/constructs/service-function.ts), where a class's
 * own name is a letter or two. A class left out is named as its parent.
 */
export function nameErrors(classes: Record<string, { prototype: Error }>): void {
  for (const [name, type] of Object.entries(classes)) type.prototype.name = name;
}

export class InvalidRequest extends ApiError {
  constructor(message: string, details?: ErrorDetail[]) { super(400, 'invalid_request', message, { details }); }
}
export class Unauthorized extends ApiError {
  constructor(message = 'A valid bearer token is required.') { super(401, 'unauthorized', message); }
}
export class Forbidden extends ApiError {
  constructor(message = 'The caller may not act for this customer.') { super(403, 'forbidden', message); }
}
/** Another customer's connection is answered exactly like a missing one, so ids cannot be probed. */
export class ConnectionNotFound extends ApiError {
  constructor() { super(404, 'connection_not_found', 'No such connection.'); }
}
export class ConnectionAlreadyExists extends ApiError {
  constructor(connection_id?: string) {
    super(409, 'connection_already_exists',
      'This customer already has a connection for this company; reauthenticate it instead.',
      { body: connection_id ? { connection_id } : undefined });
  }
}
export class ConnectionDisconnected extends ApiError {
  constructor() { super(409, 'connection_disconnected', 'The connection is disconnected.'); }
}
export class InvalidState extends ApiError {
  constructor() { super(400, 'invalid_state', 'The state is unknown, expired, already used or of another flow.'); }
}
/** The callback failed for a reason the employer's browser may be told (one of CALLBACK_ERROR_CODES). */
export class CallbackFailed extends ApiError {
  constructor(code: CallbackErrorCode) {
    const [status, message] = CALLBACK_FAILURES[code];
    super(status, code, message);
  }
}

const CALLBACK_FAILURES: Record<CallbackErrorCode, [number, string]> = {
  invalid_state: [400, 'The state is unknown, expired, already used or of another flow.'],
  connect_cancelled: [400, 'Finch Connect did not complete.'],
  invalid_code: [400, 'Finch refused the authorization code.'],
  customer_mismatch: [403, 'The authorization belongs to another customer; nothing was stored.'],
  customer_unverified: [403, 'Finch did not confirm whose authorization this is; nothing was stored.'],
  connection_mismatch: [409, 'The reauthentication returned another connection; nothing was stored.'],
  connection_owned_elsewhere: [409, 'This connection belongs to another customer; nothing was stored.'],
  connection_disconnected: [409, 'The connection is disconnected.'],
  finch_unavailable: [502, 'Finch could not exchange the code; start Connect again.'],
  callback_in_progress: [409, 'This callback is already being processed; retry shortly.'],
  store_unavailable: [503, 'The connection was authorized but could not be saved yet; repeat the callback to finish.'],
  internal_error: [500, 'The callback failed; start Connect again.'],
};
export class FinchUnavailable extends ApiError {
  constructor(timeout = false) {
    super(timeout ? 504 : 502, timeout ? 'finch_timeout' : 'finch_unavailable',
      timeout ? 'Finch did not answer in time.' : 'Finch could not be reached or answered with an error.');
  }
}
/** A Finch call cut short (or not sent) because the caller's deadline came before Finch's timeout. */
export class FinchDeadlineExceeded extends FinchUnavailable {
  constructor() { super(true); }
}
/** Finch answered 2xx without a field we cannot do without (fail closed: nothing is stored). */
export class FinchResponseIncomplete extends FinchUnavailable {}
export class FinchRateLimited extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, 'finch_rate_limited', 'Finch is rate limiting this application; retry later.',
      { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}
export class FinchRejected extends ApiError {
  constructor(code: string, message: string) { super(400, code, message); }
}
export class RefreshRateLimited extends ApiError {
  constructor(retryAfterSeconds: number) {
    super(429, 'refresh_rate_limited', 'This connection was refreshed too often; retry later.',
      { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}
export class InvalidWebhookSignature extends ApiError {
  constructor() { super(401, 'invalid_signature', 'The webhook signature is missing, stale or invalid.'); }
}
nameErrors({
  ApiError, InvalidRequest, Unauthorized, Forbidden, ConnectionNotFound, ConnectionAlreadyExists, ConnectionDisconnected,
  InvalidState, CallbackFailed, FinchUnavailable, FinchDeadlineExceeded, FinchResponseIncomplete, FinchRateLimited,
  FinchRejected, RefreshRateLimited, InvalidWebhookSignature,
});

// Errors the adapters raise through the ports (functions/core/ports/): what happened outside, with
// no status of their own. The core turns them into the errors above, or the HTTP layer answers them
// (a transient fault that outlasted its retries is 503 service_unavailable, http/stack.ts).

/** A backing service failed in a way the same request may well get past a moment later. */
export abstract class TransientFault extends Error {
  constructor(message: string, override readonly cause: unknown) { super(message); }
}

export class TransientStoreError extends TransientFault {
  constructor(cause: unknown) {
    super('The connections store failed transiently.', cause);
    this.name = 'TransientStoreError';
  }
}

export class TransientCipherError extends TransientFault {
  constructor(cause: unknown) {
    super('The key service failed transiently.', cause);
    this.name = 'TransientCipherError';
  }
}

/** Finch's client credentials could not be fetched for a passing reason (Secrets Manager throttled, 5xx, network). */
export class TransientSecretsError extends TransientFault {
  constructor(cause: unknown) {
    super('The secrets service failed transiently.', cause);
    this.name = 'TransientSecretsError';
  }
}

/** Thrown by `createConnectSession` when Finch already has a live connection for the customer id. */
export class ConnectionExistsAtFinch extends Error {
  constructor(readonly connection_id: string | null) {
    super('Finch already has a connection for this customer.');
    this.name = 'ConnectionExistsAtFinch';
  }
}

/** Finch answered 401 for an access token: revoked, or the connection needs reauthentication. */
export class AccessTokenRejected extends Error {
  constructor(readonly finch_code: string | null) {
    super('Finch rejected the access token.');
    this.name = 'AccessTokenRejected';
  }
}

export class WebhookSignatureInvalid extends Error {
  constructor() {
    super('The webhook signature is missing, stale or invalid.');
    this.name = 'WebhookSignatureInvalid';
  }
}
