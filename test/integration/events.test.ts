// The application's events (issue 15), end to end over the real parts: each change the product makes
// (through the real handlers, over DynamoDB Local and the Finch emulator) commits its audit entry;
// DynamoDB Local's stream carries it to the real events handler (the local stack's stream runner:
// Powertools' stream schema, the mapping's filter, redelivery) and its real EventBridge client puts
// the event on the local bus. Each change produces exactly its event, a change that did not commit
// none, and a fault between the function and the bus loses nothing (the id dedupes a repeat).
import { keys } from '#adapters/table.js';
import type { ConnectionEventDetail } from '#core/events.js';
import { type EventsPipe, startEventsPipe } from '../support/events-pipe.js';
import { CLIENT_SECRET, WEBHOOK_SECRET, authorizeAtFinch, connectCustomer, customerIds, deliverWebhook, getItem, handedOut, harnessForFile } from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
let pipe: EventsPipe;
beforeAll(async () => { pipe = await startEventsPipe(h.table); });
afterAll(async () => { await pipe?.close(); });

const newCustomer = customerIds();
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });

/** Every event of the connection put on the bus so far, once every committed change went through the pipe. */
async function eventsOf(connectionId: string): Promise<ConnectionEventDetail[]> {
  await pipe.drain();
  return pipe.bus.events(connectionId);
}
const typesOf = (events: ConnectionEventDetail[]) => events.map((event) => event.type);

async function connected(name: string) {
  const customer = newCustomer(name);
  const connectionId = await connectCustomer(h, claims(customer));
  return { customer, connectionId };
}

async function setFinchStatus(id: string, status: string) {
  const res = await fetch(`${h.emulator.url}/_emulator/connections/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  expect(res.status).toBe(200);
}

async function webhook(body: Record<string, unknown>) {
  const res = await deliverWebhook(h, body);
  expect(res.statusCode).toBe(200);
}

/** The audit entry of the connection with `action`, as stored (its id and at are the event's). */
async function entry(customer: string, connectionId: string, action: string) {
  const trail = await h.invoke(`GET /connections/${connectionId}/audit`, { claims: claims(customer) });
  return trail.json.entries.find((item: { action: string }) => item.action === action) as { id?: string; at: string };
}

describe('each change produces exactly its event', () => {
  test('connect: connection.connected with the connection as the callback stored it', async () => {
    const { customer, connectionId } = await connected('connect');
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected']);
    const stored = await getItem(h, keys.connection(customer, connectionId));
    const audit = await entry(customer, connectionId, 'connection_stored');
    expect(events[0]).toEqual({
      id: expect.any(String), type: 'connection.connected', connection_id: connectionId, customer_id: customer,
      entity: stored!.entity ?? null, provider_id: stored!.provider_id, company_id: stored!.company_id ?? null,
      status: 'connected', occurred_at: audit.at,
    });
  });

  test('reauthenticate: connection.reauthenticated', async () => {
    const { customer, connectionId } = await connected('reauth');
    const session = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id: connectionId } });
    expect(session.statusCode).toBe(201);
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected', 'connection.reauthenticated']);
    expect(events[1]).toMatchObject({ connection_id: connectionId, customer_id: customer, status: 'connected' });
    expect(events[1].id).not.toBe(events[0].id);
  });

  test('Finch\'s 401 on the proxy: connection.reauth_required from connected', async () => {
    const { customer, connectionId } = await connected('proxy-401');
    await setFinchStatus(connectionId, 'reauth');
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims(customer), headers: { 'finch-connection-id': connectionId } });
    expect(res.statusCode).toBe(409);
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected', 'connection.reauth_required']);
    expect(events[1]).toMatchObject({ status: 'reauth', previous_status: 'connected' });
    expect(events[1]).not.toHaveProperty('reason');
  });

  test('account.updated webhooks: reauth_required, then status_changed back to connected, then nothing for the same status', async () => {
    const { connectionId } = await connected('webhook-status');
    await setFinchStatus(connectionId, 'reauth');
    await webhook({ event_type: 'account.updated', connection_id: connectionId, data: { status: 'reauth', authentication_method: { type: 'credential' } } });
    await setFinchStatus(connectionId, 'connected');
    await webhook({ event_type: 'account.updated', connection_id: connectionId, data: { status: 'connected', authentication_method: { type: 'credential' } } });
    await webhook({ event_type: 'account.updated', connection_id: connectionId, data: { status: 'connected', authentication_method: { type: 'credential' } } });
    const events = await eventsOf(connectionId);
    expect(events.map(({ type, status, previous_status }) => ({ type, status, previous_status }))).toEqual([
      { type: 'connection.connected', status: 'connected', previous_status: undefined },
      { type: 'connection.reauth_required', status: 'reauth', previous_status: 'connected' },
      { type: 'connection.status_changed', status: 'connected', previous_status: 'reauth' },
    ]);
  });

  test('initial syncs: connection.initial_sync_completed with the sync as reason; a plain sync webhook sends nothing', async () => {
    const { connectionId } = await connected('initial-sync');
    await webhook({ event_type: 'job.initial_data_sync_org.succeeded', connection_id: connectionId, data: { job_id: 'job-org' } });
    await webhook({ event_type: 'job.data_sync_all.completed', connection_id: connectionId, data: { job_id: 'job-all' } });
    await webhook({ event_type: 'job.initial_data_sync_payroll.succeeded', connection_id: connectionId, data: { job_id: 'job-payroll' } });
    const events = await eventsOf(connectionId);
    expect(events.map(({ type, reason }) => [type, reason])).toEqual([
      ['connection.connected', undefined],
      ['connection.initial_sync_completed', 'org'],
      ['connection.initial_sync_completed', 'payroll'],
    ]);
  });

  test('disconnect: connection.disconnected, reason customer for our DELETE', async () => {
    const { customer, connectionId } = await connected('delete');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customer) })).statusCode).toBe(204);
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected', 'connection.disconnected']);
    expect(events[1]).toMatchObject({ status: 'disconnected', reason: 'customer', occurred_at: (await entry(customer, connectionId, 'disconnected')).at });
  });

  test('disconnect at Finch: connection.disconnected, reason finch', async () => {
    const { connectionId } = await connected('finch-gone');
    const token = h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens[0];
    const res = await fetch(`${h.emulator.url}/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'finch-api-version': '2020-09-17' } });
    expect(res.status).toBe(200);
    await webhook({ event_type: 'account.updated', connection_id: connectionId, data: { status: 'disconnected', authentication_method: { type: 'credential' } } });
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected', 'connection.disconnected']);
    expect(events[1]).toMatchObject({ status: 'disconnected', reason: 'finch' });
  });
});

