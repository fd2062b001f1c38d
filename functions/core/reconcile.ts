// The reconciler (issue 17): Finch's webhooks are not on every Finch plan and can be missed, so a
// scheduled run (functions/reconcile/handler.ts) asks Finch's `/introspect` about the live
// connections, oldest-checked first (the CheckQueue, a sparse index: no Scan), within the background
// share of the Finch budget, and records any drift through the same audited status write a refresh
// makes (recordStatus with a `refreshed` entry, its subject and previous_status), so the same events
// come out (connection.status_changed, connection.reauth_required). docs/ARCHITECTURE.md "The reconciler".
//
// - Nothing new: only the connection's turn moves (`checked_at`): no audit entry, no event.
// - A token Finch refuses (401) is `reauth`, as a refresh stores it (TOKEN_REFUSED).
// - A connection being or already disconnected is never touched (the queue holds only live ones, and
//   every write is conditional on the connection being live, a DELETE racing the check included).
// - A connection whose webhooks flow is asked less often (WEBHOOK_QUIET_INTERVALS).
// - Bounded: at most `maxConnections` a run, no check starts once the run's time is short, and the
//   run stops at the first refusal of the Finch budget (or Finch's own 429); the connection it
//   stopped at keeps its turn, so the next run begins there.
import { subjectOf } from './audit-subject.js';
import { TOKEN_REFUSED, introspectStatus } from './connections.js';
import type { BaseDeps } from './deps.js';
import { FinchRateLimited, FinchRejected, FinchUnavailable, TransientFault } from './errors.js';
import { isEnded } from './model.js';
import type { CheckQueue, CheckedConnection, QueuedConnection } from './ports/check-queue.js';
import type { StatusUpdate, StoredConnection } from './ports/connection-store.js';
import type { FinchGateway } from './ports/finch.js';

export type ReconcileDeps = Pick<BaseDeps, 'connections' | 'cipher' | 'clock' | 'log'> & {
  checks: CheckQueue;
  /** Only `introspect` is called, with the connection's own token, as a background caller of the Finch budget. */
  finch: FinchGateway;
};

export interface ReconcileSettings {
  /** Minutes between two scheduled runs (the schedule's rate). */
  intervalMinutes: number;
  /** At most this many connections a run. */
  maxConnections: number;
}

/**
 * A connection Finch sent a webhook about within this many intervals, and that the reconciler asked
 * Finch about within as many, is passed over (its turn moves, Finch is not asked): while its
 * webhooks flow (`account.updated` brings its status), it is introspected once every this many
 * intervals instead of every interval.
 */
export const WEBHOOK_QUIET_INTERVALS = 4;

/** The actor of the reconciler's audit entries. */
export const RECONCILER_ACTOR = 'reconciler';

export type CheckOutcome =
  /** Finch says what is stored: only the turn moved. */
  | 'unchanged'
  /** Finch says something else: recorded with its audit entry (and its event, for a new status). */
  | 'drift'
  /** Webhooks flow for it and it was asked recently: only the turn moved. */
  | 'postponed'
  /** Being or already disconnected (or gone): left alone. */
  | 'ended'
  /** Its token or status changed while Finch was asked: nothing written, the next run asks again. */
  | 'raced'
  /** Finch failed or refused for this one connection, or checking it failed: its turn moved, the run goes on. */
  | 'failed';

export type StopReason =
  /** Every queued connection up to `maxConnections` had its turn. */
  | 'done'
  /** The Finch budget (or Finch) refused: the rest waits for the next run. */
  | 'budget'
  /** The run's time is short: the rest waits for the next run. */
  | 'time';

export interface ReconcileReport {
  outcomes: Record<CheckOutcome, number>;
  stopped: StopReason;
  /** The connections whose turn came: the outcomes' total. */
  checked: number;
  /**
   * Of the `failed`, those that failed for a reason of their own, not Finch's (a ciphertext that does
   * not decrypt, a bug its data triggers): the handler fails the invocation after the run, so the
   * error alarm sees them, while their turns moved so they cannot hold up the queue.
   */
  errors: number;
}

/**
 * One run. `hasTime()` answers whether one more check (a `/introspect` and a few writes) fits in
 * the run's time. Throws what stops the whole run (the store or the key service failing through
 * their retries); a single connection's Finch failure does not.
 */
