// enrich-company (functions/enrich-company/handler.ts) invoked as Lambda's SQS event-source mapping
// invokes it: a message of the enrichment queue whose body is the event the events function would
// make of the connection's audit entry (functions/core/events.ts), over DynamoDB Local, the Finch
// emulator over HTTP and the local queue's ChangeMessageVisibility endpoint: what it records, that
// a redelivery records nothing more, that a disconnect or a reauthentication racing it wins, and
// which of Finch's answers it records nothing for or keeps the message for (the queue's retry).
import { randomUUID } from 'node:crypto';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { type LocalQueueEndpoint, startQueueEndpoint } from '#local/events/queue-endpoint.js';
import { queueMessageEvent } from '#local/enrich-company.js';
import type { ConnectionEvent } from '#local/events/bus.js';
import { keys } from '#adapters/table.js';
import { type ConnectionEventDetail, EVENT_SOURCE, toConnectionEvent } from '#core/events.js';
import type { AuditRecord } from '#core/ports/audit.js';
import { invokeAs, recordCallsOf, recordQueueCalls } from '../support/aws-calls.js';
import {
  RETURN_ORIGIN, authorizeAtFinch, capturedLogs, connectCustomer, customerIds, emulatorFault, getItem, harnessForFile,
} from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
const customer = customerIds();
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const LEGAL_NAME = 'Acme Payroll LLC';

type Handler = typeof import('../../functions/enrich-company/handler.js')['handler'];
let handler: Handler;
let queue: LocalQueueEndpoint;

beforeAll(async () => {
  queue = await startQueueEndpoint();
  process.env.ENRICHMENT_QUEUE_URL = queue.queueUrl;
  // Imported once the harness has set the environment: the handler reads it at cold start, as in Lambda.
  const module = await import('../../functions/enrich-company/handler.js');
  handler = module.handler;
  recordCallsOf(module.enrichment, 'enrich-company');
  recordQueueCalls(module.sqs, queue.queueUrl);
});
afterAll(() => queue.close());

const context = { awsRequestId: randomUUID(), functionName: 'enrich-company' } as unknown as Context;

/** What became of one delivery: the outcome the handler logged for its message, and whether the message was kept (a batch item failure) and hidden how long. */
interface Delivered { outcome: string; kept: boolean; hiddenSeconds?: number }

/** Delivers `event` as one message of the queue (receive count `receiveCount`), as the mapping would. */
async function deliver(event: unknown, receiveCount = 1): Promise<Delivered> {
  const messageId = randomUUID();
  const receiptHandle = queue.receive();
  const sqsEvent = queueMessageEvent(event as ConnectionEvent, { messageId, receiveCount, sentAt: Date.now() }, receiptHandle);
  const response = await invokeAs('enrich-company', () => handler(sqsEvent, context));
  const hiddenSeconds = queue.settle(receiptHandle);
  const kept = response.batchItemFailures.some((failure) => failure.itemIdentifier === messageId);
  expect(response.batchItemFailures.filter((failure) => failure.itemIdentifier !== messageId)).toEqual([]);
  return { outcome: loggedOutcome(messageId), kept, ...(hiddenSeconds === undefined ? {} : { hiddenSeconds }) };
}

/** The handler's log line about the message: its outcome, `dropped`, `throttled`, or the error's name. */
function loggedOutcome(messageId: string): string {
  const lines = capturedLogs().split('\n').filter((line) => line.includes(messageId)).map((line) => JSON.parse(line) as Record<string, any>);
  const line = lines.at(-1);
  if (!line) throw new Error(`no log line for message ${messageId}`);
  if (line.message.includes('dropped')) return 'dropped';
  if (line.message.includes('throttled')) return 'throttled';
  return line.outcome ?? line.error;
}
const enrich = async (event: unknown) => {
  const delivered = await deliver(event);
  expect(delivered.kept).toBe(false);
  return { outcome: delivered.outcome };
};

/** As EventBridge hands an event to a rule's Lambda target. */
function asDelivered(detail: ConnectionEventDetail): EventBridgeEvent<string, ConnectionEventDetail> {
  return {
    version: '0', id: randomUUID(), 'detail-type': detail.type, source: EVENT_SOURCE, account: '123456789012',
    time: new Date().toISOString(), region: 'us-east-1', resources: [], detail,
  };
}

async function auditOf(customerId: string, connectionId: string): Promise<AuditRecord[]> {
  const { entries } = await h.app.deps.connections.listAudit(customerId, connectionId, { limit: 100 });
  return entries;
}