describe('only what committed', () => {
  test('a status write refused by its condition (the connection is disconnected) writes no entry and sends no event', async () => {
    const { customer, connectionId } = await connected('refused');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customer) })).statusCode).toBe(204);
    const at = new Date();
    // The transaction a refresh or the proxy's 401 makes, on a connection that ended meanwhile.
    const applied = await h.app.deps.connections.recordStatus(customer, connectionId, { status: 'reauth', status_message: null }, at, {
      action: 'reauth_required', actor: 'finch-proxy', customer_id: customer, connection_id: connectionId, at: at.toISOString(),
      subject: { entity: null, provider_id: 'gusto', company_id: null, status: 'reauth' }, details: { previous_status: 'connected' },
    });
    expect(applied).toBe(false);
    expect(typesOf(await eventsOf(connectionId))).toEqual(['connection.connected', 'connection.disconnected']);
  });

  test('sessions and code exchanges are no events: a cancelled Connect leaves the bus untouched', async () => {
    const customer = newCustomer('cancelled');
    const before = pipe.bus.events().length;
    const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: {} });
    expect(session.statusCode).toBe(201);
    await pipe.drain();
    expect(pipe.bus.events().length).toBe(before);
  });
});

describe('a consumer fault loses nothing', () => {
  test('an entry the bus refuses is delivered again from that record: each change once', async () => {
    pipe.bus.injectFault({ kind: 'entry', times: 2 });
    const { customer, connectionId } = await connected('bus-refuses');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customer) })).statusCode).toBe(204);
    const invocations = pipe.runner.stats.invocations;
    expect(typesOf(await eventsOf(connectionId))).toEqual(['connection.connected', 'connection.disconnected']);
    // Both refused in the first PutEvents (the first failed one is reported), both taken when Lambda's
    // stand-in delivered the batch again from it.
    expect(pipe.runner.stats.invocations - invocations).toBeGreaterThanOrEqual(2);
    expect(pipe.runner.stats.deadLettered).toBe(0);
  });

  test('the second entry of a batch refused: the first is not put twice, the second is put once', async () => {
    const { customer, connectionId } = await connected('second-refused');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customer) })).statusCode).toBe(204);
    // Both entries are read in one batch; the bus takes the first and refuses the second once.
    pipe.bus.injectFault({ kind: 'entry', times: 1, skip: 1 });
    const events = await eventsOf(connectionId);
    expect(typesOf(events)).toEqual(['connection.connected', 'connection.disconnected']);
  });

  test('a lost answer (the bus took the events, the function never heard): the events come again with the same id', async () => {
    pipe.bus.injectFault({ kind: 'lost-answer', times: 1 });
    const { customer, connectionId } = await connected('lost-answer');
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customer) })).statusCode).toBe(204);
    const events = await eventsOf(connectionId);
    // At least once: repeats carry the entry's id, so an application that dedupes on it sees each change once.
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    expect(typesOf(unique)).toEqual(['connection.connected', 'connection.disconnected']);
    expect(events.length).toBeGreaterThan(unique.length);
    for (const event of events) expect(event).toEqual(unique.find((first) => first.id === event.id));
  });
});

test('no token, code, state or secret in any event', async () => {
  await pipe.drain();
  const text = JSON.stringify(pipe.bus.deliveredEvents());
  expect(pipe.bus.events().length).toBeGreaterThan(10);
  for (const secret of [CLIENT_SECRET, WEBHOOK_SECRET, ...h.emulator.state().connections.flatMap((c) => c.tokens), ...handedOut.codes, ...handedOut.states]) {
    expect(text).not.toContain(secret);
  }
});
