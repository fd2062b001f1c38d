// accessTokens.create, account.introspect and account.disconnect (what the backend calls with a
// code or a token), and the sandbox's connection status control, checked against the SDK's types
// and Finch's API reference ("Create Access Token", "Introspect") and "Disconnect Tokens".
import Finch, { AuthenticationError, BadRequestError } from '@tryfinch/finch-api';
import {
  type Covers, DOCS, type Fidelity, REDIRECT_URI, type RequiredKeys, authorize, connect, newCustomer, rejection, shapeProblems, startFidelity,
} from './support.js';

type Grant = Finch.CreateAccessTokenResponse;
type Introspection = Finch.Introspection;

const CLIENT_TYPES = ['development', 'production', 'sandbox'] as const satisfies readonly Grant['client_type'][];
const CONNECTION_TYPES = ['finch', 'provider'] as const satisfies readonly Grant['connection_type'][];
const STATUSES = ['pending', 'processing', 'connected', 'error_no_account_setup', 'error_permissions', 'reauth'] as const satisfies readonly Introspection['connection_status']['status'][];
const AUTH_TYPES = ['assisted', 'credential', 'api_token', 'api_credential', 'oauth'] as const satisfies readonly Finch.Account.Introspection.AuthenticationMethod['type'][];

const GRANT_SHAPE = {
  access_token: 'string', client_type: CLIENT_TYPES, connection_id: 'string', connection_type: CONNECTION_TYPES,
  entity_ids: 'array', products: 'array', provider_id: 'string', token_type: 'string',
} as const satisfies Record<RequiredKeys<Grant>, unknown>;
const INTROSPECTION_SHAPE = {
  id: 'string', client_id: 'string', client_type: CLIENT_TYPES, connection_id: 'string', connection_status: 'object',
  connection_type: CONNECTION_TYPES, products: 'array', provider_id: 'string',
} as const satisfies Record<RequiredKeys<Introspection>, unknown>;

const ACCOUNT_UPDATE_SHAPE = {
  account_id: 'string', authentication_type: ['api_token', 'assisted', 'credential', 'oauth'], company_id: 'string',
  connection_id: 'string', entity_id: 'string', products: 'array', provider_id: 'string',
} as const satisfies Record<RequiredKeys<Finch.Sandbox.Connections.AccountUpdateResponse>, unknown>;

// Compile-time: each list is every value (or required key) of the SDK's type, no more, no less.
const covered: Array<true> = [
  true satisfies Covers<Grant['client_type'], (typeof CLIENT_TYPES)[number]>,
  true satisfies Covers<Grant['connection_type'], (typeof CONNECTION_TYPES)[number]>,
  true satisfies Covers<Introspection['connection_status']['status'], (typeof STATUSES)[number]>,
  true satisfies Covers<Finch.Account.Introspection.AuthenticationMethod['type'], (typeof AUTH_TYPES)[number]>,
  true satisfies Covers<RequiredKeys<Grant>, keyof typeof GRANT_SHAPE>,
  true satisfies Covers<RequiredKeys<Introspection>, keyof typeof INTROSPECTION_SHAPE>,
  true satisfies Covers<RequiredKeys<Finch.Sandbox.Connections.AccountUpdateResponse>, keyof typeof ACCOUNT_UPDATE_SHAPE>,
];

let f: Fidelity;
beforeAll(async () => { f = await startFidelity({ autoEvents: false }); });
afterAll(async () => { await f?.emulator.close(); });

