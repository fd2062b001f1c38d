// The Finch proxy's and the directory's requests, each made at its route's first request.
import { once } from '#core/once.js';
import * as z from '#core/zod.js';
import { connectionId, customerId, pageLimit } from '#http/schemas.js';

/**
 * The Finch proxy's own query: only an admin's `customer_id`. Finch's parameters are checked per
 * path template by the core (functions/core/proxy.ts) from the raw query string.
 */
export const ProxyQuery = once(() => z.looseObject({ customer_id: z.optional(customerId()) }));

/**
 * A Finch request body: a JSON object (`customer_id` is ours, and admins send it in the query here),
 * or an array for the routes that take one (the core checks which: functions/core/proxy.ts).
 */
export const ProxyBody = once(() => z.union([
  z.record(z.string(), z.unknown()).check(
    z.refine((body) => !Object.hasOwn(body, 'customer_id'), { message: 'name the customer with ?customer_id= on proxy routes', path: ['customer_id'] }),
  ),
  z.array(z.unknown()).check(z.maxLength(10_000)),
]));

export const ProxyHeaders = once(() => z.object({ 'finch-connection-id': connectionId() }));

export const DirectoryQuery = once(() => z.strictObject({
  customer_id: z.optional(customerId()),
  limit: z.optional(pageLimit()),
  cursor: z.optional(z.string().check(z.maxLength(256))),
}));
