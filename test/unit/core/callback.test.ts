import { handleCallback } from '#core/callback.js';
import { createConnectSession, createReauthSession } from '#core/sessions.js';
import { hashState } from '#core/ids.js';
import { FinchTimeout, InvalidState, TransientCipherError, TransientSecretsError, TransientStoreError } from '#core/errors.js';
import { fakeDeps } from '../../support/fakes.js';

const acme = { customer_id: 'acme', admin: false, actor: 'acme' };

async function connected(setup = fakeDeps()) {
  const started = await createConnectSession(setup.deps, acme, { flow: 'redirect', return_to: 'https://app.example/' });
  setup.finch.issue('code-1', { connection_id: 'conn-1', customer_id: 'acme' });
  const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' });
  return { ...setup, started, outcome };
}

describe('callback: single-use state (invariant 2)', () => {
  test('a malformed state is refused before any read', async () => {
    const { deps, store } = fakeDeps();
    await expect(handleCallback(deps, { flow: 'redirect', state: 'short', code: 'x' })).rejects.toBeInstanceOf(InvalidState);
    expect(store.calls).toBe(0);
  });

  test('a replayed callback returns the first result and exchanges the code once', async () => {
    const { deps, finch, started, outcome } = await connected();
    expect(outcome.result).toMatchObject({ status: 'connected', connection_id: 'conn-1', reauthenticated: false });
    const replay = await handleCallback(deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    expect(replay.result).toEqual(outcome.result);
    expect(finch.calls.filter((c) => c === 'POST /auth/token')).toHaveLength(1);
  });

  test('an expired, unknown or wrong-flow state is refused before Finch is called', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const { deps, finch } = fakeDeps({ clock: { now: () => now } });
    const started = await createConnectSession(deps, acme, { flow: 'redirect', minutes_to_expire: 1 });
    await expect(handleCallback(deps, { flow: 'embedded', state: started.state, code: 'c', customer_id: 'acme' })).rejects.toBeInstanceOf(InvalidState);
    now = new Date('2026-01-01T00:01:00Z');
    await expect(handleCallback(deps, { flow: 'redirect', state: started.state, code: 'c' })).rejects.toBeInstanceOf(InvalidState);
    await expect(handleCallback(deps, { flow: 'redirect', state: 'A'.repeat(43), code: 'c' })).rejects.toBeInstanceOf(InvalidState);
    expect(finch.calls).not.toContain('POST /auth/token');
  });

  test('an embedded state of another customer is refused', async () => {
    const { deps, finch } = fakeDeps();
    const started = await createConnectSession(deps, acme, { flow: 'embedded' });
    await expect(handleCallback(deps, { flow: 'embedded', state: started.state, code: 'c', customer_id: 'globex' })).rejects.toBeInstanceOf(InvalidState);
    expect(finch.calls).not.toContain('POST /auth/token');
  });

  test('Finch\'s error= marks the session failed and later callbacks replay the failure', async () => {
    const { deps, store, finch } = fakeDeps();
    const started = await createConnectSession(deps, acme, { flow: 'redirect' });
    const outcome = await handleCallback(deps, { flow: 'redirect', state: started.state, error: 'access_denied' });
    expect(outcome.result).toEqual({ status: 'error', error: 'connect_cancelled' });
    expect(store.sessions.get(hashState(started.state))!.status).toBe('failed');
    const again = await handleCallback(deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(again.result).toEqual({ status: 'error', error: 'connect_cancelled' });
    expect(finch.calls).not.toContain('POST /auth/token');
  });
});

describe('callback: the client credentials before the claim', () => {
  test('a secrets fault is answered before the state is claimed: a repeat of the same callback connects', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('code-1', { connection_id: 'conn-1', customer_id: 'acme' });
    setup.finch.prepareError = new TransientSecretsError(new Error('ThrottlingException'));
    await expect(handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' })).rejects.toBeInstanceOf(TransientSecretsError);
    expect(setup.store.sessions.get(hashState(started.state))!.status).toBe('pending');
    expect(setup.finch.calls).not.toContain('POST /auth/token');
    setup.finch.prepareError = null;
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    expect(outcome.result).toMatchObject({ status: 'connected', connection_id: 'conn-1' });
  });
});

describe('callback: a claim whose answer was lost', () => {
  /** The store applies the claim, then the answer is lost: the caller sees a transient fault. */
  function loseFirstClaimAnswer(setup: ReturnType<typeof fakeDeps>) {
    const claim = setup.deps.sessions.claimSession.bind(setup.deps.sessions);
    let lost = false;
    setup.deps.sessions.claimSession = async (...args) => {
      const outcome = await claim(...args);
      if (!lost) { lost = true; throw new TransientStoreError(new Error('socket hang up')); }
      return outcome;
    };
  }

  test('its retry finds its own claim id and goes on to exchange the code, once', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('code-1', { connection_id: 'conn-1', customer_id: 'acme' });
    loseFirstClaimAnswer(setup);
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    expect(outcome.result).toMatchObject({ status: 'connected', connection_id: 'conn-1' });
    expect(setup.finch.calls.filter((c) => c === 'POST /auth/token')).toHaveLength(1);
    expect(setup.store.sessions.get(hashState(started.state))!.status).toBe('completed');
  });

  test('a claim held by another invocation (another id) is not taken for our own', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('code-1', { connection_id: 'conn-1', customer_id: 'acme' });
    // A concurrent callback claimed first and has not stashed yet.
    expect((await setup.deps.sessions.claimSession(hashState(started.state), 'redirect', Math.floor(Date.now() / 1000), undefined, 'someone-else')).claimed).toBe(true);
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    expect(outcome.result).toEqual({ status: 'error', error: 'callback_in_progress' });
    expect(setup.finch.calls).not.toContain('POST /auth/token');
  });
});