describe(`accessTokens.create (${DOCS.createAccessToken})`, () => {
  test('answers the SDK\'s CreateAccessTokenResponse: every required field, client_type and connection_type among their values', async () => {
    expect(covered.every(Boolean)).toBe(true);
    const session = await f.finch.connect.sessions.new({ customer_id: newCustomer(), customer_name: 'Acme', products: ['company'], redirect_uri: REDIRECT_URI });
    const code = await authorize(session.connect_url);
    const { data, response } = await f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI }).withResponse();
    expect(response.status).toBe(200);
    expect(shapeProblems(data, GRANT_SHAPE)).toEqual([]);
    expect(data).toMatchObject({ token_type: 'bearer', products: ['company'], entity_ids: [expect.any(String)] });
  });

  test(`a spent code is 400 invalid_grant_error and wrong client credentials 401 invalid_client_error (${DOCS.errorTypes})`, async () => {
    const session = await f.finch.connect.sessions.new({ customer_id: newCustomer(), customer_name: 'Acme', products: ['company'], redirect_uri: REDIRECT_URI });
    const code = await authorize(session.connect_url);
    await f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
    const spent = await rejection(f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI }));
    expect(spent).toBeInstanceOf(BadRequestError);
    expect(spent.error).toMatchObject({ code: 400, name: 'invalid_grant_error' });
    const wrong = await rejection(f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI, client_secret: 'not-it' }));
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect(wrong.error).toMatchObject({ code: 401, name: 'invalid_client_error' });
  });
});

describe(`account.introspect (${DOCS.introspect})`, () => {
  test('answers the SDK\'s Introspection in every status: required fields, statuses and authentication types among their values', async () => {
    const { token, connection_id } = await connect(f);
    const client = f.finch.withOptions({ accessToken: token });
    for (const status of STATUSES) {
      await client.sandbox.connections.accounts.update({ connection_status: status });
      const { data, response } = await client.account.introspect().withResponse();
      expect(response.status).toBe(200);
      expect(shapeProblems(data, INTROSPECTION_SHAPE)).toEqual([]);
      expect(shapeProblems(data.connection_status, { status: STATUSES })).toEqual([]);
      expect(data.connection_status.status).toBe(status);
      for (const method of data.authentication_methods ?? []) expect(shapeProblems(method, { type: AUTH_TYPES })).toEqual([]);
      expect(data.connection_id).toBe(connection_id);
    }
  });

  test(`a missing token is 401 unauthorized_request_error, an unknown one 401 invalid_token_error (${DOCS.errorTypes})`, async () => {
    // The SDK always sends a token it has: ask without one directly.
    const missing = await fetch(`${f.emulator.url}/introspect`, { headers: { 'finch-api-version': '2020-09-17' } });
    expect({ status: missing.status, body: await missing.json() }).toMatchObject({ status: 401, body: { code: 401, name: 'unauthorized_request_error' } });
    const unknown = await rejection(f.finch.withOptions({ accessToken: 'not-a-token' }).account.introspect());
    expect(unknown).toBeInstanceOf(AuthenticationError);
    expect(unknown.error).toMatchObject({ code: 401, name: 'invalid_token_error' });
  });
});

describe(`account.disconnect (${DOCS.disconnectTokens})`, () => {
  test('answers the SDK\'s DisconnectResponse {status: "success"} and revokes every token of the connection', async () => {
    const { token, connection_id } = await connect(f);
    const session = await f.finch.connect.sessions.reauthenticate({ connection_id, redirect_uri: REDIRECT_URI });
    const second = await f.finch.accessTokens.create({ code: await authorize(session.connect_url), redirect_uri: REDIRECT_URI });
    const answer: Finch.DisconnectResponse = await f.finch.withOptions({ accessToken: token }).account.disconnect();
    expect(answer).toEqual({ status: 'success' });
    for (const revoked of [token, second.access_token]) {
      const error = await rejection(f.finch.withOptions({ accessToken: revoked }).account.introspect());
      expect(error.error).toMatchObject({ code: 401, name: 'invalid_token_error' });
    }
  });
});

describe('sandbox.connections.accounts.update (the SDK\'s AccountUpdateResponse)', () => {
  test('sets the status and answers the connection with its own entity_id, not the company\'s', async () => {
    const { token, grant } = await connect(f);
    const updated = await f.finch.withOptions({ accessToken: token }).sandbox.connections.accounts.update({ connection_status: 'reauth' });
    expect(shapeProblems(updated, ACCOUNT_UPDATE_SHAPE)).toEqual([]);
    expect(updated.entity_id).toBe(grant.entity_ids[0]);
    expect(updated.entity_id).not.toBe(updated.company_id);
  });
});
