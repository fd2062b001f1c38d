// The domain in Finch's words. Wire format stays snake_case, so these types are the stored and
// returned shapes too (minus the token fields, which never leave the store adapter's callers).

export const FINCH_PRODUCTS = [
  'company', 'directory', 'individual', 'employment', 'payment', 'pay_statement',
  'benefits', 'deduction', 'ssn', 'documents', 'plans', 'plans_dependents', 'plans_enrollments',
  'recordkeeping',
] as const;
export type FinchProduct = (typeof FINCH_PRODUCTS)[number];

/** Finch's connection statuses plus ours (`disconnecting`, `disconnected`). */
export const CONNECTION_STATUSES = [
  'pending', 'processing', 'connected', 'error_no_account_setup', 'error_permissions', 'reauth',
  'disconnecting', 'disconnected',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** A connection being or already disconnected: never reauthenticated, refreshed, proxied or revived. */
export const ENDED_STATUSES: readonly ConnectionStatus[] = ['disconnecting', 'disconnected'];
export const isEnded = (status: ConnectionStatus) => ENDED_STATUSES.includes(status);

export type Flow = 'redirect' | 'embedded';
/** The SDK's CreateAccessTokenResponse `connection_type`. */
export const CONNECTION_TYPES = ['provider', 'finch'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];
/** connect: a new connection; reauth: a connection we own; adopt: a connection at Finch nobody here owns. */
export type SessionKind = 'connect' | 'reauth' | 'adopt';

/** A connection as returned by the API: token-free. */
export interface Connection {
  connection_id: string;
  customer_id: string;
  entity: string | null;
  finch_customer_id: string;
  provider_id: string;
  company_name: string | null;
  /**
   * Finch's company (its token response's `company_id`, refreshed from `/introspect`): two
   * connections of one customer with the same company_id are one employer connected twice (another
   * provider, another login). Null when Finch did not say.
   */
  company_id: string | null;
  /** The entities the token may read (token response `entity_ids`); several in Finch's multi-entity mode. */
  entity_ids: string[];
  /** `provider` (a payroll provider) or `finch` (Finch-generated data), from the token response; null when it did not say. */
  connection_type: ConnectionType | null;
  /** `/introspect`'s `manual`: an Assisted Connect connection. Null until Finch said. */
  manual: boolean | null;
  /** `/introspect`'s `connection_status.last_successful_sync`: Finch's last successful sync. Null until Finch said. */
  last_successful_sync: string | null;
  products: string[];
  status: ConnectionStatus;
  status_message: string | null;
  authentication_methods: string[];
  connected_at: string;
  updated_at: string;
  last_synced_at: string | null;
  /**
   * When Finch's first sync of the connection's organization and payroll data succeeded (its
   * `job.initial_data_sync_org.succeeded` and `…_payroll.succeeded` webhooks); null until then.
   */
  initial_sync_completed_at: InitialSyncs;
  token_version: number;
}

/** Finch's two initial syncs: organization data (company, directory, …) and payroll data (payments, pay statements). */
export const INITIAL_SYNCS = ['org', 'payroll'] as const;
export type InitialSync = (typeof INITIAL_SYNCS)[number];
export type InitialSyncs = Record<InitialSync, string | null>;

/** The encrypted token as stored; `token_issued_at` orders reauths (invariant 4, docs/ARCHITECTURE.md). */
export interface StoredToken {
  ciphertext: string;
  token_issued_at: number;
}

export type SessionStatus = 'pending' | 'claimed' | 'completed' | 'failed';

/** What a completed or failed callback answers, stored so a repeated callback replays it. */
export type CallbackResult =
  | { status: 'connected'; connection_id: string; customer_id: string; entity: string | null;
      provider_id: string; products: string[]; reauthenticated: boolean }
  | { status: 'error'; error: CallbackErrorCode };

/** The fixed list of `error=` codes a redirect may carry. */
export const CALLBACK_ERROR_CODES = [
  'invalid_state', 'connect_cancelled', 'invalid_code', 'customer_mismatch', 'customer_unverified',
  'connection_mismatch', 'connection_owned_elsewhere', 'connection_disconnected', 'finch_unavailable',
  'callback_in_progress', 'store_unavailable', 'internal_error',
] as const;
export type CallbackErrorCode = (typeof CALLBACK_ERROR_CODES)[number];

/** What Finch's token exchange gave us, kept on the claimed session (ciphertext only). */
export interface ExchangeStash {
  connection_id: string;
  provider_id: string;
  products: string[];
  /** The grant's identity fields; absent on a stash written before they were kept (read as null/[]). */
  company_id?: string | null;
  entity_ids?: string[];
  connection_type?: ConnectionType | null;
  token: StoredToken;
}

/** A Connect session item, keyed by SHA-256 of the state; the raw state is stored nowhere. */
export interface SessionRecord {
  state_hash: string;
  session_id: string;
  status: SessionStatus;
  kind: SessionKind;
  flow: Flow;
  customer_id: string;
  entity: string | null;
  finch_customer_id: string;
  /** reauth and adopt sessions: the connection they must return. */
  connection_id: string | null;
  products: string[];
  return_to: string | null;
  /** epoch seconds; every claim checks `expires_at > now` (TTL deletion is lazy). */
  expires_at: number;
  created_at: string;
  /** Set by the claim: which callback invocation holds it. */
  claim_id?: string;
  stash?: ExchangeStash;
  result?: CallbackResult;
}
