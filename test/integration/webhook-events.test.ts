// What POST /webhooks/finch does with each event Finch sends (DOCS.webhooks), through the real
// handler with events signed and delivered by the emulator (retries included): every type of the
// SDK's WebhookEvent union, the initial syncs recorded on the connection, a disconnect made at
// Finch finished here, and an event that comes before the callback stored its connection.
import type Finch from '@tryfinch/finch-api';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#adapters/table.js';
import { RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, clearEmulatorFaults, customerIds, deliverWebhook, getItem, startHarness, type Harness } from '../support/harness.js';
import { type WebhookReceiver, startWebhookReceiver } from '../support/webhook-receiver.js';
import { type Covers, DOCS } from '../fidelity/support.js';

let h: Harness;
let receiver: WebhookReceiver;
/** The handler's answers, by Finch-Event-Id, in the order the attempts came. */
const answers = new Map<string, Array<{ status: number; json: any; headers: Record<string, string> }>>();

const RETRY_DELAY_MS = 300;

beforeAll(async () => {
  h = await startHarness();
  receiver = await startWebhookReceiver(h, (answer, headers) => {
    const id = headers['finch-event-id'];
    answers.set(id, [...(answers.get(id) ?? []), { status: answer.statusCode, json: answer.json, headers: answer.headers }]);
  });
  // Finch's own events (initial syncs, account.updated) only where a test sends them itself.
  h.emulator.configureWebhooks({ url: receiver.url, secret: WEBHOOK_SECRET, autoEvents: false, attempts: 4, baseDelayMs: RETRY_DELAY_MS });
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

afterEach(() => clearEmulatorFaults(h));

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const calls = (key: string) => h.emulator.state().calls[key] ?? 0;
const newCustomer = customerIds();

async function control(path: string, body: unknown) {
  const res = await fetch(`${h.emulator.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as Record<string, any> };
}

/** A session and the employer's login at Finch: the connection exists at Finch; `finish` takes the callback. */
async function authorized(customer: string) {
  const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/`, products: ['company', 'directory', 'payment'] } });
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const connection_id = h.emulator.state().connections.find((c) => c.customer_id === customer)!.connection_id;
  const finish = async () => {
    const back = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    expect(new URL(back.headers.location).searchParams.get('connection_id')).toBe(connection_id);
  };
  return { connection_id, finish };
}

async function connected(name: string) {
  const customer = newCustomer(name);
  const { connection_id, finish } = await authorized(customer);
  await finish();
  return { customer, connection_id };
}

/** Finch sends one event (signed, retried while the handler answers non-2xx); answers the handler's first answer. */
async function send(type: string, connection_id: string, data?: Record<string, unknown>) {
  const sent = await control('/_emulator/webhooks', { type, connection_id, ...(data ? { data } : {}) });
  expect(sent.status).toBe(200);
  const event_id = sent.json.event_id as string;
  return { event_id, first: answers.get(event_id)![0] };
}

async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const connectionItem = (customer: string, connection_id: string) => getItem(h, keys.connection(customer, connection_id));
const eventItem = (event_id: string) => getItem(h, keys.webhookEvent(event_id));

async function auditOf(customer: string, connection_id: string) {
  const out = await h.table.doc.send(new QueryCommand({
    TableName: h.table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.auditPartition(customer, connection_id) },
  }));
  return out.Items ?? [];
}

// ---- Every SDK event type -------------------------------------------------------------------

type SdkEventType = NonNullable<Finch.WebhookEvent['event_type']>;
/** What the backend does with an event about a live connection it owns. */
type Effect = 'status from /introspect' | 'last_synced_at' | 'initial sync: org' | 'initial sync: payroll' | 'nothing (a write, not a sync)';

