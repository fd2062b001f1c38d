// The application's public events, made from the audit entries (the transactional outbox,
// ports/audit.ts): each entry the table's stream carries maps to at most one event, so an event is
// sent exactly for a change that committed, at least once (its `id` is the entry's: the dedupe
// key). The catalogue is the README's; docs/ARCHITECTURE.md has the pipe.
//
// What leaves here is public: every field is copied from a known place, never spread from the
// entry. The subject's four fields, the entry's ids and time, and of `details` only the two the
// contract names (`previous_status`, `initial_sync`), each accepted only as one of its enum's
// values, so nothing else an entry carries (a Finch code, an event id) can reach an event.
import { CONNECTION_STATUSES, type ConnectionStatus, INITIAL_SYNCS, type InitialSync } from './model.js';
import type { AuditRecord } from './ports/audit.js';

/** EventBridge `Source` of every event (the rule an application writes matches it). */
export const EVENT_SOURCE = 'finch-connections';

export const CONNECTION_EVENT_TYPES = [
  'connection.connected',
  'connection.reauthenticated',
  'connection.reauth_required',
  'connection.status_changed',
  'connection.disconnected',
  'connection.initial_sync_completed',
  'connection.company_updated',
] as const;
export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

/** Who ended a connection: our DELETE (the customer's app) or Finch (its webhook said it is gone). */
export type DisconnectReason = 'customer' | 'finch';

/** An event's EventBridge `detail`; its `type` is also the event's `DetailType`. Never a token, code or state. */
export interface ConnectionEventDetail {
  /** The audit entry's id: the same change delivered twice carries the same id. */
  id: string;
  type: ConnectionEventType;
  connection_id: string;
  customer_id: string;
  entity: string | null;
  provider_id: string;
  company_id: string | null;
  /** The connection's status as the change left it. */
  status: ConnectionStatus;
  /** When the change happened (the entry's `at`), not when the event was delivered. */
  occurred_at: string;
  /** connection.disconnected: `customer` or `finch`; connection.initial_sync_completed: `org` or `payroll`. */
  reason?: DisconnectReason | InitialSync;
  /** A status change: the status before it, as the writer read it. */
  previous_status?: ConnectionStatus;
}

const isStatus = (value: unknown): value is ConnectionStatus => CONNECTION_STATUSES.includes(value as ConnectionStatus);
const isSync = (value: unknown): value is InitialSync => INITIAL_SYNCS.includes(value as InitialSync);

/** What an entry's action says happened; null when it is no public event. */
function classify(record: AuditRecord, status: ConnectionStatus): Pick<ConnectionEventDetail, 'type' | 'reason' | 'previous_status'> | null {
  const details = record.details ?? {};
  const previous = isStatus(details.previous_status) ? details.previous_status : undefined;
  switch (record.action) {
    case 'connection_stored': return { type: 'connection.connected' };
    case 'reauthenticated': return { type: 'connection.reauthenticated' };
    case 'reauth_required':
      // Already in reauth: a status write that left the status as it was (the README: no event).
      if (previous === 'reauth') return null;
      return { type: 'connection.reauth_required', ...(previous ? { previous_status: previous } : {}) };
    case 'disconnected':
      // The webhook's disconnect is written by actor `finch` (functions/core/webhooks.ts); our DELETE by the caller.
      return { type: 'connection.disconnected', reason: record.actor === 'finch' ? 'finch' : 'customer' };
    case 'company_updated': return { type: 'connection.company_updated' };
    case 'refreshed':
    case 'webhook_applied':
      // Finch's job.initial_data_sync_*.succeeded: only last_synced_at and the sync's time changed.
      if (record.action === 'webhook_applied' && isSync(details.initial_sync)) return { type: 'connection.initial_sync_completed', reason: details.initial_sync };
      // A status write that left the status as it was (or did not say what it was) is no event.
      if (!previous || previous === status) return null;
      return { type: status === 'reauth' ? 'connection.reauth_required' : 'connection.status_changed', previous_status: previous };
    // session_created, code_exchanged: no connection yet.
    default: return null;
  }
}

/** The public event an audit entry is, or null (a session's entry, an unchanged status, an entry without its subject). */
export function toConnectionEvent(record: AuditRecord): ConnectionEventDetail | null {
  const { subject } = record;
  // Entries written before subjects existed cannot say what the connection was: no event rather than a guess.
  if (!subject || !record.connection_id || !isStatus(subject.status)) return null;
  const kind = classify(record, subject.status);
  if (!kind) return null;
  return {
    id: record.id,
    type: kind.type,
    connection_id: record.connection_id,
    customer_id: record.customer_id,
    entity: subject.entity ?? null,
    provider_id: subject.provider_id,
    company_id: subject.company_id ?? null,
    status: subject.status,
    occurred_at: record.at,
    ...(kind.reason ? { reason: kind.reason } : {}),
    ...(kind.previous_status ? { previous_status: kind.previous_status } : {}),
  };
}
