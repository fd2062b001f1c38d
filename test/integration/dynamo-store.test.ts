// The DynamoDB stores (sessions, connections) against DynamoDB Local: every outcome is asserted on the stored items, and
// the races run real concurrent requests.
import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoStores } from '#adapters/dynamo/index.js';
import { keys } from '#adapters/table.js';
import { InvalidRequest, TransientStoreError } from '#core/errors.js';
import type { CallbackResult, Connection, ExchangeStash, SessionRecord } from '#core/model.js';
import type { ConnectionStore } from '#core/ports/connection-store.js';
import type { NewConnection, SessionStore } from '#core/ports/session-store.js';
import type { AuditEntry } from '#core/ports/audit.js';
import { answerOf } from '#http/errors.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';

/** Every write that matters carries its audit entry; the store tests only need one. */
const AUDIT: AuditEntry = { action: 'connection_stored', actor: 'test', customer_id: 'audit-test', connection_id: null, at: '2026-01-01T00:00:00.000Z' };

let table: TestTable;
let sessionStore: SessionStore;
let connectionStore: ConnectionStore;

beforeAll(async () => {
  table = await createTestTable('store');
  ({ sessions: sessionStore, connections: connectionStore } = dynamoStores(table.doc, table.tableName));
});
afterAll(() => table?.client.destroy());

const NOW = 1_800_000_000; // epoch seconds
const DAY = 24 * 60 * 60;
const CONNECTION_FIELDS = [
  'authentication_methods', 'company_id', 'company_name', 'connected_at', 'connection_id', 'connection_type', 'customer_id', 'entity',
  'entity_ids', 'finch_customer_id', 'initial_sync_completed_at', 'last_successful_sync', 'last_synced_at', 'manual', 'products',
  'provider_id', 'status', 'status_message', 'token_version', 'updated_at',
];

const id = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;
const stateHash = () => randomBytes(32).toString('base64url');

function newSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const customer = overrides.customer_id ?? 'acme';
  return {
    state_hash: stateHash(),
    session_id: id('sess'),
    status: 'pending',
    kind: 'connect',
    flow: 'redirect',
    customer_id: customer,
    entity: null,
    finch_customer_id: customer,
    connection_id: null,
    products: ['company', 'directory'],
    return_to: 'https://app.example.com/done',
    expires_at: NOW + 3600,
    created_at: '2027-01-15T08:00:00.000Z',
    ...overrides,
  };
}

async function claimedSession(overrides: Partial<SessionRecord> = {}): Promise<SessionRecord> {
  const session = newSession(overrides);
  await sessionStore.putSession(session, AUDIT);
  const claim = await sessionStore.claimSession(session.state_hash, session.flow, NOW);
  if (!claim.claimed) throw new Error('setup: claim failed');
  return claim.session;
}

function newConnection(overrides: Partial<Connection> = {}): Connection {
  const customer = overrides.customer_id ?? 'acme';
  return {
    connection_id: id('conn'),
    customer_id: customer,
    entity: null,
    finch_customer_id: customer,
    provider_id: 'gusto',
    company_name: null,
    company_id: null,
    entity_ids: [],
    connection_type: null,
    manual: null,
    last_successful_sync: null,
    products: ['company', 'directory'],
    status: 'connected',
    status_message: null,
    authentication_methods: [],
    connected_at: '2027-01-15T08:05:00.000Z',
    updated_at: '2027-01-15T08:05:00.000Z',
    last_synced_at: null,
    initial_sync_completed_at: { org: null, payroll: null },
    token_version: 1,
    ...overrides,
  };
}

/** A connection's fields as its item holds them: each initial sync is an attribute of its own, absent until Finch reports it. */
const asItem = ({ initial_sync_completed_at: _syncs, ...fields }: Connection) => fields;

const input = (connection: Connection, issuedAt = 1_000, ciphertext = `ct-${issuedAt}`): NewConnection =>
  ({ connection, token: { ciphertext, token_issued_at: issuedAt } });

const connectedResult = (c: Connection, reauthenticated = false): CallbackResult => ({
  status: 'connected', connection_id: c.connection_id, customer_id: c.customer_id, entity: c.entity,
  provider_id: c.provider_id, products: c.products, reauthenticated,
});

async function rawItem(key: { pk: string; sk: string }) {
  const { Item } = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }));
  return Item;
}
const rawSession = (hash: string) => rawItem(keys.session(hash));
const rawConnection = (customer: string, connection: string) => rawItem(keys.connection(customer, connection));
const rawOwner = (connection: string) => rawItem(keys.owner(connection));

/** A stored connection made the way the callback makes one: a claimed session, then the transaction. */
async function seedConnection(connection: Connection, issuedAt = 1_000): Promise<void> {
  const session = await claimedSession({ customer_id: connection.customer_id, finch_customer_id: connection.finch_customer_id });
  const outcome = await sessionStore.createConnection(session.state_hash, input(connection, issuedAt), connectedResult(connection), AUDIT);
  if (!outcome.ok) throw new Error(`setup: ${outcome.reason}`);
}

async function setStatus(customer: string, connection: string, status: string) {
  await table.doc.send(new UpdateCommand({
    TableName: table.tableName, Key: keys.connection(customer, connection),
    UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': status },
  }));
}

/** What the core does with TransientStoreError (transaction conflicts between racing callbacks). */
async function retryingTransient<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof TransientStoreError) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
}

describe('sessions: a state is single-use and expires (invariant 2)', () => {
  test('putSession stores the record with a TTL a week after expiry, and never overwrites', async () => {
    const session = newSession({ kind: 'reauth', connection_id: 'conn-1', entity: 'payroll' });
    await sessionStore.putSession(session, AUDIT);
    const item = await rawSession(session.state_hash);
    expect(item).toEqual({ ...keys.session(session.state_hash), ...session, ttl: session.expires_at + 7 * DAY });

    await expect(sessionStore.putSession({ ...session, customer_id: 'intruder' }, AUDIT)).rejects.toThrow(/already exists/);
    expect((await rawSession(session.state_hash))?.customer_id).toBe('acme');
    expect(await sessionStore.getSession(session.state_hash)).toEqual(session);
  });

  test('a pending session of the right flow is claimed once', async () => {
    const session = newSession();
    await sessionStore.putSession(session, AUDIT);
    const claim = await sessionStore.claimSession(session.state_hash, 'redirect', NOW);
    expect(claim).toEqual({ claimed: true, session: { ...session, status: 'claimed' } });
    expect((await rawSession(session.state_hash))?.status).toBe('claimed');

    const again = await sessionStore.claimSession(session.state_hash, 'redirect', NOW);
    expect(again).toEqual({ claimed: false, session: { ...session, status: 'claimed' } });
  });

  test('an expired session that TTL has not deleted yet is not claimed', async () => {
    const session = newSession({ expires_at: NOW - 60 });
    await sessionStore.putSession(session, AUDIT);
    expect(await sessionStore.claimSession(session.state_hash, 'redirect', NOW)).toEqual({ claimed: false, session });
    // expires_at is exclusive: at the very second it expires, it is expired.
    const edge = newSession({ expires_at: NOW });
    await sessionStore.putSession(edge, AUDIT);
    expect((await sessionStore.claimSession(edge.state_hash, 'redirect', NOW)).claimed).toBe(false);
    expect((await rawSession(session.state_hash))?.status).toBe('pending');
    expect((await rawSession(edge.state_hash))?.status).toBe('pending');
  });

  test('a state of the other flow is not claimed, and the old item comes back', async () => {
    const session = newSession({ flow: 'embedded' });
    await sessionStore.putSession(session, AUDIT);
    expect(await sessionStore.claimSession(session.state_hash, 'redirect', NOW)).toEqual({ claimed: false, session });
    expect((await rawSession(session.state_hash))?.status).toBe('pending');
  });

  test('an embedded state is claimed only by its own customer', async () => {
    const session = newSession({ flow: 'embedded', customer_id: 'acme' });
    await sessionStore.putSession(session, AUDIT);
    expect(await sessionStore.claimSession(session.state_hash, 'embedded', NOW, 'globex')).toEqual({ claimed: false, session });
    expect((await rawSession(session.state_hash))?.status).toBe('pending');
    expect((await sessionStore.claimSession(session.state_hash, 'embedded', NOW, 'acme')).claimed).toBe(true);
  });

  test('an unknown state is not claimed and leaves no item behind', async () => {
    const hash = stateHash();
    expect(await sessionStore.claimSession(hash, 'redirect', NOW)).toEqual({ claimed: false, session: null });
    expect(await rawSession(hash)).toBeUndefined();
    expect(await sessionStore.getSession(hash)).toBeNull();
  });

  test('20 concurrent claims of one state: exactly one wins', async () => {
    const session = newSession();
    await sessionStore.putSession(session, AUDIT);
    const claims = await Promise.all(Array.from({ length: 20 }, () => sessionStore.claimSession(session.state_hash, 'redirect', NOW)));
    expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
    for (const claim of claims.filter((c) => !c.claimed)) expect(claim.session?.status).toBe('claimed');
    expect((await rawSession(session.state_hash))?.status).toBe('claimed');
  });

  test('the exchanged token is stashed on a claimed session only', async () => {
    const stash: ExchangeStash = { connection_id: 'conn-s', provider_id: 'gusto', products: ['company'], token: { ciphertext: 'ct', token_issued_at: 5 } };
    const claimed = await claimedSession();
    await sessionStore.stashExchange(claimed.state_hash, stash, AUDIT);
    expect((await rawSession(claimed.state_hash))?.stash).toEqual(stash);
    expect((await sessionStore.getSession(claimed.state_hash))?.stash).toEqual(stash);

    const pending = newSession();
    await sessionStore.putSession(pending, AUDIT);
    await expect(sessionStore.stashExchange(pending.state_hash, stash, AUDIT)).rejects.toThrow(/not claimed/);
    expect((await rawSession(pending.state_hash))?.stash).toBeUndefined();
  });

  test('finishSession moves only from the expected status, and drops the stash', async () => {
    const claimed = await claimedSession();
    await sessionStore.stashExchange(claimed.state_hash, { connection_id: 'c', provider_id: 'p', products: [], token: { ciphertext: 'ct', token_issued_at: 1 } }, AUDIT);
    const failure: CallbackResult = { status: 'error', error: 'customer_mismatch' };
    expect(await sessionStore.finishSession(claimed.state_hash, 'pending', failure)).toBe(false);
    expect((await rawSession(claimed.state_hash))?.status).toBe('claimed');

    expect(await sessionStore.finishSession(claimed.state_hash, 'claimed', failure)).toBe(true);
    const item = await rawSession(claimed.state_hash);
    expect(item).toMatchObject({ status: 'failed', result: failure });
    expect(item?.stash).toBeUndefined();
    expect(await sessionStore.finishSession(claimed.state_hash, 'claimed', failure)).toBe(false);

    const cancelled = newSession();
    await sessionStore.putSession(cancelled, AUDIT);
    expect(await sessionStore.finishSession(cancelled.state_hash, 'pending', { status: 'error', error: 'connect_cancelled' })).toBe(true);
    expect((await rawSession(cancelled.state_hash))?.status).toBe('failed');
    expect(await sessionStore.claimSession(cancelled.state_hash, 'redirect', NOW)).toMatchObject({ claimed: false, session: { status: 'failed' } });

    const superseded = await claimedSession();
    const result = connectedResult(newConnection(), true);
    expect(await sessionStore.finishSession(superseded.state_hash, 'claimed', result)).toBe(true);
    expect(await sessionStore.getSession(superseded.state_hash)).toMatchObject({ status: 'completed', result });
  });

  test('finishSession of an unknown state is false and creates nothing', async () => {
    const hash = stateHash();
    expect(await sessionStore.finishSession(hash, 'pending', { status: 'error', error: 'invalid_state' })).toBe(false);
    expect(await rawSession(hash)).toBeUndefined();
  });
});

describe('createConnection: one owner, one item (invariant 1)', () => {
  test('writes the ownership item, the connection item with its token, and completes the session', async () => {
    const session = await claimedSession();
    await sessionStore.stashExchange(session.state_hash, { connection_id: 'x', provider_id: 'gusto', products: [], token: { ciphertext: 'ct', token_issued_at: 1 } }, AUDIT);
    const connection = newConnection({ entity: 'payroll', finch_customer_id: 'acme~payroll' });
    const result = connectedResult(connection);
    expect(await sessionStore.createConnection(session.state_hash, input(connection, 1234, 'ciphertext-1'), result, AUDIT)).toEqual({ ok: true });

    expect(await rawOwner(connection.connection_id)).toEqual({
      ...keys.owner(connection.connection_id), connection_id: connection.connection_id, customer_id: 'acme', created_at: connection.connected_at,
    });
    expect(await rawConnection('acme', connection.connection_id)).toEqual({
      ...keys.connection('acme', connection.connection_id),
      gsi1pk: 'CUSTOMER#acme',
      gsi1sk: `${connection.connected_at}#${connection.connection_id}`,
      // In the reconciler's queue, its first turn at its connection time.
      check_pk: 'LIVE',
      checked_at: connection.connected_at,
      ...asItem(connection),
      token_ciphertext: 'ciphertext-1',
      token_issued_at: 1234,
    });
    const stored = await rawSession(session.state_hash);
    expect(stored).toMatchObject({ status: 'completed', result });
    expect(stored?.stash).toBeUndefined();
  });

  test('a connection another customer owns is refused with its owner, and nothing is written', async () => {
    const connection = newConnection({ customer_id: 'acme' });
    await seedConnection(connection);
    const session = await claimedSession({ customer_id: 'globex' });
    const theirs = { ...connection, customer_id: 'globex', finch_customer_id: 'globex' };
    expect(await sessionStore.createConnection(session.state_hash, input(theirs), connectedResult(theirs), AUDIT))
      .toEqual({ ok: false, reason: 'owned', owner: 'acme' });
    expect(await rawConnection('globex', connection.connection_id)).toBeUndefined();
    expect((await rawOwner(connection.connection_id))?.customer_id).toBe('acme');
    expect((await rawSession(session.state_hash))?.status).toBe('claimed');
  });

  test('the same owner connecting again is told it owns the connection already', async () => {
    const connection = newConnection();
    await seedConnection(connection, 1000);
    const session = await claimedSession();
    expect(await sessionStore.createConnection(session.state_hash, input(connection, 2000), connectedResult(connection), AUDIT))
      .toEqual({ ok: false, reason: 'owned', owner: 'acme' });
    expect((await rawConnection('acme', connection.connection_id))?.token_issued_at).toBe(1000);
  });

  test('a session that is not claimed writes nothing', async () => {
    const pending = newSession();
    await sessionStore.putSession(pending, AUDIT);
    const connection = newConnection();
    expect(await sessionStore.createConnection(pending.state_hash, input(connection), connectedResult(connection), AUDIT))
      .toEqual({ ok: false, reason: 'session_not_claimed' });
    expect(await rawOwner(connection.connection_id)).toBeUndefined();
    expect(await rawConnection('acme', connection.connection_id)).toBeUndefined();
    expect((await rawSession(pending.state_hash))?.status).toBe('pending');
  });

  test('a session of another customer cannot complete with this connection', async () => {
    const session = await claimedSession({ customer_id: 'globex' });
    const connection = newConnection({ customer_id: 'acme' });
    expect(await sessionStore.createConnection(session.state_hash, input(connection), connectedResult(connection), AUDIT))
      .toEqual({ ok: false, reason: 'session_not_claimed' });
    expect(await rawOwner(connection.connection_id)).toBeUndefined();
  });

  test('a repeated transaction after a success answers session_not_claimed', async () => {
    const session = await claimedSession();
    const connection = newConnection();
    expect(await sessionStore.createConnection(session.state_hash, input(connection), connectedResult(connection), AUDIT)).toEqual({ ok: true });
    expect(await sessionStore.createConnection(session.state_hash, input(connection), connectedResult(connection), AUDIT))
      .toEqual({ ok: false, reason: 'session_not_claimed' });
  });

  test('two customers racing for one connection_id: exactly one owner and one connection item', async () => {
    for (let round = 0; round < 5; round++) {
      const connectionId = id('race');
      const racers = await Promise.all(['acme', 'globex'].map(async (customer) => ({
        customer, session: await claimedSession({ customer_id: customer }),
        connection: newConnection({ connection_id: connectionId, customer_id: customer }),
      })));
      const outcomes = await Promise.all(racers.map(({ session, connection }) =>
        retryingTransient(() => sessionStore.createConnection(session.state_hash, input(connection), connectedResult(connection), AUDIT))));

      const winners = racers.filter((_, i) => outcomes[i].ok);
      expect(winners).toHaveLength(1);
      const winner = winners[0].customer;
      const loser = outcomes.find((outcome) => !outcome.ok);
      expect(loser).toEqual({ ok: false, reason: 'owned', owner: winner });
      expect((await rawOwner(connectionId))?.customer_id).toBe(winner);
      const items = await Promise.all(['acme', 'globex'].map((customer) => rawConnection(customer, connectionId)));
      expect(items.filter(Boolean)).toHaveLength(1);
      expect(items.find(Boolean)?.customer_id).toBe(winner);
    }
  });
});

describe('replaceToken: reauth in place (invariant 4)', () => {
  test('replaces the token, increments the version and completes the session', async () => {
    const connection = newConnection({ company_name: 'Acme Inc', status: 'reauth', status_message: 'Reauthenticate' });
    await seedConnection(connection, 1000);
    const before = await rawConnection('acme', connection.connection_id);
    const session = await claimedSession({ kind: 'reauth', connection_id: connection.connection_id });
    const fresh = { ...connection, provider_id: 'adp_run', products: ['company', 'directory', 'payment'], updated_at: '2027-02-01T00:00:00.000Z', connected_at: '2027-02-01T00:00:00.000Z' };
    const result = connectedResult(fresh, true);
    expect(await sessionStore.replaceToken(session.state_hash, input(fresh, 2000, 'ciphertext-2'), result, AUDIT)).toEqual({ ok: true });

    expect(await rawConnection('acme', connection.connection_id)).toEqual({
      ...before,
      token_ciphertext: 'ciphertext-2',
      token_issued_at: 2000,
      token_version: 2,
      status: 'connected',
      status_message: null,
      updated_at: '2027-02-01T00:00:00.000Z',
      products: ['company', 'directory', 'payment'],
      provider_id: 'adp_run',
    });
    expect(await rawSession(session.state_hash)).toMatchObject({ status: 'completed', result });
  });

  test('a connection stored before the reconciler\'s queue existed joins it (its turn: now); one in it keeps its turn', async () => {
    const legacy = newConnection();
    await seedConnection(legacy, 1000);
    await table.doc.send(new UpdateCommand({ TableName: table.tableName, Key: keys.connection('acme', legacy.connection_id), UpdateExpression: 'REMOVE check_pk, checked_at' }));
    const queued = newConnection();
    await seedConnection(queued, 1000);
    for (const connection of [legacy, queued]) {
      const session = await claimedSession({ kind: 'reauth', connection_id: connection.connection_id });
      const fresh = { ...connection, updated_at: '2027-02-01T00:00:00.000Z' };
      expect(await sessionStore.replaceToken(session.state_hash, input(fresh, 2000, 'ciphertext-2'), connectedResult(fresh, true), AUDIT)).toEqual({ ok: true });
    }
    expect(await rawConnection('acme', legacy.connection_id)).toMatchObject({ check_pk: 'LIVE', checked_at: '2027-02-01T00:00:00.000Z' });
    expect(await rawConnection('acme', queued.connection_id)).toMatchObject({ check_pk: 'LIVE', checked_at: queued.connected_at });
  });

  test('an older token is superseded: the newer token and version stay', async () => {
    const connection = newConnection();
    await seedConnection(connection, 5000);
    for (const issuedAt of [4000, 5000]) {
      const session = await claimedSession({ kind: 'reauth', connection_id: connection.connection_id });
      expect(await sessionStore.replaceToken(session.state_hash, input(connection, issuedAt, 'old'), connectedResult(connection, true), AUDIT))
        .toEqual({ ok: false, reason: 'superseded' });
      expect((await rawSession(session.state_hash))?.status).toBe('claimed');
    }
    expect(await rawConnection('acme', connection.connection_id)).toMatchObject({ token_ciphertext: 'ct-5000', token_issued_at: 5000, token_version: 1 });
  });

  test('another customer\'s connection is not_owner and stays untouched', async () => {
    const connection = newConnection({ customer_id: 'acme' });
    await seedConnection(connection);
    const session = await claimedSession({ customer_id: 'globex', kind: 'reauth', connection_id: connection.connection_id });
    const theirs = { ...connection, customer_id: 'globex' };
    expect(await sessionStore.replaceToken(session.state_hash, input(theirs, 9000), connectedResult(theirs, true), AUDIT))
      .toEqual({ ok: false, reason: 'not_owner' });
    expect(await rawConnection('acme', connection.connection_id)).toMatchObject({ token_issued_at: 1000, token_version: 1 });
    expect(await rawConnection('globex', connection.connection_id)).toBeUndefined();
  });

  test('an unknown connection is missing, and nothing is created', async () => {
    const connection = newConnection();
    const session = await claimedSession({ kind: 'reauth', connection_id: connection.connection_id });
    expect(await sessionStore.replaceToken(session.state_hash, input(connection), connectedResult(connection, true), AUDIT))
      .toEqual({ ok: false, reason: 'missing' });
    expect(await rawConnection('acme', connection.connection_id)).toBeUndefined();
    expect(await rawOwner(connection.connection_id)).toBeUndefined();
  });

  test.each(['disconnecting', 'disconnected'])('a %s connection is never revived', async (status) => {
    const connection = newConnection();
    await seedConnection(connection);
    await setStatus('acme', connection.connection_id, status);
    const session = await claimedSession({ kind: 'reauth', connection_id: connection.connection_id });
    expect(await sessionStore.replaceToken(session.state_hash, input(connection, 9000), connectedResult(connection, true), AUDIT))
      .toEqual({ ok: false, reason: 'disconnected' });
    expect(await rawConnection('acme', connection.connection_id)).toMatchObject({ status, token_issued_at: 1000, token_version: 1 });
  });

  test('a session that is not claimed replaces nothing', async () => {
    const connection = newConnection();
    await seedConnection(connection);
    const session = newSession({ kind: 'reauth', connection_id: connection.connection_id });
    await sessionStore.putSession(session, AUDIT);
    expect(await sessionStore.replaceToken(session.state_hash, input(connection, 9000), connectedResult(connection, true), AUDIT))
      .toEqual({ ok: false, reason: 'session_not_claimed' });
    expect((await rawConnection('acme', connection.connection_id))?.token_issued_at).toBe(1000);
  });

  test('concurrent reauths: versions strictly increase and the newest issued token stays', async () => {
    const connection = newConnection();
    await seedConnection(connection, 1000);
    const issued = [2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000];
    const sessions = await Promise.all(issued.map(() => claimedSession({ kind: 'reauth', connection_id: connection.connection_id })));
    // Started in shuffled order, so some older tokens arrive after newer ones.
    const order = [5, 2, 7, 0, 3, 6, 1, 4];

    const observed: { version: number; issued: number }[] = [];
    let racing = true;
    const watcher = (async () => {
      while (racing) {
        const stored = await connectionStore.getConnection('acme', connection.connection_id);
        observed.push({ version: stored!.token_version, issued: stored!.token!.token_issued_at });
      }
    })();
    const outcomes = await Promise.all(order.map((i) => retryingTransient(() =>
      sessionStore.replaceToken(sessions[i].state_hash, input(connection, issued[i]), connectedResult(connection, true), AUDIT))));
    racing = false;
    await watcher;

    for (const outcome of outcomes) expect([{ ok: true }, { ok: false, reason: 'superseded' }]).toContainEqual(outcome);
    const applied = outcomes.filter((outcome) => outcome.ok).length;
    const final = await connectionStore.getConnection('acme', connection.connection_id);
    expect(final?.token).toEqual({ ciphertext: 'ct-9000', token_issued_at: 9000 });
    expect(final?.token_version).toBe(1 + applied);
    // Every state anyone saw: a higher version always holds a newer token.
    observed.push({ version: final!.token_version, issued: 9000 });
    for (const a of observed) {
      for (const b of observed) {
        if (a.version < b.version) expect(a.issued).toBeLessThan(b.issued);
        if (a.version === b.version) expect(a.issued).toBe(b.issued);
      }
    }
  });
});

describe('reading connections: token-free except for getConnection\'s token', () => {
  test('getConnection returns the connection with its token; getOwner the owner', async () => {
    const connection = newConnection({ company_name: 'Acme' });
    await seedConnection(connection, 4242);
    const stored = await connectionStore.getConnection('acme', connection.connection_id);
    expect(stored).toEqual({ ...connection, token: { ciphertext: 'ct-4242', token_issued_at: 4242 } });
    expect(await connectionStore.getOwner(connection.connection_id)).toBe('acme');
    // Another customer's view of the same id is the same as an unknown id.
    expect(await connectionStore.getConnection('globex', connection.connection_id)).toBeNull();
    expect(await connectionStore.getConnection('acme', 'conn-unknown')).toBeNull();
    expect(await connectionStore.getOwner('conn-unknown')).toBeNull();
  });

  test('a connection without a ciphertext (a tombstone) has a null token', async () => {
    const connection = newConnection();
    await seedConnection(connection);
    await table.doc.send(new UpdateCommand({
      TableName: table.tableName, Key: keys.connection('acme', connection.connection_id),
      UpdateExpression: 'SET #s = :s REMOVE token_ciphertext', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': 'disconnected' },
    }));
    expect(await connectionStore.getConnection('acme', connection.connection_id)).toMatchObject({ status: 'disconnected', token: null });
  });
});

describe('recordStatus', () => {
  const audited = (connectionId: string, at: Date): AuditEntry => ({ action: 'refreshed', actor: 'test', customer_id: 'acme', connection_id: connectionId, at: at.toISOString(), details: { status: 'reauth' } });
  const auditTrail = async (connectionId: string) => (await connectionStore.listAudit('acme', connectionId, { limit: 10 })).entries.map(({ id, ...entry }) => {
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    return entry;
  });

  test('stores the status news with its audit entry, token untouched', async () => {
    const connection = newConnection();
    await seedConnection(connection, 1000);
    const now = new Date('2027-03-01T12:00:00.000Z');
    expect(await connectionStore.recordStatus('acme', connection.connection_id, {
      status: 'reauth', status_message: 'Credentials expired', authentication_methods: ['credential'],
      products: ['company'], company_name: 'Acme Corp',
    }, now, audited(connection.connection_id, now))).toBe(true);
    const expected: Connection = {
      ...connection, status: 'reauth', status_message: 'Credentials expired', authentication_methods: ['credential'],
      products: ['company'], company_name: 'Acme Corp', updated_at: now.toISOString(),
    };
    expect(await connectionStore.getConnection('acme', connection.connection_id)).toMatchObject(expected);
    expect(await rawConnection('acme', connection.connection_id)).toMatchObject({ ...asItem(expected), token_ciphertext: 'ct-1000', token_issued_at: 1000 });
    expect(await auditTrail(connection.connection_id)).toEqual([audited(connection.connection_id, now)]);

    // Fields left out stay as they are.
    const later = new Date('2027-03-01T12:05:00.000Z');
    expect(await connectionStore.recordStatus('acme', connection.connection_id, { status: 'connected', status_message: null }, later, audited(connection.connection_id, later))).toBe(true);
    expect(await connectionStore.getConnection('acme', connection.connection_id)).toMatchObject({ ...expected, status: 'connected', status_message: null, updated_at: later.toISOString() });
  });

  test.each(['disconnecting', 'disconnected'])('a %s connection is not updated, and no audit entry is written', async (status) => {
    const connection = newConnection();
    await seedConnection(connection);
    await setStatus('acme', connection.connection_id, status);
    expect(await connectionStore.recordStatus('acme', connection.connection_id, { status: 'connected', status_message: null }, new Date(), audited(connection.connection_id, new Date()))).toBe(false);
    expect((await rawConnection('acme', connection.connection_id))?.status).toBe(status);
    expect(await auditTrail(connection.connection_id)).toEqual([]);
  });

  test.each([
    ['another token is stored (a reauthentication while Finch was asked)', { token_issued_at: 999, status: 'connected' as const }],
    ['another status is stored (a write while Finch was asked)', { token_issued_at: 1000, status: 'reauth' as const }],
  ])('with a guard (the reconciler\'s write): refused when %s, nothing written', async (_name, expected) => {
    const connection = newConnection();
    await seedConnection(connection, 1000);
    const before = await rawConnection('acme', connection.connection_id);
    const now = new Date();
    expect(await connectionStore.recordStatus('acme', connection.connection_id, { status: 'error_permissions', status_message: null }, now, audited(connection.connection_id, now), expected)).toBe(false);
    expect(await rawConnection('acme', connection.connection_id)).toEqual(before);
    expect(await auditTrail(connection.connection_id)).toEqual([]);
    // The guard naming what is stored lets it through.
    expect(await connectionStore.recordStatus('acme', connection.connection_id, { status: 'error_permissions', status_message: null }, now, audited(connection.connection_id, now), { token_issued_at: 1000, status: 'connected' })).toBe(true);
    expect((await rawConnection('acme', connection.connection_id))?.status).toBe('error_permissions');
  });

  test('an unknown connection is false and nothing is created', async () => {
    expect(await connectionStore.recordStatus('acme', 'conn-nope', { status: 'connected', status_message: null }, new Date(), audited('conn-nope', new Date()))).toBe(false);
    expect(await rawConnection('acme', 'conn-nope')).toBeUndefined();
    expect(await auditTrail('conn-nope')).toEqual([]);
  });
});

const COMPANY_A = 'c0ffee00-0000-4000-8000-00000000000a';
const COMPANY_B = 'c0ffee00-0000-4000-8000-00000000000b';

describe('listConnections: newest first, paged, filtered, bound to the customer', () => {
  const customer = 'lister';
  const seeded: Connection[] = [];

  beforeAll(async () => {
    const specs = [
      { provider_id: 'gusto', entity: null, status: 'connected' },
      { provider_id: 'adp_run', entity: 'east', status: 'connected' },
      { provider_id: 'gusto', entity: 'west', status: 'connected' },
      { provider_id: 'gusto', entity: 'east', status: 'connected' },
      { provider_id: 'adp_run', entity: null, status: 'connected' },
      { provider_id: 'gusto', entity: 'east', status: 'connected' },
      { provider_id: 'paychex_flex', entity: null, status: 'connected' },
    ] as const;
    for (const [i, spec] of specs.entries()) {
      const connection = newConnection({
        customer_id: customer, finch_customer_id: spec.entity ? `${customer}~${spec.entity}` : customer,
        provider_id: spec.provider_id, entity: spec.entity, connected_at: `2027-01-0${i + 1}T00:00:00.000Z`,
        updated_at: `2027-01-0${i + 1}T00:00:00.000Z`,
        // Two employers at Finch (one connected three times), and connections stored before company_id was kept.
        company_id: [COMPANY_A, COMPANY_B, null][i % 3], entity_ids: i % 3 === 2 ? [] : [`entity-${i}`],
      });
      await seedConnection(connection);
      seeded.push(connection);
    }
    for (const marked of [seeded[2], seeded[5]]) {
      const at = new Date('2027-02-01T00:00:00Z');
      await connectionStore.recordStatus(customer, marked.connection_id, { status: 'reauth', status_message: null }, at,
        { action: 'reauth_required', actor: 'test', customer_id: customer, connection_id: marked.connection_id, at: at.toISOString() });
    }
    seeded[2] = { ...seeded[2], status: 'reauth', updated_at: '2027-02-01T00:00:00.000Z' };
    seeded[5] = { ...seeded[5], status: 'reauth', updated_at: '2027-02-01T00:00:00.000Z' };
    await seedConnection(newConnection({ customer_id: 'other-lister' }));
  });

  const newestFirst = () => [...seeded].reverse();

  async function listAll(query: Omit<Parameters<ConnectionStore['listConnections']>[1], 'cursor'>) {
    const pages: Connection[][] = [];
    let cursor: string | undefined;
    do {
      const page = await connectionStore.listConnections(customer, { ...query, cursor });
      pages.push(page.connections);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && pages.length < 20);
    return pages;
  }

  test('pages of `limit` connections, newest first, without any token or key', async () => {
    const pages = await listAll({ limit: 3 });
    expect(pages.slice(0, 3).map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(newestFirst());
    for (const connection of pages.flat()) expect(Object.keys(connection).sort()).toEqual(CONNECTION_FIELDS);
  });

  test('a single page holding everything has no next cursor', async () => {
    const page = await connectionStore.listConnections(customer, { limit: 100 });
    expect(page).toEqual({ connections: newestFirst(), next_cursor: null });
  });

  test.each([
    ['status', { status: 'reauth' as const }, (c: Connection) => c.status === 'reauth'],
    ['provider_id', { provider_id: 'gusto' }, (c: Connection) => c.provider_id === 'gusto'],
    ['entity', { entity: 'east' }, (c: Connection) => c.entity === 'east'],
    ['company_id', { company_id: COMPANY_A }, (c: Connection) => c.company_id === COMPANY_A],
    ['company_id and provider_id', { company_id: COMPANY_A, provider_id: 'gusto' }, (c: Connection) => c.company_id === COMPANY_A && c.provider_id === 'gusto'],
    ['all three', { status: 'connected' as const, provider_id: 'gusto', entity: 'east' },
      (c: Connection) => c.status === 'connected' && c.provider_id === 'gusto' && c.entity === 'east'],
  ])('filters by %s across pages', async (_name, filter, keep) => {
    const pages = await listAll({ limit: 2, ...filter });
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(2);
    const expected = newestFirst().filter(keep);
    expect(expected.length).toBeGreaterThan(0);
    expect(pages.flat()).toEqual(expected);
  });

  test('another customer\'s cursor is refused as InvalidRequest on `cursor`', async () => {
    for (let i = 0; i < 2; i++) await seedConnection(newConnection({ customer_id: 'other-lister' }));
    const foreign = await connectionStore.listConnections('other-lister', { limit: 1 });
    expect(foreign.next_cursor).not.toBeNull();
    const error = await connectionStore.listConnections(customer, { limit: 1, cursor: foreign.next_cursor! }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequest);
    expect(answerOf(error)).toMatchObject({ status: 400, code: 'invalid_request', body: { details: [{ path: 'cursor' }] } });
  });

  test.each([
    ['not base64url JSON', 'not a cursor!'],
    ['JSON but not an object', Buffer.from('[1,2]').toString('base64url')],
    ['a key of another partition', Buffer.from(JSON.stringify({ pk: 'CUSTOMER#lister', sk: 'CONNECTION#x', gsi1pk: 'CUSTOMER#other', gsi1sk: 'x' })).toString('base64url')],
    ['a session key', Buffer.from(JSON.stringify({ pk: 'CUSTOMER#lister', sk: 'SESSION', gsi1pk: 'CUSTOMER#lister', gsi1sk: 'x' })).toString('base64url')],
    ['extra attributes', Buffer.from(JSON.stringify({ pk: 'CUSTOMER#lister', sk: 'CONNECTION#x', gsi1pk: 'CUSTOMER#lister', gsi1sk: 'x', status: 'x' })).toString('base64url')],
    ['a non-string key', Buffer.from(JSON.stringify({ pk: 'CUSTOMER#lister', sk: 'CONNECTION#x', gsi1pk: 'CUSTOMER#lister', gsi1sk: 1 })).toString('base64url')],
  ])('a cursor that is %s is InvalidRequest', async (_name, cursor) => {
    await expect(connectionStore.listConnections(customer, { limit: 2, cursor })).rejects.toBeInstanceOf(InvalidRequest);
  });

  test('a customer with no connections gets an empty page', async () => {
    expect(await connectionStore.listConnections('nobody', { limit: 10 })).toEqual({ connections: [], next_cursor: null });
  });
});

test('the store keeps only connection items in the customer\'s list index', async () => {
  // Sessions and ownership items carry no gsi keys, so no filter is needed to keep them out of a list.
  const { Items = [] } = await table.doc.send(new QueryCommand({
    TableName: table.tableName, IndexName: 'by_customer', KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': 'CUSTOMER#acme' },
  }));
  expect(Items.length).toBeGreaterThan(0);
  for (const item of Items) expect(item.sk).toMatch(/^CONNECTION#/);
});
