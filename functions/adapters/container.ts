// Wiring, once per container: configuration validated at cold start, clients made at module scope
// and reused by every invocation.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CoreDeps, Log } from '#core/deps.js';
import { parseOrigins } from '#core/return-to.js';
import { type Config, loadConfig } from './config.js';
import { DynamoConnectionStore } from './dynamo-store.js';
import { SdkFinchGateway } from './finch-gateway.js';
import { SdkFinchDataGateway } from './finch-data.js';
import type { FinchDataGateway } from '#core/ports.js';
import { type FinchCredentialsSource, SecretsManagerCredentials, StaticCredentials } from './secrets.js';
import { AccessTokenCipher, type ContextCipher, KmsCipher, LocalAesCipher, parseLocalKeys } from './token-cipher.js';

export interface Container {
  config: Config;
  deps: CoreDeps;
  credentials: FinchCredentialsSource;
  contextCipher: ContextCipher;
  /** For adapters only one function needs (create-session's Idempotency-Key records). */
  dynamo: DynamoDBClient;
  /** Finch's data API with a connection's token (the proxy and GET /directory); no client credentials. */
  finchData: FinchDataGateway;
}

export function buildContainer(env: Record<string, string | undefined>, log: Log): Container {
  const config = loadConfig(env);
  const dynamo = new DynamoDBClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const credentials: FinchCredentialsSource = config.FINCH_SECRET_ARN
    ? new SecretsManagerCredentials(new SecretsManagerClient({}), config.FINCH_SECRET_ARN)
    : new StaticCredentials({
      client_id: config.FINCH_CLIENT_ID!,
      client_secret: config.FINCH_CLIENT_SECRET!,
      webhook_secret: config.FINCH_WEBHOOK_SECRET ?? null,
    });
  const contextCipher: ContextCipher = config.KMS_KEY_ARN
    ? new KmsCipher(new KMSClient({}), config.KMS_KEY_ARN)
    : new LocalAesCipher(parseLocalKeys(config.LOCAL_TOKEN_KEYS!));
  const finch = new SdkFinchGateway(credentials, { baseURL: config.FINCH_API_BASE_URL, timeoutMs: config.FINCH_TIMEOUT_MS });
  const deps: CoreDeps = {
    store: new DynamoConnectionStore(doc, config.TABLE_NAME),
    finch,
    webhooks: finch,
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
  const finchData = new SdkFinchDataGateway({ baseURL: config.FINCH_API_BASE_URL, timeoutMs: config.FINCH_TIMEOUT_MS });
  return { config, deps, credentials, contextCipher, finchData, dynamo };
}
