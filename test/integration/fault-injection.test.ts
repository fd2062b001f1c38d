// Invariant 6 under fire: a fault at every step of the callback — the claim, the code exchange and
// the customer check at Finch, the stash, the final transaction, the session's completion — never
// loses a token Finch issued, never leaves half a connection in the table, never exchanges a code
// twice, and answers something clear. DynamoDB faults are thrown by SDK middleware on the store's
// own client over DynamoDB Local (before a request is sent, or after DynamoDB applied it and the
// answer was lost); Finch faults come from the emulator's fault control.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#adapters/table.js';
import { AccessTokenCipher, LocalAesCipher } from '#adapters/token-cipher.js';
import { hashState } from '#core/ids.js';
import { type FaultInjector, type FaultRule, faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { type TokenFate, scanAll, tableViolations, tokenFates } from '../support/invariants.js';
import { RETURN_ORIGIN, TOKEN_KEY, authorizeAtFinch, clearEmulatorFaults, emulatorFault, getItem, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
let inject: FaultInjector;
const cipher = new AccessTokenCipher(new LocalAesCipher([['k1', TOKEN_KEY]]));
const PREFIX = 'fault-';
const figures = { scenarios: 0, dynamoFaults: 0, finchFaults: 0, tokensLost: 0 };

beforeAll(async () => {
  // The shortest budgets the configuration allows keep the persistent faults quick.
  h = await startHarness({ FINCH_TIMEOUT_MS: '500', STORE_BUDGET_MS: '500' });
  inject = injectFaults(storeClient(h.app.deps));
});
afterAll(async () => {
  inject?.remove();
  await h?.close();
});
afterEach(async () => {
  inject.clear();
  await clearEmulatorFaults(h);
});

const claims = (customer_id: string) => ({ customer_id });
const exchanges = () => h.emulator.state().calls['POST /auth/token'] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface FinchFault { method: string; path: string; status?: number; delay_ms?: number; after_response?: boolean; omit_fields?: string[]; times?: number }

async function callback(query: Record<string, string>) {
  const res = await h.invoke('GET /connect/callback', { query });
  const location = res.statusCode === 302 ? new URL(res.headers.location) : null;
  return { res, params: location ? Object.fromEntries(location.searchParams) : null };
}

async function connect(customer: string): Promise<string> {
  const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done` } });
  expect(session.statusCode).toBe(201);
  const back = await authorizeAtFinch(session.json.connect_url);
  const { params } = await callback({ code: back.code!, state: back.state });
  expect(params).toMatchObject({ status: 'connected' });
  return params!.connection_id;
}

/** A session authorized at Finch, its callback not yet made. */
async function authorized(customer: string, reauthOf?: string, outcome: 'success' | 'error' = 'success') {
  const session = reauthOf
    ? await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id: reauthOf, return_to: `${RETURN_ORIGIN}/done` } })
    : await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done` } });
  expect(session.statusCode).toBe(201);
  const back = await authorizeAtFinch(session.json.connect_url, { outcome });
  const query: Record<string, string> = back.code ? { code: back.code, state: back.state } : { error: back.error!, state: back.state };
  return { state: session.json.state as string, query };
}

async function fatesOf(customer: string): Promise<TokenFate[]> {
  const fates = await tokenFates(h.emulator.state(), await scanAll(h.table.doc, h.table.tableName), cipher, (id) => id === customer);
  return [...fates.values()];
}

async function expectNoPartialWrite() {
  expect(tableViolations(await scanAll(h.table.doc, h.table.tableName))).toEqual([]);
}

type Answer = { connected: true } | { error: string } | { http: number };
type Recovery = 'none' | 'repeat' | 'adopt' | 'reauth';

