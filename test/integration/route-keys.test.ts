// The HTTP edge as deployed: the real handlers, DynamoDB Local and the Finch emulator. A function
// that serves several routes answers a route key it does not serve with 404 `not_found` (never
// another route's operation), and every JWT route reads the caller with the claim name configured
// for its container (CUSTOMER_ID_CLAIM), in each container (app, session-app, data-app).
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { RETURN_ORIGIN, authorizeAtFinch, scanTable, startHarness, type Harness } from '../support/harness.js';

const CLAIM = 'https://acme-payroll.io/customer_id';
const claims = (customer: string) => ({ [CLAIM]: customer });

type Handler = (event: unknown, context: Context) => Promise<{ statusCode: number; headers?: Record<string, unknown>; body?: string }>;
let h: Harness;
let handlers: Record<'callback' | 'connections' | 'finch-proxy', Handler>;
let connectionId: string;

beforeAll(async () => {
  h = await startHarness({ CUSTOMER_ID_CLAIM: CLAIM });
  handlers = {
    callback: (await import('../../functions/callback/handler.js')).handler as Handler,
    connections: (await import('../../functions/connections/handler.js')).handler as Handler,
    'finch-proxy': (await import('../../functions/finch-proxy/handler.js')).handler as Handler,
  };
  const session = await h.invoke('POST /connect/sessions', { claims: claims('acme'), body: { return_to: `${RETURN_ORIGIN}/` } });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const callback = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
  connectionId = new URL(callback.headers.location).searchParams.get('connection_id')!;
  expect(connectionId).toBeTruthy();
});
afterAll(async () => {
  delete process.env.CUSTOMER_ID_CLAIM;
  await h?.close();
});

/** JSON, or the text as it came (the result page's HTML). */
const parsed = (body: string | undefined): unknown => { try { return JSON.parse(body ?? 'null'); } catch { return body; } };
const finchCalls = () => Object.values(h.emulator.state().calls).reduce((a, b) => a + b, 0);

/** An API Gateway v2 event for a route key the function does not serve, with everything else a real route would carry. */
function eventFor(routeKey: string, method: string, rawPath: string, pathParameters?: Record<string, string>) {
  const requestId = randomUUID();
  return {
    version: '2.0', routeKey, rawPath, rawQueryString: '', isBase64Encoded: false,
    headers: { 'finch-connection-id': connectionId },
    pathParameters,
    requestContext: {
      accountId: '123456789012', apiId: 'local', domainName: 'api.example', domainPrefix: 'api', requestId, routeKey,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
      authorizer: { jwt: { claims: claims('acme'), scopes: null } },
    },
  };
}

const context = { awsRequestId: 'aws', getRemainingTimeInMillis: () => 28_000 } as unknown as Context;

describe('a route key the function does not serve is 404 not_found, never another route', () => {
  test.each([
    ['callback', 'PUT /connect/callback', 'PUT', '/connect/callback', undefined],
    ['callback', 'GET /connect/other', 'GET', '/connect/other', undefined],
    ['connections', 'GET /connections/{connection_id}/tokens', 'GET', '/connections/{id}/tokens', 'connection_id'],
    ['connections', 'DELETE /connections/{connection_id}/audit', 'DELETE', '/connections/{id}/audit', 'connection_id'],
    ['connections', '$default', 'GET', '/connections', undefined],
    ['finch-proxy', 'PUT /finch/{path+}', 'PUT', '/finch/employer/directory', 'path'],
    ['finch-proxy', 'GET /directory/{id}', 'GET', '/directory/x', 'id'],
    ['callback', 'toString', 'GET', '/', undefined],
  ] as const)('%s: %s', async (fn, routeKey, method, rawPath, parameter) => {
    const before = { items: JSON.stringify(await scanTable(h)), finch: finchCalls() };
    const parameters: Record<string, string> | undefined = parameter === 'connection_id' ? { connection_id: connectionId }
      : parameter === 'path' ? { path: rawPath.slice('/finch/'.length) } : parameter === 'id' ? { id: 'x' } : undefined;
    const event = eventFor(routeKey, method, rawPath.replace('{id}', connectionId), parameters);
    const result = await handlers[fn](event, context);
    expect({ status: result.statusCode, body: parsed(result.body) })
      .toEqual({ status: 404, body: { error: { code: 'not_found', message: 'No such route.', request_id: event.requestContext.requestId } } });
    expect(JSON.stringify(await scanTable(h))).toBe(before.items);
    expect(finchCalls()).toBe(before.finch);
  });
});

describe('CUSTOMER_ID_CLAIM names the customer claim on every JWT route, bound once per container', () => {
  test.each(['GET /connections', 'GET /directory'])('%s: the configured claim is read; the default name alone is refused', async (route) => {
    const configured = await h.invoke(route, { claims: claims('acme') });
    expect(configured.statusCode).toBe(200);
    const defaultName = await h.invoke(route, { claims: { customer_id: 'acme' } });
    expect(defaultName.statusCode).toBe(403);
    expect(defaultName.json.error.message).toContain(CLAIM);
  });

  test('POST /connect/sessions/reauthenticate (a container of its own): the configured claim is read; the default name alone is refused', async () => {
    const body = { connection_id: connectionId, return_to: `${RETURN_ORIGIN}/` };
    expect((await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims('acme'), body })).statusCode).toBe(201);
    const defaultName = await h.invoke('POST /connect/sessions/reauthenticate', { claims: { customer_id: 'acme' }, body });
    expect(defaultName.statusCode).toBe(403);
    expect(defaultName.json.error.message).toContain(CLAIM);
  });

  test('the connection made with the configured claim is the caller\'s', async () => {
    const listed = await h.invoke('GET /connections', { claims: claims('acme') });
    expect(listed.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([connectionId]);
  });
});
