// Every lifecycle change leaves an append-only audit entry, written in the transaction that made
// the change, free of secrets, and readable by the connection's owner only.
import { signWebhook } from '#local/finch-emulator/index.js';
import {
  CLIENT_SECRET, RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, handedOut, scanTable, startHarness, type Harness,
} from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = { customer_id: 'audit-co', sub: 'alice@audit-co' };

async function callback(connectUrl: string) {
  const { code, state } = await authorizeAtFinch(connectUrl);
  const res = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
  return new URL(res.headers.location).searchParams.get('connection_id')!;
}

test('connect, reauthenticate, refresh, webhook and disconnect each leave their audit entry, newest first', async () => {
  const session = await h.invoke('POST /connect/sessions', { claims, body: { return_to: `${RETURN_ORIGIN}/` } });
  const id = await callback(session.json.connect_url);
  const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims, body: { connection_id: id } });
  await callback(reauth.json.connect_url);
  await h.invoke(`GET /connections/${id}`, { claims, query: { refresh: 'true' } });
  const body = JSON.stringify({ event_type: 'job.data_sync_all.completed', connection_id: id });
  const timestamp = Math.floor(Date.now() / 1000);
  await h.invoke('POST /webhooks/finch', {
    rawBody: body,
    headers: { 'finch-event-id': 'msg_audit_1', 'finch-timestamp': String(timestamp), 'finch-signature': signWebhook(WEBHOOK_SECRET, 'msg_audit_1', timestamp, body) },
  });
  expect((await h.invoke(`DELETE /connections/${id}`, { claims })).statusCode).toBe(204);

  const trail = await h.invoke(`GET /connections/${id}/audit`, { claims });
  expect(trail.statusCode).toBe(200);
  const actions = trail.json.entries.map((e: { action: string }) => e.action);
  expect(actions).toEqual([
    'disconnected', 'webhook_applied', 'refreshed', 'reauthenticated', 'code_exchanged', 'session_created',
    'connection_stored', 'code_exchanged',
  ]);
  expect(trail.json.entries[0]).toMatchObject({ actor: 'alice@audit-co', customer_id: 'audit-co', connection_id: id, details: { revocation_confirmed: true } });
  const ats = trail.json.entries.map((e: { at: string }) => e.at);
  expect([...ats].sort().reverse()).toEqual(ats);

  // The connect session was created before the connection existed: it is on the customer's own trail.
  const items = await scanTable(h);
  expect(items.filter((i) => i.pk === 'AUDIT#audit-co#-').map((i) => i.action)).toEqual(['session_created']);

  // Paged.
  const page = await h.invoke(`GET /connections/${id}/audit`, { claims, query: { limit: '3' } });
  expect(page.json.entries).toHaveLength(3);
  const next = await h.invoke(`GET /connections/${id}/audit`, { claims, query: { limit: '3', cursor: page.json.next_cursor } });
  expect(next.json.entries.map((e: { action: string }) => e.action)).toEqual(actions.slice(3, 6));

  // No secret in any audit item.
  const auditText = JSON.stringify(items.filter((i) => String(i.pk).startsWith('AUDIT#')));
  for (const secret of [CLIENT_SECRET, ...h.emulator.state().connections.flatMap((c) => c.tokens), ...handedOut.codes, ...handedOut.states]) {
    expect(auditText).not.toContain(secret);
  }
});

test('another customer gets 404, not the trail', async () => {
  const session = await h.invoke('POST /connect/sessions', { claims: { customer_id: 'private-co' }, body: {} });
  const id = await callback(session.json.connect_url);
  const res = await h.invoke(`GET /connections/${id}/audit`, { claims: { customer_id: 'audit-co' } });
  expect(res.statusCode).toBe(404);
  const forged = await h.invoke(`GET /connections/${id}/audit`, {
    claims: { customer_id: 'private-co' },
    query: { cursor: Buffer.from(JSON.stringify({ pk: 'AUDIT#audit-co#-', sk: 'x' })).toString('base64url') },
  });
  expect(forged.statusCode).toBe(400);
});

