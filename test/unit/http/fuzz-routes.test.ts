// Fuzzing every route (invariant 7 and "the token never leaves the backend"): at least 10,000
// generated requests a run — bodies, queries, path parameters, headers and claims — through the
// real handlers and middy stack, wired to in-memory fakes of the store and Finch, so each request
// costs about a millisecond. For every request: never a 5xx (but the 503 that defers a signed
// webhook about a connection nobody owns yet, so Finch delivers it again: not bad input, and it
// writes only its first-sighting note); a rejected (4xx) request writes nothing and calls Finch for nothing; no response or log line holds a token, a ciphertext or a
// secret. Seeded: the seed is printed, and FUZZ_SEED=<seed> replays the run (FUZZ_REQUESTS scales it).
import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import type { Container } from '#adapters/container.js';
import { hashState } from '#core/ids.js';
import { CALLBACK_ERROR_CODES, type SessionRecord } from '#core/model.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from '#core/ports/finch-data.js';
import { ROUTES, type FunctionName, routeKey } from '../../../lib/routes.js';
import { FakeFinch } from '../../support/fakes.js';
import { MemoryTable, memoryStores } from '../../support/memory-stores.js';
import { type FuzzPools, requestsFor, toEvent } from '../../support/fuzz-requests.js';
import { createTestTable, type TestTable } from '../../support/dynamo.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_500);
const RUNS_PER_ROUTE = Math.ceil(TOTAL / ROUTES.length);

const CLIENT_SECRET = `fuzz-client-secret-${randomBytes(12).toString('hex')}`;
const WEBHOOK_SECRET = randomBytes(24).toString('base64');
const TOKEN_KEY = randomBytes(32);
/** Access tokens the store or Finch hold; none may ever be answered or logged. */
const TOKENS = {
  acme: `tok_acme_${randomBytes(12).toString('hex')}`,
  acmeReauth: `tok_acme3_${randomBytes(12).toString('hex')}`,
  globex: `tok_globex_${randomBytes(12).toString('hex')}`,
  stashed: `tok_stashed_${randomBytes(12).toString('hex')}`,
  issuedNew: `tok_new_${randomBytes(12).toString('hex')}`,
  issuedReauth: `tok_reauth_${randomBytes(12).toString('hex')}`,
  issuedGlobex: `tok_gnew_${randomBytes(12).toString('hex')}`,
  issuedMismatch: `tok_mismatch_${randomBytes(12).toString('hex')}`,
};

const state = () => randomBytes(32).toString('base64url');
const STATES = {
  redirect: state(), embedded: state(), expired: state(), completed: state(), reauth: state(), globexEmbedded: state(), stashed: state(),
};

const code = (name: string) => `${name}-${randomBytes(8).toString('hex')}`;
const CODES = { good: code('good'), reauth: code('reauth'), globex: code('globex'), mismatch: code('mismatch'), noCustomer: code('no-customer') };

type Handler = (event: unknown, context: Context) => Promise<{ statusCode: number; headers?: Record<string, unknown>; body?: string }>;
let table: TestTable;
let app: Container;
const handlers = {} as Record<FunctionName, Handler>;

// The handlers keep the deps they were built with; these stand-ins forward to fresh fakes per request.
let store: MemoryTable;
let stores: ReturnType<typeof memoryStores>;
let finch: FakeFinch;
const forwarding = <T extends object>(target: () => T) => new Proxy({} as T, {
  get: (_, prop) => {
    const value = Reflect.get(target(), prop);
    return typeof value === 'function' ? value.bind(target()) : value;
  },
});

class EchoingFinchData implements FinchDataGateway {
  calls: Array<{ request: FinchDataRequest; tokenMatches: boolean }> = [];
  async forward(request: FinchDataRequest, source: AccessTokenSource): Promise<FinchDataResponse> {
    const accessToken = await source();
    this.calls.push({ request, tokenMatches: Object.values(TOKENS).includes(accessToken) });
    // Echoes what it was sent, so anything the proxy forwarded would show up in the answer.
    return { status: 200, body: { echo: { method: request.method, path: request.path, query: request.query, headers: request.headers, body: request.body ?? null } }, headers: {} };
  }
}
const finchData = new EchoingFinchData();

let template: MemoryTable;
let templateSnapshot: string;
let secrets: string[] = [];

