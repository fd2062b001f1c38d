// Ports: what the core needs from the outside world. Adapters (DynamoDB, KMS, the Finch SDK,
// Secrets Manager) implement them; unit tests use in-memory fakes.
import type {
  CallbackResult, Connection, ConnectionStatus, ExchangeStash, Flow, SessionRecord, StoredToken,
} from './model.js';

/** A connection as the store holds it: the API shape plus the encrypted token (null once disconnected). */
export interface StoredConnection extends Connection {
  token: StoredToken | null;
}

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

export interface ListQuery {
  limit: number;
  cursor?: string;
  status?: ConnectionStatus;
  provider_id?: string;
  entity?: string;
}

export interface StatusUpdate {
  status: ConnectionStatus;
  status_message: string | null;
  authentication_methods?: string[];
  products?: string[];
  company_name?: string | null;
}

/**
 * The connections store. Every write that matters is conditional. Retryable faults (throttling,
 * transaction conflicts, 5xx, network) surface as `TransientStoreError` so the core can retry
 * within its time budget; everything else is a typed outcome or a bug.
 */
export interface ConnectionStore {
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
  getConnection(customerId: string, connectionId: string): Promise<StoredConnection | null>;
  getOwner(connectionId: string): Promise<string | null>;
  /** Newest first; `cursor` is opaque and bound to the customer (a foreign or forged one is InvalidRequest). */
  listConnections(customerId: string, query: ListQuery): Promise<{ connections: Connection[]; next_cursor: string | null }>;
  /**
   * A status change and its audit entry in one transaction (a refresh, Finch's reauth request):
   * there is no unaudited status write. Conditional: the item exists and is not
   * disconnecting/disconnected; false when that condition failed.
   */
  recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry): Promise<boolean>;
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
  /**
   * Records a webhook event by its id and applies its change to the connection in ONE transaction,
   * so a failed apply leaves no dedupe record to swallow Finch's retry. A change to a connection
   * that is disconnecting/disconnected (or gone) is not applied; the event is still recorded.
   */
  applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null): Promise<'applied' | 'duplicate' | 'not_applied'>;
}

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

export interface Tombstone {
  disconnected_by: string;
  disconnected_at: string;
  revocation_confirmed: boolean;
}

export interface WebhookEventRecord {
  event_id: string;
  event_type: string;
  connection_id: string | null;
  received_at: string;
}

export interface ConnectionChange {
  customer_id: string;
  connection_id: string;
  set: Partial<Pick<Connection, 'status' | 'status_message' | 'authentication_methods' | 'last_synced_at'>>;
}

/** A backing service failed in a way the same request may well get past a moment later. */
export abstract class TransientFault extends Error {
  constructor(message: string, override readonly cause: unknown) { super(message); }
}

export class TransientStoreError extends TransientFault {
  constructor(cause: unknown) {
    super('The connections store failed transiently.', cause);
    this.name = 'TransientStoreError';
  }
}

export interface TokenContext { customer_id: string; connection_id: string }

export class TransientCipherError extends TransientFault {
  constructor(cause: unknown) {
    super('The key service failed transiently.', cause);
    this.name = 'TransientCipherError';
  }
}

/** Finch's client credentials could not be fetched for a passing reason (Secrets Manager throttled, 5xx, network). */
export class TransientSecretsError extends TransientFault {
  constructor(cause: unknown) {
    super('The secrets service failed transiently.', cause);
    this.name = 'TransientSecretsError';
  }
}

/**
 * Encrypts access tokens bound to `{purpose: "access_token", customer_id, connection_id}` (invariant 5).
 * Retryable key-service faults (throttling, 5xx, network) surface as `TransientCipherError`.
 */
export interface TokenCipher {
  encrypt(accessToken: string, context: TokenContext): Promise<string>;
  decrypt(ciphertext: string, context: TokenContext): Promise<string>;
}

export interface ConnectSessionRequest {
  customer_id: string;
  customer_name: string;
  customer_email?: string;
  products: string[];
  integration?: { provider: string; auth_method?: 'assisted' | 'credential' | 'oauth' | 'api_token' };
  sandbox?: 'finch' | 'provider';
  manual?: boolean;
  minutes_to_expire: number;
  redirect_uri?: string;
}

