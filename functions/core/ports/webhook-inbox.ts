// The webhook inbox port: Finch's events, deduplicated by id and applied to their connection.
// Implemented by functions/adapters/dynamo/webhook-inbox.ts.
import type { Connection, InitialSync } from '../model.js';
import type { AuditEntry } from './audit.js';
import type { Tombstone } from './connection-store.js';

export interface WebhookEventRecord {
  event_id: string;
  event_type: string;
  connection_id: string | null;
  received_at: string;
}

/** News about a live connection: its status, a sync, one of Finch's initial syncs (kept from its first report). */
export interface ConnectionUpdate {
  kind: 'update';
  customer_id: string;
  connection_id: string;
  set: Partial<Pick<Connection,
    'status' | 'status_message' | 'authentication_methods' | 'last_synced_at' | 'company_id' | 'manual' | 'last_successful_sync'>>;
  initial_sync?: { sync: InitialSync; at: string };
}

/**
 * Finch disconnected the connection (its event says so and it refuses the token): finished as our
 * DELETE finishes one (the same tombstone write), only while the stored token is still the one
 * Finch refused (`token_issued_at`), so a newer token stored meanwhile is never thrown away.
 */
export interface ConnectionFinished {
  kind: 'disconnect';
  customer_id: string;
  connection_id: string;
  tombstone: Tombstone;
  token_issued_at: number;
}

export type ConnectionChange = ConnectionUpdate | ConnectionFinished;

/**
 * `token_changed`: a disconnect was not applied because the stored token is no longer the one
 * Finch refused; nothing was recorded, so Finch's redelivery looks again.
 */
export type ApplyOutcome = 'applied' | 'duplicate' | 'not_applied' | 'token_changed';

export interface WebhookInbox {
  /**
   * Records a webhook event by its id and applies its change to the connection in ONE transaction,
   * with the change's audit entry, so a failed apply leaves no dedupe record to swallow Finch's
   * retry. A change to a connection that is disconnecting/disconnected (or gone) is not applied;
   * the event is still recorded (a disconnect applies from `disconnecting` too, as our DELETE's
   * finish does). Retryable faults surface as `TransientStoreError`.
   */
  applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<ApplyOutcome>;
  /**
   * Notes the first delivery of an event about a connection nobody here owns (not a dedupe record:
   * the event stays unrecorded) and answers when that first delivery came, this one's if it is the first.
   */
  firstSeen(event: WebhookEventRecord): Promise<string>;
}