/** The event the events function makes of the connection's newest entry of this action. */
async function eventOf(customerId: string, connectionId: string, action: 'connection_stored' | 'reauthenticated') {
  const entry = (await auditOf(customerId, connectionId)).find((record) => record.action === action);
  const detail = entry && toConnectionEvent(entry);
  if (!detail) throw new Error(`no ${action} event for ${connectionId}`);
  return asDelivered(detail);
}

async function connected(name: string) {
  const customerId = customer(name);
  const connectionId = await connectCustomer(h, claims(customerId), { customer_name: LEGAL_NAME });
  return { customerId, connectionId, event: await eventOf(customerId, connectionId, 'connection_stored') };
}

const companyEntries = async (customerId: string, connectionId: string) =>
  (await auditOf(customerId, connectionId)).filter((entry) => entry.action === 'company_updated');
const atFinch = (connectionId: string) => h.emulator.state().connections.find((c) => c.connection_id === connectionId)!;
const companyCalls = () => h.emulator.state().calls['GET /employer/company'] ?? 0;

/** Waits, without a deadline of its own (jest's test timeout is the limit), for `condition`. */
async function until(condition: () => boolean | Promise<boolean>) {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('enrich-company: connection.connected fills in the employer', () => {
  test('a connected connection gets its company name, company_id and manual, and exactly one company_updated entry', async () => {
    const { customerId, connectionId, event } = await connected('enrich');
    await expect(enrich(event)).resolves.toEqual({ outcome: 'updated' });
    const got = await h.invoke(`GET /connections/${connectionId}`, { claims: claims(customerId) });
    expect(got.json).toMatchObject({ company_name: LEGAL_NAME, company_id: atFinch(connectionId).company_id, manual: false, status: 'connected' });
    const entries = await companyEntries(customerId, connectionId);
    expect(entries).toEqual([expect.objectContaining({
      actor: 'finch',
      subject: { entity: null, provider_id: 'gusto', company_id: atFinch(connectionId).company_id, status: 'connected' },
      details: { company_name: LEGAL_NAME, manual: false },
    })]);
    // Its event is connection.company_updated, for the same connection.
    expect(toConnectionEvent(entries[0])).toMatchObject({ type: 'connection.company_updated', connection_id: connectionId, company_id: atFinch(connectionId).company_id });
  });

  test('a redelivered event (EventBridge and SQS deliver at least once) writes nothing: still one company_updated entry', async () => {
    const { customerId, connectionId, event } = await connected('redelivered');
    await enrich(event);
    const before = await getItem(h, keys.connection(customerId, connectionId));
    await expect(enrich(event)).resolves.toEqual({ outcome: 'unchanged' });
    await expect(enrich({ ...event, id: randomUUID() })).resolves.toEqual({ outcome: 'unchanged' });
    expect(await companyEntries(customerId, connectionId)).toHaveLength(1);
    expect((await getItem(h, keys.connection(customerId, connectionId)))!.updated_at).toBe(before!.updated_at);
  });

  test('two deliveries at once: one write, one entry (the write\'s condition refuses the second)', async () => {
    const { customerId, connectionId, event } = await connected('concurrent');
    const outcomes = (await Promise.all([enrich(event), enrich(event)])).map((result) => result.outcome).sort();
    expect(outcomes).toEqual(['unchanged', 'updated']);
    expect(await companyEntries(customerId, connectionId)).toHaveLength(1);
  });

  test('connection.reauthenticated: read with the new token', async () => {
    const { customerId, connectionId } = await connected('reauthed');
    const session = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customerId), body: { connection_id: connectionId, return_to: `${RETURN_ORIGIN}/` } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const event = await eventOf(customerId, connectionId, 'reauthenticated');
    expect(event['detail-type']).toBe('connection.reauthenticated');
    await expect(enrich(event)).resolves.toEqual({ outcome: 'updated' });
    expect(await getItem(h, keys.connection(customerId, connectionId))).toMatchObject({ company_name: LEGAL_NAME, token_version: 2 });
  });
});