beforeAll(async () => {
  table = await createTestTable('fuzz');
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    FINCH_API_BASE_URL: 'https://finch.invalid',
    CALLBACK_URL: 'https://api.example/connect/callback',
    ALLOWED_RETURN_ORIGINS: 'https://app.example',
    LOCAL_TOKEN_KEYS: `k1=${TOKEN_KEY.toString('base64')}`,
    FINCH_CLIENT_ID: 'fuzz-client',
    FINCH_CLIENT_SECRET: CLIENT_SECRET,
    FINCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    STORE_BUDGET_MS: '500',
  });
  ({ app } = await import('#http/app.js'));
  const forwardingStores = () => ({
    sessions: forwarding(() => stores.sessions), connections: forwarding(() => stores.connections), inbox: forwarding(() => stores.inbox),
  });
  Object.assign(app.deps, forwardingStores());
  app.deps.finch = forwarding(() => finch);
  // reauthenticate's container (no cipher) and the data proxy's (no client credentials) get the same stand-ins.
  const { sessionApp } = await import('#http/session-app.js');
  Object.assign(sessionApp.deps, forwardingStores());
  sessionApp.deps.finch = forwarding(() => finch);
  const { dataApp } = await import('#http/data-app.js');
  Object.assign(dataApp.deps, forwardingStores());
  dataApp.finchData = finchData;
  // Imported after the stand-ins are in place: a handler may copy the deps at cold start.
  const imported = {
    'create-session': await import('../../../functions/create-session/handler.js'),
    reauthenticate: await import('../../../functions/reauthenticate/handler.js'),
    callback: await import('../../../functions/callback/handler.js'),
    connections: await import('../../../functions/connections/handler.js'),
    webhook: await import('../../../functions/webhook/handler.js'),
    'finch-proxy': await import('../../../functions/finch-proxy/handler.js'),
  };
  for (const [name, module] of Object.entries(imported)) handlers[name as FunctionName] = module.handler as unknown as Handler;
  template = await seededStore();
  templateSnapshot = snapshot(template);
  const ciphertexts = [...template.connections.values()].flatMap((c) => (c.token ? [c.token.ciphertext] : []));
  secrets = [...Object.values(TOKENS), ...ciphertexts, CLIENT_SECRET, WEBHOOK_SECRET, TOKEN_KEY.toString('base64')];
});
afterAll(() => { table?.client.destroy(); });

/** acme owns a connected, a disconnected and a reauth connection; globex one; sessions in every state. */
async function seededStore(): Promise<MemoryTable> {
  const seeded = new MemoryTable();
  const now = new Date();
  const connection = async (customer: string, id: string, status: StoredConnection['status'], token: string | null) => {
    seeded.owners.set(id, customer);
    seeded.connections.set(`${customer}/${id}`, {
      connection_id: id, customer_id: customer, entity: null, finch_customer_id: customer, provider_id: 'gusto', company_name: 'Acme Payroll LLC',
      company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null,
      products: ['company', 'directory'], status, status_message: null, authentication_methods: ['credential'],
      connected_at: now.toISOString(), updated_at: now.toISOString(), last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
      token: token ? { ciphertext: await app.deps.cipher.encrypt(token, { customer_id: customer, connection_id: id }), token_issued_at: 1 } : null,
    });
  };
  await connection('acme', 'conn-acme-1', 'connected', TOKENS.acme);
  await connection('acme', 'conn-acme-2', 'disconnected', null);
  await connection('acme', 'conn-acme-3', 'reauth', TOKENS.acmeReauth);
  await connection('globex', 'conn-globex-1', 'connected', TOKENS.globex);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const session = (raw: string, fields: Partial<SessionRecord>): SessionRecord => ({
    state_hash: hashState(raw), session_id: `sess-${raw.slice(0, 6)}`, status: 'pending', kind: 'connect', flow: 'redirect',
    customer_id: 'acme', entity: null, finch_customer_id: 'acme', connection_id: null, products: ['company'],
    return_to: 'https://app.example/done', expires_at: nowSeconds + 3600, created_at: now.toISOString(), ...fields,
  });
  const sessions = [
    session(STATES.redirect, {}),
    session(STATES.embedded, { flow: 'embedded', return_to: null }),
    session(STATES.expired, { expires_at: nowSeconds - 1 }),
    session(STATES.completed, { status: 'completed', result: { status: 'connected', connection_id: 'conn-acme-1', customer_id: 'acme', entity: null, provider_id: 'gusto', products: ['company'], reauthenticated: false } }),
    session(STATES.reauth, { kind: 'reauth', connection_id: 'conn-acme-1' }),
    session(STATES.globexEmbedded, { flow: 'embedded', customer_id: 'globex', finch_customer_id: 'globex', return_to: null }),
    session(STATES.stashed, {
      status: 'claimed',
      stash: { connection_id: 'conn-acme-9', provider_id: 'gusto', products: ['company'], token: { ciphertext: await app.deps.cipher.encrypt(TOKENS.stashed, { customer_id: 'acme', connection_id: 'conn-acme-9' }), token_issued_at: 2 } },
    }),
  ];
  for (const s of sessions) seeded.sessions.set(s.state_hash, s);
  return seeded;
}

