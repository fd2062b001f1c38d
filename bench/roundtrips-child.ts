// Round trips per operation, in a process of its own (bench/roundtrips.ts starts it): the real
// handlers in process (test/support/harness.ts) over DynamoDB Local and the Finch emulator, with
// the container's clients configured as in AWS (FINCH_SECRET_ARN, KMS_KEY_ARN). Counting
// middleware goes on the container's own DynamoDB, Secrets Manager and KMS clients; Secrets
// Manager and KMS are answered by stub middleware (no AWS here), DynamoDB and Finch are real.
import { DynamoRateBuckets } from '#adapters/dynamo/rate-buckets.js';
import { DEFAULT_BUDGET, FinchBudget } from '#core/finch-budget.js';
import { quietObserver } from '../test/support/budget.js';
import * as harnessModule from '../test/support/harness.js';
import { CLIENT_ID, CLIENT_SECRET, type Harness, authorizeAtFinch, startHarness } from '../test/support/harness.js';
import { servePhase } from './child.js';
import { kmsAnswers } from './aws-stubs.js';
import { type Counts, type SdkClientLike, answerCalls, countCalls, delta, total } from './counting.js';

export interface RoundTrip {
  operation: string;
  finch: Counts;
  /** DynamoDB commands, the Finch budget's left out (`finchBudget`). */
  dynamodb: Counts;
  /** The Finch budget's conditional UpdateItems (RATE#… buckets, functions/adapters/dynamo/rate-buckets.ts). */
  finchBudget: number;
  /** HTTP attempts to DynamoDB beyond the commands (retries). */
  dynamodbRetries: number;
  secretsManager: number;
  kms: Counts;
  /** The HTTP status (and callback outcome) the operation answered, to show it did what it says. */
  answered: string;
  goal: string;
  met: boolean;
}

export interface RoundTripsResult {
  operations: RoundTrip[];
  /** Secrets Manager calls over every invocation after the container's first Finch call. */
  warmSecretsManagerCalls: number;
  idempotencyKeyHonoured: boolean;
  /** One take of the Finch budget on DynamoDB Local, in ms: a product's path (its bucket, then the IP's) and the IP's alone. */
  budgetTakeMs: { product: { p50: number; p95: number }; ipOnly: { p50: number; p95: number }; takes: number };
}

/** Counts the Finch budget's UpdateItems (a `RATE#` key) apart from the rest. */
function countBudget(client: SdkClientLike, counter: { takes: number }): void {
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'UpdateItemCommand' && String(args.input?.Key?.pk ?? '').startsWith('RATE#')) counter.takes++;
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'benchBudgetCounter' });
}

/** How many buckets the Finch calls of an operation take: a data path its product's and the IP's, any other the IP's. */
const bucketsOf = (finch: Counts) => Object.entries(finch).reduce((sum, [route, n]) => sum + n * (route.split(' ')[1]?.startsWith('/employer/') ? 2 : 1), 0);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100;
};

/** A client the container made; the round trips need the ones AWS would have. */
function clientOf(client: SdkClientLike | undefined, what: string): SdkClientLike {
  if (!client?.middlewareStack) throw new Error(`bench: the container made no ${what} client; is it configured as in AWS?`);
  return client;
}

/** The harness's webhook secret, where it has one. */
const webhookSecret = () => ((harnessModule as Record<string, unknown>).WEBHOOK_SECRET as string | undefined) ?? null;

const FIRST_OF_REAUTHENTICATE = 'reauthenticate session (first in its container)';

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);

