// A connection's life after the callback: status refresh (rate limited), signed webhooks, disconnect.
import { keys } from '#adapters/table.js';
import { signWebhook } from '#local/finch-emulator/index.js';
import {
  CLIENT_SECRET, WEBHOOK_SECRET, capturedLogs, connectCustomer, emulatorFault, getItem, harnessForFile, scanTable,
} from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const calls = (key: string) => h.emulator.state().calls[key] ?? 0;
const emulatorConnection = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!;

const connect = (customer: string) => connectCustomer(h, claims(customer));

async function setFinchStatus(id: string, status: string) {
  const res = await fetch(`${h.emulator.url}/_emulator/connections/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  expect(res.status).toBeLessThan(300);
}

let eventCounter = 0;
function webhook(body: Record<string, unknown>, options: { secret?: string; eventId?: string; timestamp?: number; tamper?: boolean; base64?: boolean; omit?: string } = {}) {
  const raw = JSON.stringify(body);
  const eventId = options.eventId ?? `msg_test_${++eventCounter}_${Date.now()}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'finch-event-id': eventId,
    'finch-timestamp': String(timestamp),
    'finch-signature': `v1,bm90LXRoaXMtb25l ${signWebhook(options.secret ?? WEBHOOK_SECRET, eventId, timestamp, raw)}`,
  };
  if (options.omit) delete headers[options.omit];
  const sent = options.tamper ? raw.replace('}', ',"x":1}') : raw;
  return {
    eventId,
    send: () => h.invoke('POST /webhooks/finch', {
      rawBody: options.base64 ? Buffer.from(sent).toString('base64') : sent,
      headers: { ...headers, 'content-type': 'application/json' },
      ...(options.base64 ? { base64: true } : {}),
    }),
  };
}

describe('GET /connections/{id}?refresh=true', () => {
  test('stores Finch\'s status and the company name; at most 6 a minute, then 429 with Retry-After', async () => {
    const id = await connect('refresh-co');
    // The limit counts refreshes per clock minute (takeRefreshSlot's window): seven refreshes that
    // straddle a minute's end are two windows and the seventh is let through. Start them early in a
    // minute, so they fit one even on a loaded machine.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 100));
    const first = await h.invoke(`GET /connections/${id}`, { claims: claims('refresh-co'), query: { refresh: 'true' } });
    expect(first.statusCode).toBe(200);
    expect(first.json).toMatchObject({ status: 'connected', company_name: expect.any(String) });
    expect(first.json.company_name.length).toBeGreaterThan(0);
    const before = calls('GET /introspect');
    let limited;
    for (let i = 0; i < 6; i++) {
      limited = await h.invoke(`GET /connections/${id}`, { claims: claims('refresh-co'), query: { refresh: 'true' } });
      if (limited.statusCode === 429) break;
    }
    expect(limited!.statusCode).toBe(429);
    expect(limited!.json.error.code).toBe('refresh_rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    // Only the refreshes inside the limit reached Finch (a new minute may have started meanwhile).
    expect(calls('GET /introspect') - before).toBeLessThanOrEqual(6);
    const plain = await h.invoke(`GET /connections/${id}`, { claims: claims('refresh-co') });
    expect(plain.statusCode).toBe(200);
  }, 90_000);

  test('a connection in reauth keeps its company name', async () => {
    const id = await connect('reauth-name-co');
    const named = await h.invoke(`GET /connections/${id}`, { claims: claims('reauth-name-co'), query: { refresh: 'true' } });
    await setFinchStatus(id, 'reauth');
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims('reauth-name-co'), query: { refresh: 'true' } });
    expect(res.json).toMatchObject({ status: 'reauth', company_name: named.json.company_name });
  });
});

