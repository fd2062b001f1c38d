// The audit trail every store writes: one append-only entry in the same transaction as the change
// it records (README, GET /connections/{connection_id}/audit). The entries are also the
// transactional outbox of the application's events: the table's stream carries each new entry to
// the events function, which maps it to a public event (functions/core/events.ts). An entry
// therefore says everything its event needs (the `subject` snapshot) without a second read.
import type { ConnectionStatus, InitialSync } from '../model.js';

export const AUDIT_ACTIONS = [
  'session_created', 'code_exchanged', 'connection_stored', 'reauthenticated', 'refreshed', 'disconnected', 'webhook_applied',
  // Finch answered a data call through the proxy with 401 reauthenticate_user.
  'reauth_required',
  // The enrichment consumer wrote the employer's name and Finch's company id.
  'company_updated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * The connection as the change left it, copied into the entry in the same transaction, so its
 * event describes the connection at that change (not whatever it is when the event is delivered).
 */
export interface AuditSubject {
  entity: string | null;
  provider_id: string;
  company_id: string | null;
  status: ConnectionStatus;
}

/** What an entry's `details` may say about the change, read by the event mapping. Never a secret. */
export interface AuditDetails {
  /** A status write (refresh, webhook, proxy 401): the status before it, as the writer read it. */
  previous_status?: ConnectionStatus;
  /** A webhook that reported one of Finch's initial syncs. */
  initial_sync?: InitialSync;
  [key: string]: string | number | boolean | null | undefined;
}

/**
 * One append-only audit entry, written in the same transaction as the change it records. Never a
 * secret: no token, code, state or connect_url in `details`. Every entry about a connection carries
 * its `subject`; a session's entries (no connection yet) do not.
 */
export interface AuditEntry {
  action: AuditAction;
  /** The token's `sub`, the customer, or `finch` for callbacks and webhooks. */
  actor: string;
  customer_id: string;
  /** Null for a session that does not name a connection yet. */
  connection_id: string | null;
  at: string;
  subject?: AuditSubject;
  details?: AuditDetails;
}

/** An entry as stored: `id` is unique per entry, written by the store, and the dedupe key of its event. */
export interface AuditRecord extends AuditEntry {
  id: string;
}
