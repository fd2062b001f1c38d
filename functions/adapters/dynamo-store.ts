// The ConnectionStore on one DynamoDB table (layout in table.ts). Every write that matters is
// conditional, and every condition failure hands back the old item (ALL_OLD), so each outcome is
// known from one request with no second read (DESIGN invariants 1, 2, 4, 6).
import { randomBytes } from 'node:crypto';
import {
  GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand,
  type DynamoDBDocumentClient, type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { InvalidRequest } from '#core/errors.js';
import {
  type CallbackResult, type Connection, type ConnectionStatus, type ExchangeStash, type Flow, type SessionRecord,
  type StoredToken, isEnded,
} from '#core/model.js';
import { TransientStoreError } from '#core/errors.js';
import type { AuditEntry, AuditRecord } from '#core/ports/audit.js';
import type { ConnectionStore, ListQuery, StatusUpdate, StoredConnection, Tombstone } from '#core/ports/connection-store.js';
import type { ClaimOutcome, CreateOutcome, NewConnection, ReplaceOutcome, SessionStore } from '#core/ports/session-store.js';
import type { ConnectionChange, WebhookEventRecord, WebhookInbox } from '#core/ports/webhook-inbox.js';
import { cancellationReasons, conditionFailedItem, isConditionFailure, isTransient } from './dynamo-errors.js';
import { LIST_INDEX, keys } from './table.js';

type Item = Record<string, unknown>;

/** Finch retries a webhook for days; its dedupe record outlives that. */
const WEBHOOK_TTL_SECONDS = 30 * 24 * 60 * 60;
/** TTL deletion is lazy clean-up only: every claim checks `expires_at` itself. */
const SESSION_TTL_GRACE_SECONDS = 7 * 24 * 60 * 60;
/** Once the session is final its stash has served: no spare copy of a token stays behind. */
const FINISH_SESSION = 'SET #status = :final, #result = :result REMOVE stash';

export class DynamoConnectionStore implements SessionStore, ConnectionStore, WebhookInbox {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async putSession(session: SessionRecord, audit: AuditEntry): Promise<void> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.tableName, Item: sessionItem(session), ConditionExpression: 'attribute_not_exists(pk)' } },
          this.auditPut(audit),
        ],
      })));
    } catch (error) {
      // 256 random bits do not collide: this is a bug, never an overwrite.
      if (cancellationReasons(error)?.[0]?.code === 'ConditionalCheckFailed') throw new Error('A session with this state hash already exists.');
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
          this.auditPut(audit),
        ],
      })));
    } catch (error) {
      if (cancellationReasons(error)?.[0]?.code === 'ConditionalCheckFailed') throw new Error('The session is not claimed; the exchange was not stashed.');
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
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [
          // Invariant 1: one owner per connection_id, whoever races for it.
          { Put: {
            TableName: this.tableName,
            Item: { ...keys.owner(connection.connection_id), connection_id: connection.connection_id, customer_id: connection.customer_id, created_at: connection.connected_at },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          } },
          { Put: {
            TableName: this.tableName,
            Item: connectionItem(connection, input.token),
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          } },
          { Update: this.completeSession(stateHash, connection.customer_id, result) },
          this.auditPut(audit),
        ],
      })));
      return { ok: true };
    } catch (error) {
      const [owner, existing, session] = cancellationReasons(error) ?? [];
      if (!session) throw error;
      if (session.code === 'ConditionalCheckFailed') return { ok: false, reason: 'session_not_claimed' };
      if (owner.code === 'ConditionalCheckFailed' && typeof owner.item?.customer_id === 'string') {
        return { ok: false, reason: 'owned', owner: owner.item.customer_id };
      }
      if (existing.code === 'ConditionalCheckFailed') {
        throw new Error('A connection item exists without its ownership item.', { cause: error });
      }
      throw error;
    }
  }

  async replaceToken(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<ReplaceOutcome> {
    const { connection, token } = input;
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [
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
              + 'updated_at = :updated_at, products = :products, provider_id = :provider_id',
            // Only an older token is replaced, and a disconnected connection is never revived.
            ConditionExpression: 'attribute_exists(pk) AND NOT (#status IN (:disconnecting, :disconnected)) '
              + 'AND (attribute_not_exists(token_issued_at) OR token_issued_at < :issued)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':ciphertext': token.ciphertext, ':issued': token.token_issued_at, ':one': 1,
              ':connected': 'connected', ':null': null, ':updated_at': connection.updated_at,
              ':products': connection.products, ':provider_id': connection.provider_id,
              ':disconnecting': 'disconnecting', ':disconnected': 'disconnected',
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          } },
          { Update: this.completeSession(stateHash, connection.customer_id, result) },
          this.auditPut(audit),
        ],
      })));
      return { ok: true };
    } catch (error) {
      const [owner, existing, session] = cancellationReasons(error) ?? [];
      if (!session) throw error;
      if (session.code === 'ConditionalCheckFailed') return { ok: false, reason: 'session_not_claimed' };
      if (owner.code === 'ConditionalCheckFailed') return { ok: false, reason: owner.item ? 'not_owner' : 'missing' };
      if (existing.code === 'ConditionalCheckFailed') {
        if (!existing.item) return { ok: false, reason: 'missing' };
        return { ok: false, reason: isEnded(existing.item.status as ConnectionStatus) ? 'disconnected' : 'superseded' };
      }
      throw error;
    }
  }

  async getConnection(customerId: string, connectionId: string): Promise<StoredConnection | null> {
    const { Item } = await guard(() => this.doc.send(new GetCommand({
      TableName: this.tableName, Key: keys.connection(customerId, connectionId), ConsistentRead: true,
    })));
    return Item ? toStored(Item) : null;
  }

  async getOwner(connectionId: string): Promise<string | null> {
    const { Item } = await guard(() => this.doc.send(new GetCommand({
      TableName: this.tableName, Key: keys.owner(connectionId), ConsistentRead: true,
    })));
    return typeof Item?.customer_id === 'string' ? Item.customer_id : null;
  }

  async listConnections(customerId: string, query: ListQuery): Promise<{ connections: Connection[]; next_cursor: string | null }> {
    const partition = keys.listPartition(customerId);
    const names: Record<string, string> = { '#gsi1pk': LIST_INDEX.partitionKey };
    const values: Item = { ':partition': partition };
    const filters: string[] = [];
    if (query.status !== undefined) {
      names['#status'] = 'status';
      values[':status'] = query.status;
      filters.push('#status = :status');
    }
    if (query.provider_id !== undefined) {
      values[':provider_id'] = query.provider_id;
      filters.push('provider_id = :provider_id');
    }
    if (query.entity !== undefined) {
      values[':entity'] = query.entity;
      filters.push('entity = :entity');
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: LIST_INDEX.name,
      KeyConditionExpression: '#gsi1pk = :partition',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      // Sort key `<connected_at>#<connection_id>`: descending is newest first.
      ScanIndexForward: false,
      Limit: query.limit,
    };
    if (filters.length > 0) input.FilterExpression = filters.join(' AND ');
    if (query.cursor !== undefined) input.ExclusiveStartKey = decodeCursor(query.cursor, partition);
    const { Items = [], LastEvaluatedKey } = await guard(() => this.doc.send(new QueryCommand(input)));
    return {
      connections: Items.map(toConnection),
      next_cursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : null,
    };
  }

  async recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry): Promise<boolean> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [{ Update: this.statusUpdate(customerId, connectionId, update, now) }, this.auditPut(audit)],
      })));
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.[0]?.code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async listAudit(customerId: string, connectionId: string, query: { limit: number; cursor?: string }) {
    const partition = keys.auditPartition(customerId, connectionId);
    const { Items = [], LastEvaluatedKey } = await guard(() => this.doc.send(new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :partition',
      ExpressionAttributeValues: { ':partition': partition },
      ScanIndexForward: false,
      Limit: query.limit,
      ExclusiveStartKey: query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor, partition),
    })));
    const entries: AuditRecord[] = Items.map((item) => ({
      action: item.action, actor: item.actor, customer_id: item.customer_id, connection_id: item.connection_id ?? null,
      at: item.at, details: item.details ?? {},
    }));
    return { entries, next_cursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : null };
  }

  /** One SET for a status change; a disconnect in progress or done wins over any status news. */
  private statusUpdate(customerId: string, connectionId: string, update: StatusUpdate, now: Date) {
    const sets = ['#status = :status', 'status_message = :status_message', 'updated_at = :updated_at'];
    const values: Item = {
      ':status': update.status, ':status_message': update.status_message, ':updated_at': now.toISOString(),
      ':disconnecting': 'disconnecting', ':disconnected': 'disconnected',
    };
    for (const field of ['authentication_methods', 'products', 'company_name'] as const) {
      if (update[field] === undefined) continue;
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = update[field];
    }
    return {
      TableName: this.tableName,
      Key: keys.connection(customerId, connectionId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk) AND NOT (#status IN (:disconnecting, :disconnected))',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    };
  }

  /** An append-only audit entry as one more item of the transaction that makes the change. */
  private auditPut(entry: AuditEntry) {
    return { Put: {
      TableName: this.tableName,
      Item: compact({
        pk: keys.auditPartition(entry.customer_id, entry.connection_id),
        sk: `${entry.at}#${randomBytes(6).toString('hex')}`,
        ...entry,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    } };
  }

  async takeRefreshSlot(customerId: string, connectionId: string, now: Date, max: number) {
    const window = Math.floor(now.getTime() / 60_000);
    const key = keys.connection(customerId, connectionId);
    try {
      // The usual case: one more refresh in the current window.
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName, Key: key,
        UpdateExpression: 'SET refresh_count = refresh_count + :one',
        ConditionExpression: 'attribute_exists(pk) AND refresh_window = :window AND refresh_count < :max',
        ExpressionAttributeValues: { ':one': 1, ':window': window, ':max': max },
      })));
      return { ok: true as const };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    try {
      // A new window starts at one; only an older (or no) window may be replaced, so two racing
      // first refreshes cannot both reset the count.
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName, Key: key,
        UpdateExpression: 'SET refresh_window = :window, refresh_count = :one',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(refresh_window) OR refresh_window < :window)',
        ExpressionAttributeValues: { ':one': 1, ':window': window },
      })));
      return { ok: true as const };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { ok: false as const, retryAfterSeconds: 60 - (Math.floor(now.getTime() / 1000) % 60) };
    }
  }

  async beginDisconnect(customerId: string, connectionId: string, now: Date): Promise<StoredConnection | null> {
    try {
      const { Attributes } = await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.connection(customerId, connectionId),
        // A retry of a disconnect that Finch did not answer finds `disconnecting` and goes on.
        UpdateExpression: 'SET #status = :disconnecting, status_before_disconnect = if_not_exists(status_before_disconnect, #status), updated_at = :now',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :disconnected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':disconnecting': 'disconnecting', ':disconnected': 'disconnected', ':now': now.toISOString() },
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return toStored(Attributes!);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = conditionFailedItem(error);
      return old ? toStored(old) : null;
    }
  }

  async abortDisconnect(customerId: string, connectionId: string, now: Date): Promise<void> {
    try {
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.connection(customerId, connectionId),
        UpdateExpression: 'SET #status = status_before_disconnect, updated_at = :now REMOVE status_before_disconnect',
        ConditionExpression: '#status = :disconnecting AND attribute_exists(status_before_disconnect)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':disconnecting': 'disconnecting', ':now': now.toISOString() },
      })));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async finishDisconnect(customerId: string, connectionId: string, tombstone: Tombstone, audit: AuditEntry): Promise<boolean> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({ TransactItems: [{ Update: {
        TableName: this.tableName,
        Key: keys.connection(customerId, connectionId),
        // The ciphertext goes; the item stays as a tombstone, and so does the ownership item, so
        // the connection id can never pass to another customer.
        UpdateExpression: 'SET #status = :disconnected, status_message = :null, updated_at = :at, disconnected_at = :at, '
          + 'disconnected_by = :by, revocation_confirmed = :confirmed REMOVE token_ciphertext, status_before_disconnect',
        // Not only from `disconnecting`: a concurrent DELETE that Finch failed may have restored the
        // status meanwhile, and Finch's answer to this one is what counts (ports/connection-store.ts).
        ConditionExpression: 'attribute_exists(pk) AND #status <> :disconnected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':disconnected': 'disconnected', ':null': null,
          ':at': tombstone.disconnected_at, ':by': tombstone.disconnected_by, ':confirmed': tombstone.revocation_confirmed,
        },
      } }, this.auditPut(audit)] })));
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.[0]?.code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<'applied' | 'duplicate' | 'not_applied'> {
    const record = {
      Put: {
        TableName: this.tableName,
        Item: compact({
          ...keys.webhookEvent(event.event_id), ...event, applied: change !== null,
          ttl: Math.floor(Date.parse(event.received_at) / 1000) + WEBHOOK_TTL_SECONDS,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    if (change) {
      const names: Record<string, string> = { '#status': 'status' };
      const values: Item = { ':disconnecting': 'disconnecting', ':disconnected': 'disconnected', ':updated_at': event.received_at };
      const sets = ['updated_at = :updated_at'];
      for (const [field, value] of Object.entries(change.set)) {
        if (value === undefined) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
      try {
        await guard(() => this.doc.send(new TransactWriteCommand({
          TransactItems: [record, { Update: {
            TableName: this.tableName,
            Key: keys.connection(change.customer_id, change.connection_id),
            UpdateExpression: `SET ${sets.join(', ')}`,
            // A disconnected connection is never revived by a late or replayed event.
            ConditionExpression: 'attribute_exists(pk) AND NOT (#status IN (:disconnecting, :disconnected))',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          } }, ...(audit ? [this.auditPut(audit)] : [])],
        })));
        return 'applied';
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0].code === 'ConditionalCheckFailed') return 'duplicate';
        if (reasons[1].code !== 'ConditionalCheckFailed') throw error;
        // The connection ended: record the event alone, so Finch's retries are acknowledged.
        record.Put.Item.applied = false;
      }
    }
    try {
      await guard(() => this.doc.send(new PutCommand(record.Put)));
      return 'not_applied';
    } catch (error) {
      if (isConditionFailure(error)) return 'duplicate';
      throw error;
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

/** The one mapper from a stored item to the API's connection: token, keys and anything else stay behind. */
export function toConnection(item: Item): Connection {
  return {
    connection_id: item.connection_id as string,
    customer_id: item.customer_id as string,
    entity: (item.entity as string | null | undefined) ?? null,
    finch_customer_id: item.finch_customer_id as string,
    provider_id: item.provider_id as string,
    company_name: (item.company_name as string | null | undefined) ?? null,
    products: [...((item.products as Iterable<string> | undefined) ?? [])],
    status: item.status as ConnectionStatus,
    status_message: (item.status_message as string | null | undefined) ?? null,
    authentication_methods: [...((item.authentication_methods as Iterable<string> | undefined) ?? [])],
    connected_at: item.connected_at as string,
    updated_at: item.updated_at as string,
    last_synced_at: (item.last_synced_at as string | null | undefined) ?? null,
    token_version: Number(item.token_version),
  };
}

function toStored(item: Item): StoredConnection {
  const token: StoredToken | null = typeof item.token_ciphertext === 'string'
    ? { ciphertext: item.token_ciphertext, token_issued_at: Number(item.token_issued_at) }
    : null;
  return { ...toConnection(item), token };
}

function toSession(item: Item): SessionRecord {
  const session: SessionRecord = {
    state_hash: item.state_hash as string,
    session_id: item.session_id as string,
    status: item.status as SessionRecord['status'],
    kind: item.kind as SessionRecord['kind'],
    flow: item.flow as Flow,
    customer_id: item.customer_id as string,
    entity: (item.entity as string | null | undefined) ?? null,
    finch_customer_id: item.finch_customer_id as string,
    connection_id: (item.connection_id as string | null | undefined) ?? null,
    products: [...((item.products as Iterable<string> | undefined) ?? [])],
    return_to: (item.return_to as string | null | undefined) ?? null,
    expires_at: Number(item.expires_at),
    created_at: item.created_at as string,
  };
  if (typeof item.claim_id === 'string') session.claim_id = item.claim_id;
  if (item.stash) session.stash = item.stash as ExchangeStash;
  if (item.result) session.result = item.result as CallbackResult;
  return session;
}

function connectionItem(connection: Connection, token: StoredToken): Item {
  return compact({
    ...keys.connection(connection.customer_id, connection.connection_id),
    [LIST_INDEX.partitionKey]: keys.listPartition(connection.customer_id),
    [LIST_INDEX.sortKey]: keys.listSort(connection.connected_at, connection.connection_id),
    ...toConnection(connection as unknown as Item),
    token_ciphertext: token.ciphertext,
    token_issued_at: token.token_issued_at,
  });
}

function sessionItem(session: SessionRecord): Item {
  return compact({
    ...keys.session(session.state_hash),
    ...session,
    ttl: session.expires_at + SESSION_TTL_GRACE_SECONDS,
  });
}

function finalStatus(result: CallbackResult): 'completed' | 'failed' {
  return result.status === 'error' ? 'failed' : 'completed';
}


// The cursor is the index's LastEvaluatedKey as base64url JSON, accepted back only for the
// partition it came from: another customer's cursor is refused, not followed.
function encodeCursor(lastKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, partition: string): Record<string, string> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const expected = ['gsi1pk', 'gsi1sk', 'pk', 'sk'];
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalidCursor();
  const entries = Object.entries(decoded);
  const valid = entries.length === expected.length
    && entries.every(([name, value]) => expected.includes(name) && typeof value === 'string')
    && (decoded as Record<string, string>)[LIST_INDEX.partitionKey] === partition
    && (decoded as Record<string, string>).pk === partition
    && (decoded as Record<string, string>).sk.startsWith('CONNECTION#');
  if (!valid) throw invalidCursor();
  return decoded as Record<string, string>;
}

function decodeAuditCursor(cursor: string, partition: string): Record<string, string> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const key = decoded as Record<string, unknown> | null;
  const valid = typeof key === 'object' && key !== null && !Array.isArray(key)
    && Object.keys(key).length === 2 && key.pk === partition && typeof key.sk === 'string';
  if (!valid) throw invalidCursor();
  return key as Record<string, string>;
}

function invalidCursor(): InvalidRequest {
  return new InvalidRequest('The cursor is not valid for this list.', [{ path: 'cursor', message: 'Use the next_cursor of a previous page.' }]);
}

/** Retryable faults become TransientStoreError; condition failures and bugs pass through as they are. */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isTransient(error)) throw new TransientStoreError(error);
    throw error;
  }
}

/** Drops undefined values, so the store works with a document client of any marshalling options. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (typeof value !== 'object' || value === null || value.constructor !== Object) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, compact(v)]),
  ) as T;
}
