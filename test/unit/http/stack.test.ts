// The route builder (functions/http/stack.ts): the request a handler gets follows the route's
// `auth`, the caller is read with the settings the container bound once, and a function that
// serves several routes answers a route key it does not serve with 404, never another route.
import type { Context } from 'aws-lambda';
import type { Caller } from '#core/deps.js';
import type { CallerSettings } from '#http/caller.js';
import { type HttpEvent, httpRoutes, json, routeByKey } from '#http/stack.js';

const settings: CallerSettings = { customerIdClaim: 'org_id', customerNameClaim: 'org_name', adminScope: 'acme:admin', adminClientIds: new Set() };
const httpRoute = httpRoutes(settings);
const context = { awsRequestId: 'aws-request', getRemainingTimeInMillis: () => 28_000 } as unknown as Context;

function event(routeKey: string, claims?: Record<string, unknown>): HttpEvent {
  return {
    version: '2.0', routeKey, rawPath: '/', rawQueryString: '', headers: {}, isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012', apiId: 'api', domainName: 'api.example', domainPrefix: 'api', requestId: 'req-1', routeKey,
      stage: '$default', time: '', timeEpoch: 0, http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
    },
  };
}

describe('the request follows the route\'s auth', () => {
  test('a JWT route reads the customer from the claim the container was configured with, not a default name', async () => {
    const seen: Caller[] = [];
    const route = httpRoute({ auth: 'jwt' }, async ({ caller }) => { seen.push(caller); return json(200, {}); });
    expect((await route(event('GET /x', { org_id: 'globex', org_name: 'Globex', customer_id: 'acme' }), context)).statusCode).toBe(200);
    expect(seen).toEqual([expect.objectContaining({ customer_id: 'globex', customer_name: 'Globex', admin: false })]);
    // Only the default claim name: refused, not read.
    const refused = await route(event('GET /x', { customer_id: 'acme' }), context);
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body!).error.message).toContain('org_id');
    expect(seen).toHaveLength(1);
  });

  test('a JWT route without claims is 401 and its handler does not run', async () => {
    const route = httpRoute({ auth: 'jwt' }, async () => { throw new Error('must not run'); });
    expect((await route(event('GET /x'), context)).statusCode).toBe(401);
  });

  test('a public route\'s request has no caller, even when claims are present', async () => {
    const seen: Array<{ hasCaller: boolean }> = [];
    const route = httpRoute({ auth: 'none' }, async (request) => {
      // Compiles only because a public route's caller is typed absent.
      const caller: undefined = request.caller;
      seen.push({ hasCaller: 'caller' in request || caller !== undefined });
      return json(200, {});
    });
    expect((await route(event('POST /webhooks/finch', { org_id: 'globex' }), context)).statusCode).toBe(200);
    expect(seen).toEqual([{ hasCaller: false }]);
  });

  test('there is no route builder without caller settings (a type error: npm test\'s tsc checks it)', () => {
    // @ts-expect-error the settings are bound once per container, never defaulted
    const unbound = () => httpRoutes();
    expect(unbound).toBeInstanceOf(Function);
  });
});

describe('routeByKey: one Lambda, several routes', () => {
  const handler = routeByKey({
    'GET /a': httpRoute({ auth: 'none' }, async () => json(200, { route: 'a' })),
    'GET /b/{id}': httpRoute({ auth: 'none' }, async () => json(200, { route: 'b' })),
  });

  test('each route key reaches its own route', async () => {
    expect(JSON.parse((await handler(event('GET /a'), context)).body!)).toEqual({ route: 'a' });
    expect(JSON.parse((await handler(event('GET /b/{id}'), context)).body!)).toEqual({ route: 'b' });
  });

  test.each(['GET /c', 'POST /a', 'GET /b/{id}/c', '', 'toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    'an unknown route key (%j) is 404 not_found in the error shape, no route runs', async (routeKey) => {
      const result = await handler(event(routeKey), context);
      expect(result.statusCode).toBe(404);
      expect(result.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
      expect(JSON.parse(result.body!)).toEqual({ error: { code: 'not_found', message: 'No such route.', request_id: 'req-1' } });
    });
});
