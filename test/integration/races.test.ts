// Races at scale against DynamoDB Local, with real concurrency: many callbacks for one state,
// many customers for the same connection ids, reauthentications against a disconnect, webhooks
// piling onto one connection. After each, the invariants (docs/ARCHITECTURE.md) are checked on
// the whole table (one owner, one item per connection, no partial write) and on a history of the
// connection sampled while the race ran (versions only grow, with every new token; `disconnected`
// is final).
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSessionStore } from '#adapters/dynamo/sessions.js';
import { keys } from '#adapters/table.js';
import { AccessTokenCipher, LocalAesCipher } from '#adapters/token-cipher.js';
import { hashState } from '#core/ids.js';
import type { CallbackResult, Connection, SessionRecord } from '#core/model.js';
import type { CreateOutcome } from '#core/ports/session-store.js';
import { retryTransient } from '#core/retry.js';
import { signWebhook } from '#local/finch-emulator/index.js';
import { type Sample, historyViolations, isConnectionItem, isOwnerItem, isSessionItem, scanAll, tableViolations } from '../support/invariants.js';
import { RETURN_ORIGIN, TOKEN_KEY, WEBHOOK_SECRET, authorizeAtFinch, emulatorFault, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
const cipher = new AccessTokenCipher(new LocalAesCipher([['k1', TOKEN_KEY]]));
const figures = { races: 0, concurrentRequests: 0 };

beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const exchanges = () => h.emulator.state().calls['POST /auth/token'] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function race<T>(operations: Array<() => Promise<T>>): Promise<T[]> {
  figures.races++;
  figures.concurrentRequests += operations.length;
  return Promise.all(operations.map((operation) => operation()));
}

async function expectInvariants() {
  expect(tableViolations(await scanAll(h.table.doc, h.table.tableName))).toEqual([]);
}

function redirectParams(res: { statusCode: number; headers: Record<string, string> }) {
  expect(res.statusCode).toBe(302);
  return Object.fromEntries(new URL(res.headers.location).searchParams);
}

async function authorized(customer: string, reauthOf?: string) {
  const session = reauthOf
    ? await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id: reauthOf, return_to: `${RETURN_ORIGIN}/` } })
    : await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/` } });
  expect(session.statusCode).toBe(201);
  const back = await authorizeAtFinch(session.json.connect_url);
  return { code: back.code!, state: back.state };
}

async function connect(customer: string): Promise<string> {
  const res = await h.invoke('GET /connect/callback', { query: await authorized(customer) });
  return redirectParams(res).connection_id;
}

/** Reads one connection item over and over while a race runs. */
function sampleConnection(customer: string, connectionId: string) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { Item } = await h.table.doc.send(new GetCommand({ TableName: h.table.tableName, Key: keys.connection(customer, connectionId), ConsistentRead: true }));
      samples.push({ status: Item?.status ?? null, token_version: Item?.token_version ?? null, ciphertext: Item?.token_ciphertext ?? null });
    }
  })();
  return async () => {
    running = false;
    await loop;
    const { Item } = await h.table.doc.send(new GetCommand({ TableName: h.table.tableName, Key: keys.connection(customer, connectionId), ConsistentRead: true }));
    samples.push({ status: Item?.status ?? null, token_version: Item?.token_version ?? null, ciphertext: Item?.token_ciphertext ?? null });
    return { samples, item: Item! };
  };
}

let eventCounter = 0;
function webhook(type: string, connectionId: string, eventId = `msg_race_${++eventCounter}_${Date.now()}`) {
  const body = JSON.stringify({ event_type: type, connection_id: connectionId, data: {} });
  return {
    eventId,
    send: () => {
      const timestamp = Math.floor(Date.now() / 1000);
      return h.invoke('POST /webhooks/finch', {
        rawBody: body,
        headers: {
          'content-type': 'application/json', 'finch-event-id': eventId, 'finch-timestamp': String(timestamp),
          'finch-signature': signWebhook(WEBHOOK_SECRET, eventId, timestamp, body),
        },
      });
    },
  };
}

/** Delivers like Finch: anything but a 2xx is delivered again, a little later. */
async function deliver(event: ReturnType<typeof webhook>, attempts = 6) {
  for (let attempt = 1; ; attempt++) {
    const res = await event.send();
    if (res.statusCode === 200 || attempt === attempts) return { res, attempts: attempt };
    await sleep(20 * attempt);
  }
}

describe('one state, many callbacks (invariants 1 and 2)', () => {
  test('100 concurrent callbacks for one state → one exchange, one connection, the same answer for all', async () => {
    const query = await authorized('race-callbacks');
    const before = exchanges();
    const results = await race(Array.from({ length: 100 }, () => () => h.invoke('GET /connect/callback', { query })));
    expect(exchanges()).toBe(before + 1);
    const answers = results.map(redirectParams);
    const connected = answers.filter((a) => a.status === 'connected');
    expect(connected.length).toBeGreaterThan(0);
    const result = { status: 'connected', connection_id: connected[0].connection_id, reauthenticated: 'false' };
    // Every callback answers the one result, or (on a slow machine, while the first still stores) that
    // it is in progress; repeating it then answers the result.
    for (const answer of answers) expect([result, { status: 'error', error: 'callback_in_progress' }]).toContainEqual(answer);
    expect(redirectParams(await h.invoke('GET /connect/callback', { query }))).toEqual(result);
    expect(exchanges()).toBe(before + 1);
    const items = await scanAll(h.table.doc, h.table.tableName);
    expect(items.filter((i) => isConnectionItem(i) && i.customer_id === 'race-callbacks')).toHaveLength(1);
    expect(items.find((i) => isSessionItem(i) && i.pk === keys.session(hashState(query.state)).pk)).toMatchObject({ status: 'completed' });
    await expectInvariants();
  });

  test('50 concurrent embedded callbacks, half of them from another customer → one connection, strangers refused', async () => {
    const session = await h.invoke('POST /connect/sessions', { claims: claims('race-embedded'), body: { flow: 'embedded' } });
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    const before = exchanges();
    const results = await race(Array.from({ length: 50 }, (_, i) => () => h.invoke('POST /connect/callback', {
      claims: claims(i % 2 ? 'race-stranger' : 'race-embedded'), body: { code, state },
    })));
    expect(exchanges()).toBe(before + 1);
    results.forEach((res, i) => {
      if (i % 2) expect([res.statusCode, res.json.error.code]).toEqual([400, 'invalid_state']);
      else expect([res.statusCode, res.json.status, res.json.customer_id]).toEqual([200, 'connected', 'race-embedded']);
    });
    await expectInvariants();
  });
});

describe('one owner per connection_id (invariant 1)', () => {
  test('50 customers racing for 10 connection ids → exactly one owner and one item each', async () => {
    // Finch never hands one connection id to two customers, so this race is driven at the store:
    // every customer holds a claimed session for every id and tries to create the connection.
    const sessionStore = new DynamoSessionStore(h.table.doc, h.table.tableName);
    const customers = Array.from({ length: 50 }, (_, i) => `contender-${i}`);
    const ids = Array.from({ length: 10 }, (_, i) => `contested-${i}-${Date.now().toString(36)}`);
    const now = new Date();
    // Each customer goes for three of the ids, so every id has 15 contenders at once.
    const attempts = customers.flatMap((customer, i) => [i, i + 3, i + 7].map((n) => ids[n % ids.length]).map((connection_id) => ({
      customer, connection_id, stateHash: hashState(`${customer}/${connection_id}/${now.getTime()}`),
    })));
    // The claimed sessions are written in batches (set-up, not the race).
    for (let i = 0; i < attempts.length; i += 25) {
      await h.table.doc.send(new BatchWriteCommand({ RequestItems: { [h.table.tableName]: attempts.slice(i, i + 25).map(({ customer, stateHash }) => ({
        PutRequest: { Item: { ...keys.session(stateHash), ...claimedSession(customer, stateHash, now) } },
      })) } }));
    }
    // Shuffled, so no customer is systematically first.
    attempts.sort(() => Math.random() - 0.5);
    const outcomes = await race(attempts.map(({ customer, connection_id, stateHash }) => async () => {
      const connection = newConnection(customer, connection_id, now);
      const token = { ciphertext: await cipher.encrypt(`token-of-${customer}-for-${connection_id}`, { customer_id: customer, connection_id }), token_issued_at: now.getTime() };
      const result: CallbackResult = { status: 'connected', connection_id, customer_id: customer, entity: null, provider_id: 'gusto', products: ['company'], reauthenticated: false };
      const outcome: CreateOutcome = await retryTransient(() => sessionStore.createConnection(stateHash, { connection, token }, result, {
        action: 'connection_stored', actor: customer, customer_id: customer, connection_id, at: now.toISOString(),
      }), Date.now() + 20_000);
      return { customer, connection_id, outcome };
    }));

    const items = await scanAll(h.table.doc, h.table.tableName);
    for (const id of ids) {
      const winners = outcomes.filter((o) => o.connection_id === id && o.outcome.ok);
      expect(winners).toHaveLength(1);
      const owner = winners[0].customer;
      // Every loser was told who owns it; nobody else got an item.
      for (const loser of outcomes.filter((o) => o.connection_id === id && !o.outcome.ok)) {
        expect(loser.outcome).toEqual({ ok: false, reason: 'owned', owner });
      }
      expect(items.filter((i) => isOwnerItem(i) && i.connection_id === id).map((i) => i.customer_id)).toEqual([owner]);
      const stored = items.filter((i) => isConnectionItem(i) && i.connection_id === id);
      expect(stored.map((i) => i.customer_id)).toEqual([owner]);
      await expect(cipher.decrypt(stored[0].token_ciphertext, { customer_id: owner, connection_id: id })).resolves.toBe(`token-of-${owner}-for-${id}`);
    }
    // Only the winners' sessions completed; the losers' stay claimed (the callback then fails them).
    const sessions = items.filter((i) => isSessionItem(i) && attempts.some((a) => i.pk === keys.session(a.stateHash).pk));
    expect(sessions.filter((s) => s.status === 'completed')).toHaveLength(ids.length);
    expect(sessions.filter((s) => s.status === 'claimed')).toHaveLength(attempts.length - ids.length);
    expect(tableViolations(items)).toEqual([]);
  });
});

describe('reauthentication against disconnection (invariants 1, 4 and the tombstone)', () => {
  test('concurrent reauths of one connection → strictly increasing versions, one item, a token Finch issued', async () => {
    const id = await connect('race-reauths');
    const callbacks = [];
    for (let i = 0; i < 8; i++) callbacks.push(await authorized('race-reauths', id));
    const stop = sampleConnection('race-reauths', id);
    const results = await race(callbacks.map((query) => () => h.invoke('GET /connect/callback', { query })));
    const { samples, item } = await stop();
    for (const res of results) expect(redirectParams(res)).toMatchObject({ status: 'connected', connection_id: id, reauthenticated: 'true' });
    expect(historyViolations(samples)).toEqual([]);
    expect(item.token_version).toBeGreaterThanOrEqual(2);
    expect(item.token_version).toBeLessThanOrEqual(9);
    // Every stored version is one ciphertext: as many distinct tokens were seen as versions passed.
    const seen = new Map(samples.filter((s) => s.ciphertext).map((s) => [s.token_version, s.ciphertext]));
    expect(new Set(seen.values()).size).toBe(seen.size);
    const tokens = h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens;
    expect(tokens.slice(1)).toContain(await cipher.decrypt(item.token_ciphertext, { customer_id: 'race-reauths', connection_id: id }));
    await expectInvariants();
  });

  test('two reauths whose first is slow after Finch answered → the token Finch issued last is stored', async () => {
    const customer = 'race-stale-token';
    const id = await connect(customer);
    const first = await authorized(customer, id);
    const second = await authorized(customer, id);
    // Both exchanges lack customer_id, so each callback asks /introspect; the first one's is slow.
    await emulatorFault(h, { method: 'POST', path: '/auth/token', omit_fields: ['customer_id'], times: 2 });
    await emulatorFault(h, { method: 'GET', path: '/introspect', delay_ms: 1500 });
    const results = await race([
      () => h.invoke('GET /connect/callback', { query: first }),
      async () => { await sleep(300); return h.invoke('GET /connect/callback', { query: second }); },
    ]);
    for (const res of results) expect(redirectParams(res)).toMatchObject({ status: 'connected', connection_id: id, reauthenticated: 'true' });
    const { Item } = await h.table.doc.send(new GetCommand({ TableName: h.table.tableName, Key: keys.connection(customer, id), ConsistentRead: true }));
    const issued = h.emulator.state().connections.find((c) => c.connection_id === id)!.tokens;
    expect(issued).toHaveLength(3);
    expect(await cipher.decrypt(Item!.token_ciphertext, { customer_id: customer, connection_id: id })).toBe(issued[2]);
    // The first callback's token came back older: dropped, not counted.
    expect(Item!.token_version).toBe(2);
    await expectInvariants();
  });

  test.each([0, 15, 40, 120])('reauths racing a disconnect (disconnect after %i ms) → disconnected stays disconnected, no token revived', async (delay) => {
    const customer = `race-bye-${delay}`;
    const id = await connect(customer);
    const callbacks = [];
    for (let i = 0; i < 4; i++) callbacks.push(await authorized(customer, id));
    const stop = sampleConnection(customer, id);
    const results = await race([
      ...callbacks.map((query) => () => h.invoke('GET /connect/callback', { query })),
      async () => { await sleep(delay); return h.invoke(`DELETE /connections/${id}`, { claims: claims(customer) }); },
      async () => { await sleep(delay / 2); return h.invoke(`GET /connections/${id}`, { claims: claims(customer), query: { refresh: 'true' } }); },
    ]);
    const { samples, item } = await stop();
    expect(results[4].statusCode).toBe(204);
    expect(results[5].statusCode).toBe(200);
    for (const res of results.slice(0, 4)) {
      const params = redirectParams(res);
      // Stored before the disconnect began, refused once it had, or refused by Finch after the revocation.
      if (params.status === 'connected') expect(params).toMatchObject({ connection_id: id, reauthenticated: 'true' });
      else expect(['connection_disconnected', 'invalid_code']).toContain(params.error);
    }
    expect(item).toMatchObject({ status: 'disconnected', revocation_confirmed: true });
    expect(item.token_ciphertext).toBeUndefined();
    expect(historyViolations(samples)).toEqual([]);
    expect(h.emulator.state().connections.find((c) => c.connection_id === id)!.disconnected).toBe(true);
    // After the race, nothing brings it back.
    const again = await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id: id } });
    expect(again.json.error.code).toBe('connection_disconnected');
    await expectInvariants();
  });
});

describe('webhooks piling onto one connection', () => {
  test('40 concurrent deliveries of 20 events (each twice) → each applied once, Finch\'s status stored', async () => {
    const id = await connect('race-hooks');
    await fetch(`${h.emulator.url}/_emulator/connections/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'reauth' }) });
    const events = Array.from({ length: 20 }, (_, i) => webhook(i % 2 ? 'account.updated' : 'job.data_sync_all.completed', id));
    const stop = sampleConnection('race-hooks', id);
    const deliveries = await race([...events, ...events].map((event) => () => deliver(event)));
    const { samples, item } = await stop();
    expect(deliveries.filter(({ res }) => res.statusCode !== 200).map(({ res, attempts }) => `${attempts} ${res.statusCode} ${res.body}`)).toEqual([]);
    for (const event of events) {
      const outcomes = deliveries.filter((_, i) => events[i % events.length] === event).map(({ res }) => res.json.outcome);
      // Exactly one delivery of each event applied it; the other saw a duplicate.
      expect(outcomes.sort()).toEqual(['applied', 'duplicate']);
    }
    const records = (await scanAll(h.table.doc, h.table.tableName)).filter((i) => String(i.pk).startsWith('WEBHOOK#msg_race_'));
    expect(records.map((r) => r.event_id).sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(item).toMatchObject({ status: 'reauth', token_version: 1 });
    expect(item.last_synced_at).toEqual(expect.any(String));
    expect(historyViolations(samples)).toEqual([]);
    await expectInvariants();
  });

  test('webhooks racing a disconnect never revive the connection', async () => {
    const id = await connect('race-hooks-bye');
    const events = Array.from({ length: 20 }, (_, i) => webhook(i % 2 ? 'account.updated' : 'directory.updated', id));
    const stop = sampleConnection('race-hooks-bye', id);
    const results = await race<unknown>([
      ...events.map((event) => () => deliver(event)),
      async () => { await sleep(10); return h.invoke(`DELETE /connections/${id}`, { claims: claims('race-hooks-bye') }); },
    ]);
    const { samples, item } = await stop();
    expect((results.at(-1) as { statusCode: number }).statusCode).toBe(204);
    expect((results.slice(0, -1) as Array<{ res: { statusCode: number } }>).every(({ res }) => res.statusCode === 200)).toBe(true);
    expect(item.status).toBe('disconnected');
    expect(historyViolations(samples)).toEqual([]);
    // Late deliveries after the disconnect are acknowledged and change nothing.
    const late = await webhook('account.updated', id).send();
    expect(late.json.outcome).toBe('not_applied');
    await expectInvariants();
  });
});

describe('the figures', () => {
  test('races run', () => {
    console.log(`races: ${figures.races} races, ${figures.concurrentRequests} concurrent requests against DynamoDB Local`);
    expect(figures.races).toBeGreaterThanOrEqual(9);
  });
});

function claimedSession(customer: string, stateHash: string, now: Date): SessionRecord {
  return {
    state_hash: stateHash, session_id: `sess-${stateHash.slice(0, 8)}`, status: 'claimed', kind: 'connect', flow: 'redirect',
    customer_id: customer, entity: null, finch_customer_id: customer, connection_id: null, products: ['company'],
    return_to: null, expires_at: Math.floor(now.getTime() / 1000) + 600, created_at: now.toISOString(),
  };
}

function newConnection(customer: string, connectionId: string, now: Date): Connection {
  return {
    connection_id: connectionId, customer_id: customer, entity: null, finch_customer_id: customer, provider_id: 'gusto',
    company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['company'], status: 'connected', status_message: null, authentication_methods: [],
    connected_at: now.toISOString(), updated_at: now.toISOString(), last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
  };
}
