// The whole product on one machine: DynamoDB Local (Java), the table from the deployed
// definition, the Finch emulator (or the real Finch API), and the local gateway serving the real
// handlers. `local/start.ts` is the command line around startStack().
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '#adapters/table.js';
import { startFinchEmulator } from '#local/finch-emulator/server.js';
import { FUNCTION_ENTRIES, type FunctionName, ROUTES, routeKey } from '../lib/routes.js';
import { claimNames, mintDevToken } from './dev-tokens.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local.js';
import { createCors } from './gateway/cors.js';
import { LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, createJwtAuthorizer, publicJwks } from './gateway/jwt.js';
import { createLocalRoutes } from './gateway/local-routes.js';
import { subscribeEnrichment } from './enrich-company.js';
import { type LocalReconciler, localInterval, startLocalReconciler } from './reconcile.js';
import { type LocalEvents, startLocalEvents } from './events/index.js';
import type { LocalBus } from './events/bus.js';
import { type LambdaHandler, type RunningGateway, startGateway } from './gateway/server.js';
import { PortInUse, freePort, isPortFree } from './ports.js';
import { DEFAULT_STATE_DIR, REPO_ROOT } from './paths.js';
import { type LocalSecrets, loadOrCreateSecrets } from './secrets.js';

export const DEFAULT_TABLE_NAME = 'finch-connections-local';

export interface StackOptions {
  /** Gateway port (PORT); 0 = any free port. */
  port: number;
  /** FINCH_EMULATOR_PORT; 0 = any free port. Unused with `finch: 'sandbox'`. */
  finchPort: number;
  /** DYNAMODB_PORT; 0 = any free port. */
  dynamodbPort: number;
  /** Keep DynamoDB's data in `<stateDir>/dynamodb` instead of memory. */
  persist?: boolean;
  /** `sandbox`: the real Finch API from FINCH_API_BASE_URL, FINCH_CLIENT_ID, FINCH_CLIENT_SECRET. */
  finch?: 'emulator' | 'sandbox';
  /** Where secrets, persisted data and stack.json live (default `.local/`). */
  stateDir?: string;
  tableName?: string;
  /** Short progress lines while starting. */
  progress?: (line: string) => void;
  /** One line a request. */
  accessLog?: (line: string) => void;
}

/** What `.local/stack.json` holds (docs/ARCHITECTURE.md, "The local stack"), plus the pids for tooling. */
export interface StackInfo {
  apiUrl: string;
  finchUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
}

export interface RunningStack extends StackInfo {
  finch: 'emulator' | 'sandbox';
  stackFile: string;
  dynamodbPid: number;
  readyInMs: number;
  /** The local event bus: GET /_local/events reads it; `bus.subscribe(types, handler)` takes its events in process. */
  bus: LocalBus;
  /** Settles if DynamoDB Local exits while the stack runs. */
  dynamodbExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops the gateway, the emulator and Java; removes stack.json. Safe to call twice. */
  stop(): Promise<void>;
}

export class StackError extends Error {
  constructor(message: string) { super(message); this.name = 'StackError'; }
}

let started = false;

