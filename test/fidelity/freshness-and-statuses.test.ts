// What the emulator answers for "reads that outlast the gateway" (issue 17), through the official
// SDK: Finch's freshness headers on data answers ("Headers"), the 202 of an assisted connection
// before its data is ready ("Handling API Responses", 202 Response Codes), and /introspect reporting
// statuses Finch documents that the SDK's ConnectionStatusType misses (`disconnected`, its jobs'
// `reauth_error`) through the connection control's `reported_status`, everywhere it reports a status.
import { REDIRECT_URI, authorize, connect, control, newCustomer, startFidelity, type Fidelity } from './support.js';

const DOCS = {
  headers: 'https://developer.tryfinch.com/api-reference/development-guides/Headers',
  handlingResponses: 'https://developer.tryfinch.com/api-reference/development-guides/Handling-API-Responses',
  introspect: 'https://developer.tryfinch.com/api-reference/management/introspect',
} as const;

let f: Fidelity;
beforeAll(async () => { f = await startFidelity({ autoEvents: false }); });
afterAll(async () => { await f?.emulator.close(); });

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe(`freshness headers (${DOCS.headers})`, () => {
  test('every data 200 says when the data was retrieved and how Finch\'s last update attempt ended', async () => {
    const { token } = await connect(f);
    const client = f.finch.withAccessToken(token);
    for (const call of [client.hris.company.retrieve().withResponse(), client.hris.directory.list().withResponse()]) {
      const { response } = await call;
      expect(response.status).toBe(200);
      expect(response.headers.get('finch-data-retrieved')).toMatch(ISO);
      expect(response.headers.get('finch-last-attempted-update-date')).toMatch(ISO);
      expect(['success', 'error', 'partial_error']).toContain(response.headers.get('finch-last-attempted-update-result'));
    }
  });
});

describe(`an assisted connection before its data is ready (${DOCS.handlingResponses})`, () => {
  test('answers 202 with Finch\'s accepted body, and data once Finch has it', async () => {
    const customer_id = newCustomer('assisted');
    const session = await f.finch.connect.sessions.new({ customer_id, customer_name: 'Assisted Inc', products: ['company', 'directory'], redirect_uri: REDIRECT_URI, manual: true });
    const grant = await f.finch.accessTokens.create({ code: await authorize(session.connect_url), redirect_uri: REDIRECT_URI });
    const client = f.finch.withAccessToken(grant.access_token);
    expect((await client.account.introspect()).manual).toBe(true);
    const { data, response } = await client.hris.company.retrieve().withResponse();
    expect(response.status).toBe(202);
    expect(data).toMatchObject({ code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', message: expect.any(String) });

    await control(f.emulator, 'POST', `/_emulator/connections/${grant.connection_id}`, { status: 'connected' });
    expect((await client.hris.company.retrieve().withResponse()).response.status).toBe(200);
  });
});

describe(`statuses the SDK's union misses, reported by /introspect (${DOCS.introspect})`, () => {
  test.each(['disconnected', 'reauth_error', 'a_status_nobody_documents'])('%s: overall, on the authentication method, while the data routes keep the real status', async (reported) => {
    const { token, connection_id } = await connect(f);
    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}`, { status: 'connected', reported_status: reported });
    const client = f.finch.withAccessToken(token);
    const found = await client.account.introspect();
    expect(found.connection_status.status as string).toBe(reported);
    expect(found.authentication_methods?.map((method) => method.connection_status?.status as string)).toEqual([reported]);
    expect((await client.hris.company.retrieve().withResponse()).response.status).toBe(200);

    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}`, { status: 'connected', reported_status: null });
    expect((await client.account.introspect()).connection_status.status).toBe('connected');
  });

  test('a multi-entity connection reports it on each entity too', async () => {
    const { token, connection_id } = await connect(f);
    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}/data`, { entities: 2 });
    await control(f.emulator, 'POST', `/_emulator/connections/${connection_id}`, { status: 'connected', reported_status: 'disconnected' });
    const found = await f.finch.withAccessToken(token).account.introspect();
    expect(found.entities?.map((entity) => entity.status)).toEqual(['disconnected', 'disconnected']);
  });

  test('the control refuses a value that is no snake_case word', async () => {
    const { connection_id } = await connect(f);
    const res = await fetch(`${f.emulator.url}/_emulator/connections/${connection_id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'connected', reported_status: 'Not A Word' }),
    });
    expect(res.status).toBe(400);
  });
});