describe('enrich-company: a change racing it wins (Finch answers /employer/company late)', () => {
  test.each([
    // Finch read the company before the disconnect, and its answer arrives after it: the write is refused.
    ['answered before the disconnect (the write is refused)', true, 'ended'],
    // Finch reads after the disconnect revoked the token: 401, nothing to write.
    ['reading after the disconnect (Finch refuses the revoked token)', false, 'token_refused'],
  ] as const)('disconnected while it waits on Finch, %s: stays disconnected, no company_updated, no token revived', async (_name, afterResponse, outcome) => {
    const { customerId, connectionId, event } = await connected('race-disconnect');
    await emulatorFault(h, { method: 'GET', path: '/employer/company', delay_ms: 1500, after_response: afterResponse });
    const calls = companyCalls();
    const enriching = enrich(event);
    await until(() => companyCalls() > calls);
    expect((await h.invoke(`DELETE /connections/${connectionId}`, { claims: claims(customerId) })).statusCode).toBe(204);
    await expect(enriching).resolves.toEqual({ outcome });
    const item = await getItem(h, keys.connection(customerId, connectionId));
    expect(item).toMatchObject({ status: 'disconnected', company_name: null });
    expect(item).not.toHaveProperty('token_ciphertext');
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
  });

  test('reauthenticated with a newer token while it waits: its write is refused, the new token stays', async () => {
    const { customerId, connectionId, event } = await connected('race-reauth');
    const session = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customerId), body: { connection_id: connectionId, return_to: `${RETURN_ORIGIN}/` } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    // Finch answers for the old token, late: the new one is stored meanwhile.
    await emulatorFault(h, { method: 'GET', path: '/employer/company', delay_ms: 1500, after_response: true });
    const calls = companyCalls();
    const enriching = enrich(event);
    await until(() => companyCalls() > calls);
    await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const reauthed = await getItem(h, keys.connection(customerId, connectionId));
    expect(reauthed).toMatchObject({ token_version: 2 });
    await expect(enriching).resolves.toEqual({ outcome: 'superseded' });
    const item = await getItem(h, keys.connection(customerId, connectionId));
    expect(item).toMatchObject({ company_name: null, token_version: 2, token_ciphertext: reauthed!.token_ciphertext, token_issued_at: reauthed!.token_issued_at });
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
  });
});

describe('enrich-company: Finch\'s answers', () => {
  test('Finch refuses the token (401 on /introspect): nothing recorded, and no error (the event is not retried)', async () => {
    const { customerId, connectionId, event } = await connected('refused');
    const before = await getItem(h, keys.connection(customerId, connectionId));
    await emulatorFault(h, { method: 'GET', path: '/introspect', status: 401 });
    await expect(enrich(event)).resolves.toEqual({ outcome: 'token_refused' });
    expect(await getItem(h, keys.connection(customerId, connectionId))).toEqual(before);
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
  });

  test('Finch unavailable (503 on /employer/company, the SDK\'s one retry included): the message is kept, with the queue\'s own visibility timeout; nothing recorded', async () => {
    const { customerId, connectionId, event } = await connected('unavailable');
    await emulatorFault(h, { method: 'GET', path: '/employer/company', status: 503, times: 2 });
    await expect(deliver(event)).resolves.toEqual({ outcome: 'FinchUnavailable', kept: true });
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
    // The retry, once Finch answers: recorded.
    await expect(enrich(event)).resolves.toEqual({ outcome: 'updated' });
  });

  // Finch's refusals a retry does not change ("Error Types",
  // https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types): the connected
  // admin account lacks permissions (403 error_permissions), the provider does not support the read (501).
  test.each([
    ['403 error_permissions (insufficient_account_permissions)', 'error_permissions', 1],
    // Sent once: the SDK would repeat a 5xx inside the call, and functions/adapters/finch-rate-limits.ts stops it for a 501.
    ['501 not_implemented_error', 'not_implemented_error', 1],
  ] as const)('Finch refuses the company read for good (%s): the message is done, not kept for a retry; no company_name recorded', async (_name, error, times) => {
    const { customerId, connectionId, event } = await connected(`refused-${error}`);
    await emulatorFault(h, { method: 'GET', path: '/employer/company', error, times });
    const reads = companyCalls();
    await expect(deliver(event)).resolves.toEqual({ outcome: 'updated', kept: false });
    expect(companyCalls()).toBe(reads + times);
    // What /introspect said is recorded; the name stays unknown.
    const item = await getItem(h, keys.connection(customerId, connectionId));
    expect(item).toMatchObject({ company_name: null, company_id: atFinch(connectionId).company_id, manual: false });
    expect(await companyEntries(customerId, connectionId)).toEqual([
      expect.objectContaining({ details: { company_name: null, manual: false } }),
    ]);
    expect(capturedLogs()).toContain('"finch_error":"' + error + '"');
  });

  test('Finch rate limited (429 with Retry-After on /introspect, never retried inside the call): the message is kept and hidden at least that long', async () => {
    const { customerId, connectionId, event } = await connected('limited');
    await emulatorFault(h, { method: 'GET', path: '/introspect', status: 429, headers: { 'retry-after': '7' } });
    const delivered = await deliver(event);
    expect(delivered).toMatchObject({ outcome: 'throttled', kept: true });
    // Retry-After, spread up to twice it at the first receive (functions/enrich-company/batch.ts hiddenFor).
    expect(delivered.hiddenSeconds).toBeGreaterThanOrEqual(7);
    expect(delivered.hiddenSeconds).toBeLessThanOrEqual(14);
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
    // Received again once it shows: recorded.
    await expect(deliver(event, 2)).resolves.toEqual({ outcome: 'updated', kept: false });
  });

  test('connection.initial_sync_completed for the org data reads the company; for the payroll data the message is dropped, nothing read', async () => {
    const { customerId, connectionId, event } = await connected('synced');
    const sync = (reason: string) => ({ ...event, 'detail-type': 'connection.initial_sync_completed', detail: { ...event.detail, id: randomUUID(), type: 'connection.initial_sync_completed', reason } });
    const introspects = h.emulator.state().calls['GET /introspect'] ?? 0;
    await expect(enrich(sync('payroll'))).resolves.toEqual({ outcome: 'dropped' });
    expect(h.emulator.state().calls['GET /introspect'] ?? 0).toBe(introspects);
    await expect(enrich(sync('org'))).resolves.toEqual({ outcome: 'updated' });
    expect(await companyEntries(customerId, connectionId)).toHaveLength(1);
  });

  test('a message whose body is not JSON is dropped (logged by path), not kept', async () => {
    const messageId = randomUUID();
    const receiptHandle = queue.receive();
    const sqsEvent = queueMessageEvent({} as ConnectionEvent, { messageId, receiveCount: 1, sentAt: Date.now() }, receiptHandle);
    sqsEvent.Records[0].body = 'not json';
    await expect(invokeAs('enrich-company', () => handler(sqsEvent, context))).resolves.toEqual({ batchItemFailures: [] });
    queue.settle(receiptHandle);
    expect(loggedOutcome(messageId)).toBe('dropped');
  });
});