export async function startStack(options: StackOptions): Promise<RunningStack> {
  // The handlers read their configuration once, at import: a second stack in one process would
  // silently run with the first one's.
  if (started) throw new StackError('startStack() runs once per process (the handlers keep the configuration they were imported with)');
  started = true;
  const t0 = Date.now();
  // The handlers read process.env at import: the stack sets their variables there.
  const env = process.env;
  const progress = options.progress ?? (() => undefined);
  const finchMode = options.finch ?? 'emulator';
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const stackFile = join(stateDir, 'stack.json');

  if (finchMode === 'sandbox' && !(env.FINCH_CLIENT_ID && env.FINCH_CLIENT_SECRET)) {
    throw new StackError('--finch=sandbox needs FINCH_CLIENT_ID and FINCH_CLIENT_SECRET (and FINCH_API_BASE_URL unless it is https://api.tryfinch.com)');
  }
  await checkPorts(options, finchMode);
  const secrets = await loadOrCreateSecrets(stateDir);

  const cleanups: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('stop:', error));
    if (readStackPid(stackFile) === process.pid) rmSync(stackFile, { force: true });
  })());

  try {
    // Java is the slow part: it starts first and everything else happens while it boots. Its port
    // is fixed now so the handlers, imported meanwhile, know their endpoint.
    const dynamodbPort = options.dynamodbPort || await freePort();
    const dynamodbEndpoint = `http://127.0.0.1:${dynamodbPort}`;
    progress(`dynamodb  starting DynamoDB Local (${options.persist ? `data kept in ${join(stateDir, 'dynamodb')}` : 'in memory'})`);
    const dynamoStarting = startDynamoDbLocal({ port: dynamodbPort, dbPath: options.persist ? join(stateDir, 'dynamodb') : undefined });
    dynamoStarting.catch(() => undefined);
    cleanups.push(async () => { await (await dynamoStarting.catch(() => undefined))?.stop(); });

    // The events pipe (local/events/index.ts): its bus answers PutEvents on a loopback port of its own.
    const events: LocalEvents = await startLocalEvents({ region: LOCAL_REGION, stateDir, forwardUrl: env.EVENTS_FORWARD_URL || undefined, log: options.progress ?? ((line) => console.error(line)) });
    cleanups.push(() => events.close());

    let resolveReady!: (handlers: Map<FunctionName, LambdaHandler>) => void;
    const ready = new Promise<Map<FunctionName, LambdaHandler>>((resolve) => { resolveReady = resolve; });
    let emulatorUrl: string | undefined;
    const reconcileEvery = localInterval(env);
    let resolveReconciler!: (reconciler: LocalReconciler) => void;
    const reconcilerReady = new Promise<LocalReconciler>((resolve) => { resolveReconciler = resolve; });
    const jwks = publicJwks(secrets.jwt_signing_key);
    const names = claimNames(env);
    const gateway: RunningGateway = await startGateway({
      port: options.port,
      routes: ROUTES,
      // A request that arrives while the stack starts waits for it.
      loadHandler: async (name) => (await ready).get(name)!,
      authorizer: createJwtAuthorizer({ issuer: LOCAL_JWT_ISSUER, audience: [LOCAL_JWT_AUDIENCE], jwks }),
      localRoutes: createLocalRoutes({
        mintToken: (request) => mintDevToken(secrets, names, request),
        jwks,
        demoDir: join(REPO_ROOT, 'local', 'demo'),
        emulatorUrl: () => emulatorUrl,
        port: () => gateway.port,
        routeKeys: ROUTES.map(routeKey),
        events: (connectionId) => events.bus.events(connectionId),
        // A request before the stack is ready waits for it, as the routes do.
        reconcile: async () => (await reconcilerReady).runNow(),
      }),
      // Other local frontends (say a dev server on :5173) are allowed as they will be in AWS.
      cors: createCors(configuredReturnOrigins(env), ROUTES),
      log: options.accessLog,
    });
    cleanups.push(() => gateway.close());
    const apiUrl = gateway.url;
    progress(`gateway   listening on ${apiUrl}`);

    let finchUrl: string;
    if (finchMode === 'emulator') {
      const emulator = await startFinchEmulator({
        port: options.finchPort,
        clientId: secrets.finch_client_id,
        clientSecret: secrets.finch_client_secret,
        webhookSecret: secrets.finch_webhook_secret,
        webhookUrl: `${apiUrl}/webhooks/finch`,
      }).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE' ? new PortInUse('FINCH_EMULATOR_PORT', options.finchPort) : error;
      });
      cleanups.push(() => emulator.close());
      finchUrl = emulatorUrl = emulator.url;
      progress(`finch     emulator on ${finchUrl}`);
    } else {
      finchUrl = (env.FINCH_API_BASE_URL || 'https://api.tryfinch.com').replace(/\/$/, '');
      progress(`finch     the real Finch API at ${finchUrl}`);
    }

    Object.assign(env, handlerEnvironment({ env, apiUrl, finchUrl, finchMode, tableName, secrets, dynamodbEndpoint }), events.env);
    for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'KMS_KEY_ARN', 'FINCH_SECRET_ARN']) delete env[name];
    const imported = importHandlers();
    imported.catch(() => undefined);

    const dynamo = await dynamoStarting;
    progress(`dynamodb  answering on ${dynamo.endpoint} after ${(dynamo.startedInMs / 1000).toFixed(1)}s`);
    const created = await ensureTable(dynamo.endpoint, tableName);
    progress(`table     ${tableName} ${created ? 'created' : 'kept from the last run'}`);
    // The bus rule → queue → enrich-company in AWS, here a subscriber of the local bus (local/enrich-company.ts).
    await subscribeEnrichment(events);
    // Read before any request is served, so every change's event reaches the bus.
    await events.startStream({ endpoint: dynamo.endpoint, tableName, credentials: LOCAL_CREDENTIALS });
    progress(`events    the table's stream → the events function → the local bus${env.EVENTS_FORWARD_URL ? ` → ${env.EVENTS_FORWARD_URL}` : ''} (${join(stateDir, 'events.jsonl')})`);
    // The schedule's stand-in (local/reconcile.ts): its drift flows through the pipe started above.
    const reconciler = await startLocalReconciler({ intervalSeconds: reconcileEvery, log: progress });
    cleanups.push(() => reconciler.stop());
    resolveReconciler(reconciler);
    progress(`reconcile every ${reconcileEvery > 0 ? `${reconcileEvery}s` : 'never (RECONCILE_LOCAL_INTERVAL_SECONDS=0)'}, and on POST /_local/reconcile`);
    resolveReady(await imported);

    const info: StackInfo = { apiUrl, finchUrl, dynamodbEndpoint: dynamo.endpoint, tableName };
    writeFileSync(stackFile, `${JSON.stringify({ ...info, pid: process.pid, dynamodbPid: dynamo.pid }, null, 2)}\n`);
    return { ...info, finch: finchMode, stackFile, bus: events.bus, dynamodbPid: dynamo.pid, readyInMs: Date.now() - t0, dynamodbExited: dynamo.exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function checkPorts(options: StackOptions, finchMode: 'emulator' | 'sandbox'): Promise<void> {
  const named: Array<[string, number]> = [['PORT', options.port], ['DYNAMODB_PORT', options.dynamodbPort]];
  if (finchMode === 'emulator') named.push(['FINCH_EMULATOR_PORT', options.finchPort]);
  const fixed = named.filter(([, port]) => port !== 0);
  if (new Set(fixed.map(([, port]) => port)).size !== fixed.length) {
    throw new StackError(`PORT, FINCH_EMULATOR_PORT and DYNAMODB_PORT must differ (${fixed.map(([name, port]) => `${name}=${port}`).join(', ')})`);
  }
  // Checked before anything starts, so a clash costs no Java start-up.
  for (const [variable, port] of fixed) {
    if (!(await isPortFree(port))) throw new PortInUse(variable, port);
  }
}

interface HandlerEnvInput {
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  finchUrl: string;
  finchMode: 'emulator' | 'sandbox';
  tableName: string;
  secrets: LocalSecrets;
  dynamodbEndpoint: string;
}

/** What the handlers read at cold start (functions/adapters/config.ts), as the CDK stack sets it in AWS. */
export function handlerEnvironment(input: HandlerEnvInput): Record<string, string> {
  const { env, apiUrl, secrets } = input;
  const origin = new URL(apiUrl);
  // Locally return_to may point at the gateway's own origin (the demo page), under either loopback name.
  const ownOrigins = [origin.origin, `http://localhost:${origin.port}`];
  const extraOrigins = configuredReturnOrigins(env);
  const finch = input.finchMode === 'emulator'
    ? {
      FINCH_API_BASE_URL: input.finchUrl,
      FINCH_CLIENT_ID: secrets.finch_client_id,
      FINCH_CLIENT_SECRET: secrets.finch_client_secret,
      FINCH_WEBHOOK_SECRET: secrets.finch_webhook_secret,
    }
    : {
      FINCH_API_BASE_URL: input.finchUrl,
      FINCH_CLIENT_ID: env.FINCH_CLIENT_ID!,
      FINCH_CLIENT_SECRET: env.FINCH_CLIENT_SECRET!,
      ...(env.FINCH_WEBHOOK_SECRET ? { FINCH_WEBHOOK_SECRET: env.FINCH_WEBHOOK_SECRET } : {}),
      // Finch's sandbox applications connect Finch's own test providers unless told otherwise.
      FINCH_SANDBOX: env.FINCH_SANDBOX || 'finch',
    };
  return {
    TABLE_NAME: input.tableName,
    DYNAMODB_ENDPOINT: input.dynamodbEndpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    LOCAL_TOKEN_KEYS: secrets.token_keys,
    // Against the real Finch the redirect URI must be the one registered in Finch's dashboard.
    CALLBACK_URL: (input.finchMode === 'sandbox' && env.CALLBACK_URL) || `${apiUrl}/connect/callback`,
    ALLOWED_RETURN_ORIGINS: [...new Set([...ownOrigins, ...extraOrigins])].join(','),
    ...finch,
  };
}

/** ALLOWED_RETURN_ORIGINS as the developer set it (the gateway's own origin is added for the handlers). */
function configuredReturnOrigins(env: NodeJS.ProcessEnv): string[] {
  return (env.ALLOWED_RETURN_ORIGINS ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

/** Imports every handler of the route table once, the way Lambda loads each function's module. */
async function importHandlers(): Promise<Map<FunctionName, LambdaHandler>> {
  const entries = await Promise.all((Object.keys(FUNCTION_ENTRIES) as FunctionName[]).map(async (name) => {
    const module = await import(pathToFileURL(join(REPO_ROOT, FUNCTION_ENTRIES[name])).href) as { handler?: LambdaHandler };
    if (typeof module.handler !== 'function') throw new StackError(`${FUNCTION_ENTRIES[name]} does not export a handler`);
    return [name, module.handler] as const;
  }));
  // The tests' IAM check: record each function's AWS calls (test/support/aws-calls.ts). Never set by `npm start`.
  if (process.env.AWS_CALLS_DIR) return (await import('../test/support/aws-calls.js')).recordStackCalls(new Map(entries));
  return new Map(entries);
}

/** Creates the table from the deployed definition; true when created, false when it was kept (--persist). */
export async function ensureTable(endpoint: string, tableName: string): Promise<boolean> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    let created = true;
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      created = false;
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) return created;
      if (Date.now() > deadline) throw new StackError(`table ${tableName} did not become ACTIVE`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.destroy();
  }
}

function readStackPid(stackFile: string): number | undefined {
  try {
    return existsSync(stackFile) ? (JSON.parse(readFileSync(stackFile, 'utf8')) as { pid?: number }).pid : undefined;
  } catch {
    return undefined;
  }
}
