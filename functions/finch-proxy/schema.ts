// The Finch proxy's and the directory's requests, each made at its route's first request, and the
// directory's answer (the proxy answers Finch's own).
import { once } from '#core/once.js';
import * as z from '#core/zod.js';
import { connectionId, customerId, initialSyncState, pageLimit } from '#http/schemas.js';

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

// ---- Responses (made by the OpenAPI description and the tests only: functions/http/schemas.ts) ----

/** Why a connection's people are missing from a directory answer (functions/core/directory.ts `SkipReason`). */
export const SKIP_REASONS = [
  'reauth_required', 'not_connected', 'data_not_ready', 'connection_unauthorized',
  'finch_rate_limited', 'finch_unavailable', 'finch_rejected', 'deadline_exceeded',
] as const;
/** How a source was matched to its row (functions/core/people.ts `MatchedBy`). */
export const MATCHED_BY = ['self', 'name_dob', 'email'] as const;

/** GET /directory: one row per person; dates of birth and emails match people but are not answered. */
export const DirectoryResponse = () => z.strictObject({
  people: z.array(z.strictObject({
    first_name: z.nullable(z.string()),
    last_name: z.nullable(z.string()),
    sources: z.array(z.strictObject({ connection_id: connectionId(), individual_id: z.string(), matched_by: z.enum(MATCHED_BY) })),
  })),
  next_cursor: z.nullable(z.string()),
  skipped: z.array(z.strictObject({ connection_id: connectionId(), reason: z.enum(SKIP_REASONS) })),
  /** The oldest Finch-Data-Retrieved of the answers merged (ISO 8601); null when none said. */
  oldest_data_retrieved_at: z.nullable(z.string()),
});

/**
 * The proxy's 202: Finch accepted the connection but its data is not available yet (an assisted
 * connection before its first sync; functions/core/finch-reads.ts `DataNotReadyBody`). Finch's
 * `code`, `name` and `finch_code`, with a message that says what to do, the connection and where
 * its initial sync stands.
 */
export const DataNotReadyResponse = () => z.strictObject({
  code: z.literal(202),
  name: z.literal('accepted'),
  finch_code: z.nullable(z.string()),
  message: z.string(),
  connection_id: connectionId(),
  manual: z.nullable(z.boolean()),
  initial_sync: z.nullable(initialSyncState()),
});

/**
 * Finch's error body, which the proxy answers as it came with Finch's status ("Error Types":
 * https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types; the SDK keeps
 * it in APIError's `error`). Loose: Finch may add fields, and they are Finch's to add.
 */
export const FinchErrorResponse = () => z.looseObject({
  code: z.number(),
  name: z.string(),
  message: z.string(),
  finch_code: z.optional(z.string()),
});
