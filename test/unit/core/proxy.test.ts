// The proxy's core with in-memory fakes: what is refused before the token is touched, what reaches
// Finch, and what a Finch 401 does to the stored connection.
import { ConfigError, loadConfig } from '#adapters/config.js';
import type { Log } from '#core/deps.js';
import type { Connection } from '#core/model.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from '#core/ports/finch-data.js';
import { type ProxyDeps, type ProxyRequest, proxyFinchCall } from '#core/proxy.js';
import { answerOf, statusOf } from '#http/errors.js';
import { FakeCipher, fakeDeps } from '../../support/fakes.js';
import type { MemoryTable } from '../../support/memory-stores.js';

class FakeFinchData implements FinchDataGateway {
  calls: Array<{ request: FinchDataRequest; accessToken: string }> = [];
  answer: (request: FinchDataRequest, accessToken: string) => FinchDataResponse = () => ({ status: 200, body: { ok: true }, headers: {} });

  async forward(request: FinchDataRequest, source: AccessTokenSource) {
    const accessToken = await source();
    this.calls.push({ request: structuredClone(request), accessToken });
    return this.answer(request, accessToken);
  }
}

class CountingCipher extends FakeCipher {
  decrypts = 0;
  override async decrypt(ciphertext: string, context: { customer_id: string; connection_id: string }) {
    this.decrypts++;
    return super.decrypt(ciphertext, context);
  }
}

function seedConnection(store: MemoryTable, customer: string, connectionId: string, token: string, overrides: Partial<StoredConnection> = {}) {
  const connection: Connection = {
    connection_id: connectionId, customer_id: customer, entity: null, finch_customer_id: customer, provider_id: 'gusto',
    company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['company', 'directory', 'individual'], status: 'connected', status_message: null,
    authentication_methods: ['credential'], connected_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
    last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
  };
  store.connections.set(`${customer}/${connectionId}`, {
    ...connection, token: { ciphertext: `enc(${customer}/${connectionId}):${token}`, token_issued_at: 1 }, ...overrides,
  });
  store.owners.set(connectionId, customer);
}

function setup(writeRoutes: string[] = []) {
  const lines: Array<{ message: string; attributes?: Record<string, unknown> }> = [];
  const log: Log = { info: (message, attributes) => lines.push({ message, attributes }), warn() {}, error() {} };
  const cipher = new CountingCipher();
  const { deps: core, store } = fakeDeps({ cipher, log });
  const finchData = new FakeFinchData();
  const deps: ProxyDeps = { ...core, finchData, proxy: { writeRoutes: new Set(writeRoutes) }, statusOf };
  seedConnection(store, 'acme', 'conn-acme', 'tok-acme');
  seedConnection(store, 'globex', 'conn-globex', 'tok-globex');
  return { deps, store, finchData, cipher, lines };
}

const request = (overrides: Partial<ProxyRequest> = {}): ProxyRequest => ({
  method: 'GET', rawPath: '/employer/company', rawQuery: '', connectionId: 'conn-acme', body: undefined,
  headers: {}, writeScope: false, ...overrides,
});

/** How the HTTP layer answers the error the call failed with. */
async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return answerOf(error)!;
  }
  throw new Error('expected a refusal');
}

