// The CheckQueue on the one table (layout in ../table.ts): the reconciler's sparse index, queried
// ascending (oldest-checked first), and the one write of a check that found nothing new.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CheckQueue, CheckedConnection, QueuedConnection } from '#core/ports/check-queue.js';
import { CHECK_PARTITION, RECONCILE_INDEX, keys } from '../table.js';
import { whileLive } from './conditions.js';
import { guard, isConditionFailure } from './errors.js';
import { toStored } from './items.js';

const text = (value: unknown) => (typeof value === 'string' ? value : null);

export class DynamoCheckQueue implements CheckQueue {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async oldestChecked(limit: number): Promise<QueuedConnection[]> {
    const { Items = [] } = await guard(() => this.doc.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: RECONCILE_INDEX.name,
      KeyConditionExpression: '#check_pk = :live',
      ExpressionAttributeNames: { '#check_pk': RECONCILE_INDEX.partitionKey },
      ExpressionAttributeValues: { ':live': CHECK_PARTITION },
      // Sort key `checked_at` (ISO time): ascending is oldest-checked first.
      ScanIndexForward: true,
      Limit: limit,
    })));
    // KEYS_ONLY: the table's keys, CUSTOMER#<customer_id> / CONNECTION#<connection_id>.
    return Items.flatMap((item) => {
      const pk = text(item.pk);
      const sk = text(item.sk);
      if (!pk?.startsWith('CUSTOMER#') || !sk?.startsWith('CONNECTION#')) return [];
      return [{ customer_id: pk.slice('CUSTOMER#'.length), connection_id: sk.slice('CONNECTION#'.length) }];
    });
  }

  async readForCheck(customerId: string, connectionId: string): Promise<CheckedConnection | null> {
    const { Item } = await guard(() => this.doc.send(new GetCommand({
      TableName: this.tableName, Key: keys.connection(customerId, connectionId), ConsistentRead: true,
    })));
    if (!Item) return null;
    return {
      connection: toStored(Item),
      checked_at: text(Item[RECONCILE_INDEX.sortKey]),
      introspected_at: text(Item.introspected_at),
      webhook_at: text(Item.webhook_at),
    };
  }

  async markChecked(customerId: string, connectionId: string, at: Date, introspected: boolean): Promise<boolean> {
    const names: Record<string, string> = { '#checked_at': RECONCILE_INDEX.sortKey };
    const values: Record<string, unknown> = { ':at': at.toISOString() };
    try {
      await guard(() => this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keys.connection(customerId, connectionId),
        // Not `updated_at`: nothing the API shows changed.
        UpdateExpression: `SET #checked_at = :at${introspected ? ', introspected_at = :at' : ''}`,
        // A disconnect that began meanwhile took the connection out of the queue: it stays out.
        ...whileLive({ names, values }),
      })));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
