// In-memory fakes of the three store ports, split as the DynamoDB adapter is
// (functions/adapters/dynamo/): MemorySessionStore, MemoryConnectionStore and MemoryWebhookInbox
// share one MemoryTable, as the adapters share one table. They keep the adapters' conditions, so
// core tests mean something. `calls` counts the requests the core makes.
import { randomUUID } from 'node:crypto';
import type { BaseDeps } from '#core/deps.js';
import type { CallbackResult, Connection, ExchangeStash, Flow, SessionRecord } from '#core/model.js';
import type { AuditEntry, AuditRecord } from '#core/ports/audit.js';
import type {
  CompanyFields, CompanyOutcome, CompanyWriteGuard, ConnectionStore, ListQuery, StatusUpdate, StoredConnection, Tombstone,
} from '#core/ports/connection-store.js';
import type { ClaimOutcome, CreateOutcome, NewConnection, ReplaceOutcome, SessionStore } from '#core/ports/session-store.js';
import type { ConnectionChange, WebhookEventRecord, WebhookInbox } from '#core/ports/webhook-inbox.js';

const clone = <T>(value: T): T => structuredClone(value);

/** What the stores hold; connections and refresh windows are keyed `<customer_id>/<connection_id>`. */
export class MemoryTable {
  sessions = new Map<string, SessionRecord>();
  connections = new Map<string, StoredConnection>();
  owners = new Map<string, string>();
  audits: AuditRecord[] = [];
  refreshes = new Map<string, { window: number; count: number }>();
  events = new Map<string, WebhookEventRecord & { applied: boolean }>();
  /** The first delivery of events about a connection nobody owns, by event id. */
  firstSeen = new Map<string, string>();
  /** The status a disconnect in progress will restore if Finch cannot be reached. */
  beforeDisconnect = new Map<string, Connection['status']>();
  calls = 0;

  key(customerId: string, connectionId: string) { return `${customerId}/${connectionId}`; }
}

/** The three stores of BaseDeps over one table (fresh when none is given). */
export function memoryStores(table = new MemoryTable()): Pick<BaseDeps, 'sessions' | 'connections' | 'inbox'> {
  return { sessions: new MemorySessionStore(table), connections: new MemoryConnectionStore(table), inbox: new MemoryWebhookInbox(table) };
}

export class MemorySessionStore implements SessionStore {
  constructor(private readonly table: MemoryTable) {}

  async putSession(session: SessionRecord, audit: AuditEntry) {
    this.table.calls++;
    if (this.table.sessions.has(session.state_hash)) throw new Error('session exists');
    this.table.sessions.set(session.state_hash, clone(session));
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
  }

  async claimSession(stateHash: string, flow: Flow, nowSeconds: number, customerId?: string, claimId?: string): Promise<ClaimOutcome> {
    this.table.calls++;
    const session = this.table.sessions.get(stateHash);
    if (!session || session.status !== 'pending' || session.flow !== flow || session.expires_at <= nowSeconds
      || (customerId !== undefined && session.customer_id !== customerId)) {
      return { claimed: false, session: session ? clone(session) : null };
    }
    session.status = 'claimed';
    if (claimId !== undefined) session.claim_id = claimId;
    return { claimed: true, session: clone(session) };
  }

  async getSession(stateHash: string) {
    this.table.calls++;
    const session = this.table.sessions.get(stateHash);
    return session ? clone(session) : null;
  }

  async stashExchange(stateHash: string, stash: ExchangeStash, audit: AuditEntry) {
    this.table.calls++;
    const session = this.table.sessions.get(stateHash);
    if (session?.status !== 'claimed') throw new Error('not claimed');
    session.stash = clone(stash);
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
  }

  async finishSession(stateHash: string, from: 'pending' | 'claimed', result: CallbackResult) {
    this.table.calls++;
    const session = this.table.sessions.get(stateHash);
    if (session?.status !== from) return false;
    session.status = result.status === 'error' ? 'failed' : 'completed';
    session.result = clone(result);
    return true;
  }