describe('callback: right customer, fail closed (invariant 3)', () => {
  test('a token of another customer stores nothing', async () => {
    const { deps, store, finch } = fakeDeps();
    const started = await createConnectSession(deps, acme, { flow: 'redirect' });
    finch.issue('c', { connection_id: 'conn-x', customer_id: 'globex' });
    const outcome = await handleCallback(deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(outcome.result).toEqual({ status: 'error', error: 'customer_mismatch' });
    expect(store.connections.size).toBe(0);
    expect(store.owners.size).toBe(0);
  });

  test('a token without customer_id is confirmed by /introspect, or refused', async () => {
    const { deps, store, finch } = fakeDeps();
    const first = await createConnectSession(deps, acme, { flow: 'redirect' });
    finch.issue('c1', { connection_id: 'conn-1', customer_id: null });
    finch.introspection = { customer_id: 'acme' };
    expect((await handleCallback(deps, { flow: 'redirect', state: first.state, code: 'c1' })).result.status).toBe('connected');

    const second = await createConnectSession(deps, { customer_id: 'initech', admin: false, actor: 'initech' }, { flow: 'redirect' });
    finch.issue('c2', { connection_id: 'conn-2', customer_id: null });
    finch.introspection = { customer_id: null };
    expect((await handleCallback(deps, { flow: 'redirect', state: second.state, code: 'c2' })).result)
      .toEqual({ status: 'error', error: 'customer_unverified' });
    expect([...store.owners.keys()]).toEqual(['conn-1']);
  });

  test('a reauthentication returning another connection stores nothing', async () => {
    const setup = await connected();
    const started = await createReauthSession(setup.deps, acme, { connection_id: 'conn-1', flow: 'redirect' });
    setup.finch.issue('c2', { connection_id: 'conn-other', customer_id: 'acme' });
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c2' });
    expect(outcome.result).toEqual({ status: 'error', error: 'connection_mismatch' });
    expect(setup.store.connections.get('acme/conn-1')!.token_version).toBe(1);
  });
});

describe('callback: reauth in place (invariant 4)', () => {
  test('reauthentication replaces the token and bumps token_version', async () => {
    const setup = await connected();
    const before = setup.store.connections.get('acme/conn-1')!.token!.ciphertext;
    const started = await createReauthSession(setup.deps, acme, { connection_id: 'conn-1', flow: 'redirect' });
    setup.finch.issue('c2', { connection_id: 'conn-1', customer_id: 'acme' });
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c2' });
    expect(outcome.result).toMatchObject({ status: 'connected', reauthenticated: true });
    const stored = setup.store.connections.get('acme/conn-1')!;
    expect(stored.token_version).toBe(2);
    expect(stored.token!.ciphertext).not.toBe(before);
  });

  test('the same owner connecting again replaces the token in place', async () => {
    const setup = await connected();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('c2', { connection_id: 'conn-1', customer_id: 'acme' });
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c2' });
    expect(outcome.result).toMatchObject({ status: 'connected', reauthenticated: true });
    expect(setup.store.connections.size).toBe(1);
    expect(setup.store.connections.get('acme/conn-1')!.token_version).toBe(2);
  });
});

describe('callback: nothing lost (invariant 6)', () => {
  test('a store that keeps failing leaves the token stashed; a repeated callback finishes without a second exchange', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('c', { connection_id: 'conn-1', customer_id: 'acme' });
    const create = setup.deps.sessions.createConnection.bind(setup.deps.sessions);
    setup.deps.sessions.createConnection = async () => { throw new TransientStoreError(new Error('throttled')); };
    const first = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(first.result).toEqual({ status: 'error', error: 'store_unavailable' });
    expect(setup.store.sessions.get(hashState(started.state))!.stash?.connection_id).toBe('conn-1');

    setup.deps.sessions.createConnection = create;
    const second = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(second.result).toMatchObject({ status: 'connected', connection_id: 'conn-1' });
    expect(setup.finch.calls.filter((c) => c === 'POST /auth/token')).toHaveLength(1);
    expect(setup.store.connections.get('acme/conn-1')!.token).not.toBeNull();
  });

  test('a transient fault is retried within the budget', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('c', { connection_id: 'conn-1', customer_id: 'acme' });
    const create = setup.deps.sessions.createConnection.bind(setup.deps.sessions);
    let failures = 2;
    setup.deps.sessions.createConnection = async (...args) => {
      if (failures-- > 0) throw new TransientStoreError(new Error('conflict'));
      return create(...args);
    };
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(outcome.result.status).toBe('connected');
  });

  test('Finch failing the exchange fails the session and is never retried', async () => {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.exchangeError = new FinchTimeout();
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c' });
    expect(outcome.result).toEqual({ status: 'error', error: 'finch_unavailable' });
    expect(setup.finch.calls.filter((c) => c === 'POST /auth/token')).toHaveLength(1);
  });
});