describe('POST /webhooks/finch', () => {
  test('account.updated re-reads the status from Finch, once per event id', async () => {
    const id = await connect('hook-co');
    await setFinchStatus(id, 'reauth');
    const event = webhook({ event_type: 'account.updated', connection_id: id, data: { status: 'connected' } });
    const before = calls('GET /introspect');
    const res = await event.send();
    expect(res.statusCode).toBe(200);
    expect(res.json.outcome).toBe('applied');
    // The body said "connected", Finch says "reauth" now: Finch wins, delivery order is not trusted.
    expect(await getItem(h, keys.connection('hook-co', id))).toMatchObject({ status: 'reauth' });
    expect(calls('GET /introspect')).toBe(before + 1);
    const again = await event.send();
    expect(again.statusCode).toBe(200);
    expect(again.json.outcome).toBe('duplicate');
    const list = await h.invoke('GET /connections', { claims: claims('hook-co'), query: { status: 'reauth' } });
    expect(list.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([id]);
  });

  test('a failed apply leaves no dedupe record: Finch\'s retry applies it', async () => {
    const id = await connect('retry-hook-co');
    await setFinchStatus(id, 'error_permissions');
    const event = webhook({ event_type: 'account.updated', connection_id: id });
    await emulatorFault(h, { method: 'GET', path: '/introspect', status: 500, times: 2 });
    const failed = await event.send();
    expect(failed.statusCode).toBe(502);
    expect(await getItem(h, keys.webhookEvent(event.eventId))).toBeUndefined();
    const retried = await event.send();
    expect(retried.json.outcome).toBe('applied');
    expect(await getItem(h, keys.connection('retry-hook-co', id))).toMatchObject({ status: 'error_permissions' });
  });

  test('sync events set last_synced_at; unknown types are acknowledged; an unknown connection is deferred (503, nothing recorded)', async () => {
    const id = await connect('sync-co');
    const sync = await webhook({ event_type: 'job.data_sync_all.completed', connection_id: id }).send();
    expect(sync.json.outcome).toBe('applied');
    expect((await getItem(h, keys.connection('sync-co', id)))!.last_synced_at).toEqual(expect.any(String));
    const unknownType = await webhook({ event_type: 'benefit.something_new', connection_id: id }).send();
    expect(unknownType.statusCode).toBe(200);
    expect(unknownType.json.outcome).toBe('not_applied');
    // Its callback may not have stored it yet: Finch delivers it again (test/integration/webhook-events.test.ts).
    const unknownConnection = webhook({ event_type: 'account.updated', connection_id: 'nobody-owns-this' });
    const deferred = await unknownConnection.send();
    expect(deferred.statusCode).toBe(503);
    expect(deferred.json.error.code).toBe('webhook_deferred');
    expect(await getItem(h, keys.webhookEvent(unknownConnection.eventId))).toBeUndefined();
  });

  test('a base64-encoded body is verified on its decoded bytes', async () => {
    const id = await connect('b64-co');
    const res = await webhook({ event_type: 'directory.updated', connection_id: id }, { base64: true }).send();
    expect(res.json.outcome).toBe('applied');
  });

  test('a signed event whose id DynamoDB could not key (over 256 characters) → 400 and no write', async () => {
    const id = await connect('long-event-co');
    const before = await scanTable(h);
    const res = await webhook({ event_type: 'job.data_sync_all.completed', connection_id: id }, { eventId: `msg_${'A'.repeat(3000)}` }).send();
    expect(res.statusCode).toBe(400);
    expect(res.json.error.details).toEqual([{ path: 'headers.finch-event-id', message: 'must be 1-256 printable ASCII characters' }]);
    expect(await scanTable(h)).toEqual(before);
  });

  test.each([
    ['a wrong secret', { secret: Buffer.from('another secret entirely!').toString('base64') }],
    ['a tampered body', { tamper: true }],
    ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 400 }],
    ['a future timestamp', { timestamp: Math.floor(Date.now() / 1000) + 400 }],
    ['no signature header', { omit: 'finch-signature' }],
    ['no event id header', { omit: 'finch-event-id' }],
    ['no timestamp header', { omit: 'finch-timestamp' }],
  ])('%s → 401 and no write', async (_name, options) => {
    const id = await connect(`bad-hook-${eventCounter}`);
    const before = await scanTable(h);
    const res = await webhook({ event_type: 'job.data_sync_all.completed', connection_id: id }, options).send();
    expect(res.statusCode).toBe(401);
    expect(res.json.error.code).toBe('invalid_signature');
    expect(await scanTable(h)).toEqual(before);
  });
});