export interface ReauthSessionRequest {
  connection_id: string;
  minutes_to_expire: number;
  products?: string[];
  redirect_uri?: string;
}

export interface FinchSession { session_id: string; connect_url: string }

export interface TokenGrant {
  access_token: string;
  connection_id: string;
  /** Finch's customer id for this token, or null when the response lacked it (invariant 3). */
  customer_id: string | null;
  provider_id: string;
  products: string[];
}

export interface Introspection {
  connection_id: string;
  customer_id: string | null;
  provider_id: string;
  products: string[];
  status: ConnectionStatus;
  status_message: string | null;
  authentication_methods: string[];
}

/** Thrown by `createConnectSession` when Finch already has a live connection for the customer id. */
export class ConnectionExistsAtFinch extends Error {
  constructor(readonly connection_id: string | null) {
    super('Finch already has a connection for this customer.');
    this.name = 'ConnectionExistsAtFinch';
  }
}

/**
 * Finch's API. Errors are typed: FinchUnavailable (502/504), FinchRateLimited (429),
 * FinchRejected (400, e.g. `invalid_code`), ConnectionExistsAtFinch.
 */
export interface FinchGateway {
  /**
   * Has the client credentials at hand (fetched once per container, then cached). The callback
   * asks before it claims a state, so a secrets fault is answered while the state is still unspent.
   */
  prepare(): Promise<void>;
  createConnectSession(request: ConnectSessionRequest): Promise<FinchSession>;
  createReauthSession(request: ReauthSessionRequest): Promise<FinchSession>;
  /** `POST /auth/token`: never retried (a retry of a consumed code fails and hides the first success). */
  exchangeCode(code: string, redirectUri: string | undefined): Promise<TokenGrant>;
  introspect(accessToken: string): Promise<Introspection>;
  /** `GET /employer/company`: the company's legal name, for the connections page. */
  getCompanyName(accessToken: string): Promise<string | null>;
  /** `POST /disconnect`: revokes every token of the connection at Finch. */
  disconnect(accessToken: string): Promise<void>;
}

/** Verifies a Finch webhook's signature over the raw body; throws `WebhookSignatureInvalid`. */
export interface WebhookVerifier {
  verify(rawBody: string, headers: Record<string, string | undefined>): Promise<void>;
}

export class WebhookSignatureInvalid extends Error {
  constructor() {
    super('The webhook signature is missing, stale or invalid.');
    this.name = 'WebhookSignatureInvalid';
  }
}

export interface Clock { now(): Date }

/** Finch answered 401 for an access token: revoked, or the connection needs reauthentication. */
export class AccessTokenRejected extends Error {
  constructor(readonly finch_code: string | null) {
    super('Finch rejected the access token.');
    this.name = 'AccessTokenRejected';
  }
}

export type FinchDataMethod = 'GET' | 'POST' | 'DELETE';
/** Validated query parameters; lists are sent the way Finch's SDK sends them (`name[]=a&name[]=b`). */
export type FinchQuery = Record<string, string | string[]>;

export interface FinchDataRequest {
  method: FinchDataMethod;
  /** Canonical and allowlisted by the core: `/employer/...`, plain segments only. */
  path: string;
  query: FinchQuery;
  body?: unknown;
  /** Caller headers the core allowed through (never Authorization). */
  headers: Record<string, string>;
  /**
   * Epoch ms by which the call must be over: it is not sent once this has passed, and is cut here
   * when that comes before Finch's own timeout (FinchDeadlineExceeded either way).
   */
  deadline?: number;
}

export interface FinchDataResponse {
  status: number;
  /** Finch's JSON body as it came; null when the answer was not JSON. */
  body: unknown;
  /** Response headers worth passing on (`retry-after`, `finch-request-id`). */
  headers: Record<string, string>;
}

/**
 * Finch's data API with a connection's access token. Answers every HTTP status as data (the proxy
 * returns Finch's status and body); only a failed or timed-out exchange throws (FinchUnavailable).
 * The adapter sets `Authorization` and `Finch-API-Version` itself and refuses a URL whose origin is
 * not Finch's.
 */
export interface FinchDataGateway {
  forward(request: FinchDataRequest, accessToken: string): Promise<FinchDataResponse>;
}
