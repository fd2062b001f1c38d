// The one table that gives errors an HTTP status (functions/http/errors.ts): every error the core
// raises for a caller has a row, each answer is pinned here, and a 5xx never answers an error's
// own message.
import * as core from '#core/errors.js';
import { CALLBACK_ERROR_CODES } from '#core/model.js';
import {
  CALLBACK_ANSWERS, PayloadTooLarge, RouteNotFound, UnsupportedMediaType, answerOf, statusOf,
} from '#http/errors.js';

/** The core's errors that are no refusal: caught in the core, or a fault the error handler answers 503. */
const NOT_REFUSALS = [
  'AccessTokenRejected', 'ConnectionExistsAtFinch', 'DomainError',
  'TransientCipherError', 'TransientFault', 'TransientSecretsError', 'TransientStoreError',
];

type AnyError = new (...args: unknown[]) => Error;

describe('the error table', () => {
  test('every error class of functions/core/errors.ts has an answer, or is deliberately none', () => {
    const classes = Object.entries(core).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    const unanswered = classes.filter(([, type]) => answerOf(new (type as AnyError)('invalid_state')) === undefined).map(([name]) => name);
    expect(unanswered.sort()).toEqual(NOT_REFUSALS);
  });

  test.each<[string, Error, object]>([
    ['InvalidRequest', new core.InvalidRequest('The request body is invalid.', [{ path: 'flow', message: 'required' }]),
      { status: 400, code: 'invalid_request', message: 'The request body is invalid.', body: { details: [{ path: 'flow', message: 'required' }] } }],
    ['Unauthorized', new core.Unauthorized(), { status: 401, code: 'unauthorized', message: 'A valid bearer token is required.' }],
    ['Forbidden', new core.Forbidden(), { status: 403, code: 'forbidden', message: 'The caller may not act for this customer.' }],
    ['RouteNotFound', new RouteNotFound(), { status: 404, code: 'not_found', message: 'No such route.' }],
    ['PayloadTooLarge', new PayloadTooLarge(16384), { status: 413, code: 'payload_too_large', message: 'The body must be at most 16384 bytes.' }],
    ['UnsupportedMediaType', new UnsupportedMediaType('application/json'),
      { status: 415, code: 'unsupported_media_type', message: 'The body must be application/json.' }],
    ['IdempotencyInProgress', new core.IdempotencyInProgress(), { status: 409, code: 'idempotency_in_progress' }],
    ['IdempotencyKeyReused', new core.IdempotencyKeyReused(), { status: 422, code: 'idempotency_key_reused' }],
    ['ConnectionNotFound', new core.ConnectionNotFound(), { status: 404, code: 'connection_not_found', message: 'No such connection.' }],
    ['ConnectionAlreadyExists (owned)', new core.ConnectionAlreadyExists('conn-1'),
      { status: 409, code: 'connection_already_exists', body: { connection_id: 'conn-1' } }],
    ['ConnectionAlreadyExists (not said whose)', new core.ConnectionAlreadyExists(), { status: 409, code: 'connection_already_exists', body: undefined }],
    ['ConnectionDisconnected', new core.ConnectionDisconnected(), { status: 409, code: 'connection_disconnected' }],
    ['RefreshRateLimited', new core.RefreshRateLimited(7), { status: 429, code: 'refresh_rate_limited', headers: { 'Retry-After': '7' } }],
    ['InvalidState', new core.InvalidState(), { status: 400, code: 'invalid_state' }],
    ['WebhookSignatureInvalid', new core.WebhookSignatureInvalid(),
      { status: 401, code: 'invalid_signature', message: 'The webhook signature is missing, stale or invalid.' }],
    ['WebhookDeferred', new core.WebhookDeferred(60), {
      status: 503, code: 'webhook_deferred', message: 'This event cannot be applied yet; deliver it again later.', headers: { 'Retry-After': '60' },
    }],
    ['PathNotAllowed', new core.PathNotAllowed(), { status: 400, code: 'path_not_allowed' }],
    ['WriteScopeRequired', new core.WriteScopeRequired(), { status: 403, code: 'write_scope_required' }],
    ['ReauthRequired', new core.ReauthRequired('conn-1'), { status: 409, code: 'reauth_required', body: { connection_id: 'conn-1' } }],
    ['ConnectionUnauthorized', new core.ConnectionUnauthorized(null), { status: 409, code: 'connection_unauthorized', body: { finch_code: null } }],
    ['FinchRejected', new core.FinchRejected(), { status: 400, code: 'finch_rejected_request', message: 'Finch refused the request.' }],
    ['AuthorizationCodeRejected', new core.AuthorizationCodeRejected(),
      { status: 400, code: 'invalid_code', message: 'Finch refused the authorization code.' }],
    ['FinchRateLimited (an application limit)', new core.FinchRateLimited(60, 'finch_application_rl'), {
      status: 429, code: 'finch_rate_limited', headers: { 'Retry-After': '60' }, body: { finch_code: 'finch_application_rl' },
    }],
    ['FinchRateLimited (no finch_code)', new core.FinchRateLimited(3, null), { status: 429, code: 'finch_rate_limited', headers: { 'Retry-After': '3' }, body: { finch_code: null } }],
    // A bearer call Finch refuses for good (402, 403, 501): neither the caller's request nor Finch down; our words for which.
    ['FinchOperationRefused (error_permissions)', new core.FinchOperationRefused('error_permissions'),
      { status: 502, code: 'finch_refused', message: core.FINCH_REFUSALS.error_permissions }],
    ['FinchOperationRefused (payment_required)', new core.FinchOperationRefused('payment_required'),
      { status: 502, code: 'finch_refused', message: core.FINCH_REFUSALS.payment_required }],
    ['FinchUnavailable', new core.FinchUnavailable(),
      { status: 502, code: 'finch_unavailable', message: 'Finch could not be reached or answered with an error.' }],
    ['FinchResponseIncomplete', new core.FinchResponseIncomplete(),
      { status: 502, code: 'finch_unavailable', message: 'Finch could not be reached or answered with an error.' }],
    ['FinchTimeout', new core.FinchTimeout(), { status: 504, code: 'finch_timeout', message: 'Finch did not answer in time.' }],
    ['FinchDeadlineExceeded', new core.FinchDeadlineExceeded(), { status: 504, code: 'finch_timeout', message: 'Finch did not answer in time.' }],
    // A proxied read cut at the function's deadline says whether the initial sync of its data is pending (functions/core/finch-reads.ts).
    ['FinchReadTimedOut (initial sync pending)', new core.FinchReadTimedOut('conn-1', { sync: 'org', pending: true, completed_at: null }), {
      status: 504, code: 'finch_timeout', message: expect.stringMatching(/initial sync of this data is still pending.*connection\.initial_sync_completed/),
      body: { connection_id: 'conn-1', initial_sync: { sync: 'org', pending: true, completed_at: null } },
    }],
    ['FinchReadTimedOut (initial sync completed)', new core.FinchReadTimedOut('conn-1', { sync: 'payroll', pending: false, completed_at: '2026-01-02T00:00:00.000Z' }), {
      status: 504, code: 'finch_timeout', message: expect.stringMatching(/has completed; retry shortly/),
      body: { connection_id: 'conn-1', initial_sync: { sync: 'payroll', pending: false, completed_at: '2026-01-02T00:00:00.000Z' } },
    }],
    ['FinchReadTimedOut (no initial sync covers it)', new core.FinchReadTimedOut('conn-1', null), {
      status: 504, code: 'finch_timeout', message: 'Finch did not answer within this API\'s time; retry shortly.', body: { connection_id: 'conn-1', initial_sync: null },
    }],
  ])('%s', (_name, error, answer) => {
    expect(answerOf(error)).toMatchObject(answer);
  });

  test('the callback\'s failures answer their code with the status and text of CALLBACK_ANSWERS', () => {
    for (const code of CALLBACK_ERROR_CODES) {
      expect(answerOf(new core.CallbackFailed(code))).toEqual({ code, ...CALLBACK_ANSWERS[code] });
    }
  });

  test('a 5xx never answers the error\'s own message; a 4xx without a text of its own does', () => {
    expect(answerOf(new core.FinchUnavailable('quoted from an SDK'))?.message).toBe('Finch could not be reached or answered with an error.');
    expect(answerOf(new core.FinchTimeout('quoted from an SDK'))?.message).toBe('Finch did not answer in time.');
    expect(answerOf(new core.FinchRejected('Finch refused the benefit.'))?.message).toBe('Finch refused the benefit.');
  });

  test('an error it does not list is no refusal (500 in the proxy\'s log line)', () => {
    for (const error of [new TypeError('a bug'), new core.TransientStoreError(new Error('throttled')), 'not an error']) {
      expect(answerOf(error)).toBeUndefined();
      expect(statusOf(error)).toBe(500);
    }
  });
});
