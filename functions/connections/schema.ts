// The connections routes' queries and path parameter, each made at its route's first request (the
// function serves four routes, and its first request takes one), and what the routes answer.
import { FINCH_ID_PATTERN } from '#core/ids.js';
import { CONNECTION_STATUSES, CONNECTION_TYPES } from '#core/model.js';
import { AUDIT_ACTIONS } from '#core/ports/audit.js';
import { once } from '#core/once.js';
import { connectionId, customerId, entity, instant, pageLimit, providerId } from '#http/schemas.js';
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

// ---- Responses (made by the OpenAPI description and the tests only: functions/http/schemas.ts) ----

/** A connection as every route answers it, token-free (functions/core/model.ts `Connection`). */
export const ConnectionResponse = () => z.strictObject({
  connection_id: connectionId(),
  customer_id: customerId(),
  entity: z.nullable(entity()),
  finch_customer_id: z.string(),
  provider_id: z.string(),
  company_name: z.nullable(z.string()),
  company_id: z.nullable(z.string()),
  entity_ids: z.array(z.string()),
  connection_type: z.nullable(z.enum(CONNECTION_TYPES)),
  manual: z.nullable(z.boolean()),
  last_successful_sync: z.nullable(z.string()),
  products: z.array(z.string()),
  status: z.enum(CONNECTION_STATUSES),
  status_message: z.nullable(z.string()),
  authentication_methods: z.array(z.string()),
  connected_at: instant(),
  updated_at: instant(),
  last_synced_at: z.nullable(instant()),
  initial_sync_completed_at: z.strictObject({ org: z.nullable(instant()), payroll: z.nullable(instant()) }),
  token_version: z.number().check(z.int(), z.gte(1)),
});

/** GET /connections: newest first; `next_cursor` null on the last page. */
export const ConnectionListResponse = () => z.strictObject({
  connections: z.array(ConnectionResponse()),
  next_cursor: z.nullable(z.string()),
});

/** One entry of a connection's audit trail (functions/core/ports/audit.ts `AuditRecord`). */
export const AuditEntryResponse = () => z.strictObject({
  id: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  actor: z.string(),
  customer_id: customerId(),
  connection_id: z.nullable(connectionId()),
  at: instant(),
  subject: z.optional(z.strictObject({
    entity: z.nullable(entity()),
    provider_id: z.string(),
    company_id: z.nullable(z.string()),
    status: z.enum(CONNECTION_STATUSES),
  })),
  details: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
});

/** GET /connections/{connection_id}/audit: newest first. */
export const AuditTrailResponse = () => z.strictObject({
  entries: z.array(AuditEntryResponse()),
  next_cursor: z.nullable(z.string()),
});
