// The Finch proxy's allowlist: which Finch data calls may be made with a connection's token
// (functions/core/proxy.ts makes them). A path is resolved against these templates, segment by
// segment, and a query keeps only its route's parameters, each checked; nothing else reaches Finch.
// A module of its own so the configuration (FINCH_PROXY_WRITE_PATHS) and the stack read the list
// without the call.
import { InvalidRequest, PathNotAllowed, type ErrorDetail } from './errors.js';
import type { FinchDataMethod, FinchQuery } from './ports/finch-data.js';

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
