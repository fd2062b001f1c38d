// Item mapping: the domain's records to the table's items and back (layout in ../table.ts). The
// token's ciphertext is read only into a StoredConnection, never into the API's Connection.
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  CallbackResult, Connection, ConnectionStatus, ExchangeStash, Flow, InitialSync, SessionRecord, StoredToken,
} from '#core/model.js';
import type { AuditAction, AuditEntry, AuditRecord } from '#core/ports/audit.js';
import type { StoredConnection } from '#core/ports/connection-store.js';
import type { WebhookEventRecord } from '#core/ports/webhook-inbox.js';
import { CHECK_PARTITION, LIST_INDEX, RECONCILE_INDEX, keys } from '../table.js';

export type Item = Record<string, unknown>;

/** Finch retries a webhook for days; its dedupe record outlives that. */
const WEBHOOK_TTL_SECONDS = 30 * 24 * 60 * 60;
/** TTL deletion is lazy clean-up only: every claim checks `expires_at` itself. */
const SESSION_TTL_GRACE_SECONDS = 7 * 24 * 60 * 60;

/** The one mapper from a stored item to the API's connection: token, keys and anything else stay behind. */
export function toConnection(item: Item): Connection {
  return {
    connection_id: item.connection_id as string,
    customer_id: item.customer_id as string,
    entity: (item.entity as string | null | undefined) ?? null,
    finch_customer_id: item.finch_customer_id as string,
    provider_id: item.provider_id as string,
    company_name: (item.company_name as string | null | undefined) ?? null,
    // Items written before the identity fields existed read as "Finch did not say".
    company_id: (item.company_id as string | null | undefined) ?? null,
    entity_ids: [...((item.entity_ids as Iterable<string> | undefined) ?? [])],
    connection_type: (item.connection_type as Connection['connection_type'] | undefined) ?? null,
    manual: (item.manual as boolean | null | undefined) ?? null,
    last_successful_sync: (item.last_successful_sync as string | null | undefined) ?? null,
    products: [...((item.products as Iterable<string> | undefined) ?? [])],
    status: item.status as ConnectionStatus,
    status_message: (item.status_message as string | null | undefined) ?? null,
    authentication_methods: [...((item.authentication_methods as Iterable<string> | undefined) ?? [])],
    connected_at: item.connected_at as string,
    updated_at: item.updated_at as string,
    last_synced_at: (item.last_synced_at as string | null | undefined) ?? null,
    initial_sync_completed_at: {
      org: (item[initialSyncAttribute('org')] as string | undefined) ?? null,
      payroll: (item[initialSyncAttribute('payroll')] as string | undefined) ?? null,
    },
    token_version: Number(item.token_version),
  };
}

/**
 * Each initial sync is an attribute of its own on the connection item, absent until Finch reports
 * it (not a map: an item written before the map existed could not be updated inside it).
 */
export const initialSyncAttribute = (sync: InitialSync) => `initial_sync_${sync}_completed_at`;

export function toStored(item: Item): StoredConnection {
  const token: StoredToken | null = typeof item.token_ciphertext === 'string'
    ? { ciphertext: item.token_ciphertext, token_issued_at: Number(item.token_issued_at) }
    : null;
  return { ...toConnection(item), token };
}

export function connectionItem(connection: Connection, token: StoredToken): Item {
  const { initial_sync_completed_at: _flattened, ...fields } = toConnection(connection as unknown as Item);
  const syncs = connection.initial_sync_completed_at;
  return compact({
    ...keys.connection(connection.customer_id, connection.connection_id),
    [LIST_INDEX.partitionKey]: keys.listPartition(connection.customer_id),
    [LIST_INDEX.sortKey]: keys.listSort(connection.connected_at, connection.connection_id),
    // In the reconciler's queue from the start, behind every connection checked before it connected.
    [RECONCILE_INDEX.partitionKey]: CHECK_PARTITION,
    [RECONCILE_INDEX.sortKey]: connection.connected_at,
    ...fields,
    // Only the syncs Finch reported: the webhook's if_not_exists keeps the first report.
    ...Object.fromEntries(Object.entries(syncs).filter(([, at]) => at !== null).map(([sync, at]) => [initialSyncAttribute(sync as InitialSync), at])),
    token_ciphertext: token.ciphertext,
    token_issued_at: token.token_issued_at,
  });
}

