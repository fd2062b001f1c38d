// The Finch proxy: one allowlisted Finch data call for one of the caller's connections, with the
// stored token added server-side. The caller never holds the token; this module decides exactly
// which calls may be made with it. Nothing outside the allowlist below ever reaches Finch.
import type { BaseDeps } from './deps.js';
import {
  ConnectionDisconnected, ConnectionNotFound, ConnectionUnauthorized, FinchUnavailable, InvalidRequest, PathNotAllowed,
  ReauthRequired, WriteScopeRequired, type ErrorDetail,
} from './errors.js';
import { forwardRead } from './finch-reads.js';
import { isEnded } from './model.js';
import { errorNameOf, statusClassOf } from './metrics.js';
import { subjectOf } from './audit-subject.js';
import type { StoredConnection } from './ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataMethod, FinchDataResponse, FinchQuery } from './ports/finch-data.js';

/**
 * What the proxy and `GET /directory` need: the base ports and Finch's data API, and no client
 * credentials (data calls need only the connection's token).
 */
export interface ProxyDeps extends BaseDeps {
  finchData: FinchDataGateway;
  proxy: ProxySettings;
  /**
   * The status the HTTP layer answers an error with (functions/http/errors.ts statusOf): the
   * call's log line records it, and the core knows no status of its own.
   */
  statusOf: (error: unknown) => number;
}

export interface ProxySettings {
  /** FINCH_PROXY_WRITE_PATHS: the write routes (`METHOD /template`) this deployment enables. */
  writeRoutes: ReadonlySet<string>;
}

// ---- The allowlist -------------------------------------------------------------------------

/**
 * How a query parameter is checked before it is forwarded:
 * count: a non-negative integer; date: YYYY-MM-DD; id: one Finch id; csv: ids joined by commas
 * (Finch's own format for that parameter); ids/words: a list (`name[]=a&name[]=b`, sent on as
 * Finch's SDK does); text: short printable text.
 */
type ParamKind = 'count' | 'date' | 'id' | 'csv' | 'ids' | 'words' | 'text';

export interface ProxyRoute {
  method: FinchDataMethod;
  /** `{name}` is one path segment: a Finch id. */
  template: string;
  /** Finch's batch reads use POST; writes change the employer's benefits and need scope and configuration. */
  access: 'read' | 'write';
  query: Record<string, ParamKind>;
  /**
   * The JSON body's shape: an object unless Finch takes an array (the SDK's `enrollMany` sends its
   * `individuals` as the bare body: @tryfinch/finch-api resources/hris/benefits/individuals.js).
   */
  body?: 'array';
}

const ENTITY = { entity_ids: 'ids' } as const;

