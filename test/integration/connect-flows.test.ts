// The connect flows end to end through the real handlers, DynamoDB Local and the Finch emulator.
import { LocalAesCipher, AccessTokenCipher } from '#adapters/token-cipher.js';
import { keys } from '#adapters/table.js';
import { hashState } from '#core/ids.js';
import {
  CLIENT_SECRET, RETURN_ORIGIN, TOKEN_KEY, authorizeAtFinch, handedOut, capturedLogs, emulatorFault, getItem, scanTable, startHarness, type Harness,
} from '../support/harness.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = (customer_id: string, extra: Record<string, unknown> = {}) => ({ customer_id, ...extra });
const exchanges = () => h.emulator.state().calls['POST /auth/token'] ?? 0;
const cipher = new AccessTokenCipher(new LocalAesCipher([['k1', TOKEN_KEY]]));

async function startSession(customer: string, body: Record<string, unknown> = {}) {
  const res = await h.invoke('POST /connect/sessions', {
    claims: claims(customer), body: { customer_name: `${customer} Inc`, return_to: `${RETURN_ORIGIN}/done`, ...body },
  });
  expect(res.statusCode).toBe(201);
  return res.json as { session_id: string; connect_url: string; state: string; expires_at: string; finch_customer_id: string };
}

async function redirectConnect(customer: string, body: Record<string, unknown> = {}) {
  const session = await startSession(customer, body);
  const { code, state } = await authorizeAtFinch(session.connect_url);
  const query = { code: code!, state };
  const res = await h.invoke('GET /connect/callback', { query });
  return { session, res, query, location: res.headers.location ? new URL(res.headers.location) : null };
}

describe('redirect flow', () => {
  test('session → authorize → callback → 302 with connection_id → listed, token-free, encrypted at rest', async () => {
    const before = exchanges();
    const { res, location, session } = await redirectConnect('acme');
    expect(res.statusCode).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(location!.origin + location!.pathname).toBe(`${RETURN_ORIGIN}/done`);
    expect(location!.searchParams.get('status')).toBe('connected');
    expect(location!.searchParams.get('reauthenticated')).toBe('false');
    const connectionId = location!.searchParams.get('connection_id')!;
    expect(exchanges()).toBe(before + 1);
    expect(session.finch_customer_id).toBe('acme');

    const list = await h.invoke('GET /connections', { claims: claims('acme') });
    expect(list.statusCode).toBe(200);
    expect(list.json.connections.map((c: { connection_id: string }) => c.connection_id)).toContain(connectionId);
    expect(list.body).not.toMatch(/token_ciphertext|access_token/);

    const item = await getItem(h, keys.connection('acme', connectionId));
    const issued = h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens;
    expect(item!.token_ciphertext).toMatch(/^aes:k1:/);
    expect(JSON.stringify(item)).not.toContain(issued[0]);
    await expect(cipher.decrypt(item!.token_ciphertext, { customer_id: 'acme', connection_id: connectionId })).resolves.toBe(issued.at(-1));
    expect(await getItem(h, keys.owner(connectionId))).toMatchObject({ customer_id: 'acme' });
  });

  test('without return_to the browser lands on the built-in result page', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims: claims('hooli'), body: {} });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    const res = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    expect(res.statusCode).toBe(302);
    const location = new URL(res.headers.location);
    expect(location.href.startsWith('https://api.example/connect/result?')).toBe(true);
    const page = await h.invoke('GET /connect/result', { query: Object.fromEntries(location.searchParams) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-status="connected"');
  });

  test('a replayed callback returns the first result and exchanges the code once', async () => {
    const first = await redirectConnect('replay-co');
    const before = exchanges();
    const again = await h.invoke('GET /connect/callback', { query: first.query });
    expect(again.statusCode).toBe(302);
    expect(again.headers.location).toBe(first.res.headers.location);
    expect(exchanges()).toBe(before);
  });

  test('the employer cancelling at Finch fails the session and redirects with the error', async () => {
    const session = await startSession('cancel-co');
    const back = await authorizeAtFinch(session.connect_url, { outcome: 'error' });
    const res = await h.invoke('GET /connect/callback', { query: back as Record<string, string> });
    const location = new URL(res.headers.location);
    expect(location.searchParams.get('status')).toBe('error');
    expect(location.searchParams.get('error')).toBe('connect_cancelled');
    expect(await getItem(h, keys.session(hashState(session.state)))).toMatchObject({ status: 'failed' });
  });
});

