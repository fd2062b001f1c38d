// Company identity (issue 15) through the real handlers, DynamoDB Local and the Finch emulator:
// Finch's `company_id`, `entity_ids` and `connection_type` from the token response (the SDK's
// CreateAccessTokenResponse), `manual` and `connection_status.last_successful_sync` from /introspect
// (the SDK's Introspection), stored on the connection, answered by GET /connections[/{id}] and
// filtered by ?company_id=. Two connections of one customer for one company show the same company_id.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#adapters/table.js';
import { signWebhook } from '#local/finch-emulator/index.js';
import {
  RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, clearEmulatorFaults, emulatorFault, getItem, scanTable, startHarness, type Harness,
} from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });
afterEach(async () => { await clearEmulatorFaults(h); });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const atFinch = (connectionId: string) => h.emulator.state().connections.find((c) => c.connection_id === connectionId)!;
/** What Finch's /introspect says of the connection now, asked with its latest token. */
async function introspectAtFinch(connectionId: string) {
  const res = await fetch(`${h.emulator.url}/introspect`, {
    headers: { authorization: `Bearer ${atFinch(connectionId).tokens.at(-1)}`, 'finch-api-version': '2020-09-17' },
  });
  expect(res.status).toBe(200);
  return await res.json() as { company_id: string; manual: boolean; connection_status: { last_successful_sync: string | null } };
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Connect { entity?: string; provider?: string; login?: string; products?: string[]; beforeCallback?: (finchCustomerId: string) => Promise<void> }

/** A session, the employer at Finch's page, then (after `beforeCallback`) the callback; answers the redirect's parameters. */
async function connect(customer: string, options: Connect = {}) {
  const session = await h.invoke('POST /connect/sessions', {
    claims: claims(customer),
    body: { return_to: `${RETURN_ORIGIN}/`, ...(options.entity ? { entity: options.entity } : {}), ...(options.products ? { products: options.products } : {}) },
  });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url, { provider: options.provider, login: options.login });
  await options.beforeCallback?.(options.entity ? `${customer}~${options.entity}` : customer);
  const back = new URL((await h.invoke('GET /connect/callback', { query: { code: code!, state } })).headers.location).searchParams;
  return { status: back.get('status'), error: back.get('error'), connection_id: back.get('connection_id')! };
}

async function list(customer: string, query: Record<string, string> = {}) {
  const res = await h.invoke('GET /connections', { claims: claims(customer), query });
  return res;
}

describe('the token response\'s identity on the connection (SDK CreateAccessTokenResponse: company_id, entity_ids, connection_type)', () => {
  test('connect: GET /connections and GET /connections/{id} answer Finch\'s company_id, entity_ids and connection_type; introspect\'s fields are null until read', async () => {
    const introspections = () => h.emulator.state().calls['GET /introspect'] ?? 0;
    const before = introspections();
    const { status, connection_id } = await connect('ident-token-co');
    expect(status).toBe('connected');
    // The callback exchanged the code and asked Finch nothing else.
    expect(introspections()).toBe(before);
    const finch = atFinch(connection_id);
    const expected = {
      connection_id, company_id: finch.company_id, entity_ids: [finch.entity_id], connection_type: 'provider',
      // The callback makes its one Finch call (the exchange): /introspect's fields wait for a refresh or webhook.
      manual: null, last_successful_sync: null,
    };
    expect(finch.company_id).toMatch(UUID);
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-token-co') });
    expect(got.statusCode).toBe(200);
    expect(got.json).toMatchObject(expected);
    const listed = await list('ident-token-co');
    expect(listed.json.connections).toEqual([expect.objectContaining(expected)]);
  });

  test('a reauthentication stores the new token\'s entity_ids: every entity of a multi-entity connection', async () => {
    const { connection_id } = await connect('ident-reauth-entities-co');
    await configureEntities(connection_id, 3);
    const session = await h.invoke('POST /connect/sessions/reauthenticate', {
      claims: claims('ident-reauth-entities-co'), body: { connection_id, return_to: `${RETURN_ORIGIN}/` },
    });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-reauth-entities-co') });
    expect(got.json).toMatchObject({ token_version: 2, company_id: atFinch(connection_id).company_id });
    expect(got.json.entity_ids).toHaveLength(3);
    expect(got.json.entity_ids[0]).toBe(atFinch(connection_id).entity_id);
  });

  test.each([
    ['absent', { omit_fields: ['company_id', 'entity_ids', 'connection_type'] }],
    ['of other types than Finch\'s', { set_fields: { company_id: { id: 'x' }, entity_ids: 'not-a-list', connection_type: 'partner' } }],
    ['partly odd', { set_fields: { company_id: 'x'.repeat(500), entity_ids: [42, null, 'c0ffee00-0000-4000-8000-000000000001'], connection_type: 7 } }],
  ])('optional fields %s in the token response do not fail the callback: null/[] are stored', async (_, fault) => {
    const customer = `ident-odd-${Math.random().toString(36).slice(2, 8)}`;
    await emulatorFault(h, { method: 'POST', path: '/auth/token', ...fault });
    const { status, connection_id } = await connect(customer);
    expect(status).toBe('connected');
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
    expect(got.statusCode).toBe(200);
    const entityIds = 'set_fields' in fault && Array.isArray(fault.set_fields.entity_ids) ? ['c0ffee00-0000-4000-8000-000000000001'] : [];
    expect(got.json).toMatchObject({ status: 'connected', company_id: null, entity_ids: entityIds, connection_type: null });
  });
});