async function run(): Promise<RoundTripsResult> {
  const harness: Harness = await startHarness({
    FINCH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:finch-bench-AbCdEf',
    KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  // The handlers' module graph holds the containers; these are the same module instances.
  // reauthenticate has one of its own (no KMS client); its calls count with app's.
  const { app } = await import('#http/app.js');
  const { sessionApp } = await import('#http/session-app.js');
  // The document client shares its client's middleware stack: every DynamoDB command of the
  // container (the store's and Powertools' Idempotency-Key records) passes these counters.
  const dynamo = countCalls(clientOf(app.clients.dynamo, 'DynamoDB'));
  countCalls(clientOf(sessionApp.clients.dynamo, 'DynamoDB'), dynamo);
  const budget = { takes: 0 };
  countBudget(clientOf(app.clients.dynamo, 'DynamoDB'), budget);
  countBudget(clientOf(sessionApp.clients.dynamo, 'DynamoDB'), budget);
  // The containers make these at their first call; made here first, they are the ones they use.
  const secretsClients = [app, sessionApp].map((container) => clientOf(container.clients.secretsManager?.(), 'Secrets Manager'));
  const secrets = countCalls(secretsClients[0]);
  countCalls(secretsClients[1], secrets);
  for (const client of secretsClients) {
    answerCalls(client, {
      GetSecretValueCommand: () => ({ SecretString: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, webhook_secret: webhookSecret() }) }),
    });
  }
  const kmsClient = clientOf(app.clients.kms?.(), 'KMS');
  const kms = countCalls(kmsClient);
  answerCalls(kmsClient, kmsAnswers());

  const operations: RoundTrip[] = [];
  const snapshot = () => ({
    dynamo: { ...dynamo.commands }, budget: budget.takes, attempts: total(dynamo.attempts), secrets: total(secrets.commands),
    kms: { ...kms.commands }, finch: { ...harness.emulator.state().calls },
  });
  /** Runs one operation and records what it cost; `judge` gets the deltas. */
  async function measure(operation: string, goal: string, act: () => Promise<string>, judge: (trip: RoundTrip) => boolean) {
    const before = snapshot();
    const answered = await act();
    const after = snapshot();
    const finchBudget = after.budget - before.budget;
    const dynamodb = delta(after.dynamo, before.dynamo);
    if (finchBudget > 0) dynamodb.UpdateItemCommand -= finchBudget;
    if (dynamodb.UpdateItemCommand === 0) delete dynamodb.UpdateItemCommand;
    const trip: RoundTrip = {
      operation,
      finch: delta(after.finch, before.finch),
      dynamodb,
      finchBudget,
      dynamodbRetries: after.attempts - before.attempts - total(delta(after.dynamo, before.dynamo)),
      secretsManager: after.secrets - before.secrets,
      kms: delta(after.kms, before.kms),
      answered,
      goal,
      met: false,
    };
    // Every Finch call took its buckets first: one conditional update each (two when a bucket
    // changed between idle and busy).
    const buckets = bucketsOf(trip.finch);
    trip.goal += buckets ? `; budget ${buckets}` : '';
    trip.met = judge(trip) && trip.finchBudget >= buckets && trip.finchBudget <= 2 * buckets;
    operations.push(trip);
    return trip;
  }
  const claimsOf = (customer: string) => ({ customer_id: customer, sub: `${customer}-user` });
  const finchCalls = (trip: RoundTrip, route: string) => trip.finch[route] ?? 0;
  const writes = (trip: RoundTrip) => Object.entries(trip.dynamodb).filter(([name]) => !READS.has(name)).reduce((sum, [, n]) => sum + n, 0);
  const reads = (trip: RoundTrip) => total(trip.dynamodb) - writes(trip);

  const startSession = async (customer: string, extra: { headers?: Record<string, string>; entity?: string } = {}) => {
    const res = await harness.invoke('POST /connect/sessions', {
      claims: claimsOf(customer), body: extra.entity ? { entity: extra.entity } : {}, headers: extra.headers,
    });
    if (res.statusCode !== 201) throw new Error(`POST /connect/sessions answered ${res.statusCode}: ${res.body}`);
    return res.json as { connect_url: string; state: string; session_id: string };
  };
  /** The employer's browser on Finch's hosted page: not the backend's round trips, so never measured. */
  const walk = async (connectUrl: string) => {
    const back = await authorizeAtFinch(connectUrl);
    return { code: back.code!, state: back.state };
  };
  const callback = async (query: { code: string; state: string }) => {
    const res = await harness.invoke('GET /connect/callback', { query });
    const params = new URL(res.headers.location ?? 'http://none/').searchParams;
    const text = `${res.statusCode} ${params.get('status')}${params.get('reauthenticated') === 'true' ? ', reauthenticated' : ''}${params.get('error') ? ` ${params.get('error')}` : ''}`;
    return { res, status: params.get('status'), connectionId: params.get('connection_id'), text };
  };
  const oneFinchCallOneWrite = (trip: RoundTrip) => total(trip.finch) === 1 && total(trip.dynamodb) === 1 && writes(trip) === 1;

  // The container's first Finch call fetches the client credentials: a cold start's cost, once.
  await measure('create session (first in a container)', 'Secrets Manager 1 (cold), Finch 1, DynamoDB 1 write',
    async () => { await startSession('rt-cold'); return '201'; },
    (trip) => oneFinchCallOneWrite(trip) && trip.secretsManager <= 1);
  let connectUrl = '';
  await measure('create session', 'Finch 1, DynamoDB 1 write',
    async () => { connectUrl = (await startSession('rt-main')).connect_url; return '201'; }, oneFinchCallOneWrite);

  let first = '';
  let replayed = '';
  await measure('create session with Idempotency-Key', 'Finch 1, DynamoDB ≤ 3',
    async () => { first = (await startSession('rt-idem', { headers: { 'Idempotency-Key': 'bench-key-1' } })).state; return '201'; },
    (trip) => total(trip.finch) === 1 && total(trip.dynamodb) <= 3);
  await measure('  its replay (same key and body)', 'Finch 0, the same session answered',
    async () => {
      replayed = (await startSession('rt-idem', { headers: { 'Idempotency-Key': 'bench-key-1' } })).state;
      return replayed === first ? '201, the same session' : '201, a new session: the key was not honoured';
    },
    (trip) => replayed === first && total(trip.finch) === 0);

  let connectionId = '';
  const mainBack = await walk(connectUrl);
  await measure('callback', 'exchange 1, introspect 0, DynamoDB ≤ 3 (claim, stash, transaction)',
    async () => {
      const done = await callback(mainBack);
      connectionId = done.connectionId ?? '';
      return done.text;
    },
    (trip) => finchCalls(trip, 'POST /auth/token') === 1 && finchCalls(trip, 'GET /introspect') === 0 && total(trip.dynamodb) <= 3);

  const lacking = await walk((await startSession('rt-nocustomer')).connect_url);
  await fetch(`${harness.emulator.url}/_emulator/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/auth/token', omit_fields: ['customer_id'], times: 1 }),
  });
  await measure('callback, token response without customer_id', 'exchange 1, introspect 1, DynamoDB ≤ 3',
    async () => (await callback(lacking)).text,
    (trip) => finchCalls(trip, 'POST /auth/token') === 1 && finchCalls(trip, 'GET /introspect') === 1 && total(trip.dynamodb) <= 3);

  let reauthUrl = '';
  // reauthenticate's container is its own (as each function's is in AWS): its first Finch call fetches the credentials.
  await measure(FIRST_OF_REAUTHENTICATE, 'Secrets Manager 1 (cold), Finch 1, DynamoDB 1 read + 1 write',
    async () => {
      const res = await harness.invoke('POST /connect/sessions/reauthenticate', { claims: claimsOf('rt-main'), body: { connection_id: connectionId } });
      reauthUrl = (res.json as { connect_url?: string } | undefined)?.connect_url ?? '';
      return String(res.statusCode);
    },
    (trip) => total(trip.finch) === 1 && reads(trip) <= 1 && writes(trip) === 1 && trip.secretsManager <= 1);
  const reauthBack = await walk(reauthUrl);
  await measure('callback, reauthentication', 'exchange 1, DynamoDB ≤ 3 with no read',
    async () => (await callback(reauthBack)).text,
    (trip) => finchCalls(trip, 'POST /auth/token') === 1 && total(trip.dynamodb) <= 3 && reads(trip) === 0);

  // Five connections of one customer (one per entity), listed two a page.
  for (const entity of ['e1', 'e2', 'e3', 'e4', 'e5']) {
    const done = await callback(await walk((await startSession('rt-list', { entity })).connect_url));
    if (done.status !== 'connected') throw new Error(`seeding rt-list/${entity} failed: ${done.text}`);
  }
  const filters: Array<Record<string, string>> = [{}, { status: 'connected' }];
  for (const filter of filters) {
    let cursor: string | undefined;
    let page = 0;
    do {
      page++;
      const query: Record<string, string> = { limit: '2', ...filter, ...(cursor ? { cursor } : {}) };
      await measure(`list, page ${page}${'status' in filter ? ' (status filter)' : ''}`, '1 DynamoDB query',
        async () => {
          const res = await harness.invoke('GET /connections', { claims: claimsOf('rt-list'), query });
          cursor = (res.json as { next_cursor?: string | null } | undefined)?.next_cursor ?? undefined;
          return `${res.statusCode}, ${(res.json as { connections?: unknown[] } | undefined)?.connections?.length ?? 0} items`;
        },
        (trip) => total(trip.dynamodb) === 1 && (trip.dynamodb.QueryCommand ?? 0) === 1);
    } while (cursor && page < 5);
  }
  await measure('get one connection', '1 DynamoDB read',
    async () => String((await harness.invoke(`GET /connections/${connectionId}`, { claims: claimsOf('rt-main') })).statusCode),
    (trip) => total(trip.dynamodb) === 1 && total(trip.finch) === 0);

  // The budget's own cost: sequential takes as one request makes them, on a fresh bucket set.
  const timed = new FinchBudget(new DynamoRateBuckets(harness.table.doc, harness.table.tableName), {
    ...DEFAULT_BUDGET, limits: Object.fromEntries(Object.keys(DEFAULT_BUDGET.limits).map((name) => [name, { limit: 1_000_000, periodSeconds: 60 }])) as typeof DEFAULT_BUDGET.limits,
  }, 'interactive', Date.now, quietObserver);
  const timings = { product: [] as number[], ipOnly: [] as number[] };
  const TAKES = 300;
  for (let i = 0; i < TAKES; i++) {
    for (const [kind, path] of [['product', '/employer/directory'], ['ipOnly', '/introspect']] as const) {
      const started = performance.now();
      await timed.take(path);
      timings[kind].push(performance.now() - started);
    }
  }
  const budgetTakeMs = {
    product: { p50: percentile(timings.product, 0.5), p95: percentile(timings.product, 0.95) },
    ipOnly: { p50: percentile(timings.ipOnly, 0.5), p95: percentile(timings.ipOnly, 0.95) },
    takes: TAKES,
  };

  await harness.close();
  const warm = operations.slice(1).filter((trip) => trip.operation !== FIRST_OF_REAUTHENTICATE);
  return {
    operations,
    warmSecretsManagerCalls: warm.reduce((sum, trip) => sum + trip.secretsManager, 0),
    idempotencyKeyHonoured: first !== '' && first === replayed,
    budgetTakeMs,
  };
}

servePhase(run);
