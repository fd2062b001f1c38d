// The smaller slice of the fuzzing that runs over the real adapters: the same generated requests
// (test/support/fuzz-requests.ts) through the handlers wired to DynamoDB Local and the Finch
// emulator, where cursors, conditions and SDK errors are real. Slower per request than the
// in-memory run (fuzz-routes.test.ts), so fewer of them. Seeded like it (FUZZ_SEED).
import fc from 'fast-check';
import type { Container } from '#adapters/container.js';
import { CALLBACK_ERROR_CODES } from '#core/model.js';
import { type FaultInjector, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { type FuzzPools, requestsFor } from '../support/fuzz-requests.js';
import { scanAll, tableViolations } from '../support/invariants.js';
import {
  CLIENT_SECRET, RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, capturedLogs, startHarness, type Harness,
} from '../support/harness.js';
import { ROUTES, routeKey } from '../../lib/routes.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS_PER_ROUTE = Math.ceil(Number(process.env.FUZZ_DYNAMO_REQUESTS ?? 700) / ROUTES.length);

/** 4xx answers of a callback that claimed its state: the session is spent (FAILED) by design. */
const CLAIMED_FAILURES = new Set<string>(CALLBACK_ERROR_CODES.filter((code) => code !== 'invalid_state'));

let h: Harness;
let app: Container;
/** One per container: reauthenticate's and the data proxy's (functions/http/session-app.ts, data-app.ts) have their own DynamoDB clients. */
let writes: FaultInjector[] = [];
let pools: FuzzPools;
const figures = { requests: 0, accepted: 0 };

beforeAll(async () => {
  h = await startHarness();
  ({ app } = await import('#http/app.js'));
  // No faults armed: the injector only counts the writes the handlers send.
  const { dataApp } = await import('#http/data-app.js');
  const { sessionApp } = await import('#http/session-app.js');
  writes = [app, sessionApp, dataApp].map((built) => injectFaults(storeClient(built.deps)));
  const connect = async (customer: string) => {
    const session = await h.invoke('POST /connect/sessions', { claims: { customer_id: customer }, body: { return_to: `${RETURN_ORIGIN}/` } });
    const back = await authorizeAtFinch(session.json.connect_url);
    const res = await h.invoke('GET /connect/callback', { query: { code: back.code!, state: back.state } });
    return new URL(res.headers.location).searchParams.get('connection_id')!;
  };
  const acme = await connect('acme');
  const globex = await connect('globex');
  const pending = await h.invoke('POST /connect/sessions', { claims: { customer_id: 'initech' }, body: { flow: 'embedded' } });
  const pendingRedirect = await h.invoke('POST /connect/sessions', { claims: { customer_id: 'umbrella' }, body: {} });
  pools = {
    customers: ['acme', 'globex', 'initech', 'umbrella'],
    connectionIds: [acme, globex, 'nope'],
    states: [pending.json.state, pendingRedirect.json.state, 'A'.repeat(43)],
    codes: ['bad-code', 'c'],
    webhookSecret: WEBHOOK_SECRET,
  };
});
afterAll(async () => {
  for (const injector of writes) injector.remove();
  await h?.close();
});

describe('fuzzing over DynamoDB Local and the Finch emulator', () => {
  test.each(ROUTES.map((route, index) => ({ route, index, key: routeKey(route) })))('$key', async ({ route, index }) => {
    await fc.assert(fc.asyncProperty(requestsFor(route, pools), async (request) => {
      for (const injector of writes) injector.resetCounts();
      const res = await h.invoke(`${route.method} ${request.rawPath}`, {
        claims: request.claims, rawBody: request.body, headers: request.headers, query: Object.fromEntries(request.query),
        rawQuery: request.rawQuery, base64: request.base64,
      }).catch((error: unknown) => {
        // A generated path no route matches (API Gateway would answer 404 itself): nothing to test.
        if (error instanceof Error && error.message.startsWith('no route for')) return null;
        throw error;
      });
      if (!res) return;
      figures.requests++;
      // A signed webhook about a connection nobody owns yet is deferred (503) so Finch delivers it
      // again; it notes its first sighting (one Put under its WEBHOOK# key) and nothing else.
      if (route.path === '/webhooks/finch' && res.statusCode === 503 && res.json?.error?.code === 'webhook_deferred') {
        const applied = writes.flatMap((injector) => injector.appliedWrites());
        if (!(applied.length === 1 && applied[0].command === 'PutItemCommand' && applied[0].keys.every((key) => key.startsWith('WEBHOOK#')))) {
          throw new Error(`a deferred webhook wrote more than its first sighting: ${JSON.stringify(applied)}`);
        }
        return;
      }
      if (res.statusCode >= 500) throw new Error(`answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      if (res.statusCode < 400) { figures.accepted++; return; }
      // A rejected request may try a conditional write (the claim of an unknown state), but none may
      // apply — except a callback that claimed its state and then failed, which spends its session,
      // an Idempotency-Key record that Powertools takes and releases again around a refused request,
      // and Finch's shared budget when Finch itself refused the request (below).
      const code = res.json?.error?.code ?? new URLSearchParams(res.headers.location?.split('?')[1] ?? '').get('error');
      const applied = writes.flatMap((injector) => injector.appliedWrites());
      const isSession = (w: { keys: string[] }) => w.keys.every((key) => key.startsWith('SESSION#'));
      const idempotency = applied.filter((w) => w.keys.every((key) => key === 'IDEMPOTENCY'));
      const released = idempotency.filter((w) => w.command === 'PutItemCommand').length === idempotency.filter((w) => w.command === 'DeleteItemCommand').length;
      // A refusal that came from Finch (it already has a connection for the customer, refused the
      // request, or answered a claimed callback's exchange) was a request to Finch: the shared budget counted it (one UpdateItem per RATE#
      // bucket), as Finch did. A request refused before Finch takes none.
      // The proxy passes Finch's own refusals through in Finch's shape (no `error.code` of ours).
      const finchAnswered = code === 'connection_already_exists' || (typeof code === 'string' && code.startsWith('finch_')) || CLAIMED_FAILURES.has(code)
        || (route.function === 'finch-proxy' && res.json?.error === undefined && typeof res.json?.code === 'number' && typeof res.json?.name === 'string');
      const isBudget = (w: { command: string; keys: string[] }) => w.command === 'UpdateItemCommand' && w.keys.every((key) => key.startsWith('RATE#'));
      const other = applied.filter((w) => !idempotency.includes(w) && !(CLAIMED_FAILURES.has(code) && isSession(w)) && !(finchAnswered && isBudget(w)));
      if (other.length || !released) throw new Error(`a rejected request (${res.statusCode} ${code}) wrote to the table: ${JSON.stringify(applied)}`);
    }), { seed: SEED + 1000 + index, numRuns: RUNS_PER_ROUTE, endOnFailure: true });
  }, 120_000);

  test('no response, log line or table item holds a token or a secret, and the table is whole', async () => {
    const tokens = h.emulator.state().connections.flatMap((c) => c.tokens);
    const items = await scanAll(h.table.doc, h.table.tableName);
    const ciphertexts = items.flatMap((item) => (typeof item.token_ciphertext === 'string' ? [item.token_ciphertext] : []));
    const answered = h.transcript.map((t) => t.text).join('\n');
    const logs = capturedLogs();
    const stored = JSON.stringify(items);
    for (const secret of [...tokens, CLIENT_SECRET, WEBHOOK_SECRET]) {
      expect(answered).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
    for (const ciphertext of ciphertexts) expect(answered).not.toContain(ciphertext);
    expect(tableViolations(items)).toEqual([]);
    console.log(`fuzzed ${figures.requests} requests over DynamoDB Local (seed ${SEED}): ${figures.accepted} accepted`);
    expect(figures.requests).toBeGreaterThan(ROUTES.length * RUNS_PER_ROUTE * 0.8);
  });
});
