// The SessionStore on the one table (layout in ../table.ts): a session's item from PENDING to its
// final result, and the callback's final transactions, which write the connection, its owner and
// the session's completion at once. Every write that matters is conditional, and every condition
// failure hands back the old item (ALL_OLD), so each outcome is known from one request with no
// second read (docs/ARCHITECTURE.md, invariants 1, 2, 4, 6).
import {
  GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient, type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type CallbackResult, type ConnectionStatus, type ExchangeStash, type Flow, type SessionRecord, isEnded } from '#core/model.js';
import type { AuditEntry } from '#core/ports/audit.js';
import type { ClaimOutcome, CreateOutcome, NewConnection, ReplaceOutcome, SessionStore } from '#core/ports/session-store.js';
import { CHECK_PARTITION, RECONCILE_INDEX, keys } from '../table.js';
import { whileLive } from './conditions.js';
import {
  type CancellationReason, cancellationReasons, conditionFailedAt, conditionFailedItem, guard, isConditionFailure,
} from './errors.js';
import { type Item, auditPut, compact, connectionItem, ownerItem, sessionItem, toSession } from './items.js';

/** Once the session is final its stash has served: no spare copy of a token stays behind. */
const FINISH_SESSION = 'SET #status = :final, #result = :result REMOVE stash';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export class DynamoSessionStore implements SessionStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async putSession(session: SessionRecord, audit: AuditEntry): Promise<void> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.tableName, Item: sessionItem(session), ConditionExpression: 'attribute_not_exists(pk)' } },
          auditPut(this.tableName, audit),
        ],
      })));
    } catch (error) {
      // 256 random bits do not collide: this is a bug, never an overwrite.
      if (conditionFailedAt(error, 0)) throw new Error('A session with this state hash already exists.');
      throw error;
    }
  }

  async claimSession(stateHash: string, flow: Flow, nowSeconds: number, customerId?: string, claimId?: string): Promise<ClaimOutcome> {
    const values: Item = { ':pending': 'pending', ':claimed': 'claimed', ':flow': flow, ':now': nowSeconds };
    // expires_at is checked here, not left to TTL, which deletes expired items only eventually.
    let condition = '#status = :pending AND #flow = :flow AND expires_at > :now';
    if (customerId !== undefined) {
      condition += ' AND customer_id = :customer';
      values[':customer'] = customerId;
    }
    try {
      const { Attributes } = await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.session(stateHash),
        UpdateExpression: claimId === undefined ? 'SET #status = :claimed' : 'SET #status = :claimed, claim_id = :claim',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#status': 'status', '#flow': 'flow' },
        ExpressionAttributeValues: claimId === undefined ? values : { ...values, ':claim': claimId },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return { claimed: true, session: toSession(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = conditionFailedItem(error);
      return { claimed: false, session: old ? toSession(old) : null };
    }
  }

  async getSession(stateHash: string): Promise<SessionRecord | null> {
    const { Item } = await guard(() => this.doc.send(new GetCommand({
      TableName: this.tableName, Key: keys.session(stateHash), ConsistentRead: true,
    })));
    return Item ? toSession(Item) : null;
  }

  async stashExchange(stateHash: string, stash: ExchangeStash, audit: AuditEntry): Promise<void> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [
          { Update: {
            TableName: this.tableName,
            Key: keys.session(stateHash),
            UpdateExpression: 'SET stash = :stash',
            ConditionExpression: '#status = :claimed',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':stash': compact(stash), ':claimed': 'claimed' },
          } },
          auditPut(this.tableName, audit),
        ],
      })));
    } catch (error) {
      if (conditionFailedAt(error, 0)) throw new Error('The session is not claimed; the exchange was not stashed.');
      throw error;
    }
  }

  async finishSession(stateHash: string, from: 'pending' | 'claimed', result: CallbackResult): Promise<boolean> {
    try {
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.session(stateHash),
        UpdateExpression: FINISH_SESSION,
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
        ExpressionAttributeValues: { ':final': finalStatus(result), ':result': compact(result), ':from': from },
      })));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async createConnection(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<CreateOutcome> {
    const { connection } = input;
    const failed = await this.completeWith(stateHash, connection.customer_id, result, audit, [
      // Invariant 1: one owner per connection_id, whoever races for it.
      { Put: {
        TableName: this.tableName,
        Item: ownerItem(connection),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      } },
      { Put: {
        TableName: this.tableName,
        Item: connectionItem(connection, input.token),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      } },
    ]);
    if (!failed) return { ok: true };
    if (failed === 'session_not_claimed') return { ok: false, reason: failed };
    const { owner, existing, error } = failed;
    if (owner.code === 'ConditionalCheckFailed' && typeof owner.item?.customer_id === 'string') {
      return { ok: false, reason: 'owned', owner: owner.item.customer_id };
    }
    if (existing.code === 'ConditionalCheckFailed') {
      throw new Error('A connection item exists without its ownership item.', { cause: error });
    }
    throw error;
  }

  async replaceToken(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<ReplaceOutcome> {
    const { connection, token } = input;
    const failed = await this.completeWith(stateHash, connection.customer_id, result, audit, [
      { ConditionCheck: {
        TableName: this.tableName,
        Key: keys.owner(connection.connection_id),
        ConditionExpression: 'customer_id = :customer',
        ExpressionAttributeValues: { ':customer': connection.customer_id },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      } },
      { Update: {
        TableName: this.tableName,
        Key: keys.connection(connection.customer_id, connection.connection_id),
        // Invariant 4: the version is incremented by DynamoDB itself, so no read precedes the write.
        UpdateExpression: 'SET token_ciphertext = :ciphertext, token_issued_at = :issued, '
          + 'token_version = token_version + :one, #status = :connected, status_message = :null, '
          + 'updated_at = :updated_at, products = :products, provider_id = :provider_id, '
          // The new token's identity; a grant that names no company keeps the one stored.
          + `entity_ids = :entity_ids, connection_type = :connection_type${connection.company_id === null ? '' : ', company_id = :company_id'}, `
          // In the reconciler's queue (an item written before the queue existed joins it here).
          + '#check_pk = :live, #checked_at = if_not_exists(#checked_at, :updated_at)',
        // Only an older token is replaced, and a disconnected connection is never revived.
        ...whileLive({
          names: { '#check_pk': RECONCILE_INDEX.partitionKey, '#checked_at': RECONCILE_INDEX.sortKey },
          values: {
            ':live': CHECK_PARTITION, ':ciphertext': token.ciphertext, ':issued': token.token_issued_at, ':one': 1,
            ':connected': 'connected', ':null': null, ':updated_at': connection.updated_at,
            ':products': connection.products, ':provider_id': connection.provider_id,
            ':entity_ids': connection.entity_ids, ':connection_type': connection.connection_type,
            ...(connection.company_id === null ? {} : { ':company_id': connection.company_id }),
          },
        }, '(attribute_not_exists(token_issued_at) OR token_issued_at < :issued)'),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      } },
    ]);
    if (!failed) return { ok: true };
    if (failed === 'session_not_claimed') return { ok: false, reason: failed };
    const { owner, existing, error } = failed;
    if (owner.code === 'ConditionalCheckFailed') return { ok: false, reason: owner.item ? 'not_owner' : 'missing' };
    if (existing.code === 'ConditionalCheckFailed') {
      if (!existing.item) return { ok: false, reason: 'missing' };
      return { ok: false, reason: isEnded(existing.item.status as ConnectionStatus) ? 'disconnected' : 'superseded' };
    }
    throw error;
  }

  /**
   * The callback's final transaction: the ownership item's and the connection item's writes, the
   * session's completion and the audit entry. Null when it committed; `session_not_claimed`, or
   * what DynamoDB said of the two connection writes, when it was cancelled.
   */
  private async completeWith(
    stateHash: string, customerId: string, result: CallbackResult, audit: AuditEntry, writes: [TransactItem, TransactItem],
  ): Promise<null | 'session_not_claimed' | { owner: CancellationReason; existing: CancellationReason; error: unknown }> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [...writes, { Update: this.completeSession(stateHash, customerId, result) }, auditPut(this.tableName, audit)],
      })));
      return null;
    } catch (error) {
      const [owner, existing, session] = cancellationReasons(error) ?? [];
      if (!session) throw error;
      if (session.code === 'ConditionalCheckFailed') return 'session_not_claimed';
      return { owner, existing, error };
    }
  }

  /** CLAIMED → COMPLETED (or FAILED) with the result, only for the customer the connection is written for. */
  private completeSession(stateHash: string, customerId: string, result: CallbackResult) {
    return {
      TableName: this.tableName,
      Key: keys.session(stateHash),
      UpdateExpression: FINISH_SESSION,
      ConditionExpression: '#status = :claimed AND customer_id = :customer',
      ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
      ExpressionAttributeValues: {
        ':final': finalStatus(result), ':result': compact(result), ':claimed': 'claimed', ':customer': customerId,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }
}

function finalStatus(result: CallbackResult): 'completed' | 'failed' {
  return result.status === 'error' ? 'failed' : 'completed';
}
