// `Idempotency-Key` on POST /connect/sessions, through Powertools idempotency with DynamoDB
// persistence in the one table. The key is scoped to who calls (never the header alone): the
// customer, admin or customer token, the token's subject and client. So a key one caller used
// answers nobody else, not another user of the customer nor a customer's token replaying an
// admin's request (which may hold products over ALLOWED_PRODUCTS). The body must match the first
// request's, and the stored response is encrypted with context {purpose: "idempotency",
// customer_id}: it holds a live state.
// Imported statically: in one esbuild bundle a dynamic import saves no parsing, and the lazy
// wrapper it needs kept all of @aws-sdk/client-dynamodb (+56 KiB) alive for tree shaking.
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import {
  IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyPersistenceLayerError, IdempotencyValidationError, makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Caller } from '#core/deps.js';
import { DomainError, IdempotencyInProgress, IdempotencyKeyReused, TransientStoreError } from '#core/errors.js';
import { isTransient } from './aws-errors.js';
import { metrics } from './metrics.js';
import { IDEMPOTENCY_PARTITION, TTL_ATTRIBUTE, TABLE_KEYS } from './table.js';
import type { ContextCipher } from './token-cipher.js';

export interface IdempotencyScope {
  /** Whose record it is: the customer, the kind of token, its subject (`actor`) and client. */
  caller: Pick<Caller, 'customer_id' | 'admin' | 'actor' | 'client_id'>;
  key: string;
  /** The request body: the same key with another body is refused (IdempotencyKeyReused). */
  payload: unknown;
}

/** How long a key is remembered: a client retrying after an hour is making a new request. */
const EXPIRES_AFTER_SECONDS = 3600;

type Sealed = { sealed: string };

export class IdempotentRequests {
  private readonly persistenceStore: DynamoDBPersistenceLayer;

  constructor(client: DynamoDBClient, tableName: string, private readonly cipher: ContextCipher) {
    this.persistenceStore = new DynamoDBPersistenceLayer({
      tableName,
      awsSdkV3Client: client,
      keyAttr: TABLE_KEYS.partitionKey,
      sortKeyAttr: TABLE_KEYS.sortKey,
      staticPkValue: IDEMPOTENCY_PARTITION,
      expiryAttr: TTL_ATTRIBUTE,
    });
  }

  /** Runs `operation` once per (caller, key); a repeat with the same body answers the first result. */
  async run<T>(scope: IdempotencyScope, context: Context, operation: () => Promise<T>): Promise<T> {
    const { caller } = scope;
    const encryption = { purpose: 'idempotency', customer_id: caller.customer_id };
    // Not run: Powertools answered from the key's record (IdempotentReplays).
    let ran = false;
    const sealed = async (): Promise<Sealed> => {
      ran = true;
      return { sealed: await this.cipher.encrypt(JSON.stringify(await operation()), encryption) };
    };
    // A config per invocation: it holds the invocation's context (its remaining time bounds how
    // long an in-progress record blocks a retry), and the local stack runs invocations side by side.
    const config = new IdempotencyConfig({
      eventKeyJmesPath: 'scope',
      payloadValidationJmesPath: 'payload',
      expiresAfterSeconds: EXPIRES_AFTER_SECONDS,
      throwOnNoIdempotencyKey: true,
    });
    config.registerLambdaContext(context);
    const idempotent = makeIdempotent(sealed as (input: { payload: unknown; scope: string }, context: Context) => Promise<Sealed>, {
      persistenceStore: this.persistenceStore,
      config,
    });
    let out: Sealed;
    try {
      // The scope hashes the caller and the key together; Powertools hashes it again for the record key.
      const who = [caller.customer_id, caller.admin ? 'admin' : 'customer', caller.actor, caller.client_id ?? null, scope.key];
      out = await idempotent({ payload: scope.payload, scope: createHash('sha256').update(JSON.stringify(who)).digest('hex') }, context);
    } catch (error) {
      if (error instanceof IdempotencyValidationError) throw new IdempotencyKeyReused();
      if (error instanceof IdempotencyAlreadyInProgressError) throw new IdempotencyInProgress();
      // The record could not be written or read for a passing reason (throttling, 5xx, network):
      // like any store fault, a 503 the client retries with the same key.
      if (error instanceof IdempotencyPersistenceLayerError && isTransient(error.cause)) throw new TransientStoreError(error.cause);
      // Powertools wraps what the operation threw: the core's errors pass through as they were.
      const cause = (error as { cause?: unknown }).cause;
      throw cause instanceof DomainError ? cause : error;
    }
    if (!ran) metrics.add('IdempotentReplays', {});
    return JSON.parse(await this.cipher.decrypt(out.sealed, encryption)) as T;
  }
}
