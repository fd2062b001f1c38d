// POST /connect/sessions/reauthenticate: the request body, and the answer.
import * as z from '#core/zod.js';
import { connectionId, customerId, flow, minutesToExpire, products, returnTo, startedSession } from '#http/schemas.js';

export const ReauthenticateBody = z.strictObject({
  connection_id: connectionId(),
  customer_id: z.optional(customerId()),
  products: z.optional(products()),
  minutes_to_expire: z.optional(minutesToExpire()),
  flow: z._default(flow(), 'redirect'),
  return_to: z.optional(returnTo()),
});

/** 201: the reauthentication session started (the same schema as create-session's). */
export const ReauthenticateResponse = startedSession;
