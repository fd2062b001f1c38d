// The Finch emulator, driven the way the backend drives Finch: through the official SDK pointed
// at it with baseURL, and through its hosted page the way a browser (or the conformance check)
// walks it. Every case asserts on real values: statuses, bodies, the emulator's state.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import Finch, {
  APIConnectionError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError,
  PermissionDeniedError, RateLimitError, type APIError,
} from '@tryfinch/finch-api';
import { signWebhook, startFinchEmulator, type RunningEmulator } from '#local/finch-emulator/index.js';

const CLIENT_ID = 'emu-client-id';
const CLIENT_SECRET = 'emu-client-secret';
const WEBHOOK_SECRET = Buffer.from('emulator webhook secret, 32 byte').toString('base64');
const REDIRECT_URI = 'https://app.example/connect/callback';
const PRODUCTS = ['company', 'directory', 'individual', 'employment'] as const;

// The emulator's clock: tests move it to expire codes; it starts (and is put back) at real time.
let clockOffsetMs = 0;
const now = () => Date.now() + clockOffsetMs;

let emu: RunningEmulator;
let finch: Finch;

// A webhook receiver that records what it got and answers `receiverStatus`.
let receiver: Server;
let receiverUrl: string;
let receiverStatus = 200;
const received: Array<{ body: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(receiverStatus).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/finch`;

  // The events Finch sends by itself (after a connection, a sandbox status) are test/fidelity's:
  // here the receiver gets only what a test sends.
  emu = await startFinchEmulator({
    port: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiverUrl, now, autoEvents: false,
  });
  finch = new Finch({ clientID: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: emu.url, maxRetries: 0, accessToken: null, webhookSecret: null });
});

afterAll(async () => {
  await emu?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

afterEach(async () => {
  clockOffsetMs = 0;
  await fetch(`${emu.url}/_emulator/faults`, { method: 'DELETE' });
});

// ---- helpers ----

let customerCounter = 0;
const newCustomer = (name = 'acme') => `${name}-${++customerCounter}-${process.pid}`;

const newSession = (customer_id: string, extra: Partial<Parameters<Finch['connect']['sessions']['new']>[0]> = {}) =>
  finch.connect.sessions.new({ customer_id, customer_name: `${customer_id} Inc`, products: [...PRODUCTS], redirect_uri: REDIRECT_URI, ...extra });

interface HostedForm { action: string; inputs: Record<string, string>; providers: string[]; html: string; status: number }

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
const unescapeHtml = (text: string) =>
  text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

async function openHostedPage(connectUrl: string): Promise<HostedForm> {
  const response = await fetch(connectUrl);
  const html = await response.text();
  const form = /<form\b[^>]*>/.exec(html)?.[0] ?? '';
  const inputs: Record<string, string> = {};
  for (const [tag] of html.matchAll(/<input\b[^>]*>/g)) inputs[attr(tag, 'name') as string] = unescapeHtml(attr(tag, 'value') ?? '');
  const select = /<select name="provider_id">([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
  const providers = [...select.matchAll(/<option value="([^"]*)"/g)].map((match) => match[1]);
  return { action: attr(form, 'action') ?? '', inputs, providers, html, status: response.status };
}

/** Submits the hosted page's form as the browser would, without following the redirect. */
async function submitHostedPage(connectUrl: string, fields: Record<string, string> = {}) {
  const page = await openHostedPage(connectUrl);
  expect(page.status).toBe(200);
  const response = await fetch(new URL(page.action, connectUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...page.inputs, provider_id: page.providers[0], ...fields }).toString(),
    redirect: 'manual',
  });
  return response;
}

/** Session → hosted page → code (redirect flow). */
async function authorizeCode(connectUrl: string, state = 'state-123', fields: Record<string, string> = {}) {
  const response = await submitHostedPage(`${connectUrl}&state=${encodeURIComponent(state)}`, fields);
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location') as string);
  return { location, code: location.searchParams.get('code') as string };
}

/** A fully connected customer: its connection id and access token. */
async function connectCustomer(customer_id = newCustomer(), extra: Parameters<typeof newSession>[1] = {}) {
  const session = await newSession(customer_id, extra);
  const { code } = await authorizeCode(session.connect_url);
  const grant = await finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
  return { customer_id, session, grant, token: grant.access_token, connection_id: grant.connection_id };
}

const state = async () => (await fetch(`${emu.url}/_emulator/state`)).json() as Promise<ReturnType<RunningEmulator['state']>>;
const connectionInState = async (connection_id: string) => (await state()).connections.find((item) => item.connection_id === connection_id);

async function control(method: string, path: string, body?: unknown) {
  const response = await fetch(`${emu.url}${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() as Record<string, any> };
}

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    return error as APIError;
  }
  throw new Error('expected the call to fail');
}

const errorBody = (error: APIError) => error.error as { code: number; name: string; message: string; finch_code?: string; context?: Record<string, unknown> };

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const VERSION = { 'Finch-API-Version': '2020-09-17' };

// ---- group 1: connect, exchange, introspect ----

