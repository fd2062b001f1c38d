// connect.sessions.new and connect.sessions.reauthenticate against the emulator, checked against
// the SDK's types and Finch's pages: "Create a new connect session" and "… for reauthentication"
// (201, the body, the limits), "Manage connections" (a customer id with a live connection is
// refused) and "Disconnect Tokens" (what makes a connection the same one or another).
import Finch, { BadRequestError, ConflictError, NotFoundError } from '@tryfinch/finch-api';
import {
  type Covers, DOCS, type Fidelity, REDIRECT_URI, type RequiredKeys, authorize, connect, control, newCustomer, rejection,
  shapeProblems, startFidelity,
} from './support.js';

type SessionNewResponse = Finch.Connect.SessionNewResponse;
type SessionReauthenticateResponse = Finch.Connect.SessionReauthenticateResponse;

// Compile-time: the shape names every required field of the SDK's types (an SDK that adds one fails here).
const SESSION_SHAPE = { connect_url: 'string', session_id: 'string' } as const satisfies Record<RequiredKeys<SessionNewResponse>, 'string'>;
const covered: [Covers<RequiredKeys<SessionNewResponse>, keyof typeof SESSION_SHAPE>, Covers<RequiredKeys<SessionReauthenticateResponse>, keyof typeof SESSION_SHAPE>] = [true, true];

let f: Fidelity;
beforeAll(async () => { f = await startFidelity({ autoEvents: false }); });
afterAll(async () => { await f?.emulator.close(); });
afterEach(async () => { await control(f.emulator, 'DELETE', '/_emulator/faults'); });

const newSession = (customer_id: string, extra: Partial<Finch.Connect.SessionNewParams> = {}) =>
  f.finch.connect.sessions.new({ customer_id, customer_name: `${customer_id} Inc`, products: ['company', 'directory'], redirect_uri: REDIRECT_URI, ...extra });

describe(`connect.sessions.new (${DOCS.newSession})`, () => {
  test('answers 201 with the SDK\'s SessionNewResponse: session_id and connect_url', async () => {
    expect(covered).toEqual([true, true]);
    const { data, response } = await newSession(newCustomer()).withResponse();
    expect(response.status).toBe(201);
    expect(shapeProblems(data, SESSION_SHAPE)).toEqual([]);
    expect(new URL(data.connect_url).searchParams.get('session')).toBe(data.session_id);
  });

  test('customer_id and customer_name take 1 to 255 characters ("Required string length: 1 - 255")', async () => {
    const longest = 'c'.repeat(255);
    await expect(f.finch.connect.sessions.new({ customer_id: longest, customer_name: 'n'.repeat(255), products: ['company'] })).resolves.toHaveProperty('session_id');
    for (const [customer_id, customer_name] of [['c'.repeat(256), 'Acme'], ['', 'Acme'], [newCustomer(), 'n'.repeat(256)], [newCustomer(), '']]) {
      const error = await rejection(f.finch.connect.sessions.new({ customer_id, customer_name, products: ['company'] }));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toMatchObject({ code: 400, name: 'bad_request', finch_code: 'invalid_request' });
    }
  });

  test('a sandbox: "finch" session makes a connection of connection_type finch; others are provider', async () => {
    const finchData = await connect(f, { sandbox: 'finch' });
    const provider = await connect(f, { sandbox: 'provider' });
    expect([finchData.grant.connection_type, provider.grant.connection_type]).toEqual(['finch', 'provider']);
    expect((await f.finch.withOptions({ accessToken: finchData.token }).account.introspect()).connection_type).toBe('finch');
  });
});