  async createConnection(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<CreateOutcome> {
    this.table.calls++;
    const { connection } = input;
    const owner = this.table.owners.get(connection.connection_id);
    if (owner) return { ok: false, reason: 'owned', owner };
    if (this.table.sessions.get(stateHash)?.status !== 'claimed') return { ok: false, reason: 'session_not_claimed' };
    this.table.owners.set(connection.connection_id, connection.customer_id);
    this.table.connections.set(this.table.key(connection.customer_id, connection.connection_id), { ...clone(connection), token: clone(input.token) });
    await this.finishSession(stateHash, 'claimed', result);
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    return { ok: true };
  }

  async replaceToken(stateHash: string, input: NewConnection, result: CallbackResult, audit: AuditEntry): Promise<ReplaceOutcome> {
    this.table.calls++;
    const { connection } = input;
    if (this.table.owners.get(connection.connection_id) !== connection.customer_id) return { ok: false, reason: 'not_owner' };
    const stored = this.table.connections.get(this.table.key(connection.customer_id, connection.connection_id));
    if (!stored) return { ok: false, reason: 'missing' };
    if (stored.status === 'disconnected' || stored.status === 'disconnecting') return { ok: false, reason: 'disconnected' };
    if (stored.token && stored.token.token_issued_at >= input.token.token_issued_at) return { ok: false, reason: 'superseded' };
    if (this.table.sessions.get(stateHash)?.status !== 'claimed') return { ok: false, reason: 'session_not_claimed' };
    Object.assign(stored, {
      token: clone(input.token), token_version: stored.token_version + 1, status: 'connected', status_message: null,
      updated_at: connection.updated_at, products: connection.products, provider_id: connection.provider_id,
      entity_ids: connection.entity_ids, connection_type: connection.connection_type,
      // A grant that names no company keeps the one stored (the adapter's write).
      ...(connection.company_id === null ? {} : { company_id: connection.company_id }),
    });
    await this.finishSession(stateHash, 'claimed', result);
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    return { ok: true };
  }
}

export class MemoryConnectionStore implements ConnectionStore {
  constructor(private readonly table: MemoryTable) {}

  async getConnection(customerId: string, connectionId: string) {
    this.table.calls++;
    const stored = this.table.connections.get(this.table.key(customerId, connectionId));
    return stored ? clone(stored) : null;
  }

  async getOwner(connectionId: string) {
    this.table.calls++;
    return this.table.owners.get(connectionId) ?? null;
  }

  async listConnections(customerId: string, query: ListQuery) {
    this.table.calls++;
    const all = [...this.table.connections.values()]
      .filter((c) => c.customer_id === customerId)
      .filter((c) => (!query.status || c.status === query.status) && (!query.provider_id || c.provider_id === query.provider_id)
        && (!query.entity || c.entity === query.entity) && (!query.company_id || c.company_id === query.company_id))
      .sort((a, b) => b.connected_at.localeCompare(a.connected_at));
    const start = query.cursor ? Number(query.cursor) : 0;
    const page = all.slice(start, start + query.limit).map(({ token: _t, ...c }) => c);
    return { connections: page, next_cursor: start + query.limit < all.length ? String(start + query.limit) : null };
  }

