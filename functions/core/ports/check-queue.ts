// The reconciler's queue (functions/core/reconcile.ts): the connections that have not ended, in the
// order the reconciler last took their turn, oldest first. Implemented by
// functions/adapters/dynamo/check-queue.ts on a sparse index of the one table (no Scan).
import type { StoredConnection } from './connection-store.js';

export interface QueuedConnection {
  customer_id: string;
  connection_id: string;
}

/** A connection as the reconciler reads it: the stored connection and when it last heard of it. */
export interface CheckedConnection {
  connection: StoredConnection;
  /** When the reconciler last took its turn (null: never, an item written before the queue). */
  checked_at: string | null;
  /** When the reconciler last asked Finch's `/introspect` about it (null: never). */
  introspected_at: string | null;
  /** When a Finch webhook last brought news of it (null: none yet). */
  webhook_at: string | null;
}

export interface CheckQueue {
  /** The `limit` live connections whose turn is oldest, oldest first (ended ones are not queued). */
  oldestChecked(limit: number): Promise<QueuedConnection[]>;
  /** One connection, read consistently (its token included); null when it does not exist. */
  readForCheck(customerId: string, connectionId: string): Promise<CheckedConnection | null>;
  /**
   * Its turn is taken at `at` (and, `introspected`, Finch was asked): the only write of a check that
   * found nothing new, unaudited (it changes nothing the API shows). Only while the connection is
   * live; false when it is not (a disconnect began meanwhile: the connection is left alone).
   */
  markChecked(customerId: string, connectionId: string, at: Date, introspected: boolean): Promise<boolean>;
}
