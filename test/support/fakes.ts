// In-memory fakes of the core's ports, for unit tests and the warm-overhead benchmark. The store
// fake keeps the same conditions as the DynamoDB adapter so core tests mean something.
import { randomUUID } from 'node:crypto';
import type { CoreDeps, Log } from '#core/deps.js';
import { ConnectionExistsAtFinch, FinchRejected, WebhookSignatureInvalid } from '#core/errors.js';
import type { CallbackResult, Connection, ExchangeStash, Flow, SessionRecord } from '#core/model.js';
import type { AuditEntry } from '#core/ports/audit.js';
import type { ConnectionStore, ListQuery, StatusUpdate, StoredConnection, Tombstone } from '#core/ports/connection-store.js';
import type {
  ConnectSessionRequest, FinchGateway, FinchSession, Introspection, ReauthSessionRequest, TokenGrant, WebhookVerifier,
} from '#core/ports/finch.js';
import type { ClaimOutcome, CreateOutcome, NewConnection, ReplaceOutcome, SessionStore } from '#core/ports/session-store.js';
import type { TokenCipher, TokenContext } from '#core/ports/token-cipher.js';
import type { ConnectionChange, WebhookEventRecord, WebhookInbox } from '#core/ports/webhook-inbox.js';

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements SessionStore, ConnectionStore, WebhookInbox {
  sessions = new Map<string, SessionRecord>();
  connections = new Map<string, StoredConnection>();
  owners = new Map<string, string>();
  calls = 0;

  private key = (customerId: string, connectionId: string) => `${customerId}/${connectionId}`;

  audits: AuditEntry[] = [];

  async putSession(session: SessionRecord, audit: AuditEntry) {
    this.calls++;
    if (this.sessions.has(session.state_hash)) throw new Error('session exists');
    this.sessions.set(session.state_hash, clone(session));
    this.audits.push(clone(audit));
  }

  async claimSession(stateHash: string, flow: Flow, nowSeconds: number, customerId?: string, claimId?: string): Promise<ClaimOutcome> {
    this.calls++;
    const session = this.sessions.get(stateHash);
    if (!session || session.status !== 'pending' || session.flow !== flow || session.expires_at <= nowSeconds
      || (customerId !== undefined && session.customer_id !== customerId)) {
      return { claimed: false, session: session ? clone(session) : null };
    }
    session.status = 'claimed';
    if (claimId !== undefined) session.claim_id = claimId;
    return { claimed: true, session: clone(session) };
  }

  async getSession(stateHash: string) {
    this.calls++;
    const session = this.sessions.get(stateHash);
    return session ? clone(session) : null;
  }

  async stashExchange(stateHash: string, stash: ExchangeStash, audit: AuditEntry) {
    this.calls++;
    const session = this.sessions.get(stateHash);
    if (session?.status !== 'claimed') throw new Error('not claimed');
    session.stash = clone(stash);
    this.audits.push(clone(audit));
  }

  async finishSession(stateHash: string, from: 'pending' | 'claimed', result: CallbackResult) {
    this.calls++;
    const session = this.sessions.get(stateHash);
    if (session?.status !== from) return false;
    session.status = result.status === 'error' ? 'failed' : 'completed';
    session.result = clone(result);
    return true;
  }

  async createConnection(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<CreateOutcome> {
    this.calls++;
    const { connection } = input;
    const owner = this.owners.get(connection.connection_id);
    if (owner) return { ok: false, reason: 'owned', owner };
    if (this.sessions.get(stateHash)?.status !== 'claimed') return { ok: false, reason: 'session_not_claimed' };
    this.owners.set(connection.connection_id, connection.customer_id);
    this.connections.set(this.key(connection.customer_id, connection.connection_id), { ...clone(connection), token: clone(input.token) });
    await this.finishSession(stateHash, 'claimed', result);
    this.audits.push(clone(audit));
    return { ok: true };
  }

  async replaceToken(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<ReplaceOutcome> {
    this.calls++;
    const { connection } = input;
    if (this.owners.get(connection.connection_id) !== connection.customer_id) return { ok: false, reason: 'not_owner' };
    const stored = this.connections.get(this.key(connection.customer_id, connection.connection_id));
    if (!stored) return { ok: false, reason: 'missing' };
    if (stored.status === 'disconnected' || stored.status === 'disconnecting') return { ok: false, reason: 'disconnected' };
    if (stored.token && stored.token.token_issued_at >= input.token.token_issued_at) return { ok: false, reason: 'superseded' };
    if (this.sessions.get(stateHash)?.status !== 'claimed') return { ok: false, reason: 'session_not_claimed' };
    Object.assign(stored, {
      token: clone(input.token), token_version: stored.token_version + 1, status: 'connected', status_message: null,
      updated_at: connection.updated_at, products: connection.products, provider_id: connection.provider_id,
    });
    await this.finishSession(stateHash, 'claimed', result);
    this.audits.push(clone(audit));
    return { ok: true };
  }

  async getConnection(customerId: string, connectionId: string) {
    this.calls++;
    const stored = this.connections.get(this.key(customerId, connectionId));
    return stored ? clone(stored) : null;
  }

  async getOwner(connectionId: string) {
    this.calls++;
    return this.owners.get(connectionId) ?? null;
  }

  async listConnections(customerId: string, query: ListQuery) {
    this.calls++;
    const all = [...this.connections.values()]
      .filter((c) => c.customer_id === customerId)
      .filter((c) => (!query.status || c.status === query.status) && (!query.provider_id || c.provider_id === query.provider_id)
        && (!query.entity || c.entity === query.entity))
      .sort((a, b) => b.connected_at.localeCompare(a.connected_at));
    const start = query.cursor ? Number(query.cursor) : 0;
    const page = all.slice(start, start + query.limit).map(({ token: _t, ...c }) => c);
    return { connections: page, next_cursor: start + query.limit < all.length ? String(start + query.limit) : null };
  }

  refreshes = new Map<string, { window: number; count: number }>();
  events = new Map<string, WebhookEventRecord & { applied: boolean }>();

  async takeRefreshSlot(customerId: string, connectionId: string, now: Date, max: number) {
    this.calls++;
    const window = Math.floor(now.getTime() / 60_000);
    const slot = this.refreshes.get(this.key(customerId, connectionId));
    if (slot?.window === window && slot.count >= max) return { ok: false as const, retryAfterSeconds: 60 - (Math.floor(now.getTime() / 1000) % 60) };
    this.refreshes.set(this.key(customerId, connectionId), { window, count: slot?.window === window ? slot.count + 1 : 1 });
    return { ok: true as const };
  }

  private before = new Map<string, Connection['status']>();

  async beginDisconnect(customerId: string, connectionId: string) {
    this.calls++;
    const stored = this.connections.get(this.key(customerId, connectionId));
    if (!stored) return null;
    const old = clone(stored);
    if (stored.status !== 'disconnected') {
      if (!this.before.has(this.key(customerId, connectionId))) this.before.set(this.key(customerId, connectionId), stored.status);
      stored.status = 'disconnecting';
    }
    return old;
  }

  async abortDisconnect(customerId: string, connectionId: string) {
    this.calls++;
    const stored = this.connections.get(this.key(customerId, connectionId));
    const before = this.before.get(this.key(customerId, connectionId));
    if (stored?.status === 'disconnecting' && before) stored.status = before;
    this.before.delete(this.key(customerId, connectionId));
  }

  async finishDisconnect(customerId: string, connectionId: string, tombstone: Tombstone, audit: AuditEntry) {
    this.calls++;
    const stored = this.connections.get(this.key(customerId, connectionId));
    if (!stored || stored.status === 'disconnected') return false;
    Object.assign(stored, { status: 'disconnected', token: null, updated_at: tombstone.disconnected_at }, tombstone);
    this.before.delete(this.key(customerId, connectionId));
    this.audits.push(clone(audit));
    return true;
  }

  async recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry) {
    const updated = this.updateStatus(customerId, connectionId, update, now);
    if (updated) this.audits.push(clone(audit));
    return updated !== null;
  }

  async listAudit(customerId: string, connectionId: string, query: { limit: number; cursor?: string }) {
    this.calls++;
    const all = this.audits.filter((a) => a.customer_id === customerId && a.connection_id === connectionId).reverse();
    const start = query.cursor ? Number(query.cursor) : 0;
    return { entries: all.slice(start, start + query.limit), next_cursor: start + query.limit < all.length ? String(start + query.limit) : null };
  }

  async applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null) {
    this.calls++;
    if (this.events.has(event.event_id)) return 'duplicate' as const;
    const stored = change && this.connections.get(this.key(change.customer_id, change.connection_id));
    const applies = !!stored && stored.status !== 'disconnected' && stored.status !== 'disconnecting';
    if (applies) Object.assign(stored, change!.set, { updated_at: event.received_at });
    if (applies && audit) this.audits.push(clone(audit));
    this.events.set(event.event_id, { ...event, applied: applies });
    return applies ? 'applied' as const : 'not_applied' as const;
  }

  private updateStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date): Connection | null {
    this.calls++;
    const stored = this.connections.get(this.key(customerId, connectionId));
    if (!stored || stored.status === 'disconnected' || stored.status === 'disconnecting') return null;
    Object.assign(stored, Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)), { updated_at: now.toISOString() });
    const { token: _t, ...connection } = clone(stored);
    return connection;
  }
}