export async function reconcile(deps: ReconcileDeps, settings: ReconcileSettings, hasTime: () => boolean): Promise<ReconcileReport> {
  const outcomes: Record<CheckOutcome, number> = { unchanged: 0, drift: 0, postponed: 0, ended: 0, raced: 0, failed: 0 };
  let errors = 0;
  const report = (stopped: StopReason): ReconcileReport => ({ outcomes, stopped, checked: Object.values(outcomes).reduce((a, b) => a + b, 0), errors });
  const queue = await deps.checks.oldestChecked(settings.maxConnections);
  for (const queued of queue) {
    if (!hasTime()) return report('time');
    try {
      outcomes[await checkConnection(deps, settings, queued)] += 1;
    } catch (error) {
      if (error instanceof FinchRateLimited) {
        // Its turn stays where it was: the next run begins with it.
        deps.log.info('reconciler stopped by the Finch budget', { connection_id: queued.connection_id, retry_after_seconds: error.retryAfterSeconds, finch_code: error.finch_code });
        return report('budget');
      }
      // The store or the key service down: every other check would fail the same way.
      if (error instanceof TransientFault) throw error;
      // This connection's own fault: its turn moves, or it would head the queue and stop every run here.
      deps.log.error('reconciler: checking this connection failed; its turn moves on', { connection_id: queued.connection_id, customer_id: queued.customer_id, error: (error as Error).name });
      await deps.checks.markChecked(queued.customer_id, queued.connection_id, deps.clock.now(), false).catch(() => false);
      outcomes.failed += 1;
      errors += 1;
    }
  }
  return report('done');
}

/** One connection's turn. Throws FinchRateLimited (the run stops) and what stops the whole run. */
async function checkConnection(deps: ReconcileDeps, settings: ReconcileSettings, queued: QueuedConnection): Promise<CheckOutcome> {
  const { customer_id: customerId, connection_id: connectionId } = queued;
  const read = await deps.checks.readForCheck(customerId, connectionId);
  // The index is read eventually consistently: a disconnect may have begun since.
  if (!read || !read.connection.token || isEnded(read.connection.status)) return 'ended';
  const stored = read.connection;
  const token = read.connection.token;
  const now = deps.clock.now();
  if (webhooksFlow(read, settings, now)) return await deps.checks.markChecked(customerId, connectionId, now, false) ? 'postponed' : 'ended';

  let said: StatusUpdate;
  try {
    const accessToken = await deps.cipher.decrypt(token.ciphertext, { customer_id: customerId, connection_id: connectionId });
    said = await introspectStatus(deps, accessToken, stored) ?? TOKEN_REFUSED;
  } catch (error) {
    if (!(error instanceof FinchUnavailable || error instanceof FinchRejected)) throw error;
    // Finch down or refusing for this connection alone: the others still get their turn.
    deps.log.warn('reconciler: Finch failed for this connection; its turn moves on', { connection_id: connectionId, customer_id: customerId, error: error.name });
    await deps.checks.markChecked(customerId, connectionId, now, false);
    return 'failed';
  }
  // Ours to set (a DELETE), never Finch's word through this write: a tombstone is a disconnect's.
  if (isEnded(said.status)) said = { ...said, status: stored.status };
  const changed = driftedFields(stored, said);
  if (changed.length === 0) return await deps.checks.markChecked(customerId, connectionId, now, true) ? 'unchanged' : 'ended';

  const at = deps.clock.now();
  const recorded = await deps.connections.recordStatus(customerId, connectionId, said, at, {
    action: 'refreshed', actor: RECONCILER_ACTOR, customer_id: customerId, connection_id: connectionId, at: at.toISOString(),
    subject: subjectOf(stored, said),
    // `changed`: what Finch said differently, by field name (never a value).
    details: { status: said.status, previous_status: stored.status, changed: changed.join(',') },
  }, { token_issued_at: token.token_issued_at, status: stored.status });
  if (!recorded) return 'raced';
  deps.log.info('reconciler recorded drift', { connection_id: connectionId, customer_id: customerId, status: said.status, previous_status: stored.status });
  await deps.checks.markChecked(customerId, connectionId, at, true);
  return 'drift';
}

/** Webhooks brought news of it lately, and the reconciler asked Finch lately too. */
function webhooksFlow(read: CheckedConnection, settings: ReconcileSettings, now: Date): boolean {
  const quietMs = WEBHOOK_QUIET_INTERVALS * settings.intervalMinutes * 60_000;
  const recent = (at: string | null) => at !== null && now.getTime() - Date.parse(at) < quietMs;
  return recent(read.webhook_at) && recent(read.introspected_at);
}

/** What Finch said that the connection holds differently; a field Finch left out (undefined) is no change. */
const COMPARED = ['status', 'status_message', 'authentication_methods', 'products', 'company_id', 'manual', 'last_successful_sync'] as const;

/** The fields Finch said differently from what is stored (none: no drift). */
export function driftedFields(stored: StoredConnection, said: StatusUpdate): string[] {
  return COMPARED.filter((field) => said[field] !== undefined && JSON.stringify(stored[field]) !== JSON.stringify(said[field]));
}
