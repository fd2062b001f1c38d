// Wiring, once per container: configuration validated at cold start, clients made at module scope
// and reused by every invocation. Each function builds only the clients its code calls: the
// Finch client credentials (and with them the Secrets Manager client) come in through
// `buildContainer`'s caller, so the data proxy, which never holds them, does not bundle that client.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { BaseDeps, CoreDeps, Log } from '#core/deps.js';
import type { FinchDataGateway } from '#core/ports/finch-data.js';
import { parseOrigins } from '#core/return-to.js';
import { type Config, loadConfig } from './config.js';
import { dynamoStores } from './dynamo/index.js';
import { SdkFinchGateway } from './finch-gateway.js';
import { SdkFinchDataGateway } from './finch-data.js';
import type { finchCredentials } from './secrets.js';
import { AccessTokenCipher, type ContextCipher, KmsCipher, LocalAesCipher, parseLocalKeys } from './token-cipher.js';

/** The AWS SDK clients a container made: for adapters only one function needs, and for counting round trips. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  /** Absent locally (LOCAL_TOKEN_KEYS). */
  kms?: KMSClient;
  /** Absent locally (FINCH_CLIENT_ID/SECRET) and in functions that hold no client credentials. */
  secretsManager?: SecretsManagerClient;
}

interface Base<D extends BaseDeps> {
  config: Config;
  deps: D;
  clients: AwsClients;
  /** The cipher under the token cipher, for other purposes (create-session's Idempotency-Key records). */
  contextCipher: ContextCipher;
}

/** Every function but the data proxy: Finch with the client credentials. */
export type Container = Base<CoreDeps>;

/** The data proxy: Finch's data API with a connection's token, and no client credentials at all. */
export type DataContainer = Base<BaseDeps> & { finchData: FinchDataGateway };

/** How a function gets Finch's client credentials (functions/adapters/secrets.ts finchCredentials). */
export type CredentialsFactory = typeof finchCredentials;

export function buildContainer(env: Record<string, string | undefined>, log: Log, credentials: CredentialsFactory): Container {
  const base = buildBase(env, log);
  const { source, client } = credentials(base.config);
  const finch = new SdkFinchGateway(source, { baseURL: base.config.FINCH_API_BASE_URL, timeoutMs: base.config.FINCH_TIMEOUT_MS });
  return { ...base, clients: { ...base.clients, secretsManager: client }, deps: { ...base.deps, finch, webhooks: finch } };
}

export function buildDataContainer(env: Record<string, string | undefined>, log: Log): DataContainer {
  const base = buildBase(env, log);
  return { ...base, finchData: new SdkFinchDataGateway({ baseURL: base.config.FINCH_API_BASE_URL, timeoutMs: base.config.FINCH_TIMEOUT_MS }) };
}

function buildBase(env: Record<string, string | undefined>, log: Log): Base<BaseDeps> {
  const config = loadConfig(env);
  const dynamo = new DynamoDBClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const kms = config.KMS_KEY_ARN ? new KMSClient({}) : undefined;
  const contextCipher: ContextCipher = kms
    ? new KmsCipher(kms, config.KMS_KEY_ARN!)
    : new LocalAesCipher(parseLocalKeys(config.LOCAL_TOKEN_KEYS!));
  const deps: BaseDeps = {
    ...dynamoStores(doc, config.TABLE_NAME),
    cipher: new AccessTokenCipher(contextCipher),
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
  return { config, deps, clients: { dynamo, kms }, contextCipher };
}
