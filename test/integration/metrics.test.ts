// Business metrics (issue 16): what the real handlers write as CloudWatch embedded metric format
// (EMF) lines, read back from their output as CloudWatch Logs would, one flow per test: each
// metric's name, unit and dimensions (functions/core/metrics.ts lists them), and the rollups the
// alarms sum over. The lines are the function's stdout, as in Lambda and `npm start`.
import { METRICS } from '#core/metrics.js';
import { emfData, emfLines } from '../support/emf.js';
import { type FaultInjector, faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import {
  CLIENT_SECRET, RETURN_ORIGIN, authorizeAtFinch, capturedLogs, connectCustomer, deliverWebhook, emulatorFault, harnessForFile,
} from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });

/** The EMF lines the handlers wrote while `run` ran, as `Name Unit k=v …` (emfLines), of these metrics only. */
async function emitted(names: string[], run: () => Promise<void>): Promise<string[]> {
  const from = capturedLogs().length;
  await run();
  return emfLines(capturedLogs().slice(from)).filter((line) => names.includes(line.split(' ')[0]));
}

async function startSession(customer: string, body: Record<string, unknown> = {}) {
  const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done`, ...body } });
  expect(session.statusCode).toBe(201);
  return session.json as { connect_url: string; adopts_connection_id?: string };
}

async function redirectBack(query: Record<string, string>) {
  const res = await h.invoke('GET /connect/callback', { query });
  return new URL(res.headers.location).searchParams;
}

let injector: FaultInjector | undefined;
afterEach(() => { injector?.remove(); injector = undefined; });

describe('metrics of the connect flow', () => {
  test('a connection: SessionsCreated connect, Finch\'s session and token exchange with their latency, Callbacks connected under its rollup too', async () => {
    const lines = await emitted(['SessionsCreated', 'Callbacks', 'FinchRequests', 'FinchLatency', 'FinchBudgetTakes', 'FinchErrors'], async () => {
      const { code, state } = await authorizeAtFinch((await startSession('metrics-connect')).connect_url);
      expect((await redirectBack({ code: code!, state })).get('status')).toBe('connected');
    });
    expect(lines).toEqual([
      'Callbacks Count',
      'Callbacks Count Result=connected',
      'FinchBudgetTakes Count CallerKind=interactive',
      'FinchBudgetTakes Count CallerKind=interactive',
      'FinchLatency Milliseconds Operation=connect_session',
      'FinchLatency Milliseconds Operation=token_exchange',
      // Each request under its full dimensions, its StatusClass alone, and service alone (the alarms' sums).
      'FinchRequests Count',
      'FinchRequests Count',
      'FinchRequests Count Operation=connect_session StatusClass=2xx',
      'FinchRequests Count Operation=token_exchange StatusClass=2xx',
      'FinchRequests Count StatusClass=2xx',
      'FinchRequests Count StatusClass=2xx',
      'SessionsCreated Count Kind=connect',
    ]);
  });

  test('every datum is in the FinchConnections namespace with service=finch-connections, and a latency is a whole number of ms', async () => {
    const from = capturedLogs().length;
    await connectCustomer(h, claims('metrics-namespace'));
    const data = emfData(capturedLogs().slice(from));
    expect(data.length).toBeGreaterThan(0);
    for (const datum of data) {
      expect(datum).toMatchObject({ namespace: 'FinchConnections', unit: METRICS[datum.name as keyof typeof METRICS].unit });
      expect(datum.dimensions.service).toBe('finch-connections');
    }
    const latencies = data.filter((datum) => datum.name === 'FinchLatency').flatMap((datum) => datum.values);
    expect(latencies.length).toBeGreaterThan(0);
    for (const ms of latencies) expect(Number.isInteger(ms) && ms >= 0).toBe(true);
  });

  test('a reauthentication: SessionsCreated reauth, Callbacks reauthenticated', async () => {
    const id = await connectCustomer(h, claims('metrics-reauth'));
    const lines = await emitted(['SessionsCreated', 'Callbacks'], async () => {
      const reauth = await h.invoke('POST /connect/sessions/reauthenticate', {
        claims: claims('metrics-reauth'), body: { connection_id: id, return_to: `${RETURN_ORIGIN}/done` },
      });
      expect(reauth.statusCode).toBe(201);
      const { code, state } = await authorizeAtFinch(reauth.json.connect_url);
      expect((await redirectBack({ code: code!, state })).get('reauthenticated')).toBe('true');
    });
    expect(lines).toEqual(['Callbacks Count', 'Callbacks Count Result=reauthenticated', 'SessionsCreated Count Kind=reauth']);
  });

  test('an adoption: SessionsCreated adopt for a connection Finch has and nobody here owns', async () => {
    const { code } = await authorizeAtFinch((await startSession('metrics-adopt')).connect_url);
    // The exchange's answer never reached us: the connection exists at Finch only.
    const direct = await fetch(`${h.emulator.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'finch-api-version': '2020-09-17' },
      body: JSON.stringify({ code, client_id: 'client-harness', client_secret: CLIENT_SECRET, redirect_uri: 'https://api.example/connect/callback' }),
    });
    expect(direct.status).toBe(200);
    const lines = await emitted(['SessionsCreated', 'FinchRequests', 'FinchErrors'], async () => {
      expect((await startSession('metrics-adopt')).adopts_connection_id).toBeDefined();
    });
    expect(lines).toEqual([
      'FinchErrors Count ErrorName=ConnectionExistsAtFinch',
      'FinchRequests Count', 'FinchRequests Count',
      'FinchRequests Count Operation=connect_session StatusClass=4xx',
      'FinchRequests Count Operation=reauth_session StatusClass=2xx',
      'FinchRequests Count StatusClass=2xx', 'FinchRequests Count StatusClass=4xx',
      'SessionsCreated Count Kind=adopt',
    ]);
  });

  test('failed callbacks count their result code: invalid_state, connect_cancelled, invalid_code (Finch\'s 400: AuthorizationCodeRejected)', async () => {
    const lines = await emitted(['Callbacks', 'FinchErrors', 'FinchRequests'], async () => {
      // No session to trust a return_to of: the built-in page, 400.
      expect((await h.invoke('GET /connect/callback', { query: { code: 'c', state: 'A'.repeat(43) } })).statusCode).toBe(400);
      const cancelled = await authorizeAtFinch((await startSession('metrics-cancel')).connect_url, { outcome: 'error' });
      expect((await redirectBack({ state: cancelled.state, error: cancelled.error ?? 'access_denied' })).get('error')).toBe('connect_cancelled');
      const refused = await authorizeAtFinch((await startSession('metrics-refused')).connect_url);
      await emulatorFault(h, { method: 'POST', path: '/auth/token', status: 400, times: 1 });
      expect((await redirectBack({ code: refused.code!, state: refused.state })).get('error')).toBe('invalid_code');
    });
    expect(lines.filter((line) => !line.startsWith('FinchRequests Count Operation=connect_session') && line !== 'FinchRequests Count StatusClass=2xx')).toEqual([
      'Callbacks Count', 'Callbacks Count', 'Callbacks Count',
      'Callbacks Count Result=connect_cancelled', 'Callbacks Count Result=invalid_code', 'Callbacks Count Result=invalid_state',
      'FinchErrors Count ErrorName=AuthorizationCodeRejected',
      // Two sessions and the refused exchange left for Finch: service-wide, three requests.
      'FinchRequests Count', 'FinchRequests Count', 'FinchRequests Count',
      'FinchRequests Count Operation=token_exchange StatusClass=4xx',
      'FinchRequests Count StatusClass=4xx',
    ]);
  });

  test('an Idempotency-Key replay: IdempotentReplays once, SessionsCreated once', async () => {
    const lines = await emitted(['SessionsCreated', 'IdempotentReplays'], async () => {
      for (let i = 0; i < 2; i++) {
        const res = await h.invoke('POST /connect/sessions', { claims: claims('metrics-idem'), body: { flow: 'embedded' }, headers: { 'idempotency-key': 'metrics-key-1' } });
        expect(res.statusCode).toBe(201);
      }
    });
    expect(lines).toEqual(['IdempotentReplays Count', 'SessionsCreated Count Kind=connect']);
  });

  test('a store fault retried: TransientRetries store; one that outlasts the retries: 503, ServiceUnavailable store and Callbacks store_unavailable', async () => {
    injector = injectFaults(storeClient(h.app.deps));
    const lines = await emitted(['TransientRetries', 'ServiceUnavailable', 'Callbacks'], async () => {
      injector!.add({ step: 'stash', error: faults.throttling, times: 1 });
      expect(await connectCustomer(h, claims('metrics-retry'))).toMatch(/.+/);
      const session = await h.invoke('POST /connect/sessions', { claims: claims('metrics-down'), body: { flow: 'embedded' } });
      const { code, state } = await authorizeAtFinch(session.json.connect_url);
      injector!.add({ step: 'claim', error: faults.throttling, times: Infinity });
      const res = await h.invoke('POST /connect/callback', { claims: claims('metrics-down'), body: { code, state } });
      expect(res.statusCode).toBe(503);
    });
    expect(lines.filter((line) => line !== 'TransientRetries Count Service=store')).toEqual([
      'Callbacks Count', 'Callbacks Count', 'Callbacks Count Result=connected', 'Callbacks Count Result=store_unavailable',
      'ServiceUnavailable Count Service=store',
    ]);
    // One for the stash, and several while the claim kept failing (its 2 s budget).
    expect(lines.filter((line) => line === 'TransientRetries Count Service=store').length).toBeGreaterThanOrEqual(2);
  });
});

