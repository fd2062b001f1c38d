// The local gateway stands in for API Gateway's HTTP API: the events it builds must be ones AWS
// could send (validated with AWS's own schema from Powertools), its JWT checks must refuse what the
// JWT authorizer refuses, and it must serve exactly the routes of lib/routes.ts.
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas';
import { jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import type { HttpEvent } from '#http/stack.js';
import { ROUTES, type FunctionName, routeKey } from '../../lib/routes.js';
import {
  type DevSigningKey, LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, createJwtAuthorizer, generateDevSigningKey, mintToken, publicJwks,
} from '#local/gateway/jwt.js';
import { createCors } from '#local/gateway/cors.js';
import { createLocalRoutes } from '#local/gateway/local-routes.js';
import { type RunningGateway, startGateway } from '#local/gateway/server.js';
import { claimNames, mintDevToken } from '#local/dev-tokens.js';
import { type CallerSettings, resolveCaller } from '#http/caller.js';
import type { LocalSecrets } from '#local/secrets.js';

const FRONTEND = 'http://localhost:5173';

interface Seen { fn: FunctionName; event: HttpEvent; context: Context }

let gateway: RunningGateway;
let key: DevSigningKey;
let seen: Seen[] = [];
let reply: (event: HttpEvent) => unknown = () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });

const url = (path: string) => `${gateway.url}${path}`;
const token = (claims: Record<string, unknown> = { customer_id: 'acme' }, extra: Partial<Parameters<typeof mintToken>[1]> = {}) =>
  mintToken(key, { claims, expiresIn: 600, ...extra });
const bearer = async (claims?: Record<string, unknown>) => ({ authorization: `Bearer ${await token(claims)}` });

beforeAll(async () => {
  key = await generateDevSigningKey();
  const secrets = { jwt_signing_key: key } as LocalSecrets;
  gateway = await startGateway({
    port: 0,
    routes: ROUTES,
    loadHandler: async (fn) => async (event: HttpEvent, context: Context) => {
      seen.push({ fn, event, context });
      return reply(event);
    },
    authorizer: createJwtAuthorizer({ issuer: LOCAL_JWT_ISSUER, audience: [LOCAL_JWT_AUDIENCE], jwks: publicJwks(key) }),
    localRoutes: createLocalRoutes({
      mintToken: (request) => mintDevToken(secrets, claimNames({}), request),
      jwks: publicJwks(key),
      demoDir: '/nonexistent',
      emulatorUrl: () => undefined,
      port: () => gateway.port,
      routeKeys: ROUTES.map(routeKey),
    }),
    cors: createCors([FRONTEND], ROUTES),
  });
});
afterAll(() => gateway.close());
beforeEach(() => {
  seen = [];
  reply = () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
});

/** A concrete path for a route template: `{name}` one segment, `{name+}` several. */
const concrete = (path: string) => path.replace(/\{[^}]+\+\}/g, 'employer/directory').replace(/\{[^}]+\}/g, 'conn-123');
/** The path parameters API Gateway would pass for that concrete path. */
const expectedParameters = (path: string) => {
  const names = [...path.matchAll(/\{([^}+]+)(\+?)\}/g)];
  return names.length ? Object.fromEntries(names.map(([, name, greedy]) => [name, greedy ? 'employer/directory' : 'conn-123'])) : undefined;
};

