// The audit trail every store writes: one append-only entry in the same transaction as the change
// it records (README, GET /connections/{connection_id}/audit).

export const AUDIT_ACTIONS = [
  'session_created', 'code_exchanged', 'connection_stored', 'reauthenticated', 'refreshed', 'disconnected', 'webhook_applied',
  // Finch answered a data call through the proxy with 401 reauthenticate_user.
  'reauth_required',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * One append-only audit entry, written in the same transaction as the change it records. Never a
 * secret: no token, code, state or connect_url in `details`.
 */
export interface AuditEntry {
  action: AuditAction;
  /** The token's `sub`, the customer, or `finch` for callbacks and webhooks. */
  actor: string;
  customer_id: string;
  /** Null for a session that does not name a connection yet. */
  connection_id: string | null;
  at: string;
  details?: Record<string, string | number | boolean | null>;
}

export type AuditRecord = AuditEntry;
