// The response schemas beside the handlers (functions/<fn>/schema.ts, functions/http/schemas.ts), from
// which openapi.json is generated, describe what the code answers: their types are the model's
// (tsc fails when a field is added to one and not the other), and the answers built here from the
// error table and the callback's redirect parse with them. The suites check every real answer
// against openapi.json (test/support/openapi-check.ts).
import * as core from '#core/errors.js';
import type * as z from '#core/zod.js';
import type { DirectoryPage, SkipReason } from '#core/directory.js';
import type { CallbackResult, Connection } from '#core/model.js';
import type { MatchedBy } from '#core/people.js';
import type { AuditRecord } from '#core/ports/audit.js';
import type { StartedSession } from '#core/sessions.js';
import type { WebhookOutcome } from '#core/webhooks.js';
import { answerOf, errorCodes } from '#http/errors.js';
import { errorResponse, type startedSession } from '#http/schemas.js';
import { resultParams } from '../../../functions/callback/result-page.js';
import { CallbackRedirectQuery, type EmbeddedCallbackResponse } from '../../../functions/callback/schema.js';
import type { AuditEntryResponse, ConnectionResponse } from '../../../functions/connections/schema.js';
import type { DirectoryResponse, MATCHED_BY, SKIP_REASONS } from '../../../functions/finch-proxy/schema.js';
import type { WEBHOOK_OUTCOMES } from '../../../functions/webhook/schema.js';

/** true only when A and B are each assignable to the other and have the same keys. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
type Out<S extends () => z.ZodMiniType> = z.output<ReturnType<S>>;
type Connected = Extract<CallbackResult, { status: 'connected' }>;

// Each line fails to compile when the schema and the code's type part ways.
const sameShapes: true[] = [
  true satisfies Same<Out<typeof ConnectionResponse>, Connection>,
  true satisfies Same<Out<typeof startedSession>, StartedSession>,
  true satisfies Same<Out<typeof EmbeddedCallbackResponse>, Connected>,
  true satisfies Same<Out<typeof DirectoryResponse>, DirectoryPage>,
  true satisfies Same<(typeof SKIP_REASONS)[number], SkipReason>,
  true satisfies Same<(typeof MATCHED_BY)[number], MatchedBy>,
  true satisfies Same<(typeof WEBHOOK_OUTCOMES)[number], WebhookOutcome>,
  // An entry's details may hold undefined values, which the JSON answer drops: the rest is the same.
  true satisfies Same<keyof Out<typeof AuditEntryResponse>, keyof AuditRecord>,
  true satisfies Same<Omit<Out<typeof AuditEntryResponse>, 'details'>, Omit<AuditRecord, 'details'>>,
];

describe('the response schemas', () => {
  test('have the types of what the code answers (checked by tsc)', () => {
    expect(sameShapes.every(Boolean)).toBe(true);
  });

  test('every answer of the error table parses with the error shape, its code in the table\'s list', () => {
    const codes = errorCodes().map(({ code }) => code) as [string, ...string[]];
    const shape = errorResponse(codes);
    const errors: Error[] = [
      new core.InvalidRequest('The request body is invalid.', [{ path: 'flow', message: 'required' }]),
      new core.ConnectionAlreadyExists('conn-1'), new core.ConnectionAlreadyExists(), new core.ReauthRequired('conn-1'),
      new core.ConnectionUnauthorized(null), new core.ConnectionUnauthorized('invalid_token'), new core.FinchRateLimited(60, 'finch_api_ip_rl'),
      new core.RefreshRateLimited(7), new core.WebhookDeferred(60), new core.CallbackFailed('store_unavailable'), new core.FinchTimeout('quoted'),
    ];
    for (const error of errors) {
      const answer = answerOf(error)!;
      const parsed = shape.safeParse({ error: { code: answer.code, message: answer.message, request_id: 'r-1', ...answer.body } });
      expect([error.name, parsed.success ? 'ok' : parsed.error.issues]).toEqual([error.name, 'ok']);
    }
    expect(shape.safeParse({ error: { code: 'teapot', message: 'x', request_id: 'r-1' } }).success).toBe(false);
  });

  test('the redirect callback\'s query, connected or failed, parses with CallbackRedirectQuery', () => {
    const connected: CallbackResult = {
      status: 'connected', connection_id: 'conn-1', customer_id: 'acme', entity: null, provider_id: 'gusto', products: ['company'], reauthenticated: true,
    };
    for (const result of [connected, { status: 'error', error: 'invalid_code' } as const]) {
      expect(CallbackRedirectQuery().safeParse(Object.fromEntries(resultParams(result))).success).toBe(true);
    }
    expect(CallbackRedirectQuery().safeParse({ status: 'error', error: 'made_up' }).success).toBe(false);
  });
});