describe('metrics of a connection\'s life', () => {
  test('disconnects: Disconnects confirmed when Finch revoked the token, unconfirmed when it refused it (AccessTokenRejected)', async () => {
    const confirmed = await connectCustomer(h, claims('metrics-bye'));
    const refused = await connectCustomer(h, claims('metrics-bye-2'));
    const lines = await emitted(['Disconnects', 'FinchErrors', 'FinchRequests'], async () => {
      expect((await h.invoke(`DELETE /connections/${confirmed}`, { claims: claims('metrics-bye') })).statusCode).toBe(204);
      await emulatorFault(h, { method: 'POST', path: '/disconnect', status: 401, times: 1 });
      expect((await h.invoke(`DELETE /connections/${refused}`, { claims: claims('metrics-bye-2') })).statusCode).toBe(204);
    });
    expect(lines).toEqual([
      'Disconnects Count Revocation=confirmed', 'Disconnects Count Revocation=unconfirmed',
      'FinchErrors Count ErrorName=AccessTokenRejected',
      'FinchRequests Count', 'FinchRequests Count',
      'FinchRequests Count Operation=disconnect StatusClass=2xx', 'FinchRequests Count Operation=disconnect StatusClass=401',
      'FinchRequests Count StatusClass=2xx', 'FinchRequests Count StatusClass=401',
    ]);
  });

  test('webhooks: applied, duplicate, rejected by reason, deferred (logged at WARN, not ERROR) under their Outcome rollup', async () => {
    const id = await connectCustomer(h, claims('metrics-hooks'));
    const send = (body: Record<string, unknown>, options: { eventId?: string; secret?: string } = {}) => deliverWebhook(h, body, options);
    const from = capturedLogs().length;
    const lines = await emitted(['Webhooks'], async () => {
      expect((await send({ event_type: 'company.updated', connection_id: id }, { eventId: 'msg_metrics_once' })).statusCode).toBe(200);
      expect((await send({ event_type: 'company.updated', connection_id: id }, { eventId: 'msg_metrics_once' })).statusCode).toBe(200);
      expect((await send({ event_type: 'company.updated', connection_id: id }, { secret: Buffer.from('not-the-secret').toString('base64') })).statusCode).toBe(401);
      expect((await send({ connection_id: id })).statusCode).toBe(400);
      expect((await send({ event_type: 'company.updated', connection_id: 'conn_nobody_here_0001' })).statusCode).toBe(503);
    });
    expect(lines).toEqual([
      'Webhooks Count Outcome=applied', 'Webhooks Count Outcome=applied Reason=none',
      'Webhooks Count Outcome=deferred', 'Webhooks Count Outcome=deferred Reason=unowned',
      'Webhooks Count Outcome=duplicate', 'Webhooks Count Outcome=duplicate Reason=none',
      'Webhooks Count Outcome=rejected', 'Webhooks Count Outcome=rejected',
      'Webhooks Count Outcome=rejected Reason=invalid_event', 'Webhooks Count Outcome=rejected Reason=signature',
    ]);
    const logLines = capturedLogs().slice(from).split('\n').filter((line) => line.includes('webhook_deferred'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(JSON.parse(line).level).toBe('WARN');
  });

  test('the data proxy: ProxyCalls by status class and error (none when Finch answered), FinchRequests data', async () => {
    const id = await connectCustomer(h, claims('metrics-proxy'));
    const lines = await emitted(['ProxyCalls', 'FinchRequests'], async () => {
      const read = () => h.invoke('GET /finch/employer/company', { claims: claims('metrics-proxy'), headers: { 'finch-connection-id': id } });
      expect((await read()).statusCode).toBe(200);
      await emulatorFault(h, { method: 'GET', path: '/employer/company', status: 500, times: 1 });
      expect((await read()).statusCode).toBe(500);
      const other = await h.invoke('GET /finch/employer/company', { claims: claims('metrics-proxy'), headers: { 'finch-connection-id': 'conn_not_yours_00001' } });
      expect(other.statusCode).toBe(404);
    });
    expect(lines).toEqual([
      'FinchRequests Count', 'FinchRequests Count',
      'FinchRequests Count Operation=data StatusClass=2xx', 'FinchRequests Count Operation=data StatusClass=5xx',
      'FinchRequests Count StatusClass=2xx', 'FinchRequests Count StatusClass=5xx',
      'ProxyCalls Count ErrorName=ConnectionNotFound StatusClass=4xx', 'ProxyCalls Count ErrorName=none StatusClass=2xx', 'ProxyCalls Count ErrorName=none StatusClass=5xx',
      'ProxyCalls Count StatusClass=2xx', 'ProxyCalls Count StatusClass=4xx', 'ProxyCalls Count StatusClass=5xx',
    ]);
  });
});