describe('DELETE /connections/{id}', () => {
  test('revokes at Finch, deletes the ciphertext, keeps a tombstone; a second DELETE is 204 again', async () => {
    const id = await connect('bye-co');
    const res = await h.invoke(`DELETE /connections/${id}`, { claims: claims('bye-co') });
    expect(res.statusCode).toBe(204);
    expect(emulatorConnection(id).disconnected).toBe(true);
    const item = await getItem(h, keys.connection('bye-co', id));
    expect(item).toMatchObject({ status: 'disconnected', disconnected_by: 'user-of-bye-co', revocation_confirmed: true });
    expect(item!.token_ciphertext).toBeUndefined();
    expect(await getItem(h, keys.owner(id))).toMatchObject({ customer_id: 'bye-co' });
    const before = calls('POST /disconnect');
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims('bye-co') })).statusCode).toBe(204);
    expect(calls('POST /disconnect')).toBe(before);
    const listed = await h.invoke('GET /connections', { claims: claims('bye-co') });
    expect(listed.json.connections).toEqual([expect.objectContaining({ connection_id: id, status: 'disconnected' })]);
  });

  test('Finch down → 502, the connection stays usable, and a retry completes', async () => {
    const id = await connect('flaky-bye-co');
    await emulatorFault(h, { method: 'POST', path: '/disconnect', status: 503, times: 1 });
    const failed = await h.invoke(`DELETE /connections/${id}`, { claims: claims('flaky-bye-co') });
    expect(failed.statusCode).toBe(502);
    const item = await getItem(h, keys.connection('flaky-bye-co', id));
    expect(item).toMatchObject({ status: 'connected' });
    expect(item!.token_ciphertext).toEqual(expect.any(String));
    const refreshed = await h.invoke(`GET /connections/${id}`, { claims: claims('flaky-bye-co'), query: { refresh: 'true' } });
    expect(refreshed.json.status).toBe('connected');
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims('flaky-bye-co') })).statusCode).toBe(204);
    expect(emulatorConnection(id).disconnected).toBe(true);
  });

  test('a token Finch already refuses is disconnected locally, recorded as unconfirmed', async () => {
    const id = await connect('revoked-co');
    await fetch(`${h.emulator.url}/disconnect`, {
      method: 'POST', headers: { authorization: `Bearer ${emulatorConnection(id).tokens[0]}`, 'finch-api-version': '2020-09-17' },
    });
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims('revoked-co') })).statusCode).toBe(204);
    expect(await getItem(h, keys.connection('revoked-co', id))).toMatchObject({ status: 'disconnected', revocation_confirmed: false });
  });

  test('another customer\'s connection → 404 and nothing changes', async () => {
    const id = await connect('keep-co');
    const res = await h.invoke(`DELETE /connections/${id}`, { claims: claims('thief-co') });
    expect(res.statusCode).toBe(404);
    expect(await getItem(h, keys.connection('keep-co', id))).toMatchObject({ status: 'connected' });
  });

  test('a disconnected connection is never revived or reauthenticated', async () => {
    const id = await connect('dead-co');
    await h.invoke(`DELETE /connections/${id}`, { claims: claims('dead-co') });
    const hook = await webhook({ event_type: 'account.updated', connection_id: id }).send();
    expect(hook.statusCode).toBe(200);
    expect(hook.json.outcome).toBe('not_applied');
    const sync = await webhook({ event_type: 'job.data_sync_all.completed', connection_id: id }).send();
    expect(sync.json.outcome).toBe('not_applied');
    expect(await getItem(h, keys.connection('dead-co', id))).toMatchObject({ status: 'disconnected' });
    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims('dead-co'), body: { connection_id: id } });
    expect(reauth.statusCode).toBe(409);
    expect(reauth.json.error.code).toBe('connection_disconnected');
    const refresh = await h.invoke(`GET /connections/${id}`, { claims: claims('dead-co'), query: { refresh: 'true' } });
    expect(refresh.json.status).toBe('disconnected');
  });
});

describe('no secret anywhere', () => {
  test('no response or log holds a token, the client or webhook secret', () => {
    const text = h.transcript.map((t) => t.text).join('\n') + capturedLogs();
    const tokens = h.emulator.state().connections.flatMap((c) => c.tokens);
    expect(tokens.length).toBeGreaterThan(5);
    for (const secret of [CLIENT_SECRET, WEBHOOK_SECRET, ...tokens]) expect(text).not.toContain(secret);
  });
});