/** Invariant 1: the one item that says whose a connection_id is. */
export function ownerItem(connection: Connection): Item {
  return { ...keys.owner(connection.connection_id), connection_id: connection.connection_id, customer_id: connection.customer_id, created_at: connection.connected_at };
}

export function toSession(item: Item): SessionRecord {
  const session: SessionRecord = {
    state_hash: item.state_hash as string,
    session_id: item.session_id as string,
    status: item.status as SessionRecord['status'],
    kind: item.kind as SessionRecord['kind'],
    flow: item.flow as Flow,
    customer_id: item.customer_id as string,
    entity: (item.entity as string | null | undefined) ?? null,
    finch_customer_id: item.finch_customer_id as string,
    connection_id: (item.connection_id as string | null | undefined) ?? null,
    products: [...((item.products as Iterable<string> | undefined) ?? [])],
    return_to: (item.return_to as string | null | undefined) ?? null,
    expires_at: Number(item.expires_at),
    created_at: item.created_at as string,
  };
  if (typeof item.claim_id === 'string') session.claim_id = item.claim_id;
  if (item.stash) session.stash = item.stash as ExchangeStash;
  if (item.result) session.result = item.result as CallbackResult;
  return session;
}

export function sessionItem(session: SessionRecord): Item {
  return compact({
    ...keys.session(session.state_hash),
    ...session,
    ttl: session.expires_at + SESSION_TTL_GRACE_SECONDS,
  });
}

/**
 * `SET #a = :a, …` for the fields that are defined (null is a value, undefined is no change), each
 * name aliased so a reserved word (`status`) fits: the parts of an update of a connection item.
 */
export function setFields(fields: Record<string, unknown>): { sets: string[]; names: Record<string, string>; values: Item } {
  const sets: string[] = [];
  const names: Record<string, string> = {};
  const values: Item = {};
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  return { sets, names, values };
}

/** An append-only audit entry as one more item of the transaction that makes the change. */
export function auditPut(tableName: string, entry: AuditEntry) {
  return { Put: {
    TableName: tableName,
    Item: compact({
      pk: keys.auditPartition(entry.customer_id, entry.connection_id),
      sk: `${entry.at}#${randomBytes(6).toString('hex')}`,
      // The entry's own id: the dedupe key of the event the stream makes of it.
      id: randomUUID(),
      ...entry,
    }),
    ConditionExpression: 'attribute_not_exists(pk)',
  } };
}

export function toAuditRecord(item: Item): AuditRecord {
  return {
    // Entries written before ids existed are named by their sort key, unique in their partition.
    id: (item.id as string | undefined) ?? `${item.pk as string}/${item.sk as string}`,
    action: item.action as AuditAction,
    actor: item.actor as string,
    customer_id: item.customer_id as string,
    connection_id: (item.connection_id as string | null | undefined) ?? null,
    at: item.at as string,
    ...(item.subject ? { subject: item.subject as AuditRecord['subject'] } : {}),
    details: (item.details as AuditRecord['details']) ?? {},
  };
}

/** A webhook's dedupe record; `applied` says whether its change reached the connection. */
export function webhookEventItem(event: WebhookEventRecord, applied: boolean): Item {
  return compact({
    ...keys.webhookEvent(event.event_id), ...event, applied,
    ttl: Math.floor(Date.parse(event.received_at) / 1000) + WEBHOOK_TTL_SECONDS,
  });
}

/** Drops undefined values, so the stores work with a document client of any marshalling options. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (typeof value !== 'object' || value === null || value.constructor !== Object) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, compact(v)]),
  ) as T;
}
