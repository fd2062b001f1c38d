// CORS as the deployed HTTP API configures it (lib/constructs/api.ts `corsPreflight`): origins
// from ALLOWED_RETURN_ORIGINS, the route table's methods, and the same request headers. API
// Gateway answers preflights itself (no authorizer, no Lambda) and adds the allow-origin header to
// answers for an allowed origin; a frontend on another local port works as it will in AWS.
import type { OutgoingHttpHeaders } from 'node:http';
import type { RouteSpec } from '../../lib/routes.js';
import type { HttpAnswer } from './response.js';

/** Kept equal to the CDK's `allowHeaders`. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'finch-connection-id'];
const MAX_AGE_S = 3600;

export interface Cors {
  /** The preflight answer, or undefined when the request is not a preflight. */
  preflight(method: string, headers: Record<string, string[] | undefined>): HttpAnswer | undefined;
  /** Headers to add to an answer for this request's Origin. */
  headersFor(headers: Record<string, string[] | undefined>): OutgoingHttpHeaders;
}

export function createCors(allowedOrigins: readonly string[], routes: readonly RouteSpec[]): Cors {
  // A malformed origin is skipped here; the handlers' configuration check names it at start.
  const origins = new Set(allowedOrigins.flatMap((origin) => (URL.canParse(origin) ? [new URL(origin).origin] : [])));
  const methods = [...new Set(routes.map((route) => route.method))];
  const allowed = (headers: Record<string, string[] | undefined>) => {
    const origin = headers.origin?.[0];
    return origin && origins.has(origin) ? origin : undefined;
  };
  return {
    preflight(method, headers) {
      if (origins.size === 0 || method !== 'OPTIONS' || !headers['access-control-request-method']) return undefined;
      const origin = allowed(headers);
      return {
        status: 204,
        headers: origin ? {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': methods.join(','),
          'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
          'access-control-max-age': String(MAX_AGE_S),
          vary: 'origin',
        } : {},
        body: Buffer.alloc(0),
      };
    },
    headersFor(headers) {
      const origin = allowed(headers);
      return origin ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    },
  };
}
