// The one place errors get an HTTP status: a table from error class to status, code and what the
// answer adds (headers, body fields), as middy's http-error-handler and Powertools' router keep
// status at the edge. The core raises errors named for what happened (functions/core/errors.ts)
// and knows no status; the error handler (stack.ts) answers with this table
// (docs/ARCHITECTURE.md, "Errors and the HTTP edge").
import {
  AuthorizationCodeRejected, CallbackFailed, ConnectionAlreadyExists, ConnectionDisconnected, ConnectionNotFound,
  ConnectionUnauthorized, FinchOperationRefused, FinchRateLimited, FinchReadTimedOut, FinchRejected, FinchTimeout, FinchUnavailable, Forbidden, IdempotencyInProgress,
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
/** What an error of a row adds to its answer: headers, body fields, a fixed message. */
type Extra = Omit<Answer, 'status' | 'code'>;
/** A row: the status and code of an error class (static, so the table can be listed), and what an error adds. */
interface Row<E extends Error = Error> { status: number; code: string; extra?: Extra | ((error: E) => Extra) }
/** The callback's failures: one class, its code and status from the reason (CALLBACK_ANSWERS). */
type CallbackRow = (error: CallbackFailed) => Answer;
const rule = <E extends Error>(type: ErrorClass<E>, status: number, code: string, extra?: Row<E>['extra']) =>
  [type, { status, code, extra }] as [ErrorClass, Row | CallbackRow];

/**
 * The table, by class. A class not listed is answered as its nearest listed ancestor
 * (FinchDeadlineExceeded as FinchTimeout, FinchResponseIncomplete as FinchUnavailable); an error
 * with none is answered TRANSIENT_ANSWER (a TransientFault) or INTERNAL_ANSWER (stack.ts).
 */
const ANSWERS = new Map<ErrorClass, Row | CallbackRow>([
  // The request and the caller
  rule(InvalidRequest, 400, 'invalid_request', (error) => ({ body: error.details && { details: error.details } })),
  rule(Unauthorized, 401, 'unauthorized'),
  rule(Forbidden, 403, 'forbidden'),
  rule(RouteNotFound, 404, 'not_found'),
  rule(PayloadTooLarge, 413, 'payload_too_large'),
  rule(UnsupportedMediaType, 415, 'unsupported_media_type'),
  rule(IdempotencyInProgress, 409, 'idempotency_in_progress'),
  rule(IdempotencyKeyReused, 422, 'idempotency_key_reused'),
  // Connections
  rule(ConnectionNotFound, 404, 'connection_not_found'),
  rule(ConnectionAlreadyExists, 409, 'connection_already_exists', (error) => ({
    body: error.connection_id ? { connection_id: error.connection_id } : undefined,
  })),
  rule(ConnectionDisconnected, 409, 'connection_disconnected'),
  rule(RefreshRateLimited, 429, 'refresh_rate_limited', (error) => ({ headers: { 'Retry-After': String(error.retryAfterSeconds) } })),
  // The callback
  rule(InvalidState, 400, 'invalid_state'),
  [CallbackFailed, ((error: CallbackFailed) => ({ code: error.reason, ...CALLBACK_ANSWERS[error.reason] })) as CallbackRow],
  rule(WebhookSignatureInvalid, 401, 'invalid_signature'),
  // Finch delivers an event again after a non-2xx: "later" is its schedule's, the header a hint.
  rule(WebhookDeferred, 503, 'webhook_deferred', (error) => ({
    message: 'This event cannot be applied yet; deliver it again later.', headers: { 'Retry-After': String(error.retryAfterSeconds) },
  })),
  // The Finch proxy
  rule(PathNotAllowed, 400, 'path_not_allowed'),
  rule(WriteScopeRequired, 403, 'write_scope_required'),
  rule(ReauthRequired, 409, 'reauth_required', (error) => ({ body: { connection_id: error.connection_id } })),
  rule(ConnectionUnauthorized, 409, 'connection_unauthorized', (error) => ({ body: { finch_code: error.finch_code } })),
  // Finch
  rule(FinchRejected, 400, 'finch_rejected_request'),
  rule(AuthorizationCodeRejected, 400, 'invalid_code'),
  // Neither the caller's request (400) nor Finch down (finch_unavailable: a retry gets the same answer). Its
  // message says which refusal: one of FINCH_REFUSALS, never Finch's text.
  rule(FinchOperationRefused, 502, 'finch_refused', (error) => ({ message: error.message })),
  rule(FinchRateLimited, 429, 'finch_rate_limited', (error) => ({
    headers: { 'Retry-After': String(error.retryAfterSeconds) }, body: { finch_code: error.finch_code },
  })),
  rule(FinchUnavailable, 502, 'finch_unavailable', { message: 'Finch could not be reached or answered with an error.' }),
  rule(FinchTimeout, 504, 'finch_timeout', { message: 'Finch did not answer in time.' }),
  // A proxied read cut at the function's deadline: whether the initial sync is what makes Finch slow.
  rule(FinchReadTimedOut, 504, 'finch_timeout', ({ connection_id, initial_sync: sync = null }) => ({
    message: READ_TIMEOUT_MESSAGES[sync === null ? 'none' : sync.pending ? 'pending' : 'completed'],
    body: { connection_id, initial_sync: sync },
  })),
]);

/**
 * The 504 of a read (fixed texts, by what is known of the initial sync). Before it, Finch fetches
 * the data live from the provider, which can take minutes ("Data Syncs"); waiting for the
 * connection.initial_sync_completed event is the way out (README "Events").
 */
const READ_TIMEOUT_MESSAGES = {
  pending: 'Finch did not answer within this API\'s time: this connection\'s initial sync of this data is still pending, so Finch reads it live '
    + 'from the provider, which can take minutes. Wait for the connection.initial_sync_completed event (or initial_sync_completed_at on '
    + 'GET /connections/{connection_id}), then read again.',
  completed: 'Finch did not answer within this API\'s time, although this connection\'s initial sync of this data has completed; retry shortly.',
  none: 'Finch did not answer within this API\'s time; retry shortly.',
};

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
    const answer = typeof found === 'function' ? found(error as CallbackFailed) : answerOfRow(found, error);
    const fixed = answer.message ?? (answer.status < 500 ? error.message : INTERNAL_ANSWER.message);
    return { ...answer, message: fixed };
  }
  return undefined;
}