/** A fake Finch that issues tokens and records every call. */
export class FakeFinch implements FinchGateway {
  calls: string[] = [];
  grants = new Map<string, TokenGrant>();
  existing = new Map<string, string>();
  exchangeError: Error | null = null;
  introspection: Partial<Introspection> = {};
  prepareError: Error | null = null;

  async prepare() {
    if (this.prepareError) throw this.prepareError;
  }

  async createConnectSession(request: ConnectSessionRequest): Promise<FinchSession> {
    this.calls.push('POST /connect/sessions');
    const existing = this.existing.get(request.customer_id);
    if (existing) throw new ConnectionExistsAtFinch(existing);
    return { session_id: `sess_${randomUUID()}`, connect_url: 'https://connect.example/authorize?session=1' };
  }

  async createReauthSession(request: ReauthSessionRequest): Promise<FinchSession> {
    this.calls.push('POST /connect/sessions/reauthenticate');
    return { session_id: `sess_${request.connection_id}`, connect_url: 'https://connect.example/authorize?session=2' };
  }

  /** Registers a code that exchanges for the given grant. */
  issue(code: string, grant: Partial<TokenGrant> & { connection_id: string; customer_id: string | null }) {
    this.grants.set(code, { access_token: `tok_${randomUUID()}`, provider_id: 'gusto', products: ['company'], ...grant });
  }

