// The WebhookInbox on the one table (layout in ../table.ts): a dedupe record per Finch event id,
// written in the same transaction as the event's change to its connection and its audit entry; and
// the first delivery of an event about a connection nobody here owns yet.
import { PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '#core/ports/audit.js';
import type {
  ApplyOutcome, ConnectionChange, ConnectionUpdate, WebhookEventRecord, WebhookInbox,
} from '#core/ports/webhook-inbox.js';
import { keys } from '../table.js';
import { whileLive } from './conditions.js';
import { tombstoneUpdate } from './connections.js';
import { cancellationReasons, conditionFailedItem, guard, isConditionFailure } from './errors.js';
import { auditPut, initialSyncAttribute, setFields, webhookEventItem } from './items.js';

/** A first sighting outlives the window in which it defers its event (core/webhooks.ts), with room to spare. */
const FIRST_SEEN_TTL_SECONDS = 2 * 24 * 60 * 60;

export class DynamoWebhookInbox implements WebhookInbox {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<ApplyOutcome> {
    const record = (applied: boolean) => ({
      TableName: this.tableName, Item: webhookEventItem(event, applied), ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (change) {
      const update = change.kind === 'disconnect'
        ? tombstoneUpdate(this.tableName, change.customer_id, change.connection_id, change.tombstone, change.token_issued_at)
        : this.liveUpdate(change, event.received_at);
      try {
        await guard(() => this.doc.send(new TransactWriteCommand({
          TransactItems: [
            { Put: record(true) },
            { Update: { ...update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
            ...(audit ? [auditPut(this.tableName, audit)] : []),
          ],
        })));
        return 'applied';
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (reasons[0].code === 'ConditionalCheckFailed') return 'duplicate';
        if (reasons[1].code !== 'ConditionalCheckFailed') throw error;
        const old = reasons[1].item;
        // A reauthentication stored a newer token after Finch refused the one we asked with.
        if (change.kind === 'disconnect' && old && old.status !== 'disconnected' && Number(old.token_issued_at) !== change.token_issued_at) {
          return 'token_changed';
        }
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

  async firstSeen(event: WebhookEventRecord): Promise<string> {
    try {
      await guard(() => this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.webhookFirstSeen(event.event_id), event_type: event.event_type, connection_id: event.connection_id,
          first_seen_at: event.received_at, ttl: Math.floor(Date.parse(event.received_at) / 1000) + FIRST_SEEN_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return event.received_at;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const first = conditionFailedItem(error)?.first_seen_at;
      return typeof first === 'string' ? first : event.received_at;
    }
  }

  /** News for a live connection: one SET, conditional on it not being (or becoming) disconnected. */
  private liveUpdate(change: ConnectionUpdate, at: string) {
    // `webhook_at`: Finch's webhooks reach this connection, so the reconciler may ask about it less often (core/reconcile.ts).
    const { sets, names, values } = setFields({ updated_at: at, webhook_at: at, ...change.set });
    if (change.initial_sync) {
      // Finch reports each initial sync once; a second report (a new event id) keeps the first time.
      names['#initial_sync'] = initialSyncAttribute(change.initial_sync.sync);
      values[':initial_sync'] = change.initial_sync.at;
      sets.push('#initial_sync = if_not_exists(#initial_sync, :initial_sync)');
    }
    return {
      TableName: this.tableName,
      Key: keys.connection(change.customer_id, change.connection_id),
      UpdateExpression: `SET ${sets.join(', ')}`,
      // A disconnected connection is never revived by a late or replayed event.
      ...whileLive({ names, values }),
    };
  }
}