function answerOfRow({ status, code, extra }: Row, error: Error): Answer {
  const added = typeof extra === 'function' ? extra(error) : extra;
  return { status, code, ...added };
}

/**
 * Every code an error may be answered with, and its status: the table's rows, the callback's
 * failures, and the answers to faults. The OpenAPI description's error codes (scripts/openapi.ts).
 */
export function errorCodes(): ReadonlyArray<{ code: string; status: number }> {
  const listed = [
    ...[...ANSWERS.values()].flatMap((row) => (typeof row === 'function' ? [] : [{ code: row.code, status: row.status }])),
    ...Object.entries(CALLBACK_ANSWERS).map(([code, { status }]) => ({ code, status })),
    { code: TRANSIENT_ANSWER.code, status: TRANSIENT_ANSWER.status },
    { code: INTERNAL_ANSWER.code, status: INTERNAL_ANSWER.status },
  ];
  // invalid_state and internal_error are both a row and a callback failure, with one status.
  return [...new Map(listed.map((entry) => [`${entry.status} ${entry.code}`, entry])).values()];
}

/**
 * The status of the table's answer, 500 for an error it does not list: what the Finch proxy's
 * log line records for a call that failed (functions/core/proxy.ts, `ProxyDeps.statusOf`).
 */
export function statusOf(error: unknown): number {
  return answerOf(error)?.status ?? INTERNAL_ANSWER.status;
}
