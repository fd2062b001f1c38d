// Wiring, once per container: configuration validated at cold start, clients made once and
// reused by every invocation. Each function bundles only the clients its code calls: the Finch
// client credentials (Secrets Manager in AWS) and the token cipher (KMS in AWS) come in through
// the builder's caller, so the data proxy bundles no Secrets Manager client and reauthenticate no
// KMS client. Those two clients are made at their first call (a function whose first request needs
// one makes it during init with makeNow: Lambda's init phase runs with more CPU).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { BaseDeps, CoreDeps, Log, SessionDeps } from '#core/deps.js';
import type { FinchDataGateway } from '#core/ports/finch-data.js';
import { parseOrigins } from '#core/return-to.js';
import { type Config, loadConfig } from './config.js';
import { dynamoStores } from './dynamo/index.js';
import { SdkFinchGateway } from './finch-gateway.js';
import { SdkFinchDataGateway } from './finch-data.js';
import type { finchCredentials } from './secrets.js';
import { AccessTokenCipher, type ContextCipher, type configuredCipher } from './token-cipher.js';

/** The AWS SDK clients of a container: for adapters only one function needs, and for counting round trips. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  /** Makes the client at its first call (the cipher's first encrypt or decrypt), then the same one. Absent locally (LOCAL_TOKEN_KEYS) and in reauthenticate. */
  kms?: () => KMSClient;
  /** Makes the client at its first call (the first fetch of the credentials), then the same one. Absent locally (FINCH_CLIENT_ID/SECRET) and in the data proxy. */
  secretsManager?: () => SecretsManagerClient;
}

interface Base<D> {
  config: Config;
  deps: D;
  clients: AwsClients;
}

interface WithCipher {
  /** The cipher under the token cipher, for other purposes (create-session's Idempotency-Key records). */
  contextCipher: ContextCipher;
}

/** create-session, callback, connections, webhook: Finch with the client credentials, and the token cipher. */
export type Container = Base<CoreDeps> & WithCipher;

/** reauthenticate: Finch with the client credentials, and no cipher (a session never touches a token). */
export type SessionContainer = Base<SessionDeps>;

/** The data proxy: the token cipher and Finch's data API with a connection's token, and no client credentials at all. */
export type DataContainer = Base<BaseDeps> & WithCipher & { finchData: FinchDataGateway };

/** How a function gets Finch's client credentials (functions/adapters/secrets.ts finchCredentials). */
export type CredentialsFactory = typeof finchCredentials;

/** How a function gets its token cipher (functions/adapters/token-cipher.ts configuredCipher). */
export type CipherFactory = typeof configuredCipher;

type Env = Record<string, string | undefined>;

export function buildContainer(env: Env, log: Log, credentials: CredentialsFactory, cipher: CipherFactory): Container {
  return withCipher(buildSessionContainer(env, log, credentials), cipher);
}

export function buildSessionContainer(env: Env, log: Log, credentials: CredentialsFactory): SessionContainer {
  const base = buildBase(env, log);
  const { source, client } = credentials(base.config);
  const finch = new SdkFinchGateway(source, { baseURL: base.config.FINCH_API_BASE_URL, timeoutMs: base.config.FINCH_TIMEOUT_MS });
  return { ...base, clients: { ...base.clients, secretsManager: client }, deps: { ...base.deps, finch, webhooks: finch } };
}

export function buildDataContainer(env: Env, log: Log, cipher: CipherFactory): DataContainer {
  const base = withCipher(buildBase(env, log), cipher);
  return { ...base, finchData: new SdkFinchDataGateway({ baseURL: base.config.FINCH_API_BASE_URL, timeoutMs: base.config.FINCH_TIMEOUT_MS }) };
}

/**
 * Makes now the clients a function needs on every request (its first included) instead of at
 * their first call: Lambda's init phase runs with more CPU than the first invocation.
 */
export function makeNow(...clients: Array<(() => unknown) | undefined>): void {
  for (const make of clients) make?.();
}

function withCipher<D extends Omit<BaseDeps, 'cipher'>>(container: Base<D>, cipher: CipherFactory): Base<D & Pick<BaseDeps, 'cipher'>> & WithCipher {
  const { cipher: contextCipher, client } = cipher(container.config);
  return {
    ...container,
    clients: { ...container.clients, kms: client },
    deps: { ...container.deps, cipher: new AccessTokenCipher(contextCipher) },
    contextCipher,
  };
}

function buildBase(env: Env, log: Log): Base<Omit<BaseDeps, 'cipher'>> {
  const config = loadConfig(env);
  const dynamo = new DynamoDBClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const deps: Omit<BaseDeps, 'cipher'> = {
    ...dynamoStores(doc, config.TABLE_NAME),
    clock: { now: () => new Date() },
    settings: {
      callbackUrl: config.CALLBACK_URL,
      allowedReturnOrigins: parseOrigins(config.ALLOWED_RETURN_ORIGINS),
      defaultProducts: config.DEFAULT_PRODUCTS,
      allowedProducts: new Set(config.ALLOWED_PRODUCTS),
      defaultSandbox: config.FINCH_SANDBOX,
      storeBudgetMs: config.STORE_BUDGET_MS,
    },
    log,
  };
  return { config, deps, clients: { dynamo } };
}
