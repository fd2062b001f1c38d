// The connections routes' queries and path parameter, each made at its route's first request (the
// function serves four routes, and its first request takes one).
import { FINCH_ID_PATTERN } from '#core/ids.js';
import { CONNECTION_STATUSES } from '#core/model.js';
import { once } from '#core/once.js';
import { connectionId, customerId, entity, pageLimit, providerId } from '#http/schemas.js';
import * as z from '#core/zod.js';

export const ListQuery = once(() => z.strictObject({
  customer_id: z.optional(customerId()),
  limit: z.optional(pageLimit()),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
  status: z.optional(z.enum(CONNECTION_STATUSES)),
  provider_id: z.optional(providerId()),
  entity: z.optional(entity()),
  // Finch's company id as the connections store it (functions/adapters/finch-gateway.ts reads only these).
  company_id: z.optional(z.string().check(z.regex(FINCH_ID_PATTERN, 'must be a Finch company id'))),
}));

export const AuditQuery = once(() => z.strictObject({
  customer_id: z.optional(customerId()),
  limit: z.optional(pageLimit()),
  cursor: z.optional(z.string().check(z.maxLength(1024))),
}));

export const GetQuery = once(() => z.strictObject({
  customer_id: z.optional(customerId()),
  refresh: z.optional(z.enum(['true', 'false'])),
}));

export const CustomerQuery = once(() => z.strictObject({ customer_id: z.optional(customerId()) }));

export const ConnectionPath = once(() => z.strictObject({ connection_id: connectionId() }));
