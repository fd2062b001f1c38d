// Finch's answers as the core's errors (functions/adapters/finch-gateway.ts translate), by the kind
// of call. The refusals a retry does not change ("Error Types",
// https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types: 402
// payment_required, 403 error_permissions and insufficient_scope_error, 501 not_implemented_error)
// are FinchOperationRefused for a call with a connection's token, and stay FinchUnavailable for
// the calls with the client credentials (a 403 there is this application's fault: 502 stays right).
// The bodies are the emulator's rows of Finch's table (local/finch-emulator/errors.ts).
import { APIError } from '@tryfinch/finch-api';
import { type CallKind, translate } from '#adapters/finch-gateway.js';
import {
  AccessTokenRejected, AuthorizationCodeRejected, FINCH_REFUSALS, FinchOperationRefused, FinchRateLimited, FinchRejected, FinchUnavailable,
} from '#core/errors.js';
import { documentedError, tableError } from '#local/finch-emulator/errors.js';

/** The SDK's error for Finch's answer of the table's row `name` (with its first finch_code, or `finch_code`). */
function answered(name: string, finch_code?: string | null): APIError {
  const row = documentedError(name);
  if (!row) throw new Error(`no row ${name} in Finch's table`);
  const { status, body } = tableError(row, finch_code);
  return APIError.generate(status, body, undefined, new Headers({ 'content-type': 'application/json' }));
}

const REFUSALS = [
  ['402 payment_required', () => answered('payment_required'), 'payment_required'],
  ['403 error_permissions (insufficient_account_permissions)', () => answered('error_permissions'), 'error_permissions'],
  ['403 error_permissions without its finch_code', () => answered('error_permissions', null), 'error_permissions'],
  ['403 insufficient_scope_error', () => answered('insufficient_scope_error'), 'insufficient_scope_error'],
  // A 403 whose body names neither: the other 403 Finch documents.
  ['403 with an undocumented body', () => APIError.generate(403, { code: 403, message: 'Forbidden.' }, undefined, new Headers()), 'insufficient_scope_error'],
  ['501 not_implemented_error', () => answered('not_implemented_error'), 'not_implemented_error'],
] as const;

const CLIENT_CREDENTIAL_KINDS: CallKind[] = ['basic', 'connect', 'exchange'];

describe('a call with a connection\'s token (introspect, the company, disconnect)', () => {
  test.each(REFUSALS)('%s → FinchOperationRefused, a FinchRejected and no FinchUnavailable (not retried, not "Finch is down")', (_name, error, finchError) => {
    const translated = translate(error(), 'bearer');
    expect(translated).toBeInstanceOf(FinchOperationRefused);
    expect(translated).toBeInstanceOf(FinchRejected);
    expect(translated).not.toBeInstanceOf(FinchUnavailable);
    expect((translated as FinchOperationRefused).finch_error).toBe(finchError);
    // Our words for the caller, never Finch's message.
    expect(translated.message).toBe(FINCH_REFUSALS[finchError]);
  });

  test.each([
    ['401 invalid_token_error', () => answered('invalid_token_error'), AccessTokenRejected],
    ['401 reauthenticate_user', () => answered('authentication_error'), AccessTokenRejected],
    ['429 finch_application_rl', () => answered('rate_limit_exceeded_error'), FinchRateLimited],
    ['400 bad_request', () => answered('bad_request'), FinchRejected],
    ['404 not_found_error', () => answered('not_found_error'), FinchRejected],
    ['422 unprocessable_request_error', () => answered('unprocessable_request_error'), FinchRejected],
    ['500 server_error', () => answered('server_error'), FinchUnavailable],
    ['502 bad_gateway_error', () => answered('bad_gateway_error'), FinchUnavailable],
  ] as const)('%s is what it was', (_name, error, type) => {
    const translated = translate(error(), 'bearer');
    expect(translated).toBeInstanceOf(type);
    expect(translated).not.toBeInstanceOf(FinchOperationRefused);
  });

  test('a 401 keeps Finch\'s finch_code', () => {
    expect(translate(answered('authentication_error'), 'bearer')).toMatchObject({ finch_code: 'reauthenticate_user' });
  });
});

describe('a call with the client credentials (a Connect session, the code exchange, a reauthentication session)', () => {
  test.each(CLIENT_CREDENTIAL_KINDS.flatMap((kind) => REFUSALS.map(([name, error]) => [kind, name, error] as const)))(
    '%s: %s stays FinchUnavailable (502, unchanged)',
    (kind, _name, error) => {
      const translated = translate(error(), kind);
      expect(translated).toBeInstanceOf(FinchUnavailable);
      expect(translated).not.toBeInstanceOf(FinchRejected);
    },
  );

  test('the exchange\'s 400 is still AuthorizationCodeRejected', () => {
    expect(translate(answered('invalid_grant_error'), 'exchange')).toBeInstanceOf(AuthorizationCodeRejected);
  });
});
