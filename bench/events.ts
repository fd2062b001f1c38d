// API Gateway HTTP API (payload 2.0) events for in-process invocations, built by the local
// gateway's own builder (local/gateway/event.ts) so they are the events the handlers get there.
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '#http/stack.js';
import { buildContext, buildEvent, newRequestId } from '#local/gateway/event.js';
import { createRouter } from '#local/gateway/router.js';
import { ROUTES } from '../lib/routes.js';

const router = createRouter(ROUTES);

export interface EventInput {
  /** JWT claims the authorizer verified (routes with `auth: 'jwt'`). */
  claims?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** `apiEvent('GET', '/connections?limit=25', { claims })`: the event API Gateway would send. */
export function apiEvent(method: string, url: string, input: EventInput = {}): HttpEvent {
  // HTTP APIs route on the percent-decoded path, as the local gateway does.
  const decodedPath = decodeURIComponent(url.split('?')[0]);
  const match = router(method, decodedPath);
  if (!match) throw new Error(`no route in lib/routes.ts for ${method} ${decodedPath}`);
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof input.body === 'string' ? input.body : JSON.stringify(input.body));
  const headers: Record<string, string[]> = { host: ['api.example.com'], 'user-agent': ['finch-connections-bench'] };
  if (input.body !== undefined) headers['content-type'] = ['application/json'];
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = [value];
  return buildEvent(
    { method, url, headers, body, sourceIp: '203.0.113.10', httpVersion: '1.1' },
    {
      route: match.route,
      decodedPath,
      pathParameters: match.pathParameters,
      jwt: match.route.auth === 'jwt' && input.claims ? { claims: input.claims, scopes: null } : undefined,
      requestId: newRequestId(),
      port: 443,
    },
  );
}

export const lambdaContext = (functionName: string): Context => buildContext({ functionName, timeoutMs: 29_000, memoryMb: 512 });
