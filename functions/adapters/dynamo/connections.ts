// The ConnectionStore on the one table (layout in ../table.ts): connection items read, listed
// newest first, refreshed and disconnected, and their audit trail. Writes are conditional; a
// failed condition hands back the old item (ALL_OLD) where the outcome needs it.
import {
  GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient, type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Connection } from '#core/model.js';
import type { AuditEntry } from '#core/ports/audit.js';
import type {
  CompanyFields, CompanyOutcome, CompanyWriteGuard, ConnectionStore, ListQuery, StatusUpdate, StatusWriteGuard, StoredConnection, Tombstone,
} from '#core/ports/connection-store.js';
import { CHECK_PARTITION, LIST_INDEX, RECONCILE_INDEX, keys } from '../table.js';
import { whileLive } from './conditions.js';
import { auditCursor, connectionsCursor } from './cursors.js';
import { cancellationReasons, conditionFailedAt, conditionFailedItem, guard, isConditionFailure } from './errors.js';
import { type Item, auditPut, setFields, toAuditRecord, toConnection, toStored } from './items.js';

/** The fields the enrichment consumer writes (functions/core/enrichment.ts). */
const COMPANY_FIELDS = ['company_name', 'company_id', 'manual'] as const;

export class DynamoConnectionStore implements ConnectionStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

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
    const cursor = connectionsCursor(partition);
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
    if (query.company_id !== undefined) {
      values[':company_id'] = query.company_id;
      filters.push('company_id = :company_id');
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
    if (query.cursor !== undefined) input.ExclusiveStartKey = cursor.decode(query.cursor);
    const { Items = [], LastEvaluatedKey } = await guard(() => this.doc.send(new QueryCommand(input)));
    return {
      connections: Items.map(toConnection),
      next_cursor: LastEvaluatedKey ? cursor.encode(LastEvaluatedKey) : null,
    };
  }

  async recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry, expected?: StatusWriteGuard): Promise<boolean> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({
        TransactItems: [{ Update: this.statusUpdate(customerId, connectionId, update, now, expected) }, auditPut(this.tableName, audit)],
      })));
      return true;
    } catch (error) {
      if (conditionFailedAt(error, 0)) return false;
      throw error;
    }
  }

  async recordCompany(customerId: string, connectionId: string, company: CompanyFields, expected: CompanyWriteGuard, now: Date, audit: AuditEntry): Promise<CompanyOutcome> {
    const { sets, names, values } = setFields({ ...company, updated_at: now.toISOString() });
    // Only with the token and status the enrichment read, and only a change (a redelivered event's
    // write fails here, so it adds no second entry). A null is stored as DynamoDB's NULL type.
    const unchanged = COMPANY_FIELDS.map((field) => (company[field] === null
      ? `(attribute_not_exists(#${field}) OR attribute_type(#${field}, :null_type))` : `#${field} = :${field}`));
    const own: Item = { ...values, ':issued': expected.token_issued_at, ':seen': expected.status };
    // DynamoDB refuses a value no expression uses.
    if (COMPANY_FIELDS.some((field) => company[field] === null)) own[':null_type'] = 'NULL';
    const update = {
      TableName: this.tableName,
      Key: keys.connection(customerId, connectionId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ...whileLive({ names, values: own }, `token_issued_at = :issued AND #status = :seen AND NOT (${unchanged.join(' AND ')})`),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({ TransactItems: [{ Update: update }, auditPut(this.tableName, audit)] })));
      return 'updated';
    } catch (error) {
      if (!conditionFailedAt(error, 0)) throw error;
      // Which part of the condition failed, read from the item as it was.
      const old = cancellationReasons(error)![0].item;
      if (!old) return 'missing';
      if (old.status === 'disconnecting' || old.status === 'disconnected') return 'ended';
      if (Number(old.token_issued_at) !== expected.token_issued_at) return 'superseded';
      return old.status === expected.status ? 'unchanged' : 'moved';
    }
  }

  async listAudit(customerId: string, connectionId: string, query: { limit: number; cursor?: string }) {
    const partition = keys.auditPartition(customerId, connectionId);
    const cursor = auditCursor(partition);
    const { Items = [], LastEvaluatedKey } = await guard(() => this.doc.send(new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :partition',
      ExpressionAttributeValues: { ':partition': partition },
      ScanIndexForward: false,
      Limit: query.limit,
      ExclusiveStartKey: query.cursor === undefined ? undefined : cursor.decode(query.cursor),
    })));
    return { entries: Items.map(toAuditRecord), next_cursor: LastEvaluatedKey ? cursor.encode(LastEvaluatedKey) : null };
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
        // …and it leaves the reconciler's queue (functions/adapters/table.ts RECONCILE_INDEX) while it disconnects.
        UpdateExpression: 'SET #status = :disconnecting, status_before_disconnect = if_not_exists(status_before_disconnect, #status), updated_at = :now REMOVE #check_pk',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :disconnected',
        ExpressionAttributeNames: { '#status': 'status', '#check_pk': RECONCILE_INDEX.partitionKey },
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
        // Live again: back in the reconciler's queue, at the turn it had.
        UpdateExpression: 'SET #status = status_before_disconnect, updated_at = :now, #check_pk = :live REMOVE status_before_disconnect',
        ConditionExpression: '#status = :disconnecting AND attribute_exists(status_before_disconnect)',
        ExpressionAttributeNames: { '#status': 'status', '#check_pk': RECONCILE_INDEX.partitionKey },
        ExpressionAttributeValues: { ':disconnecting': 'disconnecting', ':now': now.toISOString(), ':live': CHECK_PARTITION },
      })));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async finishDisconnect(customerId: string, connectionId: string, tombstone: Tombstone, audit: AuditEntry): Promise<boolean> {
    try {
      await guard(() => this.doc.send(new TransactWriteCommand({ TransactItems: [
        { Update: tombstoneUpdate(this.tableName, customerId, connectionId, tombstone) }, auditPut(this.tableName, audit),
      ] })));
      return true;
    } catch (error) {
      if (conditionFailedAt(error, 0)) return false;
      throw error;
    }
  }

  /** One SET for a status change; a disconnect in progress or done wins over any status news. */
  private statusUpdate(customerId: string, connectionId: string, update: StatusUpdate, now: Date, expected?: StatusWriteGuard) {
    const { sets, names, values } = setFields({
      status: update.status, status_message: update.status_message, updated_at: now.toISOString(),
      authentication_methods: update.authentication_methods, products: update.products, company_name: update.company_name,
      company_id: update.company_id, manual: update.manual, last_successful_sync: update.last_successful_sync,
    });
    return {
      TableName: this.tableName,
      Key: keys.connection(customerId, connectionId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      // With a guard (the reconciler's write), only while the token and status it read are stored.
      ...(expected
        ? whileLive({ names, values: { ...values, ':issued': expected.token_issued_at, ':seen': expected.status } }, 'token_issued_at = :issued AND #status = :seen')
        : whileLive({ names, values })),
    };
  }
}

