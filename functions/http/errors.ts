// The one place errors get an HTTP status: a table from error class to status, code and what the
// answer adds (headers, body fields), as middy's http-error-handler and Powertools' router keep
// status at the edge. The core raises errors named for what happened (functions/core/errors.ts)
// and knows no status; the error handler (stack.ts) answers with this table
// (docs/ARCHITECTURE.md, "Errors and the HTTP edge").
import {
  AuthorizationCodeRejected, CallbackFailed, ConnectionAlreadyExists, ConnectionDisconnected, ConnectionNotFound,
  ConnectionUnauthorized, FinchRateLimited, FinchRejected, FinchTimeout, FinchUnavailable, Forbidden, IdempotencyInProgress,
  IdempotencyKeyReused, InvalidRequest, InvalidState, PathNotAllowed, ReauthRequired, RefreshRateLimited, Unauthorized,
  WebhookDeferred, WebhookSignatureInvalid, WriteScopeRequired, nameErrors,
} from '#core/errors.js';
import type { CallbackErrorCode } from '#core/model.js';

/** How an error is answered: `{"error": {code, message, request_id, ...body}}` with `headers`. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
  /** Fields of the error object besides code, message and request_id (`details`, `connection_id`, …). */
  body?: Record<string, unknown>;
}

/** A row of the table. Without `message` a 4xx answers the error's own; a 5xx never does. */
type Answer = Omit<ErrorAnswer, 'message'> & { message?: string };

// ---- The edge's own refusals, before a handler runs ----------------------------------------

export class RouteNotFound extends Error {
  constructor() { super('No such route.'); }
}
export class PayloadTooLarge extends Error {
  constructor(maxBytes: number) { super(`The body must be at most ${maxBytes} bytes.`); }
}
export class UnsupportedMediaType extends Error {
  /** `accepted`: the content types the route takes, in words ("application/json or …"). */
  constructor(accepted: string) { super(`The body must be ${accepted}.`); }
}
nameErrors({ RouteNotFound, PayloadTooLarge, UnsupportedMediaType });

// ---- The table -----------------------------------------------------------------------------

type CallbackAnswer = { status: number; message: string };

/** The callback's failures that are the request's or the employer's doing (4xx). */
const CALLBACK_REFUSALS = {
  invalid_state: { status: 400, message: 'The state is unknown, expired, already used or of another flow.' },
  connect_cancelled: { status: 400, message: 'Finch Connect did not complete.' },
  invalid_code: { status: 400, message: 'Finch refused the authorization code.' },
  customer_mismatch: { status: 403, message: 'The authorization belongs to another customer; nothing was stored.' },
  customer_unverified: { status: 403, message: 'Finch did not confirm whose authorization this is; nothing was stored.' },
  connection_mismatch: { status: 409, message: 'The reauthentication returned another connection; nothing was stored.' },
  connection_owned_elsewhere: { status: 409, message: 'This connection belongs to another customer; nothing was stored.' },
  connection_disconnected: { status: 409, message: 'The connection is disconnected.' },
  callback_in_progress: { status: 409, message: 'This callback is already being processed; retry shortly.' },
} satisfies Partial<Record<CallbackErrorCode, CallbackAnswer>>;

/** And those that are not: start Connect again or, when the token is stashed, repeat the callback (5xx). */
const CALLBACK_FAULTS = {
  finch_unavailable: { status: 502, message: 'Finch could not exchange the code; start Connect again.' },
  store_unavailable: { status: 503, message: 'The connection was authorized but could not be saved yet; repeat the callback to finish.' },
  internal_error: { status: 500, message: 'The callback failed; start Connect again.' },
} satisfies Partial<Record<CallbackErrorCode, CallbackAnswer>>;

/**
 * Every failure of the callback (CALLBACK_ERROR_CODES): the embedded callback's JSON answer
 * (CallbackFailed below) and the status of the redirect callback's result page.
 */
export const CALLBACK_ANSWERS: Record<CallbackErrorCode, CallbackAnswer> = { ...CALLBACK_REFUSALS, ...CALLBACK_FAULTS };

type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E;
type Rule<E extends Error> = Answer | ((error: E) => Answer);
const rule = <E extends Error>(type: ErrorClass<E>, answer: Rule<E>) => [type, answer] as [ErrorClass, Rule<Error>];

/**
 * The table, by class. A class not listed is answered as its nearest listed ancestor
 * (FinchDeadlineExceeded as FinchTimeout, FinchResponseIncomplete as FinchUnavailable); an error
 * with none is answered TRANSIENT_ANSWER (a TransientFault) or INTERNAL_ANSWER (stack.ts).
 */
