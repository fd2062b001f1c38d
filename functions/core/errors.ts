import type { CallbackErrorCode, InitialSync } from './model.js';

// The errors of the core and its ports, in one module, each named for what happened. None carries
// an HTTP status or code: functions/http/errors.ts answers them, in one table (docs/ARCHITECTURE.md,
// "Errors and the HTTP edge"). Messages are written for the API's caller (a 4xx answer sends them;
// a 5xx never sends an error's message) and never hold a secret.

export interface ErrorDetail { path: string; message: string }

/**
 * Names error classes on their prototypes, for logs (`error_name`). Not `new.target.name`: the
 * bundles are minified without keepNames (lib/constructs/service-function.ts), where a class's
 * own name is a letter or two. A class left out is named as its parent.
 */
export function nameErrors(classes: Record<string, { prototype: Error }>): void {
  for (const [name, type] of Object.entries(classes)) type.prototype.name = name;
}

/** The root: something that happened, told apart by its class (never by a status or a code). */
export abstract class DomainError extends Error {}

// ---- The request and the caller ------------------------------------------------------------

export class InvalidRequest extends DomainError {
  constructor(message: string, readonly details?: ErrorDetail[]) { super(message); }
}
export class Unauthorized extends DomainError { constructor(message = 'A valid bearer token is required.') { super(message); } }
export class Forbidden extends DomainError {
  constructor(message = 'The caller may not act for this customer.') { super(message); }
}
/** An Idempotency-Key already recorded with another request body. */
export class IdempotencyKeyReused extends DomainError {
  constructor() { super('This Idempotency-Key was used with another request body.'); }
}
/** The first request with this Idempotency-Key has not finished. */
export class IdempotencyInProgress extends DomainError {
  constructor() { super('A request with this Idempotency-Key is still being processed; retry shortly.'); }
}

// ---- Connections ---------------------------------------------------------------------------

/** Another customer's connection is answered exactly like a missing one, so ids cannot be probed. */
export class ConnectionNotFound extends DomainError { constructor() { super('No such connection.'); } }
/**
 * Finch refused a new Connect session: this Finch customer id already has a live connection. The
 * message says what to do instead, whether or not the connection is named.
 */
export class ConnectionAlreadyExists extends DomainError {
  /** Only when the caller owns it: the connection to reauthenticate instead. */
  constructor(readonly connection_id?: string) {
    super(connection_id
      ? 'This customer already has a connection for this company; reauthenticate it (POST /connect/sessions/reauthenticate '
        + 'with this connection_id) instead, or connect another company or provider under another entity.'
      : 'Finch already has a connection for this customer and did not say which; reauthenticate the connection you have '
        + '(GET /connections lists them; POST /connect/sessions/reauthenticate), or connect another company or provider under another entity.');
  }
}
export class ConnectionDisconnected extends DomainError { constructor() { super('The connection is disconnected.'); } }
export class RefreshRateLimited extends DomainError {
  constructor(readonly retryAfterSeconds: number) { super('This connection was refreshed too often; retry later.'); }
}

// ---- The callback --------------------------------------------------------------------------

/** The state is unknown, expired, already used, of another flow or another customer's: one answer for all. */
export class InvalidState extends DomainError {
  constructor() { super('The state is unknown, expired, already used or of another flow.'); }
}
/** The callback failed for a reason the employer's browser may be told (one of CALLBACK_ERROR_CODES). */
export class CallbackFailed extends DomainError {
  constructor(readonly reason: CallbackErrorCode) { super(`The callback failed: ${reason}.`); }
}

// ---- The Finch proxy -----------------------------------------------------------------------

export class PathNotAllowed extends DomainError {
  constructor() { super('This Finch method and path are not allowed through the proxy.'); }
}
export class WriteScopeRequired extends DomainError {
  constructor() { super('Writes through the Finch proxy need the write scope.'); }
}
export class ReauthRequired extends DomainError {
  constructor(readonly connection_id: string) {
    super('The employer must reauthenticate this connection before its data can be read.');
  }
}
/** Finch refused the token for another reason than reauthentication (e.g. an unfinished account setup). */
export class ConnectionUnauthorized extends DomainError {
  constructor(readonly finch_code: string | null) {
    super('Finch did not accept this connection\'s token; check its status.');
  }
}

// ---- Finch (raised by the adapters through the ports, functions/core/ports/) -----------------

/** Finch could not be reached, or answered with an error that is not the request's fault. */
export class FinchUnavailable extends DomainError {
  constructor(message = 'Finch could not be reached or answered with an error.') { super(message); }
}
/** Finch did not answer within the client's timeout. */
export class FinchTimeout extends FinchUnavailable { constructor(message = 'Finch did not answer in time.') { super(message); } }
/** A Finch call cut short (or not sent) because the caller's deadline came before Finch's timeout. */
export class FinchDeadlineExceeded extends FinchTimeout {
  constructor() { super('The request\'s deadline came before Finch answered.'); }
}
/**
 * A data read through the proxy that Finch did not answer within the function's time (typical
 * before the initial sync, when Finch reads the provider live: functions/core/finch-reads.ts).
 * `initial_sync`: whether the sync of the read's data is still pending (null: none covers it).
 */
