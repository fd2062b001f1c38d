// `Idempotency-Key` on POST /connect/sessions, through Powertools idempotency with DynamoDB
// persistence in the one table. The key is scoped to the caller's customer (never the header
// alone), the body must match the first request's, and the stored response is encrypted with
// context {purpose: "idempotency", customer_id}: it holds a live state. Powertools is loaded on the
// first keyed request only, so requests without the header do not pay its cold import.
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ApiError } from '#core/errors.js';
import { TTL_ATTRIBUTE, TABLE_KEYS } from './table.js';
import type { ContextCipher } from './token-cipher.js';

export interface IdempotencyScope {
  customer_id: string;
  key: string;
  /** The request body: the same key with another body is refused (422). */
  payload: unknown;
}

/** How long a key is remembered: a client retrying after an hour is making a new request. */
const EXPIRES_AFTER_SECONDS = 3600;

export class IdempotencyKeyReused extends ApiError {
  constructor() { super(422, 'idempotency_key_reused', 'This Idempotency-Key was used with another request body.'); }
}
export class IdempotencyInProgress extends ApiError {
  constructor() { super(409, 'idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.'); }
}

type Sealed = { sealed: string };
type Runner = (input: IdempotencyScope & { scope: string }, context: Context) => Promise<Sealed>;

export class IdempotentRequests {
  private runner: Promise<{ run: (fn: () => Promise<unknown>) => Runner; errors: Record<string, new (...args: never[]) => Error> }> | null = null;

  constructor(private readonly client: DynamoDBClient, private readonly tableName: string, private readonly cipher: ContextCipher) {}

  /** Runs `operation` once per (customer, key); a repeat with the same body answers the first result. */
  async run<T>(scope: IdempotencyScope, context: Context, operation: () => Promise<T>): Promise<T> {
    const { run, errors } = await this.load();
    const encryption = { purpose: 'idempotency', customer_id: scope.customer_id };
    const idempotent = run(async () => ({ sealed: await this.cipher.encrypt(JSON.stringify(await operation()), encryption) }));
    let out: Sealed;
    try {
      // The scope hashes customer and key together; Powertools hashes it again for the record key.
      out = await idempotent({ ...scope, scope: createHash('sha256').update(JSON.stringify([scope.customer_id, scope.key])).digest('hex') }, context);
    } catch (error) {
      if (error instanceof errors.IdempotencyValidationError) throw new IdempotencyKeyReused();
      if (error instanceof errors.IdempotencyAlreadyInProgressError) throw new IdempotencyInProgress();
      // Powertools wraps what the operation threw: our typed errors pass through as they were.
      const cause = (error as { cause?: unknown }).cause;
      throw cause instanceof ApiError ? cause : error;
    }
    return JSON.parse(await this.cipher.decrypt(out.sealed, encryption)) as T;
  }

  private load() {
    this.runner ??= (async () => {
      // One after the other: the two share modules, and some loaders cannot link one twice at once.
      const idempotency = await import('@aws-lambda-powertools/idempotency');
      const { DynamoDBPersistenceLayer } = await import('@aws-lambda-powertools/idempotency/dynamodb');
      const { makeIdempotent, IdempotencyConfig } = idempotency;
      const persistenceStore = new DynamoDBPersistenceLayer({
        tableName: this.tableName,
        awsSdkV3Client: this.client,
        keyAttr: TABLE_KEYS.partitionKey,
        sortKeyAttr: TABLE_KEYS.sortKey,
        staticPkValue: 'IDEMPOTENCY',
        expiryAttr: TTL_ATTRIBUTE,
      });
      const run = (fn: () => Promise<unknown>): Runner => {
        const config = new IdempotencyConfig({
          eventKeyJmesPath: 'scope',
          payloadValidationJmesPath: 'payload',
          expiresAfterSeconds: EXPIRES_AFTER_SECONDS,
          throwOnNoIdempotencyKey: true,
        });
        return (input, context) => {
          config.registerLambdaContext(context);
          const wrapped = makeIdempotent(fn as (event: unknown, context: Context) => Promise<Sealed>, { persistenceStore, config });
          return wrapped(input, context) as Promise<Sealed>;
        };
      };
      return { run, errors: idempotency as unknown as Record<string, new (...args: never[]) => Error> };
    })();
    return this.runner;
  }
}
