// POST /connect/sessions: the request body and Idempotency-Key header, and the answer.
import { FINCH_NAME_MAX_LENGTH } from '#core/ids.js';
import * as z from '#core/zod.js';
import { customerId, entity, flow, minutesToExpire, products, providerId, returnTo, startedSession } from '#http/schemas.js';

/** The optional `Idempotency-Key` header: 1-255 printable ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** The header as a schema, for the OpenAPI description (the handler tests the pattern itself). */
export const IdempotencyKeyHeader = () => z.string().check(z.regex(IDEMPOTENCY_KEY));

export const CreateSessionBody = z.strictObject({
  customer_id: z.optional(customerId()),
  entity: z.optional(entity()),
  // Finch's limit, so what is accepted here Finch accepts.
  customer_name: z.optional(z.string().check(z.minLength(1), z.maxLength(FINCH_NAME_MAX_LENGTH))),
  customer_email: z.optional(z.email().check(z.maxLength(320))),
  products: z.optional(products()),
  integration: z.optional(z.strictObject({
    provider: providerId(),
    auth_method: z.optional(z.enum(['assisted', 'credential', 'oauth', 'api_token'])),
  })),
  sandbox: z.optional(z.enum(['finch', 'provider'])),
  manual: z.optional(z.boolean()),
  minutes_to_expire: z.optional(minutesToExpire()),
  flow: z._default(flow(), 'redirect'),
  return_to: z.optional(returnTo()),
});

/** 201: the session started (the same schema as reauthenticate's). */
export const CreateSessionResponse = startedSession;