describe('enrich-company: what it takes', () => {
  test.each([
    ['another source', (event: ReturnType<typeof asDelivered>) => ({ ...event, source: 'someone-else' })],
    ['another type', (event: ReturnType<typeof asDelivered>) => ({ ...event, 'detail-type': 'connection.disconnected', detail: { ...event.detail, type: 'connection.disconnected' } })],
    ['a detail without its connection', (event: ReturnType<typeof asDelivered>) => ({ ...event, detail: { ...event.detail, connection_id: undefined } })],
    ['a customer id that is no customer id', (event: ReturnType<typeof asDelivered>) => ({ ...event, detail: { ...event.detail, customer_id: '../x' } })],
  ])('%s: logged and dropped, not thrown (a retry would fail the same way), nothing recorded', async (_name, spoil) => {
    const { customerId, connectionId, event } = await connected('spoiled');
    await expect(enrich(spoil(event))).resolves.toEqual({ outcome: 'dropped' });
    expect(await companyEntries(customerId, connectionId)).toEqual([]);
  });

  test('a connection of another customer (the detail\'s customer_id) is not found: nothing read from Finch', async () => {
    const { connectionId, event } = await connected('owner');
    const calls = h.emulator.state().calls['GET /introspect'] ?? 0;
    await expect(enrich({ ...event, detail: { ...event.detail, customer_id: customer('stranger') } })).resolves.toEqual({ outcome: 'missing' });
    expect(h.emulator.state().calls['GET /introspect'] ?? 0).toBe(calls);
    expect(atFinch(connectionId).disconnected).toBe(false);
  });

  test('it holds no client credentials: no Secrets Manager client, and a call that needs them is refused before anything is sent', async () => {
    const { enrichment } = await import('../../functions/enrich-company/handler.js');
    expect(enrichment.clients.secretsManager).toBeUndefined();
    const sessions = h.emulator.state().calls['POST /connect/sessions'] ?? 0;
    const finch = enrichment.deps.finch as unknown as { createConnectSession(request: object): Promise<unknown> };
    await expect(finch.createConnectSession({ customer_id: 'x', customer_name: 'x', products: ['company'], minutes_to_expire: 10 })).rejects.toThrow(/no client credentials/);
    expect(h.emulator.state().calls['POST /connect/sessions'] ?? 0).toBe(sessions);
  });

  test('no access token Finch issued in this file reaches a log line', () => {
    const logs = capturedLogs();
    const tokens = h.emulator.state().connections.flatMap((connection) => connection.tokens);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect(logs).not.toContain(token);
  });
});