describe('one company, two connections of one customer: the same company_id, and ?company_id= finds both', () => {
  test('another provider for the same company (a migration) under another entity shares its company_id; the filter returns both and nothing else', async () => {
    const customer = 'ident-migrate-co';
    const gusto = await connect(customer, { login: 'admin@migrate-employer.example' });
    const adp = await connect(customer, { entity: 'adp', provider: 'adp_run', login: 'admin@migrate-employer.example' });
    const other = await connect(customer, { entity: 'other', login: 'admin@other-employer.example' });
    // The same employer's company at Finch connected by another customer: never in this customer's list.
    const stranger = await connect('ident-stranger-co', { login: 'hr@migrate-employer.example' });
    for (const c of [gusto, adp, other, stranger]) expect(c.status).toBe('connected');

    const all = await list(customer);
    const byId = new Map(all.json.connections.map((c: { connection_id: string }) => [c.connection_id, c]));
    const companyId = atFinch(gusto.connection_id).company_id;
    expect(byId.get(gusto.connection_id)).toMatchObject({ provider_id: 'gusto', company_id: companyId });
    expect(byId.get(adp.connection_id)).toMatchObject({ provider_id: 'adp_run', entity: 'adp', company_id: companyId });
    expect(byId.get(other.connection_id)).toMatchObject({ company_id: atFinch(other.connection_id).company_id });
    expect(atFinch(other.connection_id).company_id).not.toBe(companyId);
    expect(atFinch(stranger.connection_id).company_id).toBe(companyId);

    const filtered = await list(customer, { company_id: companyId });
    expect(filtered.statusCode).toBe(200);
    expect(filtered.json.connections.map((c: { connection_id: string }) => c.connection_id).sort())
      .toEqual([gusto.connection_id, adp.connection_id].sort());
    // With the other filters too.
    const adpOnly = await list(customer, { company_id: companyId, provider_id: 'adp_run' });
    expect(adpOnly.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([adp.connection_id]);
    expect((await list(customer, { company_id: 'c0ffee00-0000-4000-8000-00000000beef' })).json.connections).toEqual([]);
  });

  test.each([
    ['a quote and spaces', 'x\' OR 1=1'],
    ['too long', 'a'.repeat(65)],
    ['empty', ''],
  ])('a company_id that is %s is a 400 that reads and writes nothing', async (_, companyId) => {
    const before = await scanTable(h);
    const res = await list('ident-migrate-co', { company_id: companyId });
    expect(res.statusCode).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_request' } });
    expect(JSON.stringify(res.json)).not.toContain('OR 1=1');
    expect(await scanTable(h)).toEqual(before);
  });
});

describe('introspect\'s fields (SDK Introspection: manual, connection_status.last_successful_sync, company_id)', () => {
  test('a refresh stores manual and last_successful_sync as Finch answers them', async () => {
    const { connection_id } = await connect('ident-refresh-co');
    const refreshed = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-refresh-co'), query: { refresh: 'true' } });
    expect(refreshed.statusCode).toBe(200);
    const finch = await introspectAtFinch(connection_id);
    const expected = { manual: finch.manual, last_successful_sync: finch.connection_status.last_successful_sync, company_id: finch.company_id };
    expect(expected).toEqual({ manual: false, last_successful_sync: expect.stringMatching(/^\d{4}-/), company_id: atFinch(connection_id).company_id });
    expect(refreshed.json).toMatchObject(expected);
    // Stored, not only answered.
    expect(await getItem(h, keys.connection('ident-refresh-co', connection_id))).toMatchObject(expected);
  });

  test('Finch\'s account.updated webhook stores manual and last_successful_sync from /introspect', async () => {
    const { connection_id } = await connect('ident-webhook-co');
    const body = JSON.stringify({ event_type: 'account.updated', connection_id, data: { status: 'connected' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const eventId = `msg_ident_${connection_id.slice(0, 8)}`;
    const res = await h.invoke('POST /webhooks/finch', {
      rawBody: body,
      headers: { 'finch-event-id': eventId, 'finch-timestamp': String(timestamp), 'finch-signature': signWebhook(WEBHOOK_SECRET, eventId, timestamp, body) },
    });
    expect(res.statusCode).toBe(200);
    const finch = await introspectAtFinch(connection_id);
    expect(finch.connection_status.last_successful_sync).toMatch(/^\d{4}-/);
    expect(await getItem(h, keys.connection('ident-webhook-co', connection_id))).toMatchObject({
      manual: false, last_successful_sync: finch.connection_status.last_successful_sync, company_id: finch.company_id,
    });
  });

  test('a connection item written before the identity fields existed reads as null/[] and refreshes', async () => {
    const { connection_id } = await connect('ident-old-co');
    const key = keys.connection('ident-old-co', connection_id);
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: key,
      UpdateExpression: 'REMOVE company_id, entity_ids, connection_type, manual, last_successful_sync',
    }));
    expect(Object.keys((await getItem(h, key))!)).not.toContain('entity_ids');
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-old-co') });
    expect(got.statusCode).toBe(200);
    expect(got.json).toMatchObject({ company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null });
    expect((await list('ident-old-co')).json.connections).toEqual([expect.objectContaining({ connection_id, entity_ids: [] })]);
    const refreshed = await h.invoke(`GET /connections/${connection_id}`, { claims: claims('ident-old-co'), query: { refresh: 'true' } });
    expect(refreshed.json).toMatchObject({ company_id: atFinch(connection_id).company_id, manual: false });
  });
});

async function configureEntities(connectionId: string, entities: number, employeeSize = 6) {
  const res = await fetch(`${h.emulator.url}/_emulator/connections/${connectionId}/data`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entities, employee_size: employeeSize }),
  });
  expect(res.status).toBe(200);
}