describe('events the gateway builds', () => {
  test.each(ROUTES.map((route) => [routeKey(route), route] as const))('%s reaches its handler with an event AWS\'s schema accepts', async (_key, route) => {
    const headers: Record<string, string> = route.auth === 'jwt' ? await bearer({ customer_id: 'acme', scope: 'a b' }) : {};
    const body = route.method === 'POST' ? JSON.stringify({ hello: 'world' }) : undefined;
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(url(`${concrete(route.path)}?x=1`), { method: route.method, headers, body });
    expect(res.status).toBe(200);
    expect(res.headers.get('apigw-requestid')).toBeTruthy();
    expect(seen).toHaveLength(1);
    const { fn, event, context } = seen[0];
    expect(fn).toBe(route.function);

    const parsed = APIGatewayProxyEventV2Schema.safeParse(event);
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe(`${route.method} ${route.path}`);
    expect(event.requestContext.routeKey).toBe(event.routeKey);
    expect(event.rawPath).toBe(concrete(route.path));
    expect(event.requestContext.http.method).toBe(route.method);
    expect(event.pathParameters).toEqual(expectedParameters(route.path));
    if (route.auth === 'jwt') {
      // As HTTP APIs pass them: every claim a string.
      const jwt = event.requestContext.authorizer!.jwt!;
      expect(jwt.claims).toMatchObject({ customer_id: 'acme', scope: 'a b', iss: LOCAL_JWT_ISSUER, aud: LOCAL_JWT_AUDIENCE });
      expect(typeof jwt.claims!.exp).toBe('string');
      expect(jwt.scopes).toBeNull();
    } else {
      expect(event.requestContext.authorizer).toBeUndefined();
    }
    expect(context.functionName).toContain(route.function);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(20_000);
  });

  test('query strings, repeated values, cookies and headers are mapped as API Gateway maps them', async () => {
    await fetch(url('/connections?status=connected&status=reauth&q=a%20b'), {
      headers: { ...(await bearer()), cookie: 'a=1; b=2', 'X-Custom': 'One' },
    });
    const { event } = seen[0];
    expect(APIGatewayProxyEventV2Schema.safeParse(event).success).toBe(true);
    expect(event.rawQueryString).toBe('status=connected&status=reauth&q=a%20b');
    expect(event.queryStringParameters).toEqual({ status: 'connected,reauth', q: 'a b' });
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.headers['x-custom']).toBe('One');
    expect(event.headers['x-forwarded-proto']).toBe('http');
    expect(event.requestContext.http.sourceIp).toBe('127.0.0.1');
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  test('the path arrives percent-decoded, in rawPath and in path parameters, as HTTP APIs pass it', async () => {
    await fetch(url('/connections/conn%20one?x=%2F'), { headers: await bearer() });
    const { event } = seen[0];
    expect(event.rawPath).toBe('/connections/conn one');
    expect(event.requestContext.http.path).toBe('/connections/conn one');
    expect(event.pathParameters).toEqual({ connection_id: 'conn one' });
    expect(event.rawQueryString).toBe('x=%2F');
    // An encoded slash is a slash by the time API Gateway routes: two segments, no such route.
    const res = await fetch(url('/connections/a%2Fb'), { headers: await bearer() });
    expect(res.status).toBe(404);
    const malformed = await fetch(url('/connections/%E0%A4%A'), { headers: await bearer() });
    expect(malformed.status).toBe(400);
  });

  test('JSON bodies arrive as text, form posts and binary bodies base64-encoded', async () => {
    await fetch(url('/connect/callback'), { method: 'POST', headers: { ...(await bearer()), 'content-type': 'application/json; charset=utf-8' }, body: '{"code":"c","state":"s"}' });
    await fetch(url('/connect/callback'), { method: 'POST', headers: { ...(await bearer()), 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=c&state=s' });
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    await fetch(url('/connect/sessions'), { method: 'POST', headers: { ...(await bearer()), 'content-type': 'application/octet-stream' }, body: binary });
    const [json, form, bytes] = seen.map((s) => s.event);
    expect(json).toMatchObject({ body: '{"code":"c","state":"s"}', isBase64Encoded: false });
    expect(form.isBase64Encoded).toBe(true);
    expect(Buffer.from(form.body!, 'base64').toString()).toBe('code=c&state=s');
    expect(Buffer.from(bytes.body!, 'base64')).toEqual(binary);
    for (const event of seen.map((s) => s.event)) expect(APIGatewayProxyEventV2Schema.safeParse(event).success).toBe(true);
  });
});

describe('routing', () => {
  test.each([
    ['GET', '/nope'],
    ['PATCH', '/connections/conn-123'],
    ['PUT', '/connect/sessions'],
    ['GET', '/connections/a/b'],
    ['GET', '/_local/unknown'],
  ])('%s %s is 404 {"message":"Not Found"} and reaches no handler', async (method, path) => {
    const res = await fetch(url(path), { method, headers: await bearer() });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
    expect(seen).toHaveLength(0);
  });
});

describe('JWT checks on auth: jwt routes, like API Gateway\'s JWT authorizer', () => {
  const unauthorized = async (headers: Record<string, string>) => {
    const res = await fetch(url('/connections'), { headers });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
    expect(seen).toHaveLength(0);
  };

  test('no token is 401', () => unauthorized({}));
  test('a token that is not a JWT is 401', () => unauthorized({ authorization: 'Bearer not-a-jwt' }));
  test('a bad signature is 401', async () => {
    const other = await generateDevSigningKey();
    // Same kid as the trusted key, signed by another one.
    other.privateJwk.kid = key.privateJwk.kid;
    await unauthorized({ authorization: `Bearer ${await mintToken(other, { claims: { customer_id: 'acme' }, expiresIn: 600 })}` });
  });
  test('a token from an unknown key (kid) is 401', async () => {
    const other = await generateDevSigningKey();
    await unauthorized({ authorization: `Bearer ${await mintToken(other, { claims: { customer_id: 'acme' }, expiresIn: 600 })}` });
  });
  test('a tampered payload is 401', async () => {
    const [header, , signature] = (await token()).split('.');
    const forged = Buffer.from(JSON.stringify({ customer_id: 'globex', iss: LOCAL_JWT_ISSUER, aud: LOCAL_JWT_AUDIENCE, exp: 9999999999 })).toString('base64url');
    await unauthorized({ authorization: `Bearer ${header}.${forged}.${signature}` });
  });
  test('a wrong issuer is 401', async () => unauthorized({ authorization: `Bearer ${await token(undefined, { issuer: 'https://issuer.example' })}` }));
  test('a wrong audience is 401', async () => unauthorized({ authorization: `Bearer ${await token(undefined, { audience: 'another-api' })}` }));
  test('an expired token is 401', async () => unauthorized({ authorization: `Bearer ${await token(undefined, { expiresIn: -5 })}` }));
  test('a token without the Bearer prefix is accepted, as API Gateway accepts it', async () => {
    const res = await fetch(url('/connections'), { headers: { authorization: await token() } });
    expect(res.status).toBe(200);
  });
  test('routes without auth take no token and get no authorizer context', async () => {
    const res = await fetch(url('/connect/callback?state=s&code=c'), { headers: { authorization: 'Bearer garbage' } });
    expect(res.status).toBe(200);
    expect(seen[0].event.requestContext.authorizer).toBeUndefined();
  });
});

describe('handler results', () => {
  test('status, headers, cookies and base64 bodies are answered as returned', async () => {
    reply = () => ({ statusCode: 302, headers: { Location: 'http://127.0.0.1/x', 'X-N': 5 }, cookies: ['a=1; Path=/', 'b=2'], body: Buffer.from('hi').toString('base64'), isBase64Encoded: true });
    const res = await fetch(url('/connect/callback?state=s'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1/x');
    expect(res.headers.get('x-n')).toBe('5');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await res.text()).toBe('hi');
  });
  test('an object without statusCode is a 200 JSON answer (payload format 2.0)', async () => {
    reply = () => ({ hello: 'world' });
    const res = await fetch(url('/connect/result'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ hello: 'world' });
  });
  test('a handler that throws is 500 {"message":"Internal Server Error"}, the exception stays local', async () => {
    reply = () => { throw new Error('secret detail'); };
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const res = await fetch(url('/connect/result'));
    spy.mockRestore();
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ message: 'Internal Server Error' });
    expect(text).not.toContain('secret');
  });
});

describe('CORS, as the deployed API configures it', () => {
  test('a preflight from an allowed origin is answered by the gateway, without JWT or handler', async () => {
    const res = await fetch(url('/connect/sessions'), {
      method: 'OPTIONS', headers: { origin: FRONTEND, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(seen).toHaveLength(0);
  });
  test('answers to an allowed origin carry Access-Control-Allow-Origin; other origins get none', async () => {
    const allowed = await fetch(url('/connections'), { headers: { ...(await bearer()), origin: FRONTEND } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    const refused = await fetch(url('/connections'), { headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('POST /_local/token', () => {
  const mint = async (body: unknown) => {
    const res = await fetch(url('/_local/token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() as { token?: string } };
  };

  test('mints a token the gateway accepts, with the customer and name claims', async () => {
    const { status, json } = await mint({ customer_id: 'acme', customer_name: 'Acme Inc' });
    expect(status).toBe(200);
    const res = await fetch(url('/connections'), { headers: { authorization: `Bearer ${json.token}` } });
    expect(res.status).toBe(200);
    expect(seen[0].event.requestContext.authorizer!.jwt!.claims).toMatchObject({ customer_id: 'acme', customer_name: 'Acme Inc' });
  });
  test('expires_in 0 gives a token that is already expired (401)', async () => {
    const { json } = await mint({ customer_id: 'acme', expires_in: 0 });
    const res = await fetch(url('/connections'), { headers: { authorization: `Bearer ${json.token}` } });
    expect(res.status).toBe(401);
  });
  test('unknown fields are refused', async () => {
    expect((await mint({ customer_id: 'acme', admin: true })).status).toBe(400);
  });
  test('with ADMIN_CLIENT_IDS set, an admin dev token carries the first listed client, so it stays an admin', async () => {
    const names = claimNames({ ADMIN_CLIENT_IDS: ' svc-local, svc-other' });
    const secrets = { jwt_signing_key: key } as LocalSecrets;
    const settings: CallerSettings = { customerIdClaim: 'customer_id', customerNameClaim: 'customer_name', adminScope: 'connections:admin', adminClientIds: new Set(['svc-local', 'svc-other']) };
    for (const scope of ['connections:admin', 'openid connections:admin']) {
      seen = [];
      const admin = await mintDevToken(secrets, names, { scope });
      expect((await fetch(url('/connections'), { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
      expect(resolveCaller(seen[0].event.requestContext.authorizer!.jwt, 'globex', settings)).toMatchObject({ customer_id: 'globex', admin: true });
    }
    // A customer's dev token names no client: it is never one of the admin clients.
    seen = [];
    const customer = await mintDevToken(secrets, names, { customer_id: 'acme' });
    await fetch(url('/connections'), { headers: { authorization: `Bearer ${customer}` } });
    expect(seen[0].event.requestContext.authorizer!.jwt!.claims!.client_id).toBeUndefined();
  });
  test('a request whose Host is not loopback is refused (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url('/_local/token'), { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });
});
