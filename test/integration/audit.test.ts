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
