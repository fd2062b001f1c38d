// The WebhookInbox on the one table (layout in ../table.ts): a dedupe record per Finch event id,
// written in the same transaction as the event's change to its connection.
import { PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#core/ports/audit.js';
import type { ConnectionChange, WebhookEventRecord, WebhookInbox } from '#core/ports/webhook-inbox.js';
import { keys } from '../table.js';
import { whileLive } from './conditions.js';
import { cancellationReasons, guard, isConditionFailure } from './errors.js';
import { type Item, auditPut, webhookEventItem } from './items.js';

export class DynamoWebhookInbox implements WebhookInbox {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<'applied' | 'duplicate' | 'not_applied'> {
    const record = (applied: boolean) => ({
      TableName: this.tableName, Item: webhookEventItem(event, applied), ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (change) {
      const names: Record<string, string> = {};
      const values: Item = { ':updated_at': event.received_at };
      const sets = ['updated_at = :updated_at'];
      for (const [field, value] of Object.entries(change.set)) {
        if (value === undefined) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
      try {
        await guard(() => this.doc.send(new TransactWriteCommand({
          TransactItems: [{ Put: record(true) }, { Update: {
            TableName: this.tableName,
            Key: keys.connection(change.customer_id, change.connection_id),
            UpdateExpression: `SET ${sets.join(', ')}`,
            // A disconnected connection is never revived by a late or replayed event.
            ...whileLive({ names, values }),
          } }, ...(audit ? [auditPut(this.tableName, audit)] : [])],
        })));
        return 'applied';
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0].code === 'ConditionalCheckFailed') return 'duplicate';
        if (reasons[1].code !== 'ConditionalCheckFailed') throw error;
        // The connection ended: record the event alone (below), so Finch's retries are acknowledged.
      }
    }
    try {
      await guard(() => this.doc.send(new PutCommand(record(false))));
      return 'not_applied';
    } catch (error) {
      if (isConditionFailure(error)) return 'duplicate';
      throw error;
    }
  }
}