  async exchangeCode(code: string): Promise<TokenGrant> {
    this.calls.push('POST /auth/token');
    if (this.exchangeError) throw this.exchangeError;
    const grant = this.grants.get(code);
    if (!grant) throw new FinchRejected('invalid_code', 'Finch refused the authorization code.');
    this.grants.delete(code);
    return grant;
  }

  disconnectError: Error | null = null;
  companyName: string | null = 'Acme Payroll LLC';

  async getCompanyName() {
    this.calls.push('GET /employer/company');
    return this.companyName;
  }

  async disconnect() {
    this.calls.push('POST /disconnect');
    if (this.disconnectError) throw this.disconnectError;
  }

  async introspect(): Promise<Introspection> {
    this.calls.push('GET /introspect');
    return {
      connection_id: 'c', customer_id: null, provider_id: 'gusto', products: ['company'], status: 'connected',
      status_message: null, authentication_methods: ['credential'], ...this.introspection,
    };
  }
}

/** Reversible and context-bound, so tests can see what was stored without real crypto. */
export class FakeCipher implements TokenCipher {
  async encrypt(token: string, context: TokenContext) { return `enc(${context.customer_id}/${context.connection_id}):${token}`; }
  async decrypt(ciphertext: string, context: TokenContext) {
    const prefix = `enc(${context.customer_id}/${context.connection_id}):`;
    if (!ciphertext.startsWith(prefix)) throw new Error('wrong context');
    return ciphertext.slice(prefix.length);
  }
}

/** Accepts a body whose headers carry `finch-signature: valid`. */
export class FakeVerifier implements WebhookVerifier {
  async verify(_rawBody: string, headers: Record<string, string | undefined>) {
    if (headers['finch-signature'] !== 'valid') throw new WebhookSignatureInvalid();
  }
}

export const silentLog: Log = { info() {}, warn() {}, error() {} };

export function fakeDeps(overrides: Partial<CoreDeps> = {}) {
  const store = new MemoryStore();
  const finch = new FakeFinch();
  const deps: CoreDeps = {
    sessions: store,
    connections: store,
    inbox: store,
    finch,
    webhooks: new FakeVerifier(),
    cipher: new FakeCipher(),
    clock: { now: () => new Date() },
    settings: {
      callbackUrl: 'https://api.example/connect/callback',
      allowedReturnOrigins: new Set(['https://app.example']),
      defaultProducts: ['company', 'directory'],
      allowedProducts: new Set(['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement']),
      storeBudgetMs: 500,
    },
    log: silentLog,
    ...overrides,
  };
  return { deps, store, finch };
}