export class FinchReadTimedOut extends FinchTimeout {
  constructor(readonly connection_id: string, readonly initial_sync: { sync: InitialSync; pending: boolean; completed_at: string | null } | null) {
    super('Finch did not answer this read in time.');
  }
}
/** Finch answered 2xx without a field we cannot do without (fail closed: nothing is stored). */
export class FinchResponseIncomplete extends FinchUnavailable {
  constructor() { super('Finch answered without a field this service needs.'); }
}
/**
 * Finch answered 429. `retryAfterSeconds`: when to try again, Finch's Retry-After if it sent one
 * (it documents none), else by its `finch_code` (the adapters decide: functions/adapters/finch-rate-limits.ts).
 */
export class FinchRateLimited extends DomainError {
  constructor(readonly retryAfterSeconds: number, readonly finch_code: string | null) {
    super('Finch is rate limiting this application; retry after the time Retry-After gives.');
  }
}
/** Finch refused the request itself (400, 404, 422), or a call for good (FinchOperationRefused). */
export class FinchRejected extends DomainError { constructor(message = 'Finch refused the request.') { super(message); } }
/**
 * Finch's answers to a call made with a connection's access token that a retry does not change
 * ("Error Types", https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types),
 * by Finch's `name` for each.
 */
export const FINCH_REFUSALS = {
  payment_required: 'Finch refused the call: this service\'s Finch application has unpaid invoices, and Finch answers none of its calls until they are settled.',
  error_permissions: 'Finch refused the call: the employer\'s admin account connected to Finch lacks the permissions this call needs; the employer must update that account\'s permissions.',
  // Finch words it as the application's credentials; a connection's token holds the products it was granted.
  insufficient_scope_error: 'Finch refused the call: this connection, or this service\'s Finch application, was not granted the Finch product it needs.',
  not_implemented_error: 'Finch refused the call: the employer\'s provider does not support it.',
} as const;
export type FinchRefusal = keyof typeof FINCH_REFUSALS;
/**
 * Finch refused a call made with a connection's token for a reason outside the request that no
 * retry changes (402, 403, 501: FINCH_REFUSALS): neither the caller's fault nor Finch being down.
 * A FinchRejected, so what gives up on a refused call (the company name, a disconnect's revocation,
 * the reconciler's turn) gives up on it too. `finch_error`: which, in Finch's words.
 */
export class FinchOperationRefused extends FinchRejected {
  constructor(readonly finch_error: FinchRefusal) {
    super(FINCH_REFUSALS[finch_error] ?? 'Finch refused the call for a reason a retry does not change.');
  }
}
/** Finch refused the authorization code of a token exchange (unknown, expired or already used). */
export class AuthorizationCodeRejected extends FinchRejected { constructor() { super('Finch refused the authorization code.'); } }
/** Finch answered 401 for an access token: revoked, or the connection needs reauthentication. */
export class AccessTokenRejected extends DomainError {
  constructor(readonly finch_code: string | null) { super('Finch rejected the access token.'); }
}
/** Thrown by `createConnectSession` when Finch already has a live connection for the customer id. */
export class ConnectionExistsAtFinch extends DomainError {
  constructor(readonly connection_id: string | null) { super('Finch already has a connection for this customer.'); }
}
export class WebhookSignatureInvalid extends DomainError {
  constructor() { super('The webhook signature is missing, stale or invalid.'); }
}
/**
 * A signed event that cannot be applied yet (its connection is not stored here yet, or its token
 * changed while Finch was asked about it) and is not recorded: Finch delivers it again after a non-2xx.
 */
export class WebhookDeferred extends DomainError {
  /** `reason`: its connection is not stored here yet (unowned), or its token changed while Finch was asked. */
  constructor(readonly retryAfterSeconds: number, readonly reason: 'unowned' | 'token_changed' = 'unowned') {
    super('This event cannot be applied yet; deliver it again later.');
  }
}

// ---- Faults of the backing services --------------------------------------------------------

/**
 * A backing service failed in a way the same request may well get past a moment later. Retried
 * where giving up would lose work (functions/core/retry.ts); one that outlasts its retries is 503.
 */
export abstract class TransientFault extends DomainError {
  constructor(message: string, override readonly cause: unknown) { super(message); }
}
export class TransientStoreError extends TransientFault {
  constructor(cause: unknown) { super('The connections store failed transiently.', cause); }
}
export class TransientCipherError extends TransientFault {
  constructor(cause: unknown) { super('The key service failed transiently.', cause); }
}
/** Finch's client credentials could not be fetched for a passing reason (Secrets Manager throttled, 5xx, network). */
export class TransientSecretsError extends TransientFault {
  constructor(cause: unknown) { super('The secrets service failed transiently.', cause); }
}

nameErrors({
  DomainError, InvalidRequest, Unauthorized, Forbidden, IdempotencyKeyReused, IdempotencyInProgress,
  ConnectionNotFound, ConnectionAlreadyExists, ConnectionDisconnected, RefreshRateLimited, InvalidState, CallbackFailed,
  PathNotAllowed, WriteScopeRequired, ReauthRequired, ConnectionUnauthorized,
  FinchUnavailable, FinchTimeout, FinchDeadlineExceeded, FinchReadTimedOut, FinchResponseIncomplete, FinchRateLimited, FinchRejected,
  FinchOperationRefused, AuthorizationCodeRejected, AccessTokenRejected, ConnectionExistsAtFinch, WebhookSignatureInvalid, WebhookDeferred,
  TransientFault, TransientStoreError, TransientCipherError, TransientSecretsError,
});
