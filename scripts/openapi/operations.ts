// What each route of lib/routes.ts takes and answers, for the OpenAPI description (../openapi.ts):
// the zod schemas its handler validates with (request) and the response schemas beside it, the
// statuses it can answer, and the words an integrator reads. One entry a route key; the builder
// refuses a route without one, and an entry for no route.
import type { $ZodType } from 'zod/v4/core';
import { FORWARDED_REQUEST_HEADERS } from '#core/proxy.js';
import * as z from '#core/zod.js';
import { EmbeddedCallbackBody, EmbeddedCallbackResponse, RedirectCallbackQuery } from '../../functions/callback/schema.js';
import {
  AuditQuery, AuditTrailResponse, ConnectionListResponse, ConnectionPath, ConnectionResponse, CustomerQuery, GetQuery, ListQuery,
} from '../../functions/connections/schema.js';
import { CreateSessionBody, CreateSessionResponse, IdempotencyKeyHeader } from '../../functions/create-session/schema.js';
import {
  DataNotReadyResponse, DirectoryQuery, DirectoryResponse, FinchErrorResponse, ProxyBody, ProxyHeaders, ProxyQuery,
} from '../../functions/finch-proxy/schema.js';
import { ReauthenticateBody, ReauthenticateResponse } from '../../functions/reauthenticate/schema.js';
import { WebhookResponse } from '../../functions/webhook/schema.js';

/** A named response body: it becomes `#/components/schemas/<name>`. */
export interface Named { name: string; schema: $ZodType }

export type Answer =
  | { kind: 'json'; description: string; body: Named | 'finch'; headers?: HeaderDoc[] }
  | { kind: 'empty'; description: string }
  | { kind: 'html'; description: string }
  | { kind: 'redirect'; description: string };

export interface HeaderDoc { name: string; required: boolean; description: string; schema: $ZodType | { type: 'string' } }

export interface OperationDoc {
  operationId: string;
  tag: 'Connect' | 'Connections' | 'Finch data' | 'Webhooks';
  summary: string;
  description: string;
  body?: { schema: $ZodType; contentTypes: string[]; required: boolean; description?: string };
  query?: $ZodType;
  path?: $ZodType;
  headers?: HeaderDoc[];
  /** The answers of the handler itself (2xx, 3xx, and pages); errors come from `errors`. */
  answers: Record<string, Answer>;
  /** The statuses of its JSON errors (functions/http/errors.ts gives each status its codes). */
  errors: number[];
  /** Errors that are answered as the result page (text/html) instead of JSON: the redirect callback's. */
  pageErrors?: number[];
  /** The Finch proxy: Finch's own status and body, any of them, besides ours. */
  finchAnswers?: boolean;
}

const named = (name: string, schema: $ZodType): Named => ({ name, schema });
const json = (description: string, body: Named | 'finch', headers?: HeaderDoc[]): Answer => ({ kind: 'json', description, body, headers });

/** What every route can answer: a request that skipped the WAF (403), a body too large (413), a fault (500). */
const EVERY_ROUTE = [403, 413, 500];
/** And every route behind the JWT authorizer: a bad query or body, or an admin not naming the customer (400). */
const JWT_ROUTE = [...EVERY_ROUTE, 400, 401];
/** A route that reads the store: DynamoDB (or KMS, Secrets Manager) unavailable through the retries. */
const STORE = [503];
/** A route that calls Finch: its refusal, rate limit, failure and timeout. */
const FINCH = [429, 502, 504];
/** A route with a JSON body: another content type is 415. */
const BODY = [415];

const webhookHeader = (name: string, description: string): HeaderDoc => ({ name, required: true, description, schema: { type: 'string' } });

/** Finch's response headers the proxy passes on ("Headers": https://developer.tryfinch.com/api-reference/development-guides/Headers). */
const FRESHNESS_HEADERS: HeaderDoc[] = [
  { name: 'Finch-Request-Id', required: false, description: 'Finch\'s id of the request, for Finch\'s support.', schema: { type: 'string' } },
  { name: 'Finch-Data-Retrieved', required: false, description: 'When Finch retrieved the data from the provider (ISO 8601).', schema: { type: 'string' } },
  { name: 'Finch-Last-Attempted-Update-Date', required: false, description: 'When Finch last tried to update the data (ISO 8601).', schema: { type: 'string' } },
  {
    name: 'Finch-Last-Attempted-Update-Result', required: false,
    description: 'How that attempt ended: `success`, `error`, or `partial_error` (batch requests: some items failed).', schema: { type: 'string' },
  },
];