/** A fresh copy of the seeded store and a fresh Finch, so every request meets the same world. */
function reset() {
  store = new MemoryTable();
  for (const [key, value] of Object.entries(template)) {
    if (key !== 'calls' && typeof value !== 'function') (store as unknown as Record<string, unknown>)[key] = structuredClone(value);
  }
  stores = memoryStores(store);
  finch = new FakeFinch();
  finch.issue(CODES.good, { connection_id: 'conn-new', customer_id: 'acme', access_token: TOKENS.issuedNew });
  finch.issue(CODES.reauth, { connection_id: 'conn-acme-1', customer_id: 'acme', access_token: TOKENS.issuedReauth });
  finch.issue(CODES.globex, { connection_id: 'conn-globex-2', customer_id: 'globex', access_token: TOKENS.issuedGlobex });
  finch.issue(CODES.mismatch, { connection_id: 'conn-acme-7', customer_id: 'globex', access_token: TOKENS.issuedMismatch });
  finch.issue(CODES.noCustomer, { connection_id: 'conn-acme-8', customer_id: null, access_token: TOKENS.issuedNew });
  finchData.calls = [];
}

/** Everything the store holds (not its read counter). */
function snapshot(target: MemoryTable, ignoring: string[] = []): string {
  return JSON.stringify(Object.entries(target).filter(([key, value]) => key !== 'calls' && !ignoring.includes(key) && typeof value !== 'function'),
    // By tag, not instanceof: structuredClone's maps come from another realm under Jest.
    (_, value) => (['[object Map]', '[object Set]'].includes(Object.prototype.toString.call(value)) ? [...(value as Iterable<unknown>)] : value));
}

const pools: FuzzPools = {
  customers: ['acme', 'globex', 'initech', 'Acme'],
  connectionIds: ['conn-acme-1', 'conn-acme-2', 'conn-acme-3', 'conn-globex-1', 'conn-new', 'conn-acme-9', 'nope'],
  states: [...Object.values(STATES), 'A'.repeat(43)],
  codes: [...Object.values(CODES), 'bad-code'],
  webhookSecret: WEBHOOK_SECRET,
};

/** 4xx answers of a callback that claimed its state: the session is spent (FAILED) by design. */
const CLAIMED_FAILURES = new Set<string>(CALLBACK_ERROR_CODES.filter((code) => code !== 'invalid_state'));

const figures = { requests: 0, byStatus: new Map<number, number>(), accepted: 0, deferred: 0 };
const logs: string[] = [];
const realWrites = { stdout: process.stdout.write, stderr: process.stderr.write };

function captureOutput() {
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].write = ((chunk: unknown, ...rest: unknown[]) => {
      logs.push(String(chunk));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  }
}
function releaseOutput() {
  process.stdout.write = realWrites.stdout;
  process.stderr.write = realWrites.stderr;
}

const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();