describe('POST /connect/sessions', () => {
  test('answers a session whose connect_url is the emulator hosted page', async () => {
    const customer = newCustomer();
    const session = await newSession(customer);
    expect(session.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.connect_url).toBe(`${emu.url}/connect?session=${session.session_id}`);

    const page = await openHostedPage(`${session.connect_url}&state=abc`);
    expect(page.status).toBe(200);
    expect(page.action).toBe('/connect/authorize');
    expect(page.html).toMatch(/<form method="post" action="\/connect\/authorize">/);
    expect(page.inputs).toEqual({ session_id: session.session_id, state: 'abc', login: `admin@${customer}` });
    expect(page.providers).toEqual(['gusto', 'adp_run', 'bamboo_hr', 'justworks', 'paychex_flex', 'rippling']);
    expect(page.html).toMatch(/<button type="submit" id="connect">/);
  });

  test('answers the same session_id while the customer has a pending session, another one for another customer', async () => {
    const customer = newCustomer();
    const first = await newSession(customer);
    const again = await newSession(customer, { redirect_uri: 'https://app.example/other-callback' });
    const other = await newSession(newCustomer());
    expect(again.session_id).toBe(first.session_id);
    expect(other.session_id).not.toBe(first.session_id);

    // The refresh took the new redirect_uri.
    const { location } = await authorizeCode(again.connect_url);
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example/other-callback');
  });

  test.each([
    ['customer_id is missing', { customer_id: undefined }, 'customer_id is required.'],
    ['customer_name is missing', { customer_name: undefined }, 'customer_name is required.'],
    ['products is missing', { products: undefined }, 'products is required.'],
    ['a product is unknown', { products: ['company', 'payroll'] }, 'products.1 is not a Finch product'],
    ['minutes_to_expire is 0', { minutes_to_expire: 0 }, 'minutes_to_expire must be an integer from 1 to 129600.'],
    ['redirect_uri is relative', { redirect_uri: '/callback' }, 'redirect_uri must be an absolute URL.'],
    ['sandbox is unknown', { sandbox: 'fake' }, 'sandbox must be one of finch, provider.'],
    ['a field is unknown', { customer: 'x' }, 'Unknown fields: customer.'],
    ['integration has no provider', { integration: { auth_method: 'oauth' } }, 'integration.provider must be a Finch provider id.'],
    ['integration.auth_method is unknown', { integration: { provider: 'gusto', auth_method: 'magic' } }, 'integration.auth_method must be one of'],
  ])('refuses a body where %s with Finch\'s 400 invalid_request', async (_case, change, message) => {
    const body = { customer_id: newCustomer(), customer_name: 'Acme', products: ['company'], ...change } as never;
    const error = await rejection(finch.connect.sessions.new(body));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(errorBody(error)).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
    expect(errorBody(error).message).toContain(message);
  });

  test('refuses a new session for a customer with a live connection: 400 connection_already_exists naming it', async () => {
    const { customer_id, connection_id } = await connectCustomer();
    const error = await rejection(newSession(customer_id, { integration: { provider: 'rippling' } }));
    expect(error.status).toBe(400);
    expect(errorBody(error)).toEqual({
      code: 400, name: 'bad_request', finch_code: 'connection_already_exists',
      message: expect.any(String), context: { connection_id },
    });
  });

  test('refuses wrong client credentials with 401 invalid_client_error', async () => {
    const wrong = new Finch({ clientID: CLIENT_ID, clientSecret: 'not-the-secret', baseURL: emu.url, maxRetries: 0 });
    const error = await rejection(wrong.connect.sessions.new({ customer_id: newCustomer(), customer_name: 'Acme', products: ['company'] }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(errorBody(error)).toMatchObject({ code: 401, name: 'invalid_client_error' });

    const none = await fetch(`${emu.url}/connect/sessions`, { method: 'POST', headers: VERSION, body: '{}' });
    expect(none.status).toBe(401);
  });

  test('requires the Finch-API-Version header', async () => {
    const body = JSON.stringify({ customer_id: newCustomer(), customer_name: 'Acme', products: ['company'] });
    const missing = await fetch(`${emu.url}/connect/sessions`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request', message: expect.stringContaining('Finch-API-Version') });

    const other = await fetch(`${emu.url}/connect/sessions`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', 'Finch-API-Version': '2031-01-01' }, body,
    });
    expect(other.status).toBe(400);
    const accepted = await fetch(`${emu.url}/connect/sessions`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', ...VERSION }, body });
    expect(accepted.status).toBe(201);
  });
});

describe('request bodies', () => {
  test('malformed JSON is 400 invalid_request, not a crash', async () => {
    const response = await fetch(`${emu.url}/connect/sessions`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', ...VERSION }, body: '{"customer_id":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
    expect(response.headers.get('finch-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('hosted Connect page', () => {
  test('escapes everything it shows', async () => {
    const session = await newSession(newCustomer(), { customer_name: '<script>alert(1)</script> & "Co"' });
    const page = await openHostedPage(`${session.connect_url}&state=${encodeURIComponent('"><img src=x>')}`);
    expect(page.html).not.toContain('<script>alert');
    expect(page.html).not.toContain('<img src=x>');
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;');
    expect(page.inputs.state).toBe('"><img src=x>');
  });

  test('answers 404 for an unknown or expired session', async () => {
    expect((await fetch(`${emu.url}/connect?session=nope`)).status).toBe(404);
    const session = await newSession(newCustomer(), { minutes_to_expire: 1 });
    clockOffsetMs = 61_000;
    const page = await fetch(session.connect_url);
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  test('redirects to redirect_uri with a code and the same state, and keeps redirect_uri\'s own query', async () => {
    const session = await newSession(newCustomer(), { redirect_uri: 'https://app.example/cb?tenant=7' });
    const { location, code } = await authorizeCode(session.connect_url, 'st@te/+=');
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example/cb');
    expect(location.searchParams.get('tenant')).toBe('7');
    expect(location.searchParams.get('state')).toBe('st@te/+=');
    expect(code).toMatch(/^[0-9a-f]{40}$/);
  });

  test('the error outcome redirects with error=access_denied and the state, and the session stays usable', async () => {
    const session = await newSession(newCustomer());
    const response = await submitHostedPage(`${session.connect_url}&state=s1`, { outcome: 'error' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') as string);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('code')).toBeNull();
    expect((await authorizeCode(session.connect_url)).code).toBeTruthy();
  });

  test('a session without redirect_uri is embedded: the code comes back as JSON', async () => {
    const session = await newSession(newCustomer(), { redirect_uri: null });
    const response = await submitHostedPage(`${session.connect_url}&state=embedded-1`);
    expect(response.status).toBe(200);
    const body = await response.json() as { code: string; state: string };
    expect(body).toEqual({ code: expect.stringMatching(/^[0-9a-f]{40}$/), state: 'embedded-1' });
    // The embedded exchange names no redirect_uri.
    const grant = await finch.accessTokens.create({ code: body.code });
    expect(grant.connection_id).toBeTruthy();

    const cancelled = await submitHostedPage(`${(await newSession(newCustomer(), { redirect_uri: null })).connect_url}&state=e2`, { outcome: 'error' });
    expect(await cancelled.json()).toEqual({ error: 'access_denied', error_description: expect.any(String), state: 'e2' });
  });

  test('a completed session cannot be used again', async () => {
    const session = await newSession(newCustomer());
    await authorizeCode(session.connect_url);
    expect((await fetch(session.connect_url)).status).toBe(404);
    const again = await fetch(`${emu.url}/connect/authorize`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session_id: session.session_id, provider_id: 'gusto' }).toString(), redirect: 'manual',
    });
    expect(again.status).toBe(404);
  });

  test('a session for one provider offers only that provider', async () => {
    const session = await newSession(newCustomer(), { integration: { provider: 'bamboo_hr', auth_method: 'credential' } });
    expect((await openHostedPage(session.connect_url)).providers).toEqual(['bamboo_hr']);
    const refused = await submitHostedPage(session.connect_url, { provider_id: 'gusto' });
    expect(refused.status).toBe(400);
  });
});

describe('POST /auth/token', () => {
  test('exchanges a code for a new token with Finch\'s response shape, and records the token', async () => {
    const customer_id = newCustomer();
    const session = await newSession(customer_id);
    const { code } = await authorizeCode(session.connect_url);
    const grant = await finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
    expect(grant).toEqual({
      access_token: expect.stringMatching(/^[0-9a-f-]{36}$/),
      token_type: 'bearer',
      connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      customer_id,
      customer_name: `${customer_id} Inc`,
      account_id: expect.any(String),
      company_id: expect.any(String),
      provider_id: 'gusto',
      products: [...PRODUCTS],
      client_type: 'sandbox',
      connection_type: 'provider',
      entity_ids: [expect.stringMatching(/^[0-9a-f-]{36}$/)],
    });
    // The entity is not the company (a company may have several).
    expect(grant.entity_ids[0]).not.toBe(grant.company_id);
    const stored = await connectionInState(grant.connection_id);
    expect(stored).toMatchObject({ customer_id, provider_id: 'gusto', status: 'connected', tokens: [grant.access_token], disconnected: false });
  });

  test('a code is single-use: the second exchange is 400 invalid_grant_error', async () => {
    const session = await newSession(newCustomer());
    const { code } = await authorizeCode(session.connect_url);
    const first = await finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
    const error = await rejection(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(errorBody(error)).toMatchObject({ code: 400, name: 'invalid_grant_error' });
    expect((await connectionInState(first.connection_id))?.tokens).toEqual([first.access_token]);
  });

  test('a code expires after 10 minutes', async () => {
    const session = await newSession(newCustomer());
    const { code: late } = await authorizeCode(session.connect_url);
    clockOffsetMs = 10 * 60_000;
    const error = await rejection(finch.accessTokens.create({ code: late, redirect_uri: REDIRECT_URI }));
    expect(errorBody(error)).toMatchObject({ code: 400, name: 'invalid_grant_error', message: expect.stringContaining('expired') });

    clockOffsetMs = 0;
    const fresh = await newSession(newCustomer());
    const { code } = await authorizeCode(fresh.connect_url);
    clockOffsetMs = 10 * 60_000 - 1_000;
    await expect(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI })).resolves.toHaveProperty('access_token');
  });

  test('the redirect_uri must be the one the code was sent to', async () => {
    const session = await newSession(newCustomer());
    const { code } = await authorizeCode(session.connect_url);
    const wrong = await rejection(finch.accessTokens.create({ code, redirect_uri: 'https://evil.example/cb' }));
    expect(errorBody(wrong)).toMatchObject({ code: 400, name: 'invalid_grant_error' });
    const missing = await rejection(finch.accessTokens.create({ code }));
    expect(missing.status).toBe(400);
    // A refused attempt does not burn the code.
    await expect(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI })).resolves.toHaveProperty('access_token');
  });

  test('checks client credentials in the body (as the SDK sends them) or in Basic auth', async () => {
    const session = await newSession(newCustomer());
    const { code } = await authorizeCode(session.connect_url);
    const wrong = await rejection(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI, client_secret: 'nope' }));
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect(errorBody(wrong)).toMatchObject({ code: 401, name: 'invalid_client_error' });

    const viaBasic = await fetch(`${emu.url}/auth/token`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/json', ...VERSION },
      body: JSON.stringify({ code, redirect_uri: REDIRECT_URI }),
    });
    expect(viaBasic.status).toBe(200);
    expect(await viaBasic.json()).toHaveProperty('access_token');
  });
});

describe('GET /introspect', () => {
  test('describes the token\'s connection in the SDK\'s Introspection shape', async () => {
    const { customer_id, grant, token } = await connectCustomer(newCustomer(), { customer_email: 'hr@acme.example' });
    const info = await finch.withAccessToken(token).account.introspect();
    expect(info).toMatchObject({
      id: expect.any(String),
      client_id: CLIENT_ID,
      client_type: 'sandbox',
      connection_id: grant.connection_id,
      connection_status: { status: 'connected', last_successful_sync: expect.any(String) },
      connection_type: 'provider',
      products: [...PRODUCTS],
      provider_id: 'gusto',
      account_id: grant.account_id,
      company_id: grant.company_id,
      customer_id,
      customer_name: `${customer_id} Inc`,
      customer_email: 'hr@acme.example',
      authentication_methods: [{ type: 'credential', connection_status: { status: 'connected' }, products: [...PRODUCTS] }],
      manual: false,
      entities: [],
    });
    expect(info.id).not.toBe(token);
  });

  test('answers 200 with status reauth while the connection needs reauthentication', async () => {
    const { connection_id, token } = await connectCustomer();
    expect((await control('POST', `/_emulator/connections/${connection_id}`, { status: 'reauth' })).status).toBe(200);
    const info = await finch.withAccessToken(token).account.introspect();
    expect(info.connection_status).toMatchObject({ status: 'reauth', message: expect.any(String) });
  });

  test('refuses an unknown token with 401 invalid_token_error, a missing one with unauthorized_request_error', async () => {
    const error = await rejection(finch.withAccessToken('00000000-0000-4000-8000-000000000000').account.introspect());
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(errorBody(error)).toMatchObject({ code: 401, name: 'invalid_token_error' });
    const none = await fetch(`${emu.url}/introspect`, { headers: VERSION });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ name: 'unauthorized_request_error' });
  });

  test('requires the Finch-API-Version header with a valid token too', async () => {
    const { token } = await connectCustomer();
    const response = await fetch(`${emu.url}/introspect`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(400);
  });
});

describe('POST /connect/sessions/reauthenticate', () => {
  test('reauthentication keeps the connection_id, issues a second token and sets the status back to connected', async () => {
    const { customer_id, connection_id, token: firstToken } = await connectCustomer(newCustomer(), { integration: { provider: 'justworks' } });
    await control('POST', `/_emulator/connections/${connection_id}`, { status: 'reauth' });

    const session = await finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI });
    expect(session.connect_url).toBe(`${emu.url}/connect?session=${session.session_id}`);
    expect((await openHostedPage(session.connect_url)).providers).toEqual(['justworks']);
    const { code } = await authorizeCode(session.connect_url);
    const grant = await finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });

    expect(grant.connection_id).toBe(connection_id);
    expect(grant.customer_id).toBe(customer_id);
    expect(grant.access_token).not.toBe(firstToken);
    const stored = await connectionInState(connection_id);
    expect(stored).toMatchObject({ status: 'connected', tokens: [firstToken, grant.access_token] });
    expect((await state()).connections.filter((item) => item.customer_id === customer_id)).toHaveLength(1);
    // Finch keeps earlier tokens valid until disconnect.
    expect((await finch.withAccessToken(firstToken).account.introspect()).connection_status.status).toBe('connected');
  });

  test('products of a reauth session replace the connection\'s on exchange', async () => {
    const { connection_id } = await connectCustomer();
    const session = await finch.connect.sessions.reauthenticate({ connection_id, products: ['company'], redirect_uri: REDIRECT_URI });
    const grant = await finch.accessTokens.create({ code: (await authorizeCode(session.connect_url)).code, redirect_uri: REDIRECT_URI });
    expect(grant.products).toEqual(['company']);
  });

  test('an unknown connection is 404', async () => {
    const error = await rejection(finch.connect.sessions.reauthenticate({ connection_id: 'no-such-connection' }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(errorBody(error)).toMatchObject({ code: 404, name: 'not_found_error' });
  });
});

describe('faults', () => {
  test('a status fault answers a Finch-shaped error once, then the route works again', async () => {
    expect((await control('POST', '/_emulator/faults', { method: 'POST', path: '/connect/sessions', status: 500 })).status).toBe(201);
    const error = await rejection(newSession(newCustomer()));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(errorBody(error)).toMatchObject({ code: 500, name: 'server_error' });
    await expect(newSession(newCustomer())).resolves.toHaveProperty('session_id');
  });

  test('times repeats a fault; a 429 sends Retry-After only when the fault says so; a body replaces the error body', async () => {
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/connect/sessions', status: 429, headers: { 'Retry-After': '1' }, times: 2 });
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/connect/sessions', status: 503, body: { code: 503, name: 'server_error', message: 'maintenance' } });
    const first = await rejection(newSession(newCustomer()));
    expect(first).toBeInstanceOf(RateLimitError);
    expect(first.headers?.get('retry-after')).toBe('1');
    expect((await rejection(newSession(newCustomer()))).status).toBe(429);
    expect(errorBody(await rejection(newSession(newCustomer())))).toEqual({ code: 503, name: 'server_error', message: 'maintenance' });
    await expect(newSession(newCustomer())).resolves.toHaveProperty('session_id');
  });

  test('omit_fields drops fields from the real answer: a token response without customer_id', async () => {
    const session = await newSession(newCustomer());
    const { code } = await authorizeCode(session.connect_url);
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/auth/token', omit_fields: ['customer_id', 'customer_name'] });
    const grant = await finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
    expect(grant).not.toHaveProperty('customer_id');
    expect(grant).not.toHaveProperty('customer_name');
    expect((await connectionInState(grant.connection_id))?.tokens).toEqual([grant.access_token]);
  });

  test('after_response with delay_ms issues the token, then times the client out: the code is spent', async () => {
    const customer_id = newCustomer();
    const session = await newSession(customer_id);
    const { code } = await authorizeCode(session.connect_url);
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/auth/token', delay_ms: 3_000, after_response: true });

    const impatient = finch.withOptions({ timeout: 300 });
    const error = await rejection(impatient.accessTokens.create({ code, redirect_uri: REDIRECT_URI }));
    // A timeout (APIConnectionTimeoutError in plain Node; jest's VM realm hides the AbortError's
    // name from the SDK, which then reports the APIConnectionError it extends): no HTTP status.
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error.status).toBeUndefined();

    const connection = (await state()).connections.find((item) => item.customer_id === customer_id);
    expect(connection?.tokens).toHaveLength(1);
    expect(errorBody(await rejection(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI })))).toMatchObject({ name: 'invalid_grant_error' });
    // The token was lost by the client; Finch still counts the connection as live.
    expect(errorBody(await rejection(newSession(customer_id)))).toMatchObject({
      finch_code: 'connection_already_exists', context: { connection_id: connection?.connection_id },
    });
  });

  test('a delay before the work, given up by the client, leaves the code unspent', async () => {
    const session = await newSession(newCustomer());
    const { code } = await authorizeCode(session.connect_url);
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/auth/token', delay_ms: 600 });
    const error = await rejection(finch.withOptions({ timeout: 150 }).accessTokens.create({ code, redirect_uri: REDIRECT_URI }));
    expect(error).toBeInstanceOf(APIConnectionError);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await expect(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI })).resolves.toHaveProperty('access_token');
  });

  test('a status with after_response does the work and still answers the error', async () => {
    const customer_id = newCustomer();
    const session = await newSession(customer_id);
    const { code } = await authorizeCode(session.connect_url);
    await control('POST', '/_emulator/faults', { method: 'POST', path: '/auth/token', status: 502, after_response: true });
    expect((await rejection(finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI }))).status).toBe(502);
    expect((await state()).connections.find((item) => item.customer_id === customer_id)?.tokens).toHaveLength(1);
  });

  test('faults are listed, refused for unknown routes, and cleared by DELETE', async () => {
    const unknown = await control('POST', '/_emulator/faults', { method: 'GET', path: '/employer/payroll', status: 500 });
    expect(unknown.status).toBe(400);
    expect((await control('POST', '/_emulator/faults', { method: 'GET', path: '/introspect' })).status).toBe(400);
    await control('POST', '/_emulator/faults', { method: 'get', path: '/introspect', status: 500, times: 3 });
    expect((await state()).faults).toEqual([{ method: 'GET', path: '/introspect', remaining: 3 }]);
    expect((await control('DELETE', '/_emulator/faults')).status).toBe(200);
    expect((await state()).faults).toEqual([]);
  });
});

