// The webhook inbox port: Finch's events, deduplicated by id and applied to their connection.
// Implemented by functions/adapters/dynamo/webhook-inbox.ts.
import type { Connection } from '../model.js';
import type { AuditEntry } from './audit.js';

export interface WebhookEventRecord {
  event_id: string;
  event_type: string;
  connection_id: string | null;
  received_at: string;
}

export interface ConnectionChange {
  customer_id: string;
  connection_id: string;
  set: Partial<Pick<Connection, 'status' | 'status_message' | 'authentication_methods' | 'last_synced_at'>>;
}

export interface WebhookInbox {
  /**
   * Records a webhook event by its id and applies its change to the connection in ONE transaction,
   * so a failed apply leaves no dedupe record to swallow Finch's retry. A change to a connection
   * that is disconnecting/disconnected (or gone) is not applied; the event is still recorded.
   * Retryable faults surface as `TransientStoreError`.
   */
  applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<'applied' | 'duplicate' | 'not_applied'>;
}