describe('fuzzing every route: never a 5xx, never a write from a rejected request, never a token in a response', () => {
  beforeAll(() => {
    console.log(`fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED}; ${RUNS_PER_ROUTE} requests for each of ${ROUTES.length} routes`);
  });

  test.each(ROUTES.map((route, index) => ({ route, index, key: routeKey(route) })))('$key', async ({ route, index }) => {
    captureOutput();
    try {
      await fc.assert(fc.asyncProperty(requestsFor(route, pools), async (request) => {
        reset();
        logs.length = 0;
        const event = toEvent(request);
        const result = await handlers[route.function](event, { awsRequestId: 'fuzz', getRemainingTimeInMillis: () => 28_000 } as unknown as Context);
        figures.requests++;
        // A deferred webhook (core/webhooks.ts: Finch delivers it again) is counted apart from the statuses.
        const deferred = route.path === '/webhooks/finch' && result.statusCode === 503 && /"code":"webhook_deferred"/.test(result.body ?? '');
        if (deferred) figures.deferred++;
        else figures.byStatus.set(result.statusCode, (figures.byStatus.get(result.statusCode) ?? 0) + 1);
        const answered = `${JSON.stringify(result.headers ?? {})}\n${result.body ?? ''}`;
        const logged = logs.join('');

        // Never a 5xx, but a deferred webhook.
        if (!deferred && !(result.statusCode >= 200 && result.statusCode < 500)) {
          throw new Error(`answered ${result.statusCode}: ${result.body?.slice(0, 300)}; logged: ${logged.split('\n').filter((line) => /"level":"ERROR"/.test(line)).join('\n').slice(0, 1500)}`);
        }
        // Never a token, a ciphertext or a secret in a response or a log line; never markup echoed unescaped.
        for (const secret of secrets) {
          if (answered.includes(secret)) throw new Error(`the response holds a secret (${secret.slice(0, 12)}…)`);
          if (logged.includes(secret)) throw new Error(`a log line holds a secret (${secret.slice(0, 12)}…)`);
        }
        for (const raw of [...Object.values(STATES), ...Object.values(CODES)]) {
          if (logged.includes(raw)) throw new Error('a log line holds a raw state or a code');
        }
        // HTML (the result page) never carries markup from the request; everything else is JSON, said so.
        const contentType = String(result.headers?.['content-type'] ?? '');
        if (contentType.startsWith('text/html') && /<fuzz-xss/i.test(result.body ?? '')) throw new Error('the result page echoed markup from the request');
        if (result.body && !/^(application\/json|text\/html)/.test(contentType)) throw new Error(`a body answered as ${contentType || 'no content type'}`);
        // The proxy's fake Finch got the token only through its own parameter (checked above: never echoed back).
        if (finchData.calls.some((call) => !call.tokenMatches)) throw new Error('the proxy forwarded a token that is not the connection\'s');

        if (result.statusCode >= 400) {
          const code = (() => { try { return JSON.parse(result.body ?? '').error?.code as string | undefined; } catch { return undefined; } })()
            ?? new URLSearchParams(String(result.headers?.location ?? '').split('?')[1] ?? '').get('error') ?? undefined;
          const after = snapshot(store);
          if (deferred) {
            // Only the event's first sighting is noted: no dedupe record, no change, no Finch call.
            if (snapshot(store, ['firstSeen']) !== snapshot(template, ['firstSeen'])) throw new Error('a deferred webhook wrote more than its first sighting');
            if (finch.calls.length || finchData.calls.length) throw new Error('a deferred webhook called Finch');
          } else if (code !== undefined && CLAIMED_FAILURES.has(code)) {
            // Only the presented session changed (CLAIMED → FAILED); no connection, owner or event.
            const strip = (text: string) => JSON.stringify((JSON.parse(text) as Array<[string, unknown]>).filter(([key]) => key !== 'sessions'));
            if (strip(after) !== strip(templateSnapshot)) throw new Error(`a failed callback (${code}) wrote more than its session`);
          } else {
            if (after !== templateSnapshot) throw new Error(`a rejected request (${result.statusCode} ${code}) wrote to the store`);
            if (finch.calls.length || finchData.calls.length) throw new Error(`a rejected request (${result.statusCode} ${code}) called Finch: ${[...finch.calls, ...finchData.calls.map((c) => c.request.path)].join(', ')}`);
          }
        } else {
          figures.accepted++;
        }
      }), { seed: SEED + index, numRuns: RUNS_PER_ROUTE, endOnFailure: true });
    } finally {
      releaseOutput();
    }
  }, 120_000);

  test('the figures: at least 10,000 requests, and no prototype polluted', () => {
    const statuses = [...figures.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    console.log(`fuzzed ${figures.requests} requests (seed ${SEED}): ${figures.accepted} accepted; ${statuses}; ${figures.deferred} webhooks deferred (503)`);
    expect(figures.requests).toBeGreaterThanOrEqual(Math.min(TOTAL, 10_000));
    expect([...figures.byStatus.keys()].every((status) => status < 500)).toBe(true);
    // Some requests must get past validation, or the fuzzing proved little.
    expect(figures.accepted).toBeGreaterThan(figures.requests / 20);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
