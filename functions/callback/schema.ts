// GET /connect/callback's query and POST /connect/callback's body (GET /connect/result has none:
// functions/callback/result-page.ts decides what it shows), each made at its route's first request.
import { CALLBACK_ERROR_CODES } from '#core/model.js';
import { once } from '#core/once.js';
import * as z from '#core/zod.js';
import { connectionId, customerId, entity } from '#http/schemas.js';

/** Codes and states are opaque to us; bound their size and alphabet before anything else. */
const code = () => z.string().check(z.minLength(1), z.maxLength(512), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII'));
const state = () => z.string().check(z.minLength(1), z.maxLength(512));

/** Finch may add parameters of its own to the redirect, so extra keys are tolerated here. */
export const RedirectCallbackQuery = once(() => z.object({
  state: z.optional(state()),
  code: z.optional(code()),
  error: z.optional(z.string().check(z.maxLength(256))),
}));

export const EmbeddedCallbackBody = once(() => z.strictObject({
  code: code(),
  state: state(),
  customer_id: z.optional(customerId()),
}));

// ---- Responses (made by the OpenAPI description and the tests only: functions/http/schemas.ts) ----

/** POST /connect/callback: the connection the embedded session made or reauthenticated. */
export const EmbeddedCallbackResponse = () => z.strictObject({
  connection_id: connectionId(),
  customer_id: customerId(),
  entity: z.nullable(entity()),
  provider_id: z.string(),
  products: z.array(z.string()),
  status: z.literal('connected'),
  reauthenticated: z.boolean(),
});

/** GET /connect/callback's redirect: where the employer's browser goes with the outcome in its query. */
export const CallbackRedirectQuery = () => z.union([
  z.strictObject({ status: z.literal('connected'), connection_id: connectionId(), reauthenticated: z.enum(['true', 'false']) }),
  z.strictObject({ status: z.literal('error'), error: z.enum(CALLBACK_ERROR_CODES) }),
]);