export const OPERATIONS: Record<string, OperationDoc> = {
  'POST /connect/sessions': {
    operationId: 'createConnectSession',
    tag: 'Connect',
    summary: 'Start Finch Connect for the caller\'s customer',
    description: 'Starts a Finch Connect session (redirect or embedded flow) with a fresh single-use `state`. '
      + 'A connection this customer already has is 409 `connection_already_exists`; one Finch has that nobody here owns '
      + 'answers a session that adopts it (`adopts_connection_id`).',
    body: { schema: CreateSessionBody, contentTypes: ['application/json'], required: false },
    headers: [{
      name: 'Idempotency-Key', required: false, schema: IdempotencyKeyHeader(),
      description: 'Makes a retried request answer the first session, scoped to the caller; the same key with another body is 422 `idempotency_key_reused`.',
    }],
    answers: { 201: json('The session: open `connect_url` (redirect flow) or hand it to Finch\'s SDK (embedded flow).', named('StartedSession', CreateSessionResponse())) },
    errors: [...JWT_ROUTE, ...BODY, ...STORE, ...FINCH, 409, 422],
  },
  'POST /connect/sessions/reauthenticate': {
    operationId: 'reauthenticateConnection',
    tag: 'Connect',
    summary: 'Start Finch Connect to renew a connection\'s token in place',
    description: 'A session that reauthenticates a connection the caller\'s customer owns: its callback keeps the `connection_id` and adds 1 to `token_version`.',
    body: { schema: ReauthenticateBody, contentTypes: ['application/json'], required: true },
    answers: { 201: json('The reauthentication session.', named('StartedSession', ReauthenticateResponse())) },
    errors: [...JWT_ROUTE, ...BODY, ...STORE, ...FINCH, 404, 409],
  },
  'GET /connect/callback': {
    operationId: 'redirectCallback',
    tag: 'Connect',
    summary: 'Finch Connect\'s redirect back (redirect flow)',
    description: 'The employer\'s browser, back from Finch Connect with `code` and `state`. No JWT: only the single-use state is trusted. '
      + 'The code is exchanged once; a replay answers the first result.',
    query: RedirectCallbackQuery(),
    answers: {
      302: {
        kind: 'redirect',
        description: 'To the session\'s `return_to` (else the built-in result page) with `status=connected&connection_id=…&reauthenticated=…` or `status=error&error=<code>`.',
      },
    },
    errors: [...EVERY_ROUTE],
    pageErrors: [400, 403, 409, 500, 502, 503],
  },
  'POST /connect/callback': {
    operationId: 'embeddedCallback',
    tag: 'Connect',
    summary: 'Finish an embedded Connect session',
    description: 'The application posts the `code` Finch\'s SDK gave it with the session\'s `state`.',
    body: { schema: EmbeddedCallbackBody(), contentTypes: ['application/json'], required: true },
    answers: { 200: json('The connection made or reauthenticated.', named('EmbeddedCallbackResult', EmbeddedCallbackResponse())) },
    errors: [...JWT_ROUTE, ...BODY, ...STORE, ...FINCH, 409],
  },
  'GET /connect/result': {
    operationId: 'resultPage',
    tag: 'Connect',
    summary: 'The built-in result page',
    description: 'Where the redirect callback sends a session without `return_to`. It shows only a known callback error code or a connection id of the id pattern.',
    answers: { 200: { kind: 'html', description: 'The page (its query: `status`, `connection_id`, `reauthenticated`, `error`, as the redirect callback sends them).' } },
    errors: [...EVERY_ROUTE],
  },
  'GET /connections': {
    operationId: 'listConnections',
    tag: 'Connections',
    summary: 'The caller\'s connections, newest first, token-free',
    description: 'Paged with `limit` and `cursor`; filtered by `status`, `provider_id`, `entity`.',
    query: ListQuery(),
    answers: { 200: json('A page of connections.', named('ConnectionList', ConnectionListResponse())) },
    errors: [...JWT_ROUTE, ...STORE],
  },
  'GET /connections/{connection_id}': {
    operationId: 'getConnection',
    tag: 'Connections',
    summary: 'One connection; `refresh=true` asks Finch for its status',
    description: 'With `refresh=true`, Finch\'s `/introspect` and `/employer/company` are read and stored: at most 6 refreshes a minute per connection, then 429 `refresh_rate_limited` with `Retry-After`.',
    query: GetQuery(),
    path: ConnectionPath(),
    answers: { 200: json('The connection.', named('Connection', ConnectionResponse())) },
    errors: [...JWT_ROUTE, ...STORE, ...FINCH, 404],
  },
  'DELETE /connections/{connection_id}': {
    operationId: 'disconnectConnection',
    tag: 'Connections',
    summary: 'Disconnect: revoke the token at Finch and keep a tombstone',
    description: 'Finch unreachable is 502 and the connection stays usable; any 204 means it is `disconnected` and Finch was told. A repeat is 204.',
    query: CustomerQuery(),
    path: ConnectionPath(),
    answers: { 204: { kind: 'empty', description: 'Disconnected.' } },
    errors: [...JWT_ROUTE, ...STORE, ...FINCH, 404],
  },
  'GET /connections/{connection_id}/audit': {
    operationId: 'listAuditTrail',
    tag: 'Connections',
    summary: 'A connection\'s audit trail, newest first',
    description: 'Append-only: each entry was written in the same transaction as the change it records. Never a secret.',
    query: AuditQuery(),
    path: ConnectionPath(),
    answers: { 200: json('A page of entries.', named('AuditTrail', AuditTrailResponse())) },
    errors: [...JWT_ROUTE, ...STORE, 404],
  },
  'POST /webhooks/finch': {
    operationId: 'receiveFinchWebhook',
    tag: 'Webhooks',
    summary: 'Finch\'s webhooks',
    description: 'No JWT: Finch signs every delivery. The signature is checked by the official SDK on the raw body, then the event is deduplicated by id and applied. '
      + 'An event about a connection nobody here owns yet is 503 `webhook_deferred` with `Retry-After`, so Finch delivers it again.',
    body: { schema: z.looseObject({}), contentTypes: ['application/json'], required: true, description: 'Finch\'s event, as Finch signed it.' },
    headers: [
      webhookHeader('Finch-Event-Id', 'The event\'s id: the dedupe key (1-256 printable ASCII characters).'),
      webhookHeader('Finch-Timestamp', 'Seconds since the epoch; within 300 s of now.'),
      webhookHeader('Finch-Signature', '`v1,<base64 HMAC-SHA256>` of `${Finch-Event-Id}.${Finch-Timestamp}.${raw body}` with the webhook secret (several, space-separated, during a rotation).'),
    ],
    answers: { 200: json('Received (also a duplicate).', named('WebhookReceipt', WebhookResponse())) },
    errors: [...EVERY_ROUTE, ...STORE, ...FINCH, 400, 401],
  },
  'GET /finch/{path+}': proxyOperation('GET', 'proxyFinchRead'),
  'POST /finch/{path+}': proxyOperation('POST', 'proxyFinchPost'),
  'DELETE /finch/{path+}': proxyOperation('DELETE', 'proxyFinchDelete'),
  'GET /directory': {
    operationId: 'readDirectory',
    tag: 'Finch data',
    summary: 'The caller\'s people across its connections, one row per person',
    description: 'Matched by first + last name + date of birth, then by email, never by name alone. Answered before the function\'s timeout: '
      + 'connections not read by then are in `skipped` with `deadline_exceeded`. `oldest_data_retrieved_at` is the oldest `Finch-Data-Retrieved` '
      + 'of the Finch answers merged (how stale the page may be), null when none said.',
    query: DirectoryQuery(),
    answers: { 200: json('A page of people.', named('Directory', DirectoryResponse())) },
    errors: [...JWT_ROUTE, ...STORE],
  },
};

