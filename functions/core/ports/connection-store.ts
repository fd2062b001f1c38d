// The connections port: a customer's connections and their audit trail, read, listed, refreshed
// and disconnected. Implemented by functions/adapters/dynamo/connections.ts.
import type { Connection, ConnectionStatus, StoredToken } from '../model.js';
import type { AuditEntry, AuditRecord } from './audit.js';

/** A connection as the store holds it: the API shape plus the encrypted token (null once disconnected). */
export interface StoredConnection extends Connection {
  token: StoredToken | null;
}

export interface ListQuery {
  limit: number;
  cursor?: string;
  status?: ConnectionStatus;
  provider_id?: string;
  entity?: string;
  company_id?: string;
}

export interface StatusUpdate {
  status: ConnectionStatus;
  status_message: string | null;
  authentication_methods?: string[];
  products?: string[];
  company_name?: string | null;
  /** From `/introspect`: written when Finch said (undefined is no change). */
  company_id?: string;
  manual?: boolean | null;
  last_successful_sync?: string | null;
}

/** A connection's employer as Finch describes it, written by the enrichment consumer (functions/core/enrichment.ts). */
export type CompanyFields = Pick<Connection, 'company_name' | 'company_id' | 'manual'>;

/** What the enrichment's write must still find: the token it read the company with, and the status it read. */
export interface CompanyWriteGuard {
  token_issued_at: number;
  status: ConnectionStatus;
}

/**
 * `updated`: written with its audit entry. Otherwise nothing was written, because the connection is
 * `missing`, `ended` (disconnecting or disconnected), holds another token (`superseded`), has
 * another status than the one read (`moved`), or already holds these values (`unchanged`).
 */
export type CompanyOutcome = 'updated' | 'unchanged' | 'missing' | 'ended' | 'superseded' | 'moved';

/** What a guarded status write must still find: the token the status was asked with, and the status read before. */
export interface StatusWriteGuard {
  token_issued_at: number;
  status: ConnectionStatus;
}

export interface Tombstone {
  disconnected_by: string;
  disconnected_at: string;
  revocation_confirmed: boolean;
}

/**
 * Every write that matters is conditional. Retryable faults (throttling, transaction conflicts,
 * 5xx, network) surface as `TransientStoreError` so the core can retry within its time budget;
 * everything else is a typed outcome or a bug.
 */
export interface ConnectionStore {
  getConnection(customerId: string, connectionId: string): Promise<StoredConnection | null>;
  getOwner(connectionId: string): Promise<string | null>;
  /** Newest first; `cursor` is opaque and bound to the customer (a foreign or forged one is InvalidRequest). */
  listConnections(customerId: string, query: ListQuery): Promise<{ connections: Connection[]; next_cursor: string | null }>;
  /**
   * A status change and its audit entry in one transaction (a refresh, Finch's reauth request):
   * there is no unaudited status write. Conditional: the item exists and is not
   * disconnecting/disconnected; false when that condition failed. With `expected` (the
   * reconciler, which nobody waits on and which must not undo a change made while it asked Finch),
   * also only while the stored token and status are the ones it names.
   */
  recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry, expected?: StatusWriteGuard): Promise<boolean>;
  /**
   * The company fields and their `company_updated` entry in one transaction, only while the
   * connection is live, holds the token `guard` names and has the status it names, and only when
   * the values differ from the stored ones (a redelivered event writes no second entry).
   */
  recordCompany(customerId: string, connectionId: string, company: CompanyFields, guard: CompanyWriteGuard, now: Date, audit: AuditEntry): Promise<CompanyOutcome>;
  /** The connection's audit trail, newest first, paged with an opaque cursor bound to it. */
  listAudit(customerId: string, connectionId: string, query: { limit: number; cursor?: string }): Promise<{ entries: AuditRecord[]; next_cursor: string | null }>;
  /**
   * Counts one refresh in the current one-minute window (connecting does not count). Conditional
   * updates only: `{ ok: false }` when the window already holds `max` refreshes.
   */
  takeRefreshSlot(customerId: string, connectionId: string, now: Date, max: number): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
  /**
   * Marks the connection `disconnecting` (remembering its status, so an abort can restore it),
   * unless it is already disconnected. Returns the stored connection as it was, or null if missing.
   */
  beginDisconnect(customerId: string, connectionId: string, now: Date): Promise<StoredConnection | null>;
  /** Finch could not be reached: `disconnecting` → the remembered status, so the connection stays usable. */
  abortDisconnect(customerId: string, connectionId: string, now: Date): Promise<void>;
  /**
   * → `disconnected`: the ciphertext is deleted, a tombstone (who, when, confirmed) kept. Applies
   * from any status but `disconnected` (a concurrent DELETE's abort may have restored one after Finch
   * was told); false when the connection is already disconnected (or missing).
   */
  finishDisconnect(customerId: string, connectionId: string, tombstone: Tombstone, audit: AuditEntry): Promise<boolean>;
}