describe(`a customer id with a live connection is refused (${DOCS.manageConnections})`, () => {
  // Finch publishes no body for this refusal: the default is the emulator's guess, and a fault
  // answers the other plausible shapes so the backend can be tried against each.
  test('by default: 400 bad_request, finch_code connection_already_exists, context.connection_id', async () => {
    const { customer_id, connection_id } = await connect(f);
    const error = await rejection(newSession(customer_id));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.error).toEqual({ code: 400, name: 'bad_request', finch_code: 'connection_already_exists', message: expect.any(String), context: { connection_id } });
  });

  test.each([
    ['without context', { context: false }, BadRequestError, { code: 400, name: 'bad_request', finch_code: 'connection_already_exists' }],
    ['with another finch_code', { finch_code: 'customer_already_connected' }, BadRequestError, { code: 400, name: 'bad_request', finch_code: 'customer_already_connected', context: 'id' }],
    ['with no finch_code', { finch_code: null, context: false }, BadRequestError, { code: 400, name: 'bad_request' }],
    ['as a 409', { status: 409 }, ConflictError, { code: 409, name: 'conflict_error', finch_code: 'connection_already_exists', context: 'id' }],
  ] as const)('a fault answers it %s', async (_variant, shape, errorClass, expected) => {
    const { customer_id, connection_id } = await connect(f);
    await control(f.emulator, 'POST', '/_emulator/faults', { method: 'POST', path: '/connect/sessions', error: 'connection_already_exists', ...shape });
    const error = await rejection(newSession(customer_id));
    expect(error).toBeInstanceOf(errorClass);
    const { context, ...rest } = expected as Record<string, unknown>;
    expect(error.error).toEqual({ ...rest, message: expect.any(String), ...(context ? { context: { connection_id } } : {}) });
  });
});

describe(`connect.sessions.reauthenticate (${DOCS.reauthSession})`, () => {
  test('answers 201 with the SDK\'s SessionReauthenticateResponse; the new token is for the same connection', async () => {
    const { connection_id, token } = await connect(f);
    const { data, response } = await f.finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI }).withResponse();
    expect(response.status).toBe(201);
    expect(shapeProblems(data, SESSION_SHAPE)).toEqual([]);
    const grant = await f.finch.accessTokens.create({ code: await authorize(data.connect_url), redirect_uri: REDIRECT_URI });
    expect(grant.connection_id).toBe(connection_id);
    expect(grant.access_token).not.toBe(token);
  });

  test('an unknown connection is 404 not_found_error', async () => {
    const error = await rejection(f.finch.connect.sessions.reauthenticate({ connection_id: '00000000-0000-4000-8000-000000000000' }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ code: 404, name: 'not_found_error' });
  });
});

describe(`what makes a connection the same one (${DOCS.disconnectTokens})`, () => {
  // The hosted page's login is the employer's credentials, `user@company`: the company is the
  // employer at the provider, whoever's session it is.
  test('the same company, provider and credentials: the same connection and a new token', async () => {
    const company = newCustomer('initech');
    const first = await connect(f, { login: `admin@${company}` });
    const again = await connect(f, { login: `admin@${company}` });
    expect(again.connection_id).toBe(first.connection_id);
    expect(again.token).not.toBe(first.token);
    // Both tokens stay valid: one connection, two tokens.
    const state = f.emulator.state().connections.find((connection) => connection.connection_id === first.connection_id);
    expect(state?.tokens).toEqual([first.token, again.token]);
  });

  test('other credentials for the same company and provider: another connection', async () => {
    const company = newCustomer('initech');
    const first = await connect(f, { login: `admin@${company}` });
    const other = await connect(f, { login: `payroll@${company}` });
    expect(other.connection_id).not.toBe(first.connection_id);
    expect(other.grant.company_id).toBe(first.grant.company_id);
  });

  test('other credentials through the reauthentication link: the same connection', async () => {
    const company = newCustomer('initech');
    const first = await connect(f, { login: `admin@${company}` });
    const session = await f.finch.connect.sessions.reauthenticate({ connection_id: first.connection_id, redirect_uri: REDIRECT_URI });
    const grant = await f.finch.accessTokens.create({ code: await authorize(session.connect_url, { login: `payroll@${company}` }), redirect_uri: REDIRECT_URI });
    expect(grant.connection_id).toBe(first.connection_id);
  });

  test('the same company and credentials on another provider: another connection', async () => {
    const company = newCustomer('initech');
    const gusto = await connect(f, { login: `admin@${company}`, provider_id: 'gusto' });
    const rippling = await connect(f, { login: `admin@${company}`, provider_id: 'rippling' });
    expect(rippling.connection_id).not.toBe(gusto.connection_id);
    expect(rippling.grant.company_id).toBe(gusto.grant.company_id);
  });

  test('by default the login is the customer\'s own: its connections never meet another customer\'s', async () => {
    const a = await connect(f);
    const b = await connect(f);
    expect(b.connection_id).not.toBe(a.connection_id);
    expect(b.grant.company_id).not.toBe(a.grant.company_id);
  });
});