describe('call counters and controls', () => {
  test('counts every Finch call per route template, refused ones included, but not the controls', async () => {
    const before = (await state()).calls;
    const count = (calls: Record<string, number>, key: string) => calls[key] ?? 0;
    const { token } = await connectCustomer();
    await rejection(finch.withAccessToken('bogus').account.introspect());
    await finch.withAccessToken(token).account.introspect();
    const after = (await state()).calls;
    expect(count(after, 'POST /connect/sessions') - count(before, 'POST /connect/sessions')).toBe(1);
    expect(count(after, 'GET /connect') - count(before, 'GET /connect')).toBe(1);
    expect(count(after, 'POST /connect/authorize') - count(before, 'POST /connect/authorize')).toBe(1);
    expect(count(after, 'POST /auth/token') - count(before, 'POST /auth/token')).toBe(1);
    expect(count(after, 'GET /introspect') - count(before, 'GET /introspect')).toBe(2);
    expect(Object.keys(after).filter((key) => key.includes('_emulator'))).toEqual([]);
  });

  test('setting an unknown status or connection is refused', async () => {
    const { connection_id } = await connectCustomer();
    expect((await control('POST', `/_emulator/connections/${connection_id}`, { status: 'broken' })).status).toBe(400);
    expect((await control('POST', '/_emulator/connections/nope', { status: 'reauth' })).status).toBe(404);
  });

  test('unknown routes are Finch-shaped 404s', async () => {
    const response = await fetch(`${emu.url}/employer/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 404, name: 'not_found_error' });
  });
});

/** A request with a Host header of our choosing (fetch sets Host from the URL). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: emu.port, method, path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the controls answer only this machine\'s own pages and scripts', () => {
  test('under a foreign Host (a DNS-rebound page) the state and every control are 403 and change nothing', async () => {
    const { connection_id, token } = await connectCustomer();
    const json = { 'content-type': 'application/json' };
    for (const host of ['evil.example', `evil.example:${emu.port}`, `127.0.0.1.evil.example:${emu.port}`, `localhost:${emu.port + 1}`]) {
      const read = await rawRequest('GET', '/_emulator/state', { host });
      expect({ host, status: read.status }).toEqual({ host, status: 403 });
      expect(read.text).not.toContain(token);
      const posts: Array<[string, unknown]> = [
        [`/_emulator/connections/${connection_id}`, { status: 'reauth' }],
        ['/_emulator/faults', { method: 'GET', path: '/introspect', status: 500 }],
        ['/_emulator/reset', {}],
      ];
      for (const [path, body] of posts) {
        expect({ host, path, status: (await rawRequest('POST', path, { host, ...json }, JSON.stringify(body))).status }).toEqual({ host, path, status: 403 });
      }
    }
    const after = await connectionInState(connection_id);
    expect(after).toMatchObject({ status: 'connected' });
    expect((await state()).faults).toEqual([]);
  });

  test('loopback names with the emulator\'s port are served', async () => {
    for (const host of [`127.0.0.1:${emu.port}`, `localhost:${emu.port}`, `LOCALHOST:${emu.port}`]) {
      expect({ host, status: (await rawRequest('GET', '/_emulator/state', { host })).status }).toEqual({ host, status: 200 });
    }
  });

  test('a control post that is not application/json (a cross-site form or text/plain post) is 415 and changes nothing', async () => {
    const { connection_id } = await connectCustomer();
    const sessionsBefore = (await state()).sessions;
    const posts: Array<[string, string]> = [
      [`/_emulator/connections/${connection_id}`, JSON.stringify({ status: 'reauth' })],
      ['/_emulator/faults', JSON.stringify({ method: 'GET', path: '/introspect', status: 500 })],
      ['/_emulator/webhooks', JSON.stringify({ type: 'company.updated', connection_id })],
      ['/_emulator/reset', ''],
    ];
    for (const type of [undefined, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      for (const [path, body] of posts) {
        const headers: Record<string, string> = { host: `127.0.0.1:${emu.port}`, ...(type ? { 'content-type': type } : {}) };
        expect({ type, path, status: (await rawRequest('POST', path, headers, body)).status }).toEqual({ type, path, status: 415 });
      }
    }
    expect(await connectionInState(connection_id)).toMatchObject({ status: 'connected' });
    const after = await state();
    expect(after.faults).toEqual([]);
    expect(after.sessions).toBe(sessionsBefore);
    expect(received.filter((event) => event.body.includes(connection_id))).toEqual([]);
  });

  test('the same control post as application/json (with a charset) is served', async () => {
    const { connection_id } = await connectCustomer();
    const res = await rawRequest('POST', `/_emulator/connections/${connection_id}`,
      { host: `localhost:${emu.port}`, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ status: 'reauth' }));
    expect(res.status).toBe(200);
    expect(await connectionInState(connection_id)).toMatchObject({ status: 'reauth' });
  });
});

// ---- group 2: disconnect, data, status errors, sandbox, webhooks ----

describe('POST /disconnect', () => {
  test('revokes every token of the connection and frees the customer id for a new connection', async () => {
    const { customer_id, connection_id, token } = await connectCustomer();
    const reauth = await finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI });
    const second = await finch.accessTokens.create({ code: (await authorizeCode(reauth.connect_url)).code, redirect_uri: REDIRECT_URI });

    expect(await finch.withAccessToken(token).account.disconnect()).toEqual({ status: 'success' });
    for (const revoked of [token, second.access_token]) {
      const error = await rejection(finch.withAccessToken(revoked).hris.company.retrieve());
      expect(errorBody(error)).toMatchObject({ code: 401, name: 'invalid_token_error' });
    }
    expect(await connectionInState(connection_id)).toMatchObject({ disconnected: true, tokens: [token, second.access_token] });
    expect((await rejection(finch.connect.sessions.reauthenticate({ connection_id }))).status).toBe(404);

    const again = await connectCustomer(customer_id);
    expect(again.connection_id).not.toBe(connection_id);
  });
});

describe('employer data', () => {
  test('GET /employer/company answers a deterministic company named after the customer', async () => {
    const { customer_id, grant, token } = await connectCustomer();
    const company = await finch.withAccessToken(token).hris.company.retrieve();
    expect(company).toMatchObject({
      id: grant.company_id,
      legal_name: `${customer_id} Inc`,
      ein: expect.stringMatching(/^\d{2}-\d{7}$/),
      entity: { type: 'corporation', subtype: 'c_corporation' },
      departments: expect.arrayContaining([{ name: 'Engineering', parent: null }]),
      locations: [expect.objectContaining({ country: 'US', line1: expect.any(String) })],
    });
    expect(await finch.withAccessToken(token).hris.company.retrieve()).toEqual(company);
  });

  test('GET /employer/directory pages its 250 people by limit and offset, and the SDK walks the pages', async () => {
    const { token } = await connectCustomer();
    const client = finch.withAccessToken(token);
    const all = await client.hris.directory.list();
    const count = all.paging.count as number;
    expect(count).toBe(250);
    expect(all.individuals).toHaveLength(count);
    expect(Object.keys(all.individuals[0]).sort()).toEqual(['department', 'first_name', 'id', 'is_active', 'last_name', 'manager', 'middle_name']);
    expect(all.individuals[0]).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), first_name: expect.any(String), last_name: expect.any(String),
      manager: null, department: { name: expect.any(String) }, is_active: true,
    });
    expect(all.individuals[1].manager).toEqual({ id: all.individuals[0].id });

    const page = await client.hris.directory.list({ limit: 2, offset: 1 });
    expect(page.paging).toEqual({ count, offset: 1 });
    expect(page.individuals.map((person) => person.id)).toEqual(all.individuals.slice(1, 3).map((person) => person.id));

    const walked: string[] = [];
    for await (const person of client.hris.directory.list({ limit: 100 })) walked.push(person.id);
    expect(walked).toEqual(all.individuals.map((person) => person.id));
    expect((await rejection(client.hris.directory.list({ limit: -1 } as never))).status).toBe(400);
  });

  test('POST /employer/individual answers each requested person, 404 inside the batch for unknown ones', async () => {
    const { token } = await connectCustomer();
    const client = finch.withAccessToken(token);
    const [first] = (await client.hris.directory.list()).individuals;
    const page = await client.hris.individuals.retrieveMany({ requests: [{ individual_id: first.id }, { individual_id: 'nobody' }] });
    expect(page.responses).toEqual([
      {
        individual_id: first.id, code: 200,
        body: expect.objectContaining({ id: first.id, first_name: first.first_name, last_name: first.last_name, emails: [{ data: expect.stringContaining('@'), type: 'work' }], ssn: null }),
      },
      { individual_id: 'nobody', code: 404, body: expect.objectContaining({ finch_code: 'individual_not_found' }) },
    ]);
  });

  test('two connections of one customer share people under different individual ids', async () => {
    const base = newCustomer('initech');
    const east = await connectCustomer(base);
    const west = await connectCustomer(`${base}~west`);
    const people = async (token: string) => (await finch.withAccessToken(token).hris.directory.list()).individuals;
    const [a, b] = [await people(east.token), await people(west.token)];
    const name = (person: { first_name: string | null; last_name: string | null }) => `${person.first_name} ${person.last_name}`;
    const shared = a.filter((person) => b.some((other) => name(other) === name(person)));
    expect(shared.length).toBeGreaterThanOrEqual(3);
    expect(b.map((person) => person.id)).not.toContain(shared[0].id);
  });

  test('a product the token was not granted is 403', async () => {
    const { token } = await connectCustomer(newCustomer(), { products: ['company'] });
    const error = await rejection(finch.withAccessToken(token).hris.directory.list());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(errorBody(error)).toMatchObject({ code: 403, name: 'insufficient_scope_error' });
  });

  test('while in reauth, data endpoints answer 401 reauthenticate_user and introspect still answers', async () => {
    const { connection_id, token } = await connectCustomer();
    await control('POST', `/_emulator/connections/${connection_id}`, { status: 'reauth' });
    const client = finch.withAccessToken(token);
    for (const call of [client.hris.company.retrieve(), client.hris.directory.list()]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(errorBody(error)).toMatchObject({ code: 401, name: 'authentication_error', finch_code: 'reauthenticate_user' });
    }
    expect((await client.account.introspect()).connection_status.status).toBe('reauth');
  });

  test('Finch\'s sandbox control PUT /sandbox/connections/accounts sets the token holder\'s status', async () => {
    const { connection_id, token } = await connectCustomer();
    const client = finch.withAccessToken(token);
    const updated = await client.sandbox.connections.accounts.update({ connection_status: 'reauth' });
    expect(updated).toMatchObject({ connection_id, provider_id: 'gusto' });
    expect((await connectionInState(connection_id))?.status).toBe('reauth');
    expect((await rejection(client.hris.company.retrieve())).status).toBe(401);
    await client.sandbox.connections.accounts.update({ connection_status: 'error_permissions' });
    expect(errorBody(await rejection(client.hris.company.retrieve()))).toMatchObject({ code: 403, finch_code: 'insufficient_account_permissions' });
  });

  test('an assisted connection is pending and its data answers 202 until Finch finishes it', async () => {
    const { connection_id, token } = await connectCustomer(newCustomer(), { manual: true });
    expect((await connectionInState(connection_id))?.status).toBe('pending');
    const response = await fetch(`${emu.url}/employer/company`, { headers: { authorization: `Bearer ${token}`, ...VERSION } });
    expect(response.status).toBe(202);
    expect((await finch.withAccessToken(token).account.introspect()).authentication_methods?.[0]?.type).toBe('assisted');
  });
});

describe('webhooks', () => {
  test('the signature scheme matches Finch\'s published test vector, and the SDK accepts it', () => {
    const secret = '5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH';
    const id = 'msg_2Lh9KRb0pzN4LePd3XiA4v12Axj';
    const body = '{"company_id":"720be419-0293-4d32-a707-32179b0827ab"}';
    const signature = signWebhook(secret, id, 1676312382, body);
    expect(signature).toBe('v1,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=');

    jest.useFakeTimers({ now: 1676312382 * 1000 + 60_000 });
    try {
      const headers = { 'finch-event-id': id, 'finch-timestamp': '1676312382', 'finch-signature': signature };
      expect(() => finch.webhooks.verifySignature(body, headers, secret)).not.toThrow();
      expect(() => finch.webhooks.verifySignature(body.replace('720b', '720c'), headers, secret)).toThrow(/signatures/);
    } finally {
      jest.useRealTimers();
    }
  });

  test('POST /_emulator/webhooks delivers a signed event that the SDK verifies, and answers the receiver\'s status', async () => {
    const { connection_id, grant } = await connectCustomer();
    received.length = 0;
    receiverStatus = 202;
    const sent = await control('POST', '/_emulator/webhooks', { type: 'directory.updated', connection_id, data: { individual_id: 'abc' } });
    receiverStatus = 200;
    expect(sent).toEqual({ status: 200, json: { delivered: true, status: 202, event_id: expect.stringMatching(/^msg_[0-9A-Za-z]{27}$/) } });

    expect(received).toHaveLength(1);
    const [{ body, headers }] = received;
    expect(headers['finch-event-id']).toBe(sent.json.event_id);
    expect(Math.abs(Number(headers['finch-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(() => finch.webhooks.verifySignature(body, headers as Record<string, string>, WEBHOOK_SECRET)).not.toThrow();
    expect(JSON.parse(body)).toEqual({
      account_id: grant.account_id, company_id: grant.company_id, connection_id, entity_id: grant.entity_ids[0],
      event_type: 'directory.updated', data: { individual_id: 'abc' },
    });
    const other = Buffer.from('another secret entirely, 32 byte').toString('base64');
    expect(() => finch.webhooks.verifySignature(body, headers as Record<string, string>, other)).toThrow();
    expect((await state()).webhooks.at(-1)).toEqual({ event_id: sent.json.event_id, event_type: 'directory.updated', connection_id, status: 202 });
  });

  test('account.updated carries the connection status by default; event_id and timestamp can be replayed or made stale', async () => {
    const { connection_id } = await connectCustomer();
    await control('POST', `/_emulator/connections/${connection_id}`, { status: 'reauth' });
    received.length = 0;
    const stale = Math.floor(Date.now() / 1000) - 3600;
    await control('POST', '/_emulator/webhooks', { type: 'account.updated', connection_id, event_id: 'msg_replayed', timestamp: stale });
    const [{ body, headers }] = received;
    expect(JSON.parse(body).data).toEqual({ status: 'reauth', authentication_method: { type: 'credential' } });
    expect(headers['finch-event-id']).toBe('msg_replayed');
    expect(() => finch.webhooks.verifySignature(body, headers as Record<string, string>, WEBHOOK_SECRET)).toThrow(/too old/);
  });

  test('an unknown connection is 404 and an unreachable receiver is delivered: false', async () => {
    expect((await control('POST', '/_emulator/webhooks', { type: 'company.updated', connection_id: 'nope' })).status).toBe(404);
    const { connection_id } = await connectCustomer();
    const unreachable = await control('POST', '/_emulator/webhooks', { type: 'company.updated', connection_id, url: 'http://127.0.0.1:9/hook' });
    expect(unreachable).toMatchObject({ status: 502, json: { delivered: false } });
  });
});

describe('lifecycle', () => {
  test('reset() clears connections, sessions, counters and faults', async () => {
    const other = await startFinchEmulator({ clientId: 'a', clientSecret: 'b' });
    try {
      const client = new Finch({ clientID: 'a', clientSecret: 'b', baseURL: other.url, maxRetries: 0 });
      await client.connect.sessions.new({ customer_id: 'c', customer_name: 'C', products: ['company'] });
      await fetch(`${other.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/introspect', status: 500 }) });
      expect(other.state()).toMatchObject({ sessions: 1, calls: { 'POST /connect/sessions': 1 }, faults: [expect.anything()] });
      other.reset();
      expect(other.state()).toEqual({ connections: [], sessions: 0, calls: {}, user_agents: [], webhooks: [], faults: [] });
      expect(other.url).toBe(`http://127.0.0.1:${other.port}`);
    } finally {
      await other.close();
    }
  });

  test('close() returns promptly even while a faulted request is delayed', async () => {
    const other = await startFinchEmulator({ clientId: 'a', clientSecret: 'b' });
    await fetch(`${other.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/connect', delay_ms: 60_000 }) });
    const hanging = fetch(`${other.url}/connect?session=x`).catch(() => 'closed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await hanging;
  });
});