// The shared contract of issue 15 (functions/core/ports/audit.ts): every entry about a connection
// carries `subject` ({entity, provider_id, company_id, status} as the change left it), status writes
// `details.previous_status`, an initial sync `details.initial_sync`; the events are made of these.
describe('each change\'s entry carries the connection as the change left it (subject) and the status before (previous_status)', () => {
  const owner = { customer_id: 'subject-co', sub: 'bob@subject-co' };
  const setStatusAtFinch = (id: string, status: string) => fetch(`${h.emulator.url}/_emulator/connections/${id}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }),
  });
  let eventNo = 0;
  const webhook = async (payload: Record<string, unknown>) => {
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const eventId = `msg_subject_${++eventNo}`;
    const res = await h.invoke('POST /webhooks/finch', {
      rawBody: body,
      headers: { 'finch-event-id': eventId, 'finch-timestamp': String(timestamp), 'finch-signature': signWebhook(WEBHOOK_SECRET, eventId, timestamp, body) },
    });
    expect(res.statusCode).toBe(200);
  };
  const latest = async (id: string, customer: Record<string, unknown> = owner) => (await h.invoke(`GET /connections/${id}/audit`, { claims: customer, query: { limit: '1' } })).json.entries[0];

  test('connect, refresh, proxy 401, reauthenticate, account.updated, initial sync and DELETE', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims: owner, body: { return_to: `${RETURN_ORIGIN}/`, entity: 'ops' } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url, { provider: 'adp_run', login: 'admin@subject-employer.example' });
    const id = new URL((await h.invoke('GET /connect/callback', { query: { code: code!, state } })).headers.location).searchParams.get('connection_id')!;
    const company_id = h.emulator.state().connections.find((c) => c.connection_id === id)!.company_id;
    const subject = (status: string) => ({ entity: 'ops', provider_id: 'adp_run', company_id, status });

    expect(await latest(id)).toMatchObject({ action: 'connection_stored', subject: subject('connected') });
    // code_exchanged is the session's entry: no connection stored yet, no subject.
    const trail = (await h.invoke(`GET /connections/${id}/audit`, { claims: owner })).json.entries;
    expect(trail.find((e: { action: string }) => e.action === 'code_exchanged')).not.toHaveProperty('subject');

    await setStatusAtFinch(id, 'error_permissions');
    await h.invoke(`GET /connections/${id}`, { claims: owner, query: { refresh: 'true' } });
    expect(await latest(id)).toMatchObject({ action: 'refreshed', subject: subject('error_permissions'), details: { previous_status: 'connected' } });

    await setStatusAtFinch(id, 'connected');
    await h.invoke(`GET /connections/${id}`, { claims: owner, query: { refresh: 'true' } });
    expect(await latest(id)).toMatchObject({ action: 'refreshed', subject: subject('connected'), details: { previous_status: 'error_permissions' } });

    await setStatusAtFinch(id, 'reauth');
    const proxied = await h.invoke('GET /finch/employer/company', { claims: owner, headers: { 'finch-connection-id': id } });
    expect(proxied.statusCode).toBe(409);
    expect(await latest(id)).toMatchObject({ action: 'reauth_required', actor: 'finch-proxy', subject: subject('reauth'), details: { previous_status: 'connected' } });

    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: owner, body: { connection_id: id } });
    const again = await authorizeAtFinch(reauth.json.connect_url, { provider: 'adp_run', login: 'admin@subject-employer.example' });
    await h.invoke('GET /connect/callback', { query: { code: again.code!, state: again.state } });
    expect(await latest(id)).toMatchObject({ action: 'reauthenticated', subject: subject('connected') });

    await setStatusAtFinch(id, 'error_no_account_setup');
    await webhook({ event_type: 'account.updated', connection_id: id, data: { status: 'error_no_account_setup' } });
    expect(await latest(id)).toMatchObject({
      action: 'webhook_applied', actor: 'finch-webhook', subject: subject('error_no_account_setup'),
      details: { event_type: 'account.updated', previous_status: 'connected' },
    });

    await webhook({ event_type: 'job.initial_data_sync_payroll.succeeded', connection_id: id });
    const sync = await latest(id);
    expect(sync).toMatchObject({ action: 'webhook_applied', subject: subject('error_no_account_setup'), details: { initial_sync: 'payroll' } });
    expect(sync.details).not.toHaveProperty('previous_status');

    // A plain data sync only touches last_synced_at (no event): its entry names no subject.
    await webhook({ event_type: 'directory.updated', connection_id: id });
    const synced = await latest(id);
    expect(synced).toMatchObject({ action: 'webhook_applied', details: { event_type: 'directory.updated' } });
    expect(synced).not.toHaveProperty('subject');

    expect((await h.invoke(`DELETE /connections/${id}`, { claims: owner })).statusCode).toBe(204);
    expect(await latest(id)).toMatchObject({ action: 'disconnected', actor: 'bob@subject-co', subject: subject('disconnected') });
  });

  test('Finch\'s disconnect (account.updated "disconnected", the token refused) leaves a disconnected entry with its subject', async () => {
    const customer = { customer_id: 'subject-finch-co' };
    const session = await h.invoke('POST /connect/sessions', { claims: customer, body: { return_to: `${RETURN_ORIGIN}/` } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    const id = new URL((await h.invoke('GET /connect/callback', { query: { code: code!, state } })).headers.location).searchParams.get('connection_id')!;
    const finch = h.emulator.state().connections.find((c) => c.connection_id === id)!;
    const disconnected = await fetch(`${h.emulator.url}/disconnect`, {
      method: 'POST', headers: { authorization: `Bearer ${finch.tokens.at(-1)}`, 'finch-api-version': '2020-09-17' },
    });
    expect(disconnected.status).toBe(200);
    await webhook({ event_type: 'account.updated', connection_id: id, data: { status: 'disconnected' } });
    expect(await latest(id, customer)).toMatchObject({
      action: 'disconnected', actor: 'finch',
      subject: { entity: null, provider_id: 'gusto', company_id: finch.company_id, status: 'disconnected' },
    });
  });
});
