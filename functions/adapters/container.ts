// Wiring, once per container: configuration validated at cold start, clients made once and
// reused by every invocation. Each function bundles only the clients its code calls: the Finch
// client credentials (Secrets Manager in AWS) and the token cipher (KMS in AWS) come in through
// the builder's caller, so the data proxy bundles no Secrets Manager client and reauthenticate no
// KMS client. Those two clients are made at their first call (a function whose first request needs
// one makes it during init with makeNow: Lambda's init phase runs with more CPU). Each container
// validates only the variables of the parts it builds (config.ts).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KmsClient } from './aws-json/kms.js';
import type { SecretsManagerClient } from './aws-json/secrets-manager.js';
import type { BaseDeps, CoreDeps, CoreSettings, Log, SessionDeps } from '#core/deps.js';
import type { EnrichmentDeps } from '#core/enrichment.js';
import type { ReconcileDeps, ReconcileSettings } from '#core/reconcile.js';
import { type CallerKind, FinchBudget, loggingObserver } from '#core/finch-budget.js';
import type { FinchDataGateway } from '#core/ports/finch-data.js';
import { parseOrigins } from '#core/return-to.js';
import { type Config, type Part, loadConfig } from './config.js';
import { DynamoCheckQueue } from './dynamo/check-queue.js';
import { dynamoStores } from './dynamo/index.js';
import { DynamoRateBuckets } from './dynamo/rate-buckets.js';
import { SdkFinchGateway } from './finch-gateway.js';
import { SdkFinchDataGateway } from './finch-data.js';
import { meteredBudgetObserver } from './finch-metrics-fetch.js';
import { metrics } from './metrics.js';
import type { finchCredentials } from './secrets.js';
import { AccessTokenCipher, type ContextCipher, type configuredCipher } from './token-cipher.js';

/** The AWS SDK clients of a container: for adapters only one function needs, and for counting round trips. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  /** Makes the client at its first call (the cipher's first encrypt or decrypt), then the same one. Absent locally (LOCAL_TOKEN_KEYS) and in reauthenticate. */
  kms?: () => KmsClient;
  /** Makes the client at its first call (the first fetch of the credentials), then the same one. Absent locally (FINCH_CLIENT_ID/SECRET) and in the data proxy. */
  secretsManager?: () => SecretsManagerClient;
}

// Every container has the table, the caller's claims (functions/http/wiring.ts) and Finch.
/** create-session, callback, connections, webhook. */
const APP_PARTS = ['store', 'caller', 'finch', 'budget', 'credentials', 'cipher', 'settings'] as const;
/** reauthenticate: no token cipher. */
const SESSION_PARTS = ['store', 'caller', 'finch', 'budget', 'credentials', 'settings'] as const;
/** The data proxy: no client credentials, no session settings. */
const DATA_PARTS = ['store', 'caller', 'finch', 'budget', 'cipher', 'proxy'] as const;
/** enrich-company: no HTTP caller, no client credentials, no session settings; its queue. */
const ENRICHMENT_PARTS = ['store', 'finch', 'budget', 'cipher', 'enrichment'] as const;
/** reconcile: the same background parts (no queue), and its runs' settings. */
const RECONCILE_PARTS = ['store', 'finch', 'budget', 'cipher', 'reconcile'] as const;

interface Base<D, P extends Part> {
  /** The variables of this container's parts, validated at cold start. */
  config: Config<P>;
  deps: D;
  clients: AwsClients;
}

interface WithCipher {
  /** The cipher under the token cipher, for other purposes (create-session's Idempotency-Key records). */
  contextCipher: ContextCipher;
}

/** create-session, callback, connections, webhook: Finch with the client credentials, and the token cipher. */
export type Container = Base<CoreDeps, (typeof APP_PARTS)[number]> & WithCipher;

/** reauthenticate: Finch with the client credentials, and no cipher (a session never touches a token). */
export type SessionContainer = Base<SessionDeps, (typeof SESSION_PARTS)[number]>;

/** The data proxy: the token cipher and Finch's data API with a connection's token, and no client credentials at all. */
export type DataContainer = Base<BaseDeps, (typeof DATA_PARTS)[number]> & WithCipher & { finchData: FinchDataGateway };

/** enrich-company: the token cipher and Finch with a connection's token only, so no Secrets Manager client. */
export type EnrichmentContainer = Base<EnrichmentDeps, (typeof ENRICHMENT_PARTS)[number]> & WithCipher;

/** reconcile: as enrich-company, with the reconciler's queue and the settings of its runs. */
export type ReconcileContainer = Base<ReconcileDeps, (typeof RECONCILE_PARTS)[number]> & WithCipher & { settings: ReconcileSettings };

/** How a function gets Finch's client credentials (functions/adapters/secrets.ts finchCredentials). */
export type CredentialsFactory = typeof finchCredentials;

/** How a function gets its token cipher (functions/adapters/token-cipher.ts configuredCipher). */
export type CipherFactory = typeof configuredCipher;

type Env = Record<string, string | undefined>;

export function buildContainer(env: Env, log: Log, credentials: CredentialsFactory, cipher: CipherFactory): Container {
  const config = loadConfig(env, APP_PARTS);
  const sessions = sessionParts(config, log, credentials);
  const tokens = cipherParts(config, cipher);
  return {
    config,
    deps: { ...sessions.deps, cipher: tokens.cipher },
    clients: { ...sessions.clients, kms: tokens.client },
    contextCipher: tokens.contextCipher,
  };
}

export function buildSessionContainer(env: Env, log: Log, credentials: CredentialsFactory): SessionContainer {
  const config = loadConfig(env, SESSION_PARTS);
  return { config, ...sessionParts(config, log, credentials) };
}