  async recordStatus(customerId: string, connectionId: string, update: StatusUpdate, now: Date, audit: AuditEntry) {
    this.table.calls++;
    const stored = this.table.connections.get(this.table.key(customerId, connectionId));
    if (!stored || stored.status === 'disconnected' || stored.status === 'disconnecting') return false;
    Object.assign(stored, Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)), { updated_at: now.toISOString() });
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    return true;
  }

  async recordCompany(customerId: string, connectionId: string, company: CompanyFields, guard: CompanyWriteGuard, now: Date, audit: AuditEntry): Promise<CompanyOutcome> {
    this.table.calls++;
    const stored = this.table.connections.get(this.table.key(customerId, connectionId));
    // The adapter's condition, part by part, in the order its outcome reads them.
    if (!stored) return 'missing';
    if (stored.status === 'disconnected' || stored.status === 'disconnecting') return 'ended';
    if (stored.token?.token_issued_at !== guard.token_issued_at) return 'superseded';
    if (stored.status !== guard.status) return 'moved';
    if (stored.company_name === company.company_name && stored.company_id === company.company_id && stored.manual === company.manual) return 'unchanged';
    Object.assign(stored, clone(company), { updated_at: now.toISOString() });
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    return 'updated';
  }

  async listAudit(customerId: string, connectionId: string, query: { limit: number; cursor?: string }) {
    this.table.calls++;
    const all = this.table.audits.filter((a) => a.customer_id === customerId && a.connection_id === connectionId).reverse();
    const start = query.cursor ? Number(query.cursor) : 0;
    return { entries: all.slice(start, start + query.limit), next_cursor: start + query.limit < all.length ? String(start + query.limit) : null };
  }

  async takeRefreshSlot(customerId: string, connectionId: string, now: Date, max: number) {
    this.table.calls++;
    const window = Math.floor(now.getTime() / 60_000);
    const key = this.table.key(customerId, connectionId);
    const slot = this.table.refreshes.get(key);
    if (slot?.window === window && slot.count >= max) return { ok: false as const, retryAfterSeconds: 60 - (Math.floor(now.getTime() / 1000) % 60) };
    this.table.refreshes.set(key, { window, count: slot?.window === window ? slot.count + 1 : 1 });
    return { ok: true as const };
  }

  async beginDisconnect(customerId: string, connectionId: string) {
    this.table.calls++;
    const key = this.table.key(customerId, connectionId);
    const stored = this.table.connections.get(key);
    if (!stored) return null;
    const old = clone(stored);
    if (stored.status !== 'disconnected') {
      if (!this.table.beforeDisconnect.has(key)) this.table.beforeDisconnect.set(key, stored.status);
      stored.status = 'disconnecting';
    }
    return old;
  }

  async abortDisconnect(customerId: string, connectionId: string) {
    this.table.calls++;
    const key = this.table.key(customerId, connectionId);
    const stored = this.table.connections.get(key);
    const before = this.table.beforeDisconnect.get(key);
    if (stored?.status === 'disconnecting' && before) stored.status = before;
    this.table.beforeDisconnect.delete(key);
  }

  async finishDisconnect(customerId: string, connectionId: string, tombstone: Tombstone, audit: AuditEntry) {
    this.table.calls++;
    const key = this.table.key(customerId, connectionId);
    const stored = this.table.connections.get(key);
    if (!stored || stored.status === 'disconnected') return false;
    Object.assign(stored, { status: 'disconnected', token: null, updated_at: tombstone.disconnected_at }, tombstone);
    this.table.beforeDisconnect.delete(key);
    this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    return true;
  }
}

export class MemoryWebhookInbox implements WebhookInbox {
  constructor(private readonly table: MemoryTable) {}

  async applyWebhookEvent(event: WebhookEventRecord, change: ConnectionChange | null, audit: AuditEntry | null) {
    this.table.calls++;
    if (this.table.events.has(event.event_id)) return 'duplicate' as const;
    const stored = change && this.table.connections.get(this.table.key(change.customer_id, change.connection_id));
    let applies = false;
    if (stored && change?.kind === 'disconnect') {
      // The adapter's tombstone write: from any status but disconnected, only while the token is the one Finch refused.
      if (stored.status !== 'disconnected' && stored.token?.token_issued_at !== change.token_issued_at) return 'token_changed' as const;
      applies = stored.status !== 'disconnected';
      if (applies) Object.assign(stored, { status: 'disconnected', token: null, updated_at: change.tombstone.disconnected_at }, change.tombstone);
    } else if (stored && change?.kind === 'update') {
      applies = stored.status !== 'disconnected' && stored.status !== 'disconnecting';
      if (applies) {
        // undefined is no change, as in the adapter's SET.
        Object.assign(stored, Object.fromEntries(Object.entries(change.set).filter(([, v]) => v !== undefined)), { updated_at: event.received_at });
        const sync = change.initial_sync;
        if (sync) stored.initial_sync_completed_at = { ...stored.initial_sync_completed_at, [sync.sync]: stored.initial_sync_completed_at[sync.sync] ?? sync.at };
      }
    }
    if (applies && audit) this.table.audits.push({ id: randomUUID(), ...clone(audit) });
    this.table.events.set(event.event_id, { ...event, applied: applies });
    return applies ? 'applied' as const : 'not_applied' as const;
  }

  async firstSeen(event: WebhookEventRecord) {
    this.table.calls++;
    const first = this.table.firstSeen.get(event.event_id) ?? event.received_at;
    this.table.firstSeen.set(event.event_id, first);
    return first;
  }
}