const EFFECTS: Record<SdkEventType, Effect> = {
  'account.updated': 'status from /introspect',
  'company.updated': 'last_synced_at',
  'directory.created': 'last_synced_at',
  'directory.updated': 'last_synced_at',
  'directory.deleted': 'last_synced_at',
  'employment.created': 'last_synced_at',
  'employment.updated': 'last_synced_at',
  'employment.deleted': 'last_synced_at',
  'individual.created': 'last_synced_at',
  'individual.updated': 'last_synced_at',
  'individual.deleted': 'last_synced_at',
  'payment.created': 'last_synced_at',
  'payment.updated': 'last_synced_at',
  'payment.deleted': 'last_synced_at',
  'pay_statement.created': 'last_synced_at',
  'pay_statement.updated': 'last_synced_at',
  'pay_statement.deleted': 'last_synced_at',
  'job.data_sync_all.completed': 'last_synced_at',
  'job.w4_form_employee_sync.completed': 'last_synced_at',
  'job.initial_data_sync_org.succeeded': 'initial sync: org',
  'job.initial_data_sync_payroll.succeeded': 'initial sync: payroll',
  'job.benefit_create.completed': 'nothing (a write, not a sync)',
  'job.benefit_enroll.completed': 'nothing (a write, not a sync)',
  'job.benefit_register.completed': 'nothing (a write, not a sync)',
  'job.benefit_unenroll.completed': 'nothing (a write, not a sync)',
  'job.benefit_update.completed': 'nothing (a write, not a sync)',
};
// A type the SDK adds fails to compile here until the table says what the backend does with it.
const covered: true = true satisfies Covers<SdkEventType, keyof typeof EFFECTS>;

describe(`every event type of the SDK's WebhookEvent union, about a connection the backend owns (${DOCS.webhooks})`, () => {
  test.each(Object.entries(EFFECTS))('%s → %s', async (type, effect) => {
    expect(covered).toBe(true);
    const { customer, connection_id } = await connected('every-type');
    const before = await connectionItem(customer, connection_id);
    const introspects = calls('GET /introspect');
    const { event_id, first } = await send(type, connection_id);
    expect(first.status).toBe(200);
    const after = await connectionItem(customer, connection_id);
    const record = await eventItem(event_id);
    const audit = (await auditOf(customer, connection_id)).filter((entry) => entry.action === 'webhook_applied');
    if (effect === 'nothing (a write, not a sync)') {
      expect(first.json.outcome).toBe('not_applied');
      expect(after).toEqual(before);
      expect(record).toMatchObject({ event_type: type, applied: false });
      expect(audit).toEqual([]);
      return;
    }
    // Applied in one transaction with its dedupe record and an audit entry.
    expect(first.json.outcome).toBe('applied');
    expect(record).toMatchObject({ event_type: type, applied: true });
    expect(audit).toEqual([expect.objectContaining({ actor: 'finch-webhook', details: expect.objectContaining({ event_type: type, event_id }) })]);
    expect(calls('GET /introspect') - introspects).toBe(effect === 'status from /introspect' ? 1 : 0);
    if (effect === 'status from /introspect') {
      expect(after).toMatchObject({ status: 'connected', last_synced_at: null });
    } else if (effect === 'last_synced_at') {
      expect(after!.last_synced_at).toEqual(record!.received_at);
      expect(after).not.toHaveProperty('initial_sync_org_completed_at');
    } else {
      const part = effect === 'initial sync: org' ? 'org' : 'payroll';
      const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
      expect(got.json.initial_sync_completed_at).toEqual({ org: null, payroll: null, [part]: record!.received_at });
      expect(got.json.last_synced_at).toBe(record!.received_at);
    }
  });
});

describe(`the initial syncs Finch sends by itself (${DOCS.webhooks}: job.initial_data_sync_*.succeeded)`, () => {
  test('both are recorded on the connection, once each, and listed', async () => {
    const { customer, connection_id } = await connected('initial-sync');
    const org = await send('job.initial_data_sync_org.succeeded', connection_id);
    const payroll = await send('job.initial_data_sync_payroll.succeeded', connection_id);
    const orgAt = (await eventItem(org.event_id))!.received_at;
    const payrollAt = (await eventItem(payroll.event_id))!.received_at;
    // A second event of a type (Finch sends each once) keeps the first time.
    await send('job.initial_data_sync_org.succeeded', connection_id);
    const list = await h.invoke('GET /connections', { claims: claims(customer) });
    expect(list.json.connections).toEqual([expect.objectContaining({ connection_id, initial_sync_completed_at: { org: orgAt, payroll: payrollAt } })]);
  });

  test('a connection that has not synced yet lists both as null', async () => {
    const { customer, connection_id } = await connected('no-sync-yet');
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
    expect(got.json.initial_sync_completed_at).toEqual({ org: null, payroll: null });
  });
});