/**
 * The one write that finishes a disconnect, for our DELETE (finishDisconnect) and for Finch's
 * word that the connection is gone (a webhook, functions/adapters/dynamo/webhook-inbox.ts): the
 * ciphertext goes; the item stays as a tombstone, and so does the ownership item, so the
 * connection id can never pass to another customer. It applies from any status but
 * `disconnected`: a concurrent DELETE that Finch failed may have restored the status meanwhile, and
 * Finch's answer to this one is what counts (ports/connection-store.ts). `tokenIssuedAt`: only while
 * the stored token is that one (a webhook must not throw away a token stored after it looked).
 */
export function tombstoneUpdate(tableName: string, customerId: string, connectionId: string, tombstone: Tombstone, tokenIssuedAt?: number) {
  return {
    TableName: tableName,
    Key: keys.connection(customerId, connectionId),
    UpdateExpression: 'SET #status = :disconnected, status_message = :null, updated_at = :at, disconnected_at = :at, '
      // A tombstone is out of the reconciler's queue (a webhook's disconnect comes without beginDisconnect).
      + 'disconnected_by = :by, revocation_confirmed = :confirmed REMOVE token_ciphertext, status_before_disconnect, #check_pk',
    ConditionExpression: `attribute_exists(pk) AND #status <> :disconnected${tokenIssuedAt === undefined ? '' : ' AND token_issued_at = :issued'}`,
    ExpressionAttributeNames: { '#status': 'status', '#check_pk': RECONCILE_INDEX.partitionKey },
    ExpressionAttributeValues: {
      ':disconnected': 'disconnected', ':null': null,
      ':at': tombstone.disconnected_at, ':by': tombstone.disconnected_by, ':confirmed': tombstone.revocation_confirmed,
      ...(tokenIssuedAt === undefined ? {} : { ':issued': tokenIssuedAt }),
    },
  };
}
