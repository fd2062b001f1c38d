// Schema pieces the requests of more than one function use, each made by the request schema that
// uses it (so a function builds only the pieces of its own routes, when it builds those). Each
// route's request schema sits beside its handler (functions/<fn>/schema.ts), so a function's bundle
// builds only its own. Request objects are strict: an unknown field is a 400, not ignored.
import { CONNECTION_ID_PATTERN, CUSTOMER_ID_PATTERN, ENTITY_PATTERN } from '#core/ids.js';
import { FINCH_PRODUCTS, INITIAL_SYNCS } from '#core/model.js';
import * as z from '#core/zod.js';

export const customerId = () => z.string().check(z.regex(CUSTOMER_ID_PATTERN, 'must be 1-255 characters of A-Z a-z 0-9 . _ @ - starting with a letter or digit'));
export const connectionId = () => z.string().check(z.regex(CONNECTION_ID_PATTERN, 'must be a connection id'));
export const entity = () => z.string().check(z.regex(ENTITY_PATTERN, 'must be 1-32 characters of a-z 0-9 _ - starting with a letter or digit'));
export const providerId = () => z.string().check(z.regex(/^[a-z0-9_]{1,64}$/, 'must be a Finch provider id'));

// What a Connect session takes (create-session, reauthenticate).
export const products = () => z.array(z.enum(FINCH_PRODUCTS)).check(z.minLength(1), z.maxLength(FINCH_PRODUCTS.length));
export const minutesToExpire = () => z.number().check(z.int(), z.gte(1), z.lte(129600));
export const flow = () => z.enum(['redirect', 'embedded']);
export const returnTo = () => z.string().check(z.minLength(1), z.maxLength(2048));

/** A page size from the query string (connections, audit trail, directory): 1 to 100. */
export const pageLimit = () => z.pipe(
  z.pipe(z.string().check(z.regex(/^\d{1,3}$/, 'must be an integer from 1 to 100')), z.transform(Number)),
  z.number().check(z.gte(1), z.lte(100)),
);

// ---- Responses --------------------------------------------------------------------------------
// What the handlers answer, as schemas. No handler validates its own answer (that would cost every
// request): the OpenAPI description (scripts/openapi.ts) is generated from these, and the test
// suites check every answer they receive against it. Makers, never called by a function's bundle.

/** An instant as the API writes it (`Date.prototype.toISOString`). */
export const instant = () => z.iso.datetime();

/** A started Connect session (POST /connect/sessions, POST /connect/sessions/reauthenticate). */
export const startedSession = () => z.strictObject({
  session_id: z.string(),
  /** Finch's Connect URL with our `state` added: answered to the caller, never logged. */
  connect_url: z.url(),
  state: z.string(),
  expires_at: instant(),
  finch_customer_id: z.string(),
  /** An adopt session: the connection at Finch nobody here owns, which its callback recovers. */
  adopts_connection_id: z.optional(connectionId()),
});

/**
 * The error shape of every JSON error: `{"error": {code, message, request_id, …}}`, `code` one of
 * `codes` (from the table of functions/http/errors.ts). The fields an answer may add are the
 * table's `body` fields.
 */
export const errorResponse = (codes: readonly [string, ...string[]]) => z.strictObject({
  error: z.strictObject({
    code: z.enum(codes),
    message: z.string(),
    request_id: z.string(),
    /** invalid_request: what is wrong, field by field (zod's messages: they never echo a value). */
    details: z.optional(z.array(z.strictObject({ path: z.string(), message: z.string() }))),
    /** connection_already_exists (when Finch named it), reauth_required: the connection concerned. */
    connection_id: z.optional(connectionId()),
    /** connection_unauthorized, finch_rate_limited: Finch's own code, when it sent one. */
    finch_code: z.optional(z.nullable(z.string())),
    /** finch_timeout of a proxied read: the initial sync its data waits on, and whether it is still pending (null: none covers it). */
    initial_sync: z.optional(z.nullable(initialSyncState())),
  }),
});

/**
 * Where a connection's initial sync of some data stands (functions/core/finch-reads.ts): `org`
 * (company, directory, individual, employment) or `payroll` (payments, pay statements), pending
 * until Finch's first sync of it succeeded (`completed_at`, the event connection.initial_sync_completed).
 */
export const initialSyncState = () => z.strictObject({
  sync: z.enum(INITIAL_SYNCS),
  pending: z.boolean(),
  completed_at: z.nullable(z.string()),
});