describe('GET /directory over a multi-entity connection (SDK DirectoryListParams entity_ids: "exactly one entity ID per request")', () => {
  test('each entity\'s people are read with its entity_ids and listed; nothing is skipped', async () => {
    const customer = 'ident-multi-co';
    const { status, connection_id } = await connect(customer, {
      products: ['company', 'directory', 'individual'],
      // The employer's provider account covers two entities when it connects (the emulator's control,
      // between Finch's page and the callback): the token's entity_ids name both.
      beforeCallback: async (finchCustomerId) => {
        const pending = h.emulator.state().connections.find((c) => c.customer_id === finchCustomerId)!;
        await configureEntities(pending.connection_id, 2, 6);
      },
    });
    expect(status).toBe('connected');
    const stored = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
    expect(stored.json.entity_ids).toHaveLength(2);

    const res = await h.invoke('GET /directory', { claims: claims(customer), query: { limit: '100' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.skipped).toEqual([]);
    // Both entities' people (6 in all, split between them), each row from this connection.
    const sources = res.json.people.flatMap((row: { sources: Array<{ connection_id: string; individual_id: string }> }) => row.sources);
    expect(new Set(sources.map((s: { individual_id: string }) => s.individual_id)).size).toBe(6);
    expect(sources.every((s: { connection_id: string }) => s.connection_id === connection_id)).toBe(true);
  });
});