interface Scenario {
  name: string;
  reauth?: boolean;
  cancel?: boolean;
  /** The code sent differs from the one Finch issued (Finch refuses it). */
  wrongCode?: boolean;
  dynamo?: FaultRule[];
  finch?: FinchFault[];
  /** What the first callback answers. */
  answer: Answer;
  /** `POST /auth/token` calls made by the first callback. */
  exchanged: 0 | 1;
  /** Where Finch's newest token is right after the first callback. */
  fate: TokenFate | 'no-connection';
  /** A repeated callback with the same query answers this error (the state is spent or stuck). */
  repeatAnswers?: string;
  recovery: Recovery;
  /** Wait for a delayed emulator request to settle before reading Finch's state. */
  settleMs?: number;
}

const forever = Number.POSITIVE_INFINITY;
const tokenCall = { method: 'POST', path: '/auth/token' };
const introspectCall = { method: 'GET', path: '/introspect' };
const noCustomerInGrant: FinchFault = { ...tokenCall, omit_fields: ['customer_id'] };

const scenarios: Scenario[] = [
  // The claim
  { name: 'the claim is throttled once and retried', dynamo: [{ step: 'claim', error: faults.throttling }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the claim is throttled throughout (nothing exchanged: the browser repeats it)', dynamo: [{ step: 'claim', error: faults.throttling, times: forever }],
    answer: { http: 503 }, exchanged: 0, fate: 'none-issued', recovery: 'repeat' },
  // The retry finds the session CLAIMED with this invocation's own claim id and goes on.
  { name: 'the claim is written but its answer is lost (connection reset)', dynamo: [{ step: 'claim', error: faults.networkError, afterSend: true }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the claim is written, its answer lost, and the retry throttled once', dynamo: [{ step: 'claim', error: faults.networkError, afterSend: true }, { step: 'claim', error: faults.throttling }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  // The code exchange at Finch
  { name: 'the exchange fails with a 500 before Finch issues a token', finch: [{ ...tokenCall, status: 500 }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'none-issued', repeatAnswers: 'finch_unavailable', recovery: 'adopt' },
  { name: 'the exchange answers 502 after Finch issued the token', finch: [{ ...tokenCall, status: 502, after_response: true }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'lost', repeatAnswers: 'finch_unavailable', recovery: 'adopt' },
  { name: 'the exchange is rate limited (429)', finch: [{ ...tokenCall, status: 429 }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'none-issued', recovery: 'adopt' },
  { name: 'the exchange times out before Finch issues a token', finch: [{ ...tokenCall, delay_ms: 1200 }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'none-issued', recovery: 'adopt', settleMs: 900 },
  { name: 'the exchange times out after Finch issued the token', finch: [{ ...tokenCall, delay_ms: 1200, after_response: true }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'lost', recovery: 'adopt' },
  // The customer check at Finch (a token response without customer_id)
  { name: 'the token lacks its customer and /introspect fails with 500s', finch: [noCustomerInGrant, { ...introspectCall, status: 500, times: 2 }],
    answer: { error: 'customer_unverified' }, exchanged: 1, fate: 'lost', recovery: 'adopt' },
  { name: 'the token lacks its customer and /introspect times out', finch: [noCustomerInGrant, { ...introspectCall, delay_ms: 1200, times: 2 }],
    answer: { error: 'customer_unverified' }, exchanged: 1, fate: 'lost', recovery: 'adopt', settleMs: 900 },
  // The stash
  { name: 'the stash is throttled once and retried', dynamo: [{ step: 'stash', error: faults.throttling }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the stash fails with 500s throughout, so the final store goes ahead without it', dynamo: [{ step: 'stash', error: faults.serverError, times: forever }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the stash is written but its answer is lost', dynamo: [{ step: 'stash', error: faults.networkError, afterSend: true }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  // The final transaction
  { name: 'the transaction is cancelled for a TransactionConflict and retried', dynamo: [{ step: 'transaction', error: faults.transactionConflict, times: 2 }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the transaction is throttled twice and retried', dynamo: [{ step: 'transaction', error: faults.throttling, times: 2 }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the transaction fails with a 500 once and is retried', dynamo: [{ step: 'transaction', error: faults.serverError }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the transaction fails with 500s past the time budget', dynamo: [{ step: 'transaction', error: faults.serverError, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'stashed', recovery: 'repeat' },
  { name: 'the transaction is throttled past the time budget', dynamo: [{ step: 'transaction', error: faults.throttling, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'stashed', recovery: 'repeat' },
  { name: 'the transaction meets TransactionConflicts past the time budget', dynamo: [{ step: 'transaction', error: faults.transactionConflict, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'stashed', recovery: 'repeat' },
  { name: 'the network fails before the transaction is sent, throughout', dynamo: [{ step: 'transaction', error: faults.networkError, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'stashed', recovery: 'repeat' },
  { name: 'the transaction commits but its answer is lost', dynamo: [{ step: 'transaction', error: faults.networkError, afterSend: true }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'the transaction commits, its answer is lost and the re-read of the session is throttled',
    dynamo: [{ step: 'transaction', error: faults.networkError, afterSend: true }, { step: 'get-session', error: faults.throttling }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'both the stash and the transaction fail past the time budget',
    dynamo: [{ step: 'stash', error: faults.throttling, times: forever }, { step: 'transaction', error: faults.throttling, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'lost', recovery: 'adopt' },
  // The session's completion (the failure paths write it alone)
  { name: 'the employer cancelled and the session\'s completion is throttled once', cancel: true, dynamo: [{ step: 'finish', error: faults.throttling }],
    answer: { error: 'connect_cancelled' }, exchanged: 0, fate: 'no-connection', repeatAnswers: 'connect_cancelled', recovery: 'none' },
  { name: 'Finch refuses the code and the session\'s completion is throttled once', wrongCode: true, dynamo: [{ step: 'finish', error: faults.throttling }],
    answer: { error: 'invalid_code' }, exchanged: 1, fate: 'none-issued', repeatAnswers: 'invalid_code', recovery: 'adopt' },
  { name: 'Finch refuses the code and the session\'s completion fails throughout', wrongCode: true, dynamo: [{ step: 'finish', error: faults.serverError, times: forever }],
    answer: { http: 503 }, exchanged: 1, fate: 'none-issued', recovery: 'adopt' },
  // Reauthentication: the same steps replace a token in place
  { name: 'reauth: the transaction is throttled past the time budget', reauth: true, dynamo: [{ step: 'transaction', error: faults.throttling, times: forever }],
    answer: { error: 'store_unavailable' }, exchanged: 1, fate: 'stashed', recovery: 'repeat' },
  { name: 'reauth: the transaction commits but its answer is lost', reauth: true, dynamo: [{ step: 'transaction', error: faults.networkError, afterSend: true }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'reauth: the stash answer is lost and the transaction meets a conflict', reauth: true,
    dynamo: [{ step: 'stash', error: faults.networkError, afterSend: true }, { step: 'transaction', error: faults.transactionConflict }],
    answer: { connected: true }, exchanged: 1, fate: 'stored', recovery: 'none' },
  { name: 'reauth: the exchange times out after Finch issued the new token', reauth: true, finch: [{ ...tokenCall, delay_ms: 1200, after_response: true }],
    answer: { error: 'finch_unavailable' }, exchanged: 1, fate: 'lost', recovery: 'reauth' },
];

describe('no token loss: a fault at every step of the callback (invariant 6)', () => {
  test.each(scenarios.map((scenario, index) => ({ ...scenario, customer: `${PREFIX}${index}` })))(
    '$name', async (scenario) => {
      const { customer } = scenario;
      const connectionId = scenario.reauth ? await connect(customer) : undefined;
      const { state, query } = await authorized(customer, connectionId, scenario.cancel ? 'error' : 'success');
      const sent = scenario.wrongCode ? { ...query, code: `${query.code}-forged` } : query;

      for (const rule of scenario.dynamo ?? []) inject.add(rule);
      for (const fault of scenario.finch ?? []) await emulatorFault(h, fault);
      const dynamoBefore = inject.injected;
      const before = exchanges();
      const first = await callback(sent);
      if (scenario.settleMs) await sleep(scenario.settleMs);
      const finchPending = h.emulator.state().faults.reduce((sum, fault) => sum + fault.remaining, 0);
      const finchArmed = (scenario.finch ?? []).reduce((sum, fault) => sum + (fault.times ?? 1), 0);
      figures.finchFaults += finchArmed - finchPending;
      figures.dynamoFaults += inject.injected - dynamoBefore;
      figures.scenarios++;
      // Every fault armed for this step fired.
      expect(finchPending).toBe(0);
      if (scenario.dynamo?.length) expect(inject.injected - dynamoBefore).toBeGreaterThanOrEqual(scenario.dynamo.length);
      inject.clear();

      // A clear answer: a redirect with a result from the fixed list, or a 5xx with a fixed message.
      if ('http' in scenario.answer) {
        expect(first.res.statusCode).toBe(scenario.answer.http);
        // The browser sees the result page with a code from the fixed list, never an exception.
        expect(first.res.headers['content-type']).toMatch(/^text\/html/);
        expect(first.res.body).toContain('store_unavailable');
      } else {
        expect(first.res.statusCode).toBe(302);
        expect(first.res.headers['cache-control']).toBe('no-store');
        expect(first.params).toMatchObject('connected' in scenario.answer
          ? { status: 'connected', reauthenticated: String(!!scenario.reauth) }
          : { status: 'error', error: scenario.answer.error });
      }
      // At most one exchange, never a second one, and never half a connection.
      expect(exchanges() - before).toBe(scenario.exchanged);
      await expectNoPartialWrite();
      const fates = await fatesOf(customer);
      expect(fates).toEqual(scenario.fate === 'no-connection' ? [] : [scenario.fate]);

      if (scenario.repeatAnswers) {
        const repeated = await callback(sent);
        expect(repeated.params ?? repeated.res.json).toMatchObject({ status: 'error', error: scenario.repeatAnswers });
        expect(exchanges() - before).toBe(scenario.exchanged);
      }

      // Recovery: a repeated callback finishes a stashed store with no second exchange; a token
      // Finch issued but we never stored comes back through the adopt path (or a new reauth).
      const finchConnection = () => h.emulator.state().connections.find((c) => c.customer_id === customer);
      let stored = connectionId ?? first.params?.connection_id;
      if (scenario.recovery === 'repeat') {
        const repeated = await callback(sent);
        expect(repeated.params).toMatchObject({ status: 'connected', reauthenticated: String(!!scenario.reauth) });
        // One exchange for this code in all: the stash, not a second exchange, finished the store.
        expect(exchanges() - before).toBe(1);
        stored = repeated.params!.connection_id;
      } else if (scenario.recovery === 'adopt') {
        const adopt = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/done` } });
        expect(adopt.statusCode).toBe(201);
        expect(adopt.json.adopts_connection_id).toBe(finchConnection()!.connection_id);
        const back = await authorizeAtFinch(adopt.json.connect_url);
        const done = await callback({ code: back.code!, state: back.state });
        expect(done.params).toMatchObject({ status: 'connected', connection_id: finchConnection()!.connection_id });
        stored = done.params!.connection_id;
      } else if (scenario.recovery === 'reauth') {
        // The old token is still stored and still valid at Finch; a new reauthentication replaces it.
        expect(await getItem(h, keys.connection(customer, connectionId!))).toMatchObject({ status: 'connected', token_version: 1 });
        const again = await authorized(customer, connectionId);
        expect((await callback(again.query)).params).toMatchObject({ status: 'connected', reauthenticated: 'true' });
      }

      await expectNoPartialWrite();
      if (scenario.fate === 'no-connection') {
        expect(await fatesOf(customer)).toEqual([]);
        expect((await getItem(h, keys.session(hashState(state))))?.status).toBe('failed');
        return;
      }
      const after = await fatesOf(customer);
      figures.tokensLost += after.filter((fate) => fate !== 'stored').length;
      expect(after).toEqual(['stored']);
      const item = await getItem(h, keys.connection(customer, stored!));
      // A reauth is counted once however many times its store was attempted.
      expect(item).toMatchObject({ status: 'connected', token_version: scenario.reauth ? 2 : 1 });
      expect(item!.token_ciphertext).toMatch(/^aes:k1:/);
      // The stash served its purpose: no spare ciphertext remains on the session.
      expect((await getItem(h, keys.session(hashState(state))))?.stash).toBeUndefined();
    });
});

describe('a stash outlives the session\'s expiry (expiry gates claims only)', () => {
  test('the final store fails near the end of the session; the repeat after its expiry finishes the store with no second exchange', async () => {
    const customer = `${PREFIX}late-repeat`;
    const { state, query } = await authorized(customer);
    inject.add({ step: 'transaction', error: faults.serverError, times: forever });
    const before = exchanges();
    const first = await callback(query);
    inject.clear();
    expect(first.params).toMatchObject({ status: 'error', error: 'store_unavailable' });
    // The claim was made at 55 s of a one-minute session; the browser repeats it at 65 s.
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.session(hashState(state)),
      UpdateExpression: 'SET expires_at = :past', ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 5 },
    }));
    const repeated = await callback(query);
    expect(repeated.params).toMatchObject({ status: 'connected', reauthenticated: 'false' });
    expect(exchanges() - before).toBe(1);
    expect(await fatesOf(customer)).toEqual(['stored']);
    // Once finished, a replay past the expiry answers the same result.
    expect((await callback(query)).params).toEqual(repeated.params);
    await expectNoPartialWrite();
  });
});

describe('the figures', () => {
  test('every scenario injected its faults and lost no token', () => {
    console.log(`fault injection: ${figures.scenarios} scenarios, ${figures.dynamoFaults} DynamoDB faults and ${figures.finchFaults} Finch faults injected, ${figures.tokensLost} tokens lost`);
    expect(figures.scenarios).toBe(scenarios.length);
    expect(figures.dynamoFaults).toBeGreaterThan(scenarios.filter((s) => s.dynamo).length);
    expect(figures.tokensLost).toBe(0);
  });
});

describe('what the browser sees', () => {
  // The employer's browser is on that page: a store fault answers the result page (fixed error
  // code, its headers), never a JSON 500.
  test('a store fault on the redirect callback still answers the HTML result page with no-referrer', async () => {
    const { query } = await authorized(`${PREFIX}page`);
    inject.add({ step: 'claim', error: faults.throttling, times: forever });
    const { res } = await callback(query);
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('a store that stays down', () => {
  test('an API call answers 503 service_unavailable with Retry-After, no exception text, and nothing changes', async () => {
    const customer = `${PREFIX}store-down`;
    const id = await connect(customer);
    inject.add({ step: 'any-write', error: faults.throttling, times: forever });
    const res = await h.invoke(`DELETE /connections/${id}`, { claims: claims(customer) });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json.error).toMatchObject({ code: 'service_unavailable' });
    expect(res.body).not.toMatch(/Rate of requests|Throttling/);
    inject.clear();
    expect((await h.invoke(`GET /connections/${id}`, { claims: claims(customer) })).json.status).toBe('connected');
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims(customer) })).statusCode).toBe(204);
  });
});

describe('fail closed on an incomplete token response (invariant 3)', () => {
  // The exchange's answer must name the connection: otherwise nothing is stored.
  test('a token response without connection_id stores nothing and the callback fails', async () => {
    const customer = `${PREFIX}no-connection-id`;
    const { query } = await authorized(customer);
    await emulatorFault(h, { ...tokenCall, omit_fields: ['connection_id'] });
    try {
      const { params } = await callback(query);
      expect(params).toMatchObject({ status: 'error' });
      const items = await scanAll(h.table.doc, h.table.tableName);
      expect(items.filter((item) => String(item.pk).includes('undefined') || String(item.sk).includes('undefined'))).toEqual([]);
      expect(tableViolations(items)).toEqual([]);
    } finally {
      // Leave no `undefined` connection behind for the tests that follow.
      const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
      for (const key of [keys.owner('undefined'), keys.connection(customer, 'undefined')]) {
        await h.table.doc.send(new DeleteCommand({ TableName: h.table.tableName, Key: key }));
      }
    }
  });
});