// ---- A disconnect made at Finch --------------------------------------------------------------

/** Finch's /disconnect with the connection's own token, as the employer's or Finch's dashboard would. */
async function disconnectAtFinch(connection_id: string) {
  const token = h.emulator.state().connections.find((c) => c.connection_id === connection_id)!.tokens[0];
  const res = await fetch(`${h.emulator.url}/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'finch-api-version': '2020-09-17' } });
  expect(res.status).toBe(200);
}

describe(`account.updated "disconnected" after a disconnect made at Finch (${DOCS.webhooks}, ${DOCS.disconnectTokens})`, () => {
  test('/introspect answers 401: the connection is finished as disconnected by finch, its token deleted, as our DELETE does', async () => {
    const { customer, connection_id } = await connected('gone-at-finch');
    await disconnectAtFinch(connection_id);
    const { event_id, first } = await send('account.updated', connection_id, { status: 'disconnected', authentication_method: { type: 'credential' } });
    expect(first.status).toBe(200);
    expect(first.json.outcome).toBe('applied');
    const item = await connectionItem(customer, connection_id);
    expect(item).toMatchObject({ status: 'disconnected', disconnected_by: 'finch', revocation_confirmed: true, disconnected_at: expect.any(String) });
    expect(item).not.toHaveProperty('token_ciphertext');
    expect(await eventItem(event_id)).toMatchObject({ applied: true });
    const audit = await auditOf(customer, connection_id);
    expect(audit.filter((entry) => entry.action === 'disconnected')).toEqual([
      expect.objectContaining({ actor: 'finch', details: expect.objectContaining({ revocation_confirmed: true, event_id }) }),
    ]);
    // What our DELETE would have left: listed as disconnected, and a DELETE is 204 with no call to Finch.
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
    expect(got.json.status).toBe('disconnected');
    const disconnects = calls('POST /disconnect');
    const del = await h.invoke(`DELETE /connections/${connection_id}`, { claims: claims(customer) });
    expect(del.statusCode).toBe(204);
    expect(calls('POST /disconnect')).toBe(disconnects);
    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id } });
    expect(reauth.statusCode).toBe(409);
  });

  test('a "disconnected" event Finch does not confirm (/introspect still answers) stores the status /introspect gives', async () => {
    const { customer, connection_id } = await connected('not-gone');
    const { first } = await send('account.updated', connection_id, { status: 'disconnected', authentication_method: { type: 'credential' } });
    expect(first.json.outcome).toBe('applied');
    expect(await connectionItem(customer, connection_id)).toMatchObject({ status: 'connected', token_ciphertext: expect.any(String) });
  });

  test('another status with /introspect answering 401 is still reauth (Finch did not say disconnected)', async () => {
    const { customer, connection_id } = await connected('reauth-401');
    await disconnectAtFinch(connection_id);
    const { first } = await send('account.updated', connection_id, { status: 'connected', authentication_method: { type: 'credential' } });
    expect(first.json.outcome).toBe('applied');
    expect(await connectionItem(customer, connection_id)).toMatchObject({ status: 'reauth', token_ciphertext: expect.any(String) });
  });

  test('racing our own DELETE (Finch answers it late): one of the two finishes, the DELETE is 204, one disconnected entry', async () => {
    const { customer, connection_id } = await connected('race-delete');
    // Finch disconnects at once but answers our DELETE 1.5 s later; the event comes meanwhile.
    await control('/_emulator/faults', { method: 'POST', path: '/disconnect', delay_ms: 1500, after_response: true });
    const deleting = h.invoke(`DELETE /connections/${connection_id}`, { claims: claims(customer) });
    await until(() => connectionItem(customer, connection_id), (item) => item?.status === 'disconnecting');
    await until(() => h.emulator.state().connections.find((c) => c.connection_id === connection_id)!.disconnected, (gone) => gone);
    const { first } = await send('account.updated', connection_id, { status: 'disconnected', authentication_method: { type: 'credential' } });
    expect(first.status).toBe(200);
    expect((await deleting).statusCode).toBe(204);
    const item = await connectionItem(customer, connection_id);
    expect(item).toMatchObject({ status: 'disconnected', revocation_confirmed: true });
    expect(item).not.toHaveProperty('token_ciphertext');
    expect((await auditOf(customer, connection_id)).filter((entry) => entry.action === 'disconnected')).toHaveLength(1);
  });

  test('a newer token stored while /introspect answered for the old one (a reauth landing): not finished; 503 so Finch asks again', async () => {
    const { customer, connection_id } = await connected('race-reauth');
    await disconnectAtFinch(connection_id);
    await control('/_emulator/faults', { method: 'GET', path: '/introspect', delay_ms: 800 });
    const sending = send('account.updated', connection_id, { status: 'disconnected', authentication_method: { type: 'credential' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // What a reauthentication's final write does to the item: a newer token, issued later.
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.connection(customer, connection_id),
      UpdateExpression: 'SET token_issued_at = token_issued_at + :later, token_version = token_version + :one',
      ExpressionAttributeValues: { ':later': 1000, ':one': 1 },
    }));
    const { event_id, first } = await sending;
    expect(first.status).toBe(503);
    expect(Number(first.headers['retry-after'])).toBeGreaterThan(0);
    expect(await eventItem(event_id)).toBeUndefined();
    expect(await connectionItem(customer, connection_id)).toMatchObject({ status: 'connected', token_version: 2, token_ciphertext: expect.any(String) });
  });
});

// ---- An event before the callback stored its connection -------------------------------------

describe(`an event about a connection nobody here owns yet (${DOCS.webhooks}: Finch sends it again on a non-2xx)`, () => {
  test('before the callback: 503 and nothing recorded; Finch\'s retry after the callback applies it', async () => {
    const customer = newCustomer('early-event');
    const { connection_id, finish } = await authorized(customer);
    const { event_id, first } = await send('job.initial_data_sync_org.succeeded', connection_id);
    expect(first.status).toBe(503);
    expect(first.json.error.code).toBe('webhook_deferred');
    expect(Number(first.headers['retry-after'])).toBeGreaterThan(0);
    expect(await eventItem(event_id)).toBeUndefined();

    await finish();
    const delivered = await until(() => h.emulator.webhooks().find((delivery) => delivery.event_id === event_id)!, (delivery) => delivery.state !== 'retrying');
    expect(delivered.state).toBe('delivered');
    expect(answers.get(event_id)!.at(-1)!.json.outcome).toBe('applied');
    expect(await eventItem(event_id)).toMatchObject({ applied: true });
    const got = await h.invoke(`GET /connections/${connection_id}`, { claims: claims(customer) });
    expect(got.json.initial_sync_completed_at.org).toEqual(expect.any(String));
  });

  test('still nobody\'s an hour after it was first seen: acknowledged (200), recorded as not applied', async () => {
    const customer = newCustomer('never-stored');
    const { connection_id } = await authorized(customer);
    const first = await send('company.updated', connection_id);
    expect(first.first.status).toBe(503);
    // The same event, first seen just over an hour ago.
    const event_id = `msg_old_${Date.now()}`;
    await h.table.doc.send(new PutCommand({
      TableName: h.table.tableName,
      Item: { pk: keys.webhookEvent(event_id).pk, sk: 'FIRST_SEEN', first_seen_at: new Date(Date.now() - 3601_000).toISOString() },
    }));
    const late = await control('/_emulator/webhooks', { type: 'company.updated', connection_id, event_id });
    expect(late.json.status).toBe(200);
    expect(answers.get(event_id)![0].json.outcome).toBe('not_applied');
    expect(await eventItem(event_id)).toMatchObject({ applied: false, connection_id });
  });

  test('an event naming no connection is acknowledged at once', async () => {
    const res = await deliverWebhook(h, { event_type: 'company.updated', data: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json.outcome).toBe('not_applied');
  });
});