/** Finch's data endpoints, from the official SDK's `hris` and `payroll` resources (v10). */
export const PROXY_ROUTES: readonly ProxyRoute[] = [
  { method: 'GET', template: '/employer/company', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/directory', access: 'read', query: { limit: 'count', offset: 'count', ...ENTITY } },
  { method: 'POST', template: '/employer/individual', access: 'read', query: { ...ENTITY } },
  { method: 'POST', template: '/employer/employment', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/payment', access: 'read', query: { start_date: 'date', end_date: 'date', ...ENTITY } },
  { method: 'POST', template: '/employer/pay-statement', access: 'read', query: { ...ENTITY } },
  {
    method: 'GET', template: '/employer/pay-statement-item', access: 'read',
    query: { categories: 'words', start_date: 'date', end_date: 'date', name: 'text', type: 'text', ...ENTITY },
  },
  { method: 'GET', template: '/employer/pay-statement-item/rule', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/benefits', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/benefits/meta', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/benefits/{benefit_id}', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/benefits/{benefit_id}/enrolled', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/benefits/{benefit_id}/individuals', access: 'read', query: { individual_ids: 'csv', ...ENTITY } },
  {
    method: 'GET', template: '/employer/documents', access: 'read',
    query: { limit: 'count', offset: 'count', individual_ids: 'ids', types: 'words', ...ENTITY },
  },
  { method: 'GET', template: '/employer/documents/{document_id}', access: 'read', query: { ...ENTITY } },
  { method: 'GET', template: '/employer/pay-groups', access: 'read', query: { individual_id: 'id', pay_frequencies: 'words', ...ENTITY } },
  { method: 'GET', template: '/employer/pay-groups/{pay_group_id}', access: 'read', query: { ...ENTITY } },
  // Writes: benefits and enrollments (deductions). Off unless FINCH_PROXY_WRITE_PATHS names them.
  { method: 'POST', template: '/employer/benefits', access: 'write', query: { ...ENTITY } },
  { method: 'POST', template: '/employer/benefits/register', access: 'write', query: { ...ENTITY } },
  { method: 'POST', template: '/employer/benefits/{benefit_id}', access: 'write', query: { ...ENTITY } },
  { method: 'POST', template: '/employer/benefits/{benefit_id}/individuals', access: 'write', query: { ...ENTITY }, body: 'array' },
  { method: 'DELETE', template: '/employer/benefits/{benefit_id}/individuals', access: 'write', query: { ...ENTITY } },
];

export const proxyRouteKey = (route: Pick<ProxyRoute, 'method' | 'template'>) => `${route.method} ${route.template}`;

/** The write routes a deployment may enable (FINCH_PROXY_WRITE_PATHS is checked against these). */
export const WRITE_ROUTE_KEYS = PROXY_ROUTES.filter((route) => route.access === 'write').map(proxyRouteKey);

/** One decoded path segment: a literal of a template or a Finch id. No dot, slash, percent or colon can pass. */
const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
/** One raw segment before decoding: unreserved characters and well-formed percent escapes only. */
const RAW_SEGMENT = /^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+$/;
const MAX_RAW_PATH = 512;

/**
 * Matches a method and a Finch path, as the event carries it, against the allowlist. Each segment
 * is decoded exactly once and must then be a plain segment, so `%2F`, `%2e%2e`, `..`, `//`, `\`,
 * `@`, `%5C`, absolute URLs, double encoding and control characters all fail. (HTTP APIs have
 * already decoded the wire path once; what they hand over is checked the same way.) Returns the
 * route and the canonical path (rebuilt from the decoded segments) or throws PathNotAllowed.
 */
export function resolveProxyPath(method: string, rawPath: string): { route: ProxyRoute; path: string } {
  if (rawPath.length === 0 || rawPath.length > MAX_RAW_PATH || !rawPath.startsWith('/')) throw new PathNotAllowed();
  const segments = rawPath.slice(1).split('/').map((raw) => {
    if (!RAW_SEGMENT.test(raw)) throw new PathNotAllowed();
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      throw new PathNotAllowed();
    }
    if (!SEGMENT.test(decoded)) throw new PathNotAllowed();
    return decoded;
  });
  const route = PROXY_ROUTES.find((candidate) => candidate.method === method && fitsTemplate(candidate.template, segments));
  if (!route) throw new PathNotAllowed();
  return { route, path: `/${segments.join('/')}` };
}

function fitsTemplate(template: string, segments: string[]): boolean {
  const parts = template.slice(1).split('/');
  return parts.length === segments.length
    && parts.every((part, index) => part.startsWith('{') || part === segments[index]);
}

// ---- Query parameters ----------------------------------------------------------------------

const PARAM_CHECKS: Record<ParamKind, RegExp> = {
  count: /^\d{1,6}$/,
  date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
  id: SEGMENT,
  csv: /^[A-Za-z0-9_-]{1,128}(,[A-Za-z0-9_-]{1,128}){0,99}$/,
  ids: SEGMENT,
  words: /^[a-z0-9_]{1,64}$/,
  text: /^[^\p{Cc}]{1,256}$/u,
};
const LIST_KINDS: ReadonlySet<ParamKind> = new Set(['ids', 'words']);
const MAX_LIST = 100;
/** Names the admin caller's customer on every route; it is ours, not Finch's, and never forwarded. */
const RESERVED = new Set(['customer_id']);

/**
 * Only the route's parameters are forwarded, each validated; anything else is a 400 naming the
 * parameter (never its value). Lists may be sent as `name[]=a&name[]=b` or `name=a&name=b`.
 */
export function parseProxyQuery(route: ProxyRoute, rawQuery: string): FinchQuery {
  const query: FinchQuery = {};
  const details: ErrorDetail[] = [];
  for (const [rawKey, value] of new URLSearchParams(rawQuery)) {
    const name = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    if (RESERVED.has(rawKey)) continue;
    const kind = Object.hasOwn(route.query, name) ? route.query[name] : undefined;
    const where = /^[a-z_]{1,40}$/.test(name) ? `query.${name}` : 'query';
    if (!kind || (rawKey !== name && !LIST_KINDS.has(kind))) {
      details.push({ path: where, message: `not a parameter of ${route.method} ${route.template}` });
    } else if (!PARAM_CHECKS[kind].test(value)) {
      details.push({ path: where, message: `must be ${KIND_TEXT[kind]}` });
    } else if (LIST_KINDS.has(kind)) {
      const list = (query[name] ??= []) as string[];
      if (list.length === MAX_LIST) details.push({ path: where, message: `at most ${MAX_LIST} values` });
      else list.push(value);
    } else if (name in query) {
      details.push({ path: where, message: 'may be given once' });
    } else {
      query[name] = value;
    }
  }
  if (details.length > 0) throw new InvalidRequest('The Finch query parameters are invalid.', details);
  return query;
}

const KIND_TEXT: Record<ParamKind, string> = {
  count: 'a non-negative integer',
  date: 'a date (YYYY-MM-DD)',
  id: 'a Finch id',
  csv: 'Finch ids separated by commas',
  ids: 'a Finch id',
  words: 'a lowercase word',
  text: 'printable text of at most 256 characters',
};

// ---- The call ------------------------------------------------------------------------------

/** Request headers a caller may have forwarded; Authorization and Finch-API-Version are the adapter's. */
export const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type'] as const;

export interface ProxyRequest {
  method: FinchDataMethod;
  /** The Finch path as sent, after `/finch` and still percent-encoded (from `rawPath`). */
  rawPath: string;
  rawQuery: string;
  connectionId: string;
  /** The parsed JSON body (an object, or an array where the route takes one); undefined when none was sent. */
  body: Record<string, unknown> | unknown[] | undefined;
  /** The caller's headers, names lowercased. */
  headers: Record<string, string | undefined>;
  /** Whether the caller's token carries the write scope. */
  writeScope: boolean;
  /** Epoch ms by which Finch must have answered (functions/core/finch-reads.ts `readDeadline`); none: Finch's timeout only. */
  deadline?: number;
}

/**
 * Forwards one allowlisted call and answers Finch's status and JSON body as they are. Everything
 * that can refuse the call (path, method, scope, query, body, connection) is checked before the
 * token is decrypted, and the token is decrypted only once the shared Finch budget granted the
 * call (lazyAccessToken); one log line per call records who used which connection's token for what.
 */
export async function proxyFinchCall(deps: ProxyDeps, customerId: string, request: ProxyRequest): Promise<FinchDataResponse> {
  let template: string | null = null;
  // The audit of token use, with CloudTrail's KMS Decrypt record: never the query values or bodies.
  const audit = (status: number, error?: unknown) => {
    deps.log.info('finch proxy call', { connection_id: request.connectionId, method: request.method, template, status });
    deps.metrics.add('ProxyCalls', { StatusClass: statusClassOf(status), ErrorName: error === undefined ? 'none' : errorNameOf(error) });
  };
  let response: FinchDataResponse;
  try {
    const { route, path } = resolveProxyPath(request.method, request.rawPath);
    template = route.template;
    if (route.access === 'write') {
      // Not enabled here is answered like any path off the allowlist; enabled but not granted is 403.
      if (!deps.proxy.writeRoutes.has(proxyRouteKey(route))) throw new PathNotAllowed();
      if (!request.writeScope) throw new WriteScopeRequired();
    }
    const query = parseProxyQuery(route, request.rawQuery);
    if (request.method === 'GET' && request.body !== undefined) {
      throw new InvalidRequest('A GET through the proxy takes no body.', [{ path: 'body', message: 'must be empty' }]);
    }
    if (request.body !== undefined && Array.isArray(request.body) !== (route.body === 'array')) {
      throw new InvalidRequest('The body does not have the shape Finch takes here.', [
        { path: 'body', message: route.body === 'array' ? 'must be a JSON array' : 'must be a JSON object' },
      ]);
    }
    const stored = await usableConnection(deps, customerId, request.connectionId);
    const accessToken = lazyAccessToken(deps, stored);
    response = await forwardRead(deps, stored, route.template, {
      method: request.method, path, query, body: request.method === 'GET' ? undefined : request.body ?? (route.body === 'array' ? [] : {}),
      headers: pickHeaders(request.headers), deadline: request.deadline,
    }, accessToken.source);
    await rejectUnauthorized(deps, stored, response);
    // Finch never echoes a token; if an answer ever held it, it must not reach the caller. (A call
    // that never asked for the token sent none, so nothing of it can come back.)
    const sent = accessToken.decrypted();
    if (response.body === null || (sent !== undefined && JSON.stringify(response.body).includes(sent))) throw new FinchUnavailable();
  } catch (error) {
    audit(deps.statusOf(error), error);
    throw error;
  }
  audit(response.status);
  return response;
}

/** The caller's connection with a token Finch may accept; another customer's is answered as missing. */
export async function usableConnection(deps: BaseDeps, customerId: string, connectionId: string): Promise<StoredConnection> {
  const stored = await deps.connections.getConnection(customerId, connectionId);
  if (!stored) throw new ConnectionNotFound();
  if (!stored.token || isEnded(stored.status)) throw new ConnectionDisconnected();
  // Finch refuses a connection awaiting reauthentication; only a new token (connected again) helps.
  if (stored.status === 'reauth') throw new ReauthRequired(connectionId);
  return stored;
}

/** A connection's token for Finch's data API, decrypted when first asked for (see lazyAccessToken). */
export interface LazyAccessToken {
  /** For FinchDataGateway.forward: decrypts on the first call and answers the same token to every later one. */
  source: AccessTokenSource;
  /** The token if a call asked for it; undefined while none did (no call was sent). */
  decrypted(): string | undefined;
}

/**
 * The stored token, decrypted only when a call to Finch is about to leave: a call the shared Finch
 * budget refuses costs no KMS Decrypt (money, the account's KMS quota, latency) and puts no
 * plaintext token in memory. Memoized, so the calls of one request (the directory's pages and
 * entities) decrypt once; a failed decrypt fails them all alike, as one decrypt up front did.
 */
export function lazyAccessToken(deps: BaseDeps, stored: StoredConnection): LazyAccessToken {
  let decrypting: Promise<string> | undefined;
  let plaintext: string | undefined;
  const context = { customer_id: stored.customer_id, connection_id: stored.connection_id };
  return {
    source: () => (decrypting ??= deps.cipher.decrypt(stored.token!.ciphertext, context).then((token) => (plaintext = token))),
    decrypted: () => plaintext,
  };
}

/**
 * Finch's 401 on a data call: `reauthenticate_user` marks the connection `reauth` (so lists show
 * it). `stored` is the connection as the call read it: its status is the entry's previous_status.
 */
export async function rejectUnauthorized(deps: BaseDeps, stored: StoredConnection, response: FinchDataResponse) {
  if (response.status !== 401) return;
  const { customer_id: customerId, connection_id: connectionId } = stored;
  const finchCode = finchCodeOf(response.body);
  if (finchCode === 'reauthenticate_user') {
    const now = deps.clock.now();
    // False when a concurrent disconnect got there first: nothing to mark, the answer is the same.
    await deps.connections.recordStatus(customerId, connectionId, {
      status: 'reauth', status_message: 'Finch asks the employer to reauthenticate this connection.',
    }, now, {
      action: 'reauth_required', actor: 'finch-proxy', customer_id: customerId, connection_id: connectionId, at: now.toISOString(),
      subject: subjectOf(stored, { status: 'reauth' }),
      details: { finch_code: finchCode, previous_status: stored.status },
    });
    throw new ReauthRequired(connectionId);
  }
  // Any other 401 is about our token, not the caller's JWT: a 401 would read as "log in again".
  throw new ConnectionUnauthorized(finchCode);
}

function finchCodeOf(body: unknown): string | null {
  const code = (body as { finch_code?: unknown } | null)?.finch_code;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : null;
}

function pickHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = headers[name];
    if (value !== undefined && /^[\x20-\x7e]{1,256}$/.test(value)) picked[name] = value;
  }
  return picked;
}