export function buildDataContainer(env: Env, log: Log, cipher: CipherFactory): DataContainer {
  const config = loadConfig(env, DATA_PARTS);
  const base = baseParts(config, log);
  const tokens = cipherParts(config, cipher);
  return {
    config,
    deps: { ...base.deps, cipher: tokens.cipher },
    clients: { ...base.clients, kms: tokens.client },
    contextCipher: tokens.contextCipher,
    finchData: new SdkFinchDataGateway({
      baseURL: config.FINCH_API_BASE_URL, timeoutMs: config.FINCH_TIMEOUT_MS, budget: finchBudget(config, base.doc, log, 'interactive'),
    }),
  };
}

export function buildEnrichmentContainer(env: Env, log: Log, cipher: CipherFactory): EnrichmentContainer {
  const { container } = backgroundParts(loadConfig(env, ENRICHMENT_PARTS), log, cipher);
  return container;
}

export function buildReconcileContainer(env: Env, log: Log, cipher: CipherFactory): ReconcileContainer {
  const config = loadConfig(env, RECONCILE_PARTS);
  const { container, doc } = backgroundParts(config, log, cipher);
  return {
    ...container,
    deps: { ...container.deps, checks: new DynamoCheckQueue(doc, config.TABLE_NAME) },
    settings: { intervalMinutes: config.RECONCILE_INTERVAL_MINUTES, maxConnections: config.RECONCILE_MAX_CONNECTIONS },
  };
}

/**
 * The parts of a function nobody waits on (enrich-company, reconcile): the stores, the token
 * cipher, and Finch with the connection's own token only (no client credentials, so no Secrets
 * Manager client), taking Finch's budget as a background caller, which leaves the reserve to requests.
 */
function backgroundParts<C extends Config<'store' | 'finch' | 'budget' | 'cipher'>>(config: C, log: Log, cipher: CipherFactory) {
  const base = baseParts(config, log);
  const tokens = cipherParts(config, cipher);
  const finch = new SdkFinchGateway(null, {
    baseURL: config.FINCH_API_BASE_URL, timeoutMs: config.FINCH_TIMEOUT_MS, budget: finchBudget(config, base.doc, log, 'background'),
  });
  const container = {
    config,
    deps: { ...base.deps, cipher: tokens.cipher, finch },
    clients: { ...base.clients, kms: tokens.client },
    contextCipher: tokens.contextCipher,
  };
  return { container, doc: base.doc };
}

/**
 * Makes now the clients a function needs on every request (its first included) instead of at
 * their first call: Lambda's init phase runs with more CPU than the first invocation.
 */
export function makeNow(...clients: Array<(() => unknown) | undefined>): void {
  for (const make of clients) make?.();
}

/** The stores on the table, time, the logger and the metrics. */
function baseParts(config: Config<'store'>, log: Log): { deps: Omit<BaseDeps, 'cipher'>; clients: { dynamo: DynamoDBClient }; doc: DynamoDBDocumentClient } {
  const dynamo = new DynamoDBClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return { deps: { ...dynamoStores(doc, config.TABLE_NAME), clock: { now: () => new Date() }, log, metrics }, clients: { dynamo }, doc };
}

/**
 * The shared Finch budget on the table, as `kind` takes it: every HTTP function is interactive; a
 * function nobody waits on (the reconciler, the enrichment consumer) builds it with 'background'
 * and leaves the reserve to the others. Every Finch client of a container takes this one.
 */
export function finchBudget(config: Config<'store' | 'budget'>, doc: DynamoDBDocumentClient, log: Log, kind: CallerKind): FinchBudget {
  const settings = { limits: config.FINCH_RATE_LIMITS, reserve: config.FINCH_BUDGET_RESERVE, burst: config.FINCH_BUDGET_BURST };
  return new FinchBudget(new DynamoRateBuckets(doc, config.TABLE_NAME), settings, kind, Date.now, meteredBudgetObserver(loggingObserver(log), metrics));
}

/** What every container that starts Connect sessions has: the stores, Finch with the client credentials, the core's settings. */
function sessionParts(config: Config<'store' | 'finch' | 'budget' | 'credentials' | 'settings'>, log: Log, credentials: CredentialsFactory) {
  const base = baseParts(config, log);
  const finch = finchParts(config, credentials, finchBudget(config, base.doc, log, 'interactive'));
  return {
    deps: { ...base.deps, ...finch.deps, settings: coreSettings(config) },
    clients: { ...base.clients, secretsManager: finch.client },
  };
}

/** Finch with the client credentials. */
function finchParts(config: Config<'finch' | 'credentials'>, credentials: CredentialsFactory, budget: FinchBudget) {
  const { source, client } = credentials(config);
  const finch = new SdkFinchGateway(source, { baseURL: config.FINCH_API_BASE_URL, timeoutMs: config.FINCH_TIMEOUT_MS, budget });
  return { deps: { finch, webhooks: finch }, client };
}

/** The token cipher, and the cipher under it. */
function cipherParts(config: Config<'cipher'>, cipher: CipherFactory) {
  const { cipher: contextCipher, client } = cipher(config);
  return { cipher: new AccessTokenCipher(contextCipher), contextCipher, client };
}

function coreSettings(config: Config<'settings'>): CoreSettings {
  return {
    callbackUrl: config.CALLBACK_URL,
    allowedReturnOrigins: parseOrigins(config.ALLOWED_RETURN_ORIGINS),
    defaultProducts: config.DEFAULT_PRODUCTS,
    allowedProducts: new Set(config.ALLOWED_PRODUCTS),
    defaultSandbox: config.FINCH_SANDBOX,
    storeBudgetMs: config.STORE_BUDGET_MS,
  };
}
