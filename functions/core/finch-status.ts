// What a status Finch reports means for one of our connections. Finch documents more values than
// the SDK's `ConnectionStatusType` union holds (@tryfinch/finch-api resources/shared.d.ts), and may
// add more: the adapter reads each one through this table (functions/adapters/finch-gateway.ts), and
// a value it does not hold means "no news" (the stored status is kept), never a crash and never a
// status nothing here knows.
import type { ConnectionStatus } from './model.js';

/**
 * Every status value Finch documents, with what it means here:
 * - The SDK's `ConnectionStatusType` (Introspect: https://developer.tryfinch.com/api-reference/management/introspect):
 *   our statuses by the same names.
 * - `disconnected`: the SDK's per-entity status (`Introspection.Entity.status`) and what Finch's
 *   `account.updated` webhook says of a connection Finch has lost. It is never stored as ours:
 *   ours means "ended here, ciphertext deleted" (a tombstone, invariant 6), which only our DELETE
 *   or Finch refusing the token may write (functions/core/webhooks.ts). While Finch still accepts the
 *   token, Finch has lost its access to the provider and the employer must connect again, which
 *   Finch's "Re-authentication Flow" answers with a reauthentication
 *   (https://developer.tryfinch.com/developer-resources/Reauthentication): `reauth`.
 * - `reauth_error`, `permissions_error`: how Finch's automated jobs end when a sync failed for want
 *   of a reauthentication or of permissions (the SDK's `AutomatedAsyncJob.status`, "Retrieve an
 *   automated job": https://developer.tryfinch.com/api-reference/management/retrieve-an-automated-job):
 *   `reauth` and `error_permissions`. The jobs' other values (`pending`, `in_progress`, `complete`,
 *   `error`) say nothing of the connection itself and are not read as its status.
 */
export const FINCH_STATUS_MEANINGS: Readonly<Record<string, ConnectionStatus>> = {
  pending: 'pending',
  processing: 'processing',
  connected: 'connected',
  error_no_account_setup: 'error_no_account_setup',
  error_permissions: 'error_permissions',
  reauth: 'reauth',
  disconnected: 'reauth',
  reauth_error: 'reauth',
  permissions_error: 'error_permissions',
};

/**
 * Our status for a value Finch reported, or null for one this table does not hold (a value Finch
 * added later, a wrong type, nothing): the caller keeps the status it has.
 */
export function connectionStatusOf(reported: unknown): ConnectionStatus | null {
  return typeof reported === 'string' && Object.hasOwn(FINCH_STATUS_MEANINGS, reported) ? FINCH_STATUS_MEANINGS[reported] : null;
}

/** A reported value fit for a log line (Finch's words are snake_case): anything else is withheld. */
export function reportedStatusText(reported: unknown): string | null {
  return typeof reported === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(reported) ? reported : null;
}
