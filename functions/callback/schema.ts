// GET /connect/callback's query and POST /connect/callback's body (GET /connect/result has none:
// functions/callback/result-page.ts decides what it shows), each made at its route's first request.
import { once } from '#core/once.js';
import * as z from '#core/zod.js';
import { customerId } from '#http/schemas.js';

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