function proxyOperation(method: 'GET' | 'POST' | 'DELETE', operationId: string): OperationDoc {
  return {
    operationId,
    tag: 'Finch data',
    summary: `Finch's data API for one of the caller's connections (${method})`,
    description: 'The path after `/finch` is Finch\'s (`/employer/...`), allowlisted by method and path template: anything else is 400 `path_not_allowed` '
      + 'with no call to Finch. Finch\'s writes only where `FINCH_PROXY_WRITE_PATHS` enables them and the token holds `FINCH_PROXY_WRITE_SCOPE`. '
      + 'The stored token is added server-side; Finch\'s status and JSON body are answered as they are. Finch\'s 401 `reauthenticate_user` marks the connection `reauth`: 409 `reauth_required`. '
      + 'Finch\'s 202 (data not available yet) is answered 202 with what to do; a read Finch does not answer before the function must answer '
      + '(its time left, at most API Gateway\'s 29 s) is 504 `finch_timeout` saying whether the connection\'s initial sync of that data is still pending (`initial_sync`). '
      + `Of the caller's headers only ${FORWARDED_REQUEST_HEADERS.map((name) => `\`${name}\``).join(' and ')} reach Finch: \`Authorization\` and \`Finch-API-Version\` are the backend's.`,
    query: ProxyQuery(),
    path: z.strictObject({ path: z.string() }),
    headers: [{
      name: 'Finch-Connection-Id', required: true, schema: ProxyHeaders().shape['finch-connection-id'],
      description: 'Which of the caller\'s connections to call Finch with.',
    }],
    ...(method === 'GET' ? {} : { body: { schema: ProxyBody(), contentTypes: ['application/json'], required: false, description: 'Finch\'s request body: an object, or an array where Finch takes one.' } }),
    answers: {
      '2XX': json('Finch\'s answer, with its data\'s freshness when Finch sent it.', 'finch', FRESHNESS_HEADERS),
      202: json('Finch accepted the connection but its data is not available yet (an assisted connection before its first sync): '
        + 'retry later with backoff, or wait for the `connection.initial_sync_completed` event.', named('DataNotReady', DataNotReadyResponse()), FRESHNESS_HEADERS),
    },
    errors: [...JWT_ROUTE, ...BODY, ...STORE, 404, 409, 429, 502, 504],
    finchAnswers: true,
  };
}

/** Finch's own error body, which the proxy answers as it came (its 4xx and 5xx besides ours). */
export const FINCH_ERROR = named('FinchError', FinchErrorResponse());