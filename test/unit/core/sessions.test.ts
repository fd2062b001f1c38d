import { createConnectSession, createReauthSession } from '#core/sessions.js';
import { hashState, STATE_PATTERN } from '#core/ids.js';
import { ConnectionAlreadyExists, ConnectionNotFound, InvalidRequest } from '#core/errors.js';
import { answerOf } from '#http/errors.js';
import { fakeDeps } from '../../support/fakes.js';

const acme = { customer_id: 'acme', admin: false, actor: 'acme' };

describe('POST /connect/sessions (core)', () => {
  test('makes a 256-bit state, stores only its hash, and appends it to connect_url', async () => {
    const { deps, store } = fakeDeps();
    const started = await createConnectSession(deps, acme, { flow: 'redirect', return_to: 'https://app.example/done' });
    expect(started.state).toMatch(STATE_PATTERN);
    expect(new URL(started.connect_url).searchParams.get('state')).toBe(started.state);
    const stored = store.sessions.get(hashState(started.state))!;
    expect(stored).toMatchObject({ status: 'pending', kind: 'connect', flow: 'redirect', customer_id: 'acme', return_to: 'https://app.example/done' });
    expect(JSON.stringify([...store.sessions.values()])).not.toContain(started.state);
  });

  test('the state expires with the Finch session and minutes_to_expire is always sent', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { deps, store } = fakeDeps({ clock: { now: () => now } });
    const sent: unknown[] = [];
    const original = deps.finch.createConnectSession.bind(deps.finch);
    deps.finch.createConnectSession = async (request) => { sent.push(request); return original(request); };
    const started = await createConnectSession(deps, acme, { flow: 'embedded' });
    expect(sent[0]).toMatchObject({ minutes_to_expire: 43200, customer_id: 'acme', customer_name: 'acme', products: ['company', 'directory'] });
    expect((sent[0] as { redirect_uri?: string }).redirect_uri).toBeUndefined();
    expect(started.expires_at).toBe('2026-01-31T00:00:00.000Z');
    expect(store.sessions.get(hashState(started.state))!.expires_at).toBe(Date.parse('2026-01-31T00:00:00Z') / 1000);
  });

  test('an entity gives a distinct Finch customer id', async () => {
    const { deps } = fakeDeps();
    const started = await createConnectSession(deps, acme, { flow: 'redirect', entity: 'west' });
    expect(started.finch_customer_id).toBe('acme~west');
  });

  test('non-admin callers may request only allowed products; admins may request more', async () => {
    const { deps } = fakeDeps();
    expect(await createConnectSession(deps, acme, { flow: 'redirect', products: ['company', 'ssn'] }).catch(answerOf))
      .toMatchObject({ status: 400, body: { details: [{ path: 'products.1' }] } });
    await expect(createConnectSession(deps, { customer_id: 'acme', admin: true, actor: 'acme' }, { flow: 'redirect', products: ['ssn'] })).resolves.toBeDefined();
  });

  test('customer_name comes from the claim; a different body value is refused', async () => {
    const { deps } = fakeDeps();
    const caller = { ...acme, customer_name: 'Acme Inc' };
    await expect(createConnectSession(deps, caller, { flow: 'redirect', customer_name: 'Evil' })).rejects.toBeInstanceOf(InvalidRequest);
    await expect(createConnectSession(deps, caller, { flow: 'redirect', customer_name: 'Acme Inc' })).resolves.toBeDefined();
  });

  test('return_to must be on the allowlist and only with the redirect flow', async () => {
    const { deps, store } = fakeDeps();
    await expect(createConnectSession(deps, acme, { flow: 'redirect', return_to: 'https://evil.example/' })).rejects.toBeInstanceOf(InvalidRequest);
    await expect(createConnectSession(deps, acme, { flow: 'embedded', return_to: 'https://app.example/' })).rejects.toBeInstanceOf(InvalidRequest);
    expect(store.sessions.size).toBe(0);
  });

  test('a connection this customer owns at Finch answers 409 with its id', async () => {
    const { deps, store, finch } = fakeDeps();
    finch.existing.set('acme', 'conn-1');
    store.owners.set('conn-1', 'acme');
    const error = await createConnectSession(deps, acme, { flow: 'redirect' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionAlreadyExists);
    expect(answerOf(error)?.body).toEqual({ connection_id: 'conn-1' });
  });

  test('a connection nobody owns is adopted through a reauthentication session', async () => {
    const { deps, store, finch } = fakeDeps();
    finch.existing.set('acme', 'conn-lost');
    const started = await createConnectSession(deps, acme, { flow: 'redirect' });
    expect(started.adopts_connection_id).toBe('conn-lost');
    expect(finch.calls).toEqual(['POST /connect/sessions', 'POST /connect/sessions/reauthenticate']);
    expect(store.sessions.get(hashState(started.state))).toMatchObject({ kind: 'adopt', connection_id: 'conn-lost' });
  });
});

describe('POST /connect/sessions/reauthenticate (core)', () => {
  test('another customer\'s connection is answered like a missing one', async () => {
    const { deps } = fakeDeps();
    await expect(createReauthSession(deps, acme, { connection_id: 'nope', flow: 'redirect' })).rejects.toBeInstanceOf(ConnectionNotFound);
  });
});