describe('embedded flow', () => {
  test('the frontend posts the code; only the caller\'s embedded states are taken', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims: claims('initech'), body: { flow: 'embedded' } });
    expect(session.statusCode).toBe(201);
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    expect(state).toBe(session.json.state);

    const other = await h.invoke('POST /connect/callback', { claims: claims('globex'), body: { code, state } });
    expect(other.statusCode).toBe(400);
    expect(other.json.error.code).toBe('invalid_state');

    const wrongFlow = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    expect(wrongFlow.statusCode).toBe(400);

    const res = await h.invoke('POST /connect/callback', { claims: claims('initech'), body: { code, state } });
    expect(res.statusCode).toBe(200);
    expect(res.json).toMatchObject({ customer_id: 'initech', status: 'connected', reauthenticated: false, entity: null, provider_id: 'gusto' });
  });
});

describe('reauthentication', () => {
  test('same connection_id, token_version 2, new token stored, old one gone', async () => {
    const { location } = await redirectConnect('umbrella');
    const connectionId = location!.searchParams.get('connection_id')!;
    const oldItem = await getItem(h, keys.connection('umbrella', connectionId));

    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', {
      claims: claims('umbrella'), body: { connection_id: connectionId, return_to: `${RETURN_ORIGIN}/done` },
    });
    expect(reauth.statusCode).toBe(201);
    const { code, state } = await authorizeAtFinch(reauth.json.connect_url);
    const res = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const back = new URL(res.headers.location);
    expect(back.searchParams.get('connection_id')).toBe(connectionId);
    expect(back.searchParams.get('reauthenticated')).toBe('true');

    const item = await getItem(h, keys.connection('umbrella', connectionId));
    expect(item!.token_version).toBe(2);
    expect(item!.token_ciphertext).not.toBe(oldItem!.token_ciphertext);
    const tokens = h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens;
    await expect(cipher.decrypt(item!.token_ciphertext, { customer_id: 'umbrella', connection_id: connectionId })).resolves.toBe(tokens.at(-1));
    const items = (await scanTable(h)).filter((i) => i.connection_id === connectionId && String(i.pk).startsWith('CUSTOMER#'));
    expect(items).toHaveLength(1);
  });

  test('a connection that exists at Finch with no owner here is adopted through a new session', async () => {
    // Finch issued a token whose exchange answer never reached us: the connection exists there only.
    const session = await startSession('lost-co');
    const { code } = await authorizeAtFinch(session.connect_url);
    const direct = await fetch(`${h.emulator.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'finch-api-version': '2020-09-17' },
      body: JSON.stringify({ code, client_id: 'client-harness', client_secret: CLIENT_SECRET, redirect_uri: 'https://api.example/connect/callback' }),
    });
    expect(direct.status).toBe(200);
    const lostId = ((await direct.json()) as { connection_id: string }).connection_id;

    const adopt = await h.invoke('POST /connect/sessions', { claims: claims('lost-co'), body: { return_to: `${RETURN_ORIGIN}/done` } });
    expect(adopt.statusCode).toBe(201);
    expect(adopt.json.adopts_connection_id).toBe(lostId);
    const back = await authorizeAtFinch(adopt.json.connect_url);
    const res = await h.invoke('GET /connect/callback', { query: { code: back.code!, state: back.state } });
    expect(new URL(res.headers.location).searchParams.get('connection_id')).toBe(lostId);
    expect(await getItem(h, keys.owner(lostId))).toMatchObject({ customer_id: 'lost-co' });

    const again = await h.invoke('POST /connect/sessions', { claims: claims('lost-co'), body: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'connection_already_exists', connection_id: lostId });
  });
});

describe('refused states (invariant 2): nothing reaches Finch', () => {
  test('unknown, forged, malformed, wrong-flow, already-failed and expired states', async () => {
    const failed = await startSession('refuse-co');
    await h.invoke('GET /connect/callback', { query: { state: failed.state, error: 'access_denied' } });
    const expired = await startSession('refuse-co', { minutes_to_expire: 1 });
    // The item is still there (TTL is lazy) but its expiry has passed.
    await h.table.doc.send(new (await import('@aws-sdk/lib-dynamodb')).UpdateCommand({
      TableName: h.table.tableName, Key: keys.session(hashState(expired.state)),
      UpdateExpression: 'SET expires_at = :past', ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
    }));
    const embedded = await h.invoke('POST /connect/sessions', { claims: claims('refuse-co'), body: { flow: 'embedded' } });
    const before = exchanges();
    const cases: Record<string, string>[] = [
      { code: 'c', state: 'A'.repeat(43) },
      { code: 'c', state: 'not-a-state' },
      { code: 'c', state: `${failed.state}x` },
      { code: 'c', state: embedded.json.state },
      { code: 'c', state: expired.state },
      { code: 'c' },
    ];
    for (const query of cases) {
      const res = await h.invoke('GET /connect/callback', { query });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('invalid_state');
    }
    const again = await h.invoke('GET /connect/callback', { query: { code: 'c', state: failed.state } });
    expect(new URL(again.headers.location).searchParams.get('error')).toBe('connect_cancelled');
    expect(exchanges()).toBe(before);
  });
});

describe('right customer, fail closed (invariant 3)', () => {
  test('a token response without customer_id is confirmed by /introspect', async () => {
    await emulatorFault(h, { method: 'POST', path: '/auth/token', omit_fields: ['customer_id'], times: 1 });
    const before = h.emulator.state().calls['GET /introspect'] ?? 0;
    const { location } = await redirectConnect('verify-co');
    expect(location!.searchParams.get('status')).toBe('connected');
    expect(h.emulator.state().calls['GET /introspect']).toBe(before + 1);
  });

  test('when introspect cannot confirm the customer, nothing is stored', async () => {
    for (const [path, method] of [['/auth/token', 'POST'], ['/introspect', 'GET']]) {
      await emulatorFault(h, { method, path, omit_fields: ['customer_id'], times: 1 });
    }
    const { location } = await redirectConnect('unverified-co');
    expect(location!.searchParams.get('error')).toBe('customer_unverified');
    const items = await scanTable(h);
    // Only the session and its audit entry exist: no connection, no owner.
    expect(items.filter((i) => i.customer_id === 'unverified-co' && /^(CUSTOMER|CONNECTION)#/.test(String(i.pk)))).toHaveLength(0);
    expect(items.filter((i) => String(i.pk).startsWith('AUDIT#unverified-co#')).map((i) => i.action)).toEqual(['session_created']);
  });
});

describe('one owner (invariant 1) and races on DynamoDB Local', () => {
  test('20 concurrent callbacks with one state → one exchange, one item, one answer', async () => {
    const session = await startSession('race-co');
    const { code, state } = await authorizeAtFinch(session.connect_url);
    const before = exchanges();
    const results = await Promise.all(Array.from({ length: 20 }, () => h.invoke('GET /connect/callback', { query: { code: code!, state } })));
    expect(exchanges()).toBe(before + 1);
    const ids = new Set(results.map((r) => new URL(r.headers.location).searchParams.get('connection_id')));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.statusCode === 302)).toBe(true);
    const items = (await scanTable(h)).filter((i) => i.customer_id === 'race-co' && String(i.pk).startsWith('CUSTOMER#'));
    expect(items).toHaveLength(1);
  });

  test('two concurrent reauths of one connection → versions 2 and 3 and the newer token kept', async () => {
    const { location } = await redirectConnect('twice-co');
    const connectionId = location!.searchParams.get('connection_id')!;
    const callbacks = [];
    for (let i = 0; i < 2; i++) {
      const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims('twice-co'), body: { connection_id: connectionId } });
      callbacks.push(await authorizeAtFinch(reauth.json.connect_url));
    }
    const results = await Promise.all(callbacks.map(({ code, state }) => h.invoke('GET /connect/callback', { query: { code: code!, state } })));
    expect(results.map((r) => new URL(r.headers.location).searchParams.get('status'))).toEqual(['connected', 'connected']);
    const item = await getItem(h, keys.connection('twice-co', connectionId));
    const tokens = h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens;
    // Both reauths stored in issue order (versions 2 then 3), or the later-issued one was stored
    // first and the earlier one was dropped as superseded (version 2): never an older token over a newer.
    expect([2, 3]).toContain(item!.token_version);
    const kept = await cipher.decrypt(item!.token_ciphertext, { customer_id: 'twice-co', connection_id: connectionId });
    expect(tokens.slice(1)).toContain(kept);
  });
});

describe('cross-customer access', () => {
  test('another customer\'s connection → 404 on get, refresh and reauthenticate', async () => {
    const { location } = await redirectConnect('owner-co');
    const id = location!.searchParams.get('connection_id')!;
    const stranger = claims('stranger-co');
    const get = await h.invoke(`GET /connections/${id}`, { claims: stranger });
    const refresh = await h.invoke(`GET /connections/${id}`, { claims: stranger, query: { refresh: 'true' } });
    const reauth = await h.invoke('POST /connect/sessions/reauthenticate', { claims: stranger, body: { connection_id: id } });
    const missing = await h.invoke('GET /connections/no-such-connection', { claims: stranger });
    for (const res of [get, refresh, reauth]) {
      expect(res.statusCode).toBe(404);
      expect(res.json.error.code).toBe('connection_not_found');
      expect(res.body.replace(/"request_id":"[^"]+"/, '')).toBe(missing.body.replace(/"request_id":"[^"]+"/, ''));
    }
  });

  test('refresh reads the status from Finch and stores it', async () => {
    const { location } = await redirectConnect('refresh-co');
    const id = location!.searchParams.get('connection_id')!;
    await fetch(`${h.emulator.url}/_emulator/connections/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'reauth' }) });
    const res = await h.invoke(`GET /connections/${id}`, { claims: claims('refresh-co'), query: { refresh: 'true' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.status).toBe('reauth');
    const listed = await h.invoke('GET /connections', { claims: claims('refresh-co'), query: { status: 'reauth' } });
    expect(listed.json.connections.map((c: { connection_id: string }) => c.connection_id)).toEqual([id]);
  });
});

describe('no secret anywhere (the token never leaves the backend)', () => {
  test('no response, header or log line holds an issued token, the client secret, a code or a raw state', () => {
    const logs = capturedLogs();
    const responses = h.transcript.map((t) => t.text).join('\n');
    // Only the session routes answer a state (the caller needs it); nothing else may.
    const notSessions = h.transcript.filter((t) => !t.routeKey.startsWith('POST /connect/sessions')).map((t) => t.text).join('\n');
    const tokens = h.emulator.state().connections.flatMap((c) => c.tokens);
    expect(tokens.length).toBeGreaterThan(5);
    expect(handedOut.codes.length).toBeGreaterThan(5);
    for (const secret of [CLIENT_SECRET, ...tokens, ...handedOut.codes]) {
      expect(responses).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    for (const state of handedOut.states) {
      expect(notSessions).not.toContain(state);
      expect(logs).not.toContain(state);
    }
    expect(logs).not.toMatch(/connect_url|access_token|client_secret/);
    expect(logs).toMatch(/connection stored/);
  });
});
