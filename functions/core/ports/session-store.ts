// The sessions port: Connect sessions from creation to their final result, and the callback's
// claim, stash and final transactions (which write the connection and complete the session at
// once). Implemented by functions/adapters/dynamo/sessions.ts.
import type { CallbackResult, Connection, ExchangeStash, Flow, SessionRecord, StoredToken } from '../model.js';
import type { AuditEntry } from './audit.js';

export type ClaimOutcome =
  | { claimed: true; session: SessionRecord }
  /** The condition failed: `session` is the item as it was (absent when unknown). */
  | { claimed: false; session: SessionRecord | null };

export interface NewConnection {
  connection: Connection;
  token: StoredToken;
}

export type CreateOutcome =
  | { ok: true }
  /** An ownership item exists: `owner` is its customer (the same customer reconnecting, or another). */
  | { ok: false; reason: 'owned'; owner: string }
  | { ok: false; reason: 'session_not_claimed' };

export type ReplaceOutcome =
  | { ok: true }
  | { ok: false; reason: 'not_owner' | 'missing' | 'disconnected' | 'superseded' | 'session_not_claimed' };

/**
 * Every write that matters is conditional. Retryable faults (throttling, transaction conflicts,
 * 5xx, network) surface as `TransientStoreError` so the core can retry within its time budget;
 * everything else is a typed outcome or a bug.
 */
export interface SessionStore {
  /** Writes a new PENDING session (never overwrites) with its audit entry, in one transaction. */
  putSession(session: SessionRecord, audit: AuditEntry): Promise<void>;
  /**
   * PENDING → CLAIMED, only if `flow` matches, `expires_at > nowSeconds` and, when given, the
   * session's `customer_id` equals `customerId` (embedded flow). One conditional update. `claimId`
   * is written with the claim: a retry of this very claim whose first answer was lost (the write
   * applied, the reply did not arrive) finds its own id on the session.
   */
  claimSession(stateHash: string, flow: Flow, nowSeconds: number, customerId?: string, claimId?: string): Promise<ClaimOutcome>;
  getSession(stateHash: string): Promise<SessionRecord | null>;
  /** Keeps the exchanged token's ciphertext on a CLAIMED session before the final transaction (invariant 6). */
  stashExchange(stateHash: string, stash: ExchangeStash, audit: AuditEntry): Promise<void>;
  /** Sets the final result: FAILED from PENDING or CLAIMED, or COMPLETED from CLAIMED (superseded reauths). */
  finishSession(stateHash: string, from: 'pending' | 'claimed', result: CallbackResult): Promise<boolean>;
  /**
   * One transaction: ownership item (must not exist), connection item (must not exist),
   * session CLAIMED → COMPLETED with `result`.
   */
  createConnection(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<CreateOutcome>;
  /**
   * One transaction: ownership item's customer must be `customer_id`; connection item must exist,
   * not be disconnecting/disconnected, and hold a token issued before this one; token replaced,
   * `token_version` incremented atomically, status `connected`; session CLAIMED → COMPLETED.
   */
  replaceToken(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<ReplaceOutcome>;
}