describe('callback: the key service right after the exchange (invariant 6)', () => {
  async function exchangedWith(encrypt: (original: () => Promise<string>) => Promise<string>) {
    const setup = fakeDeps();
    const started = await createConnectSession(setup.deps, acme, { flow: 'redirect' });
    setup.finch.issue('code-1', { connection_id: 'conn-1', customer_id: 'acme', access_token: 'tok_fresh' });
    const original = setup.deps.cipher.encrypt.bind(setup.deps.cipher);
    setup.deps.cipher.encrypt = (token, context) => encrypt(() => original(token, context));
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    return { ...setup, started, outcome };
  }

  test('a throttled Encrypt is retried within the budget: the token Finch just issued is stored', async () => {
    let throttled = 2;
    const { outcome, store } = await exchangedWith((original) => (throttled-- > 0 ? Promise.reject(new TransientCipherError(new Error('ThrottlingException'))) : original()));
    expect(outcome.result).toMatchObject({ status: 'connected', connection_id: 'conn-1' });
    expect(store.connections.get('acme/conn-1')!.token!.ciphertext).toBe('enc(acme/conn-1):tok_fresh');
  });

  test('a key service down past the budget fails the session (start Connect again), and a repeat says the same without a second exchange', async () => {
    const { deps, outcome, store, finch, started } = await exchangedWith(() => Promise.reject(new TransientCipherError(new Error('KMSInternalException'))));
    expect(outcome.result).toEqual({ status: 'error', error: 'internal_error' });
    expect(store.connections.size).toBe(0);
    expect(store.sessions.get(hashState(started.state))!.status).toBe('failed');
    const again = await handleCallback(deps, { flow: 'redirect', state: started.state, code: 'code-1' });
    expect(again.result).toEqual({ status: 'error', error: 'internal_error' });
    expect(finch.calls.filter((c) => c === 'POST /auth/token')).toHaveLength(1);
  });

  test('a refusal from the key service is not retried', async () => {
    let calls = 0;
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    await expect(exchangedWith(() => { calls++; return Promise.reject(denied); })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });
});

describe('callback: one owner (invariant 1)', () => {
  test('a connection owned by another customer is not taken over', async () => {
    const setup = await connected();
    const other = { customer_id: 'globex', admin: false, actor: 'globex' };
    const started = await createConnectSession(setup.deps, other, { flow: 'redirect' });
    setup.finch.issue('c2', { connection_id: 'conn-1', customer_id: 'globex' });
    const outcome = await handleCallback(setup.deps, { flow: 'redirect', state: started.state, code: 'c2' });
    expect(outcome.result).toEqual({ status: 'error', error: 'connection_owned_elsewhere' });
    expect(setup.store.owners.get('conn-1')).toBe('acme');
  });
});