const ANSWERS = new Map<ErrorClass, Rule<Error>>([
  // The request and the caller
  rule(InvalidRequest, (error) => ({ status: 400, code: 'invalid_request', body: error.details && { details: error.details } })),
  rule(Unauthorized, { status: 401, code: 'unauthorized' }),
  rule(Forbidden, { status: 403, code: 'forbidden' }),
  rule(RouteNotFound, { status: 404, code: 'not_found' }),
  rule(PayloadTooLarge, { status: 413, code: 'payload_too_large' }),
  rule(UnsupportedMediaType, { status: 415, code: 'unsupported_media_type' }),
  rule(IdempotencyInProgress, { status: 409, code: 'idempotency_in_progress' }),
  rule(IdempotencyKeyReused, { status: 422, code: 'idempotency_key_reused' }),
  // Connections
  rule(ConnectionNotFound, { status: 404, code: 'connection_not_found' }),
  rule(ConnectionAlreadyExists, (error) => ({
    status: 409, code: 'connection_already_exists', body: error.connection_id ? { connection_id: error.connection_id } : undefined,
  })),
  rule(ConnectionDisconnected, { status: 409, code: 'connection_disconnected' }),
  rule(RefreshRateLimited, (error) => ({ status: 429, code: 'refresh_rate_limited', headers: { 'Retry-After': String(error.retryAfterSeconds) } })),
  // The callback
  rule(InvalidState, { status: 400, code: 'invalid_state' }),
  rule(CallbackFailed, (error) => ({ code: error.reason, ...CALLBACK_ANSWERS[error.reason] })),
  rule(WebhookSignatureInvalid, { status: 401, code: 'invalid_signature' }),
  // Finch delivers an event again after a non-2xx: "later" is its schedule's, the header a hint.
  rule(WebhookDeferred, (error) => ({
    status: 503, code: 'webhook_deferred', message: 'This event cannot be applied yet; deliver it again later.',
    headers: { 'Retry-After': String(error.retryAfterSeconds) },
  })),
  // The Finch proxy
  rule(PathNotAllowed, { status: 400, code: 'path_not_allowed' }),
  rule(WriteScopeRequired, { status: 403, code: 'write_scope_required' }),
  rule(ReauthRequired, (error) => ({ status: 409, code: 'reauth_required', body: { connection_id: error.connection_id } })),
  rule(ConnectionUnauthorized, (error) => ({ status: 409, code: 'connection_unauthorized', body: { finch_code: error.finch_code } })),
  // Finch
  rule(FinchRejected, { status: 400, code: 'finch_rejected_request' }),
  rule(AuthorizationCodeRejected, { status: 400, code: 'invalid_code' }),
  rule(FinchRateLimited, (error) => ({
    status: 429, code: 'finch_rate_limited', headers: { 'Retry-After': String(error.retryAfterSeconds) }, body: { finch_code: error.finch_code },
  })),
  rule(FinchUnavailable, { status: 502, code: 'finch_unavailable', message: 'Finch could not be reached or answered with an error.' }),
  rule(FinchTimeout, { status: 504, code: 'finch_timeout', message: 'Finch did not answer in time.' }),
]);

/** A backing service stayed unavailable through the retries (a TransientFault): say so, and when to retry. */
export const TRANSIENT_ANSWER: ErrorAnswer = {
  status: 503, code: 'service_unavailable', message: 'A backing service is briefly unavailable; retry shortly.', headers: { 'retry-after': '1' },
};

/** Anything else: a fixed text, never the error's message (an SDK's may quote what it sent). */
export const INTERNAL_ANSWER: ErrorAnswer = { status: 500, code: 'internal_error', message: 'Internal error.' };

/** The table's answer to an error, or undefined for one it does not list. */
export function answerOf(error: unknown): ErrorAnswer | undefined {
  if (!(error instanceof Error)) return undefined;
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    const found = ANSWERS.get(proto.constructor);
    if (!found) continue;
    const answer = typeof found === 'function' ? found(error) : found;
    const fixed = answer.message ?? (answer.status < 500 ? error.message : INTERNAL_ANSWER.message);
    return { ...answer, message: fixed };
  }
  return undefined;
}

/**
 * The status of the table's answer, 500 for an error it does not list: what the Finch proxy's
 * log line records for a call that failed (functions/core/proxy.ts, `ProxyDeps.statusOf`).
 */
export function statusOf(error: unknown): number {
  return answerOf(error)?.status ?? INTERNAL_ANSWER.status;
}