describe('GET/POST /finch/{path+} core', () => {
  test('an allowlisted read goes out with the stored token and only allowlisted headers; Finch\'s answer comes back as is', async () => {
    const { deps, finchData } = setup();
    finchData.answer = () => ({ status: 200, body: { legal_name: 'Acme' }, headers: { 'finch-request-id': 'r1' } });
    const answer = await proxyFinchCall(deps, 'acme', request({
      rawPath: '/employer/directory', rawQuery: 'limit=2&customer_id=acme',
      headers: { authorization: 'Bearer caller-jwt', accept: 'application/json', cookie: 'a=b', 'finch-api-version': '1999-01-01', 'x-forwarded-for': '1.2.3.4' },
    }));
    expect(answer).toEqual({ status: 200, body: { legal_name: 'Acme' }, headers: { 'finch-request-id': 'r1' } });
    expect(finchData.calls).toEqual([{
      accessToken: 'tok-acme',
      // A proxied read waits for Finch until its deadline (functions/core/finch-reads.ts).
      request: { method: 'GET', path: '/employer/directory', query: { limit: '2' }, body: undefined, headers: { accept: 'application/json' }, untilDeadline: true },
    }]);
  });

  test('Finch\'s error statuses pass through as they are', async () => {
    const { deps, finchData } = setup();
    finchData.answer = () => ({ status: 403, body: { code: 403, name: 'insufficient_scope_error' }, headers: {} });
    expect(await proxyFinchCall(deps, 'acme', request())).toMatchObject({ status: 403, body: { name: 'insufficient_scope_error' } });
  });

  test('a refused path, query or body touches neither the store, the key nor Finch', async () => {
    const { deps, store, finchData, cipher } = setup();
    const before = store.calls;
    for (const bad of [
      request({ rawPath: '/employer/%2e%2e/introspect' }),
      request({ rawPath: '/introspect' }),
      request({ method: 'POST', rawPath: '/employer/company' }),
      request({ rawQuery: 'access_token=x' }),
      request({ body: { a: 1 } }),
    ]) {
      const error = await refusal(proxyFinchCall(deps, 'acme', bad));
      expect(error.status).toBe(400);
    }
    expect(store.calls).toBe(before);
    expect(cipher.decrypts).toBe(0);
    expect(finchData.calls).toHaveLength(0);
  });

  test('another customer\'s connection is 404 like an unknown one, without decrypting', async () => {
    const { deps, finchData, cipher } = setup();
    expect(await refusal(proxyFinchCall(deps, 'acme', request({ connectionId: 'conn-globex' })))).toMatchObject({ status: 404, code: 'connection_not_found' });
    expect(await refusal(proxyFinchCall(deps, 'acme', request({ connectionId: 'nope' })))).toMatchObject({ status: 404, code: 'connection_not_found' });
    expect(cipher.decrypts).toBe(0);
    expect(finchData.calls).toHaveLength(0);
  });

  test('a disconnected connection is 409 connection_disconnected', async () => {
    const { deps, store, finchData } = setup();
    seedConnection(store, 'acme', 'conn-gone', 'tok-gone', { status: 'disconnected', token: null });
    expect(await refusal(proxyFinchCall(deps, 'acme', request({ connectionId: 'conn-gone' })))).toMatchObject({ status: 409, code: 'connection_disconnected' });
    expect(finchData.calls).toHaveLength(0);
  });

  test('a connection already in reauth answers 409 reauth_required without calling Finch', async () => {
    const { deps, store, finchData, cipher } = setup();
    seedConnection(store, 'acme', 'conn-reauth', 'tok-r', { status: 'reauth' });
    expect(await refusal(proxyFinchCall(deps, 'acme', request({ connectionId: 'conn-reauth' })))).toMatchObject({ status: 409, code: 'reauth_required' });
    expect(finchData.calls).toHaveLength(0);
    expect(cipher.decrypts).toBe(0);
  });

  test('Finch\'s 401 reauthenticate_user marks the connection reauth and answers 409 reauth_required', async () => {
    const { deps, store, finchData } = setup();
    finchData.answer = () => ({ status: 401, body: { code: 401, name: 'authentication_error', finch_code: 'reauthenticate_user' }, headers: {} });
    expect(await refusal(proxyFinchCall(deps, 'acme', request()))).toMatchObject({ status: 409, code: 'reauth_required' });
    expect(store.connections.get('acme/conn-acme')!.status).toBe('reauth');
    // Recorded in the audit trail with the change.
    expect(store.audits.at(-1)).toMatchObject({ action: 'reauth_required', actor: 'finch-proxy', customer_id: 'acme', connection_id: 'conn-acme', details: { finch_code: 'reauthenticate_user' } });
  });

  test('another Finch 401 is 409 connection_unauthorized and leaves the status alone', async () => {
    const { deps, store, finchData } = setup();
    finchData.answer = () => ({ status: 401, body: { code: 401, finch_code: 'account_setup_required' }, headers: {} });
    const error = await refusal(proxyFinchCall(deps, 'acme', request()));
    expect(error).toMatchObject({ status: 409, code: 'connection_unauthorized' });
    expect(store.connections.get('acme/conn-acme')!.status).toBe('connected');
  });

  test('an answer that is not JSON, or that would carry the token, is a 502', async () => {
    const { deps, finchData } = setup();
    finchData.answer = () => ({ status: 200, body: null, headers: {} });
    expect(await refusal(proxyFinchCall(deps, 'acme', request()))).toMatchObject({ status: 502 });
    finchData.answer = (_r, token) => ({ status: 200, body: { echo: `Bearer ${token}` }, headers: {} });
    expect(await refusal(proxyFinchCall(deps, 'acme', request()))).toMatchObject({ status: 502 });
  });

  test('one log line per call: connection, method, template and status; no query values, no token', async () => {
    const { deps, lines } = setup();
    await proxyFinchCall(deps, 'acme', request({ rawPath: '/employer/directory', rawQuery: 'limit=7' }));
    await refusal(proxyFinchCall(deps, 'acme', request({ rawPath: '/employer/%2e%2e' })));
    expect(lines).toEqual([
      { message: 'finch proxy call', attributes: { connection_id: 'conn-acme', method: 'GET', template: '/employer/directory', status: 200 } },
      { message: 'finch proxy call', attributes: { connection_id: 'conn-acme', method: 'GET', template: null, status: 400 } },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/tok-acme|limit=7|"7"/);
  });
});

describe('writes need configuration and the write scope', () => {
  const write = (writeScope: boolean) => request({
    // enrollMany's body is the bare array of individuals, as the SDK sends it.
    method: 'POST', rawPath: '/employer/benefits/b-1/individuals', body: [{ individual_id: 'i-1' }], writeScope,
  });

  test('not enabled by configuration: path_not_allowed, scope or not', async () => {
    const { deps, finchData } = setup();
    expect(await refusal(proxyFinchCall(deps, 'acme', write(true)))).toMatchObject({ status: 400, code: 'path_not_allowed' });
    expect(finchData.calls).toHaveLength(0);
  });

  test('enabled, but the caller lacks the write scope: 403', async () => {
    const { deps, finchData } = setup(['POST /employer/benefits/{benefit_id}/individuals']);
    expect(await refusal(proxyFinchCall(deps, 'acme', write(false)))).toMatchObject({ status: 403, code: 'write_scope_required' });
    expect(finchData.calls).toHaveLength(0);
  });

  test('enabled and granted: forwarded with its body', async () => {
    const { deps, finchData } = setup(['POST /employer/benefits/{benefit_id}/individuals']);
    await proxyFinchCall(deps, 'acme', write(true));
    expect(finchData.calls[0].request).toMatchObject({ method: 'POST', path: '/employer/benefits/b-1/individuals', body: [{ individual_id: 'i-1' }] });
  });

  test('batch reads over POST need no write scope', async () => {
    const { deps, finchData } = setup();
    await proxyFinchCall(deps, 'acme', request({ method: 'POST', rawPath: '/employer/individual', body: { requests: [{ individual_id: 'i' }] } }));
    expect(finchData.calls[0].request).toMatchObject({ method: 'POST', path: '/employer/individual', body: { requests: [{ individual_id: 'i' }] } });
  });
});

describe('configuration of writes', () => {
  const env = {
    TABLE_NAME: 'table', CALLBACK_URL: 'https://api.example/connect/callback', LOCAL_TOKEN_KEYS: 'k1=x', FINCH_CLIENT_ID: 'id', FINCH_CLIENT_SECRET: 's',
  };

  test('no writes and the connections:write scope by default', () => {
    expect(loadConfig(env)).toMatchObject({ FINCH_PROXY_WRITE_PATHS: [], FINCH_PROXY_WRITE_SCOPE: 'connections:write' });
  });

  test('only known write routes may be enabled; anything else fails at cold start naming the variable', () => {
    expect(loadConfig({ ...env, FINCH_PROXY_WRITE_PATHS: 'POST /employer/benefits, DELETE /employer/benefits/{benefit_id}/individuals' }).FINCH_PROXY_WRITE_PATHS)
      .toEqual(['POST /employer/benefits', 'DELETE /employer/benefits/{benefit_id}/individuals']);
    for (const bad of ['GET /introspect', 'POST /disconnect', 'GET /employer/company', 'POST /employer/benefits/*']) {
      expect(() => loadConfig({ ...env, FINCH_PROXY_WRITE_PATHS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, FINCH_PROXY_WRITE_PATHS: bad })).toThrow(/FINCH_PROXY_WRITE_PATHS/);
    }
    expect(() => loadConfig({ ...env, FINCH_PROXY_WRITE_SCOPE: 'two words' })).toThrow(/FINCH_PROXY_WRITE_SCOPE/);
  });
});
