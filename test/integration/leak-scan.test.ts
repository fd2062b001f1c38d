// Leak scan ("the access token never leaves the backend"): every flow the product has — redirect and
// embedded connect, a second entity, reauthentication, refresh, the Finch proxy and the directory,
// webhooks, the audit trail, disconnect, an Idempotency-Key replay, and the failures (cancelled,
// refused code, Finch down, a token lost to a timeout and adopted, an unconfirmed customer, a store
// fault finished by a repeated callback, forged and wrong-flow states, rate limits, bad signatures)
// — run with every log line captured at DEBUG. Then every token Finch issued, the client secret, the
// webhook secret, every code and every raw state is searched for in every response, every log line
// and every table item in plaintext: zero hits. A raw state may appear only in the answer of the
// request that created its session (the caller needs it), by contract.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys } from '#adapters/table.js';
import { hashState } from '#core/ids.js';
import { faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { type EventsPipe, startEventsPipe } from '../support/events-pipe.js';
import { scanAll } from '../support/invariants.js';
import {
  CALLBACK_URL, CLIENT_ID, CLIENT_SECRET, RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, capturedLogs, deliverWebhook, emulatorFault, handedOut, startHarness, type Harness,
} from '../support/harness.js';

let h: Harness;
/** Every raw state a create-session answer handed out, and the codes this test got by itself. */
const states: string[] = [];
const codes: string[] = [];

/** The events every flow made (the local stack's pipe over this file's table), and the events.jsonl it wrote. */
let pipe: EventsPipe;
const stateDir = mkdtempSync(join(tmpdir(), 'leak-scan-events-'));
beforeAll(async () => {
  h = await startHarness({ POWERTOOLS_LOG_LEVEL: 'DEBUG', FINCH_TIMEOUT_MS: '500', STORE_BUDGET_MS: '500' });
  pipe = await startEventsPipe(h.table, { stateDir });
});
afterAll(async () => {
  await pipe?.close();
  await h?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });

async function session(customer: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done`, ...body }, headers });
  if (res.json?.state) states.push(res.json.state);
  return res;
}

async function callback(query: Record<string, string>) {
  const res = await h.invoke('GET /connect/callback', { query });
  return res.statusCode === 302 ? Object.fromEntries(new URL(res.headers.location).searchParams) : {};
}

async function connect(customer: string, body: Record<string, unknown> = {}) {
  const started = await session(customer, body);
  const back = await authorizeAtFinch(started.json.connect_url);
  return (await callback({ code: back.code!, state: back.state })).connection_id;
}

function webhook(body: Record<string, unknown>, secret = WEBHOOK_SECRET) {
  return deliverWebhook(h, body, { secret });
}

describe('leak scan: no token, secret, code or raw state anywhere', () => {
  test('every flow runs', async () => {
    // Connect: redirect, embedded, a second entity.
    const acme = await connect('leak-acme');
    expect(acme).toEqual(expect.any(String));
    const embedded = await session('leak-initech', { flow: 'embedded', return_to: undefined });
    const back = await authorizeAtFinch(embedded.json.connect_url);
    expect((await h.invoke('POST /connect/callback', { claims: claims('leak-initech'), body: { code: back.code, state: back.state } })).statusCode).toBe(200);
    const west = await connect('leak-acme', { entity: 'west' });

    // Reauthenticate, refresh (until rate limited), list, audit.
    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims('leak-acme'), body: { connection_id: acme } });
    states.push(reauth.json.state);
    const again = await authorizeAtFinch(reauth.json.connect_url);
    expect((await callback({ code: again.code!, state: again.state })).reauthenticated).toBe('true');
    for (let i = 0; i < 7; i++) await h.invoke(`GET /connections/${acme}`, { claims: claims('leak-acme'), query: { refresh: 'true' } });
    await h.invoke('GET /connections', { claims: claims('leak-acme') });
    await h.invoke(`GET /connections/${acme}/audit`, { claims: claims('leak-acme') });
    await h.invoke(`GET /connections/${acme}`, { claims: claims('leak-stranger') });

    // Finch's data through the proxy, the directory, and a path that is refused.
    expect((await h.invoke('GET /finch/employer/company', { claims: claims('leak-acme'), headers: { 'finch-connection-id': acme } })).statusCode).toBe(200);
    await h.invoke('GET /finch/employer/directory', { claims: claims('leak-acme'), headers: { 'finch-connection-id': west }, query: { limit: '5' } });
    await h.invoke('POST /finch/employer/individual', { claims: claims('leak-acme'), headers: { 'finch-connection-id': acme }, body: { requests: [{ individual_id: 'x' }] } });
    await h.invoke('GET /finch/auth/token', { claims: claims('leak-acme'), headers: { 'finch-connection-id': acme } });
    await h.invoke('GET /directory', { claims: claims('leak-acme') });

    // Webhooks: applied, a duplicate-free sync, a forged one.
    await fetch(`${h.emulator.url}/_emulator/connections/${west}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'reauth' }) });
    expect((await webhook({ event_type: 'account.updated', connection_id: west })).json.outcome).toBe('applied');
    await webhook({ event_type: 'job.data_sync_all.completed', connection_id: acme });
    expect((await webhook({ event_type: 'account.updated', connection_id: acme }, Buffer.from('not the secret at all!!').toString('base64'))).statusCode).toBe(401);

    // An Idempotency-Key replay answers the first session (its state, to the same caller).
    const keyed = await session('leak-keyed', {}, { 'idempotency-key': 'leak-1' });
    const replay = await session('leak-keyed', {}, { 'idempotency-key': 'leak-1' });
    expect(replay.json.state).toBe(keyed.json.state);

    // Failures: cancelled, a refused code, Finch down at the exchange.
    const cancelled = await session('leak-cancel');
    expect((await callback(await authorizeAtFinch(cancelled.json.connect_url, { outcome: 'error' }) as Record<string, string>)).error).toBe('connect_cancelled');
    const refused = await session('leak-refused');
    const refusedBack = await authorizeAtFinch(refused.json.connect_url);
    expect((await callback({ code: `${refusedBack.code}x`, state: refusedBack.state })).error).toBe('invalid_code');
    const down = await session('leak-down');
    const downBack = await authorizeAtFinch(down.json.connect_url);
    await emulatorFault(h, { method: 'POST', path: '/auth/token', status: 503 });
    expect((await callback({ code: downBack.code!, state: downBack.state })).error).toBe('finch_unavailable');

    // A token lost to a timeout after Finch issued it, then adopted.
    const lost = await session('leak-lost');
    const lostBack = await authorizeAtFinch(lost.json.connect_url);
    await emulatorFault(h, { method: 'POST', path: '/auth/token', delay_ms: 1200, after_response: true });
    expect((await callback({ code: lostBack.code!, state: lostBack.state })).error).toBe('finch_unavailable');
    const adopt = await session('leak-lost');
    expect(adopt.json.adopts_connection_id).toEqual(expect.any(String));
    const adoptBack = await authorizeAtFinch(adopt.json.connect_url);
    expect((await callback({ code: adoptBack.code!, state: adoptBack.state })).status).toBe('connected');

    // A customer Finch does not confirm.
    const unverified = await session('leak-unverified');
    const unverifiedBack = await authorizeAtFinch(unverified.json.connect_url);
    await emulatorFault(h, { method: 'POST', path: '/auth/token', omit_fields: ['customer_id'] });
    await emulatorFault(h, { method: 'GET', path: '/introspect', status: 500, times: 2 });
    expect((await callback({ code: unverifiedBack.code!, state: unverifiedBack.state })).error).toBe('customer_unverified');

    // A store fault after the exchange, finished by repeating the callback (the token rests stashed meanwhile).
    const stashed = await session('leak-stash');
    const stashedBack = await authorizeAtFinch(stashed.json.connect_url);
    const injector = injectFaults(storeClient(h.app.deps));
    injector.add({ step: 'transaction', error: faults.throttling, times: Number.POSITIVE_INFINITY });
    expect((await callback({ code: stashedBack.code!, state: stashedBack.state })).error).toBe('store_unavailable');
    injector.remove();
    expect((await callback({ code: stashedBack.code!, state: stashedBack.state })).status).toBe('connected');

    // Refused states: forged, wrong flow, replayed after completion.
    await callback({ code: 'c', state: 'A'.repeat(43) });
    await callback({ code: back.code!, state: back.state });
    await callback({ code: stashedBack.code!, state: stashedBack.state });

    // A code exchanged by someone else (the backend never sees its token): adopt recovers it.
    const outside = await session('leak-outside');
    const outsideBack = await authorizeAtFinch(outside.json.connect_url);
    codes.push(outsideBack.code!);
    const direct = await fetch(`${h.emulator.url}/auth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'finch-api-version': '2020-09-17' },
      body: JSON.stringify({ code: outsideBack.code, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uri: CALLBACK_URL }),
    });
    expect(direct.status).toBe(200);

    // Disconnect, twice.
    expect((await h.invoke(`DELETE /connections/${west}`, { claims: claims('leak-acme') })).statusCode).toBe(204);
    expect((await h.invoke(`DELETE /connections/${west}`, { claims: claims('leak-acme') })).statusCode).toBe(204);
    expect((await getItemStatus(west, 'leak-acme'))).toBe('disconnected');
    expect(await h.table.doc.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: h.table.tableName, Key: keys.session(hashState(stashedBack.state)) })))
      .toMatchObject({ Item: { status: 'completed' } });
  }, 60_000);

  test('zero hits in responses, log lines and table items', async () => {
    // Every change's event through the pipe (its function's log lines among the logs searched), as
    // EventBridge delivers it and as the local stack writes it.
    await pipe.drain();
    const tokens = h.emulator.state().connections.flatMap((c) => c.tokens);
    const allCodes = [...new Set([...handedOut.codes, ...codes])];
    const allStates = [...new Set([...handedOut.states, ...states])];
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    expect(allCodes.length).toBeGreaterThanOrEqual(10);
    expect(allStates.length).toBeGreaterThanOrEqual(10);

    const responses = h.transcript.map((t) => t.text).join('\n');
    const notSessionAnswers = h.transcript.filter((t) => !t.routeKey.startsWith('POST /connect/sessions')).map((t) => t.text).join('\n');
    const logs = capturedLogs();
    const items = await scanAll(h.table.doc, h.table.tableName);
    const table = JSON.stringify(items);
    expect(logs).toMatch(/"level":"DEBUG"|"level":"INFO"/);
    expect(items.length).toBeGreaterThan(30);
    const events = JSON.stringify(pipe.bus.deliveredEvents());
    const eventsFile = readFileSync(join(stateDir, 'events.jsonl'), 'utf8');
    expect(pipe.bus.events().length).toBeGreaterThanOrEqual(8);
    expect(eventsFile.trim().split('\n')).toHaveLength(pipe.bus.events().length);

    const hits: string[] = [];
    const search = (kind: string, values: string[], places: Record<string, string>) => {
      for (const value of values) {
        for (const [place, text] of Object.entries(places)) if (text.includes(value)) hits.push(`${kind} ${value.slice(0, 8)}… in ${place}`);
      }
    };
    const everywhere = { responses, logs, table, events, 'events.jsonl': eventsFile };
    search('access token', tokens, everywhere);
    search('client secret', [CLIENT_SECRET], everywhere);
    search('webhook secret', [WEBHOOK_SECRET, Buffer.from(WEBHOOK_SECRET, 'base64').toString('hex')], everywhere);
    search('code', allCodes, everywhere);
    // A raw state only in the answer that created its session; the table holds its hash.
    search('raw state', allStates, { 'responses other than create-session': notSessionAnswers, logs, table, events, 'events.jsonl': eventsFile });
    // Nor the encrypted forms outside the table, nor anything that names them in a log or an event.
    search('ciphertext', items.flatMap((i) => (typeof i.token_ciphertext === 'string' ? [i.token_ciphertext] : [])), { responses, logs, events, 'events.jsonl': eventsFile });
    expect(hits).toEqual([]);
    expect(logs).not.toMatch(/connect_url|access_token|client_secret|authorization":|Bearer /i);
    console.log(`leak scan: ${tokens.length} tokens, ${allCodes.length} codes, ${allStates.length} states, 2 secrets searched in ${h.transcript.length} responses, ${logs.split('\n').length} log lines, ${items.length} table items, ${pipe.bus.events().length} events: ${hits.length} hits`);
  });
});

describe('what the employer\'s browser is sent (RFC 9700 §4.2, §4.3, §4.16)', () => {
  test('every callback answer and result page is no-store and no-referrer; pages load nothing and cannot be framed', () => {
    const pages = h.transcript.filter((t) => t.routeKey === 'GET /connect/callback' || t.routeKey === 'GET /connect/result');
    expect(pages.length).toBeGreaterThanOrEqual(10);
    for (const page of pages) {
      const headers = JSON.parse(page.text.split('\n')[0]) as Record<string, string>;
      expect(headers['cache-control']).toBe('no-store');
      expect(headers['referrer-policy']).toBe('no-referrer');
      if (headers['content-type']?.startsWith('text/html')) {
        expect(headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
        expect(headers['x-content-type-options']).toBe('nosniff');
      }
      // Where the browser goes next names the result only: never a code or a state.
      const location = headers.location ? new URL(headers.location) : null;
      if (location) expect([...location.searchParams.keys()].every((key) => ['status', 'connection_id', 'reauthenticated', 'error'].includes(key))).toBe(true);
    }
  });
});

async function getItemStatus(connectionId: string, customer: string) {
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const { Item } = await h.table.doc.send(new GetCommand({ TableName: h.table.tableName, Key: keys.connection(customer, connectionId) }));
  return Item?.status;
}
