// The faults DynamoDB Local cannot produce on demand (throttling, transaction conflicts, 5xx,
// network), with aws-sdk-client-mock: retryable ones surface as TransientStoreError, condition
// failures as typed outcomes read from the old item DynamoDB hands back, anything else as it is.
import {
  ConditionalCheckFailedException, DynamoDBClient, DynamoDBServiceException, InternalServerError,
  ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException,
  TransactionCanceledException, TransactionConflictException, type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { dynamoStores } from '#adapters/dynamo/index.js';
import type { CallbackResult, Connection } from '#core/model.js';
import { TransientStoreError } from '#core/errors.js';
import type { NewConnection } from '#core/ports/session-store.js';
import type { AuditEntry } from '#core/ports/audit.js';

/** Every write that matters carries its audit entry; the store tests only need one. */
const AUDIT: AuditEntry = { action: 'connection_stored', actor: 'test', customer_id: 'audit-test', connection_id: null, at: '2026-01-01T00:00:00.000Z' };

const ddb = mockClient(DynamoDBDocumentClient);
const { sessions: sessionStore, connections: connectionStore } = dynamoStores(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'connections');
beforeEach(() => ddb.reset());
afterAll(() => ddb.restore());

const $metadata = {};
const connection: Connection = {
  connection_id: 'conn-1', customer_id: 'acme', entity: null, finch_customer_id: 'acme', provider_id: 'gusto',
  company_name: null, company_id: null, entity_ids: [], connection_type: null, manual: null, last_successful_sync: null, products: ['company'], status: 'connected', status_message: null, authentication_methods: [],
  connected_at: '2027-01-01T00:00:00.000Z', updated_at: '2027-01-01T00:00:00.000Z', last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
};
const input: NewConnection = { connection, token: { ciphertext: 'ct', token_issued_at: 2000 } };
const result: CallbackResult = {
  status: 'connected', connection_id: 'conn-1', customer_id: 'acme', entity: null, provider_id: 'gusto', products: ['company'], reauthenticated: false,
};

/** A session item as DynamoDB returns it on a failed condition: marshalled, the document client leaves it so. */
const storedSession: Record<string, AttributeValue> = {
  pk: { S: 'SESSION#h' }, sk: { S: 'SESSION' }, state_hash: { S: 'h' }, session_id: { S: 'sess-1' },
  status: { S: 'claimed' }, kind: { S: 'connect' }, flow: { S: 'redirect' }, customer_id: { S: 'acme' },
  entity: { NULL: true }, finch_customer_id: { S: 'acme' }, connection_id: { NULL: true },
  products: { L: [{ S: 'company' }] }, return_to: { NULL: true }, expires_at: { N: '1800003600' },
  created_at: { S: '2027-01-01T00:00:00.000Z' }, ttl: { N: '1800608400' },
  stash: { M: { connection_id: { S: 'conn-1' }, provider_id: { S: 'gusto' }, products: { L: [] }, token: { M: { ciphertext: { S: 'ct' }, token_issued_at: { N: '7' } } } } },
};

const cancelled = (...codes: [string, Record<string, AttributeValue>?][]) => new TransactionCanceledException({
  message: 'Transaction cancelled', $metadata,
  CancellationReasons: codes.map(([Code, Item]) => (Item ? { Code, Item } : { Code })),
});
const serverError = (status: number) => new DynamoDBServiceException({
  name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: status }, message: 'We encountered an internal error.',
});
const networkError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:443`), { code });

async function transientCause(promise: Promise<unknown>): Promise<unknown> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TransientStoreError);
  return (error as TransientStoreError).cause;
}

describe('retryable faults surface as TransientStoreError', () => {
  test.each([
    ['ThrottlingException', new ThrottlingException({ message: 'Rate exceeded', $metadata })],
    ['ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata })],
    ['RequestLimitExceeded', new RequestLimitExceeded({ message: 'account limit', $metadata })],
    ['InternalServerError', new InternalServerError({ message: 'oops', $metadata })],
    ['a 500', serverError(500)],
    ['a 503', serverError(503)],
    ['TransactionConflictException', new TransactionConflictException({ message: 'conflict', $metadata })],
    ['a reset connection', networkError('ECONNRESET')],
    ['a refused connection', networkError('ECONNREFUSED')],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('%s on a single-item request', async (_name, fault) => {
    ddb.on(UpdateCommand).rejects(fault);
    ddb.on(GetCommand).rejects(fault);
    ddb.on(QueryCommand).rejects(fault);
    expect(await transientCause(sessionStore.claimSession('h', 'redirect', 1))).toBe(fault);
    expect(await transientCause(connectionStore.getConnection('acme', 'conn-1'))).toBe(fault);
    expect(await transientCause(connectionStore.listConnections('acme', { limit: 10 }))).toBe(fault);
  });

  test.each(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'])(
    'a transaction cancelled for %s', async (code) => {
      const fault = cancelled(['None'], [code], ['None']);
      ddb.on(TransactWriteCommand).rejects(fault);
      expect(await transientCause(sessionStore.createConnection('h', input, result, AUDIT))).toBe(fault);
      expect(await transientCause(sessionStore.replaceToken('h', input, result, AUDIT))).toBe(fault);
      expect(await transientCause(connectionStore.recordStatus('acme', 'conn-1', { status: 'reauth', status_message: null }, new Date(), AUDIT))).toBe(fault);
    });

  test('a conflict wins over a failed condition in the same transaction: retrying gives a clean answer', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', { customer_id: { S: 'globex' }, pk: { S: 'CONNECTION#conn-1' } }], ['None'], ['TransactionConflict']));
    await expect(sessionStore.createConnection('h', input, result, AUDIT)).rejects.toBeInstanceOf(TransientStoreError);
  });
});

describe('condition failures become typed outcomes, with no second read', () => {
  test('a failed claim returns the old item, unmarshalled', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata, Item: storedSession }));
    const outcome = await sessionStore.claimSession('h', 'redirect', 1_800_000_000);
    expect(outcome).toEqual({
      claimed: false,
      session: {
        state_hash: 'h', session_id: 'sess-1', status: 'claimed', kind: 'connect', flow: 'redirect', customer_id: 'acme',
        entity: null, finch_customer_id: 'acme', connection_id: null, products: ['company'], return_to: null,
        expires_at: 1_800_003_600, created_at: '2027-01-01T00:00:00.000Z',
        stash: { connection_id: 'conn-1', provider_id: 'gusto', products: [], token: { ciphertext: 'ct', token_issued_at: 7 } },
      },
    });
    expect(ddb.calls()).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      ConditionExpression: '#status = :pending AND #flow = :flow AND expires_at > :now',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  test('a failed claim of an unknown state has no session', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    expect(await sessionStore.claimSession('h', 'embedded', 1, 'acme')).toEqual({ claimed: false, session: null });
    expect(ddb.commandCalls(UpdateCommand)[0].args[0].input.ConditionExpression).toContain('customer_id = :customer');
  });

  test('finishSession and recordStatus answer false', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata }));
    expect(await sessionStore.finishSession('h', 'claimed', result)).toBe(false);
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed'], ['None']));
    expect(await connectionStore.recordStatus('acme', 'conn-1', { status: 'reauth', status_message: null }, new Date(), AUDIT)).toBe(false);
  });

  test.each([
    ['an ownership item of another customer', [['ConditionalCheckFailed', { pk: { S: 'CONNECTION#conn-1' }, customer_id: { S: 'globex' } }], ['None'], ['None']], { ok: false, reason: 'owned', owner: 'globex' }],
    ['an unclaimed session', [['None'], ['None'], ['ConditionalCheckFailed', storedSession]], { ok: false, reason: 'session_not_claimed' }],
  ] as const)('createConnection: %s', async (_name, reasons, outcome) => {
    ddb.on(TransactWriteCommand).rejects(cancelled(...(reasons as unknown as [string, Record<string, AttributeValue>?][])));
    expect(await sessionStore.createConnection('h', input, result, AUDIT)).toEqual(outcome);
    expect(ddb.calls()).toHaveLength(1);
  });

  test.each([
    ['another owner', [['ConditionalCheckFailed', { pk: { S: 'CONNECTION#conn-1' }, customer_id: { S: 'globex' } }], ['None'], ['None']], 'not_owner'],
    ['no owner', [['ConditionalCheckFailed'], ['None'], ['None']], 'missing'],
    ['no connection item', [['None'], ['ConditionalCheckFailed'], ['None']], 'missing'],
    ['a disconnected item', [['None'], ['ConditionalCheckFailed', { pk: { S: 'CUSTOMER#acme' }, status: { S: 'disconnected' } }], ['None']], 'disconnected'],
    ['a disconnecting item', [['None'], ['ConditionalCheckFailed', { pk: { S: 'CUSTOMER#acme' }, status: { S: 'disconnecting' } }], ['None']], 'disconnected'],
    ['a newer token', [['None'], ['ConditionalCheckFailed', { pk: { S: 'CUSTOMER#acme' }, status: { S: 'connected' }, token_issued_at: { N: '3000' } }], ['None']], 'superseded'],
    ['an unclaimed session', [['None'], ['None'], ['ConditionalCheckFailed']], 'session_not_claimed'],
  ] as const)('replaceToken: %s', async (_name, reasons, reason) => {
    ddb.on(TransactWriteCommand).rejects(cancelled(...(reasons as unknown as [string, Record<string, AttributeValue>?][])));
    expect(await sessionStore.replaceToken('h', input, result, AUDIT)).toEqual({ ok: false, reason });
    expect(ddb.calls()).toHaveLength(1);
  });

  test('replaceToken is one transaction that increments the version in DynamoDB', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    expect(await sessionStore.replaceToken('h', input, result, AUDIT)).toEqual({ ok: true });
    expect(ddb.calls()).toHaveLength(1);
    const [owner, update, session] = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(owner.ConditionCheck).toMatchObject({ ConditionExpression: 'customer_id = :customer', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    expect(update.Update?.UpdateExpression).toContain('token_version = token_version + :one');
    expect(update.Update?.ConditionExpression).toContain('token_issued_at < :issued');
    expect(update.Update?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(session.Update?.ConditionExpression).toContain('#status = :claimed');
  });
});

describe('anything else is not retried', () => {
  test('a validation error passes through as it is', async () => {
    const fault = new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Invalid UpdateExpression' });
    ddb.on(UpdateCommand).rejects(fault);
    await expect(sessionStore.claimSession('h', 'redirect', 1)).rejects.toBe(fault);
  });

  test('a transaction cancelled for a validation error passes through as it is', async () => {
    const fault = cancelled(['None'], ['ValidationError'], ['None']);
    ddb.on(TransactWriteCommand).rejects(fault);
    await expect(sessionStore.createConnection('h', input, result, AUDIT)).rejects.toBe(fault);
    await expect(sessionStore.replaceToken('h', input, result, AUDIT)).rejects.toBe(fault);
  });

  test('a connection item without its ownership item is reported as the inconsistency it is', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['None'], ['ConditionalCheckFailed', { pk: { S: 'CUSTOMER#acme' } }], ['None']));
    await expect(sessionStore.createConnection('h', input, result, AUDIT)).rejects.toThrow(/without its ownership item/);
  });
});
