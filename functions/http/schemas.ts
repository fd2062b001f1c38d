// Request schemas shared by the handlers. Strict objects: an unknown field is a 400, not ignored.
import { CONNECTION_ID_PATTERN, CUSTOMER_ID_PATTERN, ENTITY_PATTERN } from '#core/ids.js';
import { CONNECTION_STATUSES, FINCH_PRODUCTS } from '#core/model.js';
import * as z from '#core/zod.js';

export const customerId = z.string().check(z.regex(CUSTOMER_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ @ - starting with a letter or digit'));
export const connectionId = z.string().check(z.regex(CONNECTION_ID_PATTERN, 'must be a connection id'));
export const entity = z.string().check(z.regex(ENTITY_PATTERN, 'must be 1-32 characters of a-z 0-9 _ - starting with a letter or digit'));
export const products = z.array(z.enum(FINCH_PRODUCTS)).check(z.minLength(1), z.maxLength(FINCH_PRODUCTS.length));
export const minutesToExpire = z.number().check(z.int(), z.gte(1), z.lte(129600));
export const flow = z.enum(['redirect', 'embedded']);
export const returnTo = z.string().check(z.minLength(1), z.maxLength(2048));
/** Codes and states are opaque to us; bound their size and alphabet before anything else. */
export const code = z.string().check(z.minLength(1), z.maxLength(512), z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII'));
export const state = z.string().check(z.minLength(1), z.maxLength(512));

export const CreateSessionBody = z.strictObject({
  customer_id: z.optional(customerId),
  entity: z.optional(entity),
  customer_name: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  customer_email: z.optional(z.email().check(z.maxLength(320))),
  products: z.optional(products),
  integration: z.optional(z.strictObject({
    provider: z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be a Finch provider id')),
    auth_method: z.optional(z.enum(['assisted', 'credential', 'oauth', 'api_token'])),
  })),
  sandbox: z.optional(z.enum(['finch', 'provider'])),
  manual: z.optional(z.boolean()),
  minutes_to_expire: z.optional(minutesToExpire),
  flow: z._default(flow, 'redirect'),
  return_to: z.optional(returnTo),
});

export const ReauthenticateBody = z.strictObject({
  connection_id: connectionId,
  customer_id: z.optional(customerId),
  products: z.optional(products),
  minutes_to_expire: z.optional(minutesToExpire),
  flow: z._default(flow, 'redirect'),
  return_to: z.optional(returnTo),
});

/** Finch may add parameters of its own to the redirect, so extra keys are tolerated here. */
export const RedirectCallbackQuery = z.object({
  state: z.optional(state),
  code: z.optional(code),
  error: z.optional(z.string().check(z.maxLength(256))),
});

export const EmbeddedCallbackBody = z.strictObject({
  code,
  state,
  customer_id: z.optional(customerId),
});

const limit = z.pipe(z.string().check(z.regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')), z.transform(Number));

export const ListQuery = z.strictObject({
  customer_id: z.optional(customerId),
  limit: z.optional(z.pipe(limit, z.number().check(z.gte(1), z.lte(100)))),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
  status: z.optional(z.enum(CONNECTION_STATUSES)),
  provider_id: z.optional(z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be a Finch provider id'))),
  entity: z.optional(entity),
});

export const AuditQuery = z.strictObject({
  customer_id: z.optional(customerId),
  limit: z.optional(z.pipe(limit, z.number().check(z.gte(1), z.lte(100)))),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
});

export const GetQuery = z.strictObject({
  customer_id: z.optional(customerId),
  refresh: z.optional(z.enum(['true', 'false'])),
});

export const CustomerQuery = z.strictObject({ customer_id: z.optional(customerId) });

export const ConnectionPath = z.strictObject({ connection_id: connectionId });

/**
 * The Finch proxy's own query: only an admin's `customer_id`. Finch's parameters are checked per
 * path template by the core (functions/core/proxy.ts) from the raw query string.
 */
export const ProxyQuery = z.looseObject({ customer_id: z.optional(customerId) });

/** A Finch request body is a JSON object; `customer_id` is ours, and admins send it in the query here. */
export const ProxyBody = z.record(z.string(), z.unknown()).check(
  z.refine((body) => !Object.hasOwn(body, 'customer_id'), { message: 'name the customer with ?customer_id= on proxy routes', path: ['customer_id'] }),
);

export const ProxyHeaders = z.object({ 'finch-connection-id': connectionId });

export const DirectoryQuery = z.strictObject({
  customer_id: z.optional(customerId),
  limit: z.optional(z.pipe(limit, z.number().check(z.gte(1), z.lte(100)))),
  cursor: z.optional(z.string().check(z.maxLength(256))),
});
