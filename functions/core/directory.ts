// GET /directory (seed 001, "repeating employees"): the customer's people across all its connected
// connections, one row per person. Read through to Finch on every call (nothing is stored), within
// the request's deadline, then reconciled into people (./people.ts).
import type { Connection } from './model.js';
import {
  ConnectionUnauthorized, FinchDeadlineExceeded, FinchRateLimited, FinchUnavailable, InvalidRequest, ReauthRequired,
} from './errors.js';
import type { FinchDataResponse, FinchQuery } from './ports/finch-data.js';
import { type ProxyDeps, lazyAccessToken, rejectUnauthorized, usableConnection } from './proxy.js';
import { once } from './once.js';
import { type DirectoryRow, type PersonRecord, compare, reconcile } from './people.js';
import * as z from './zod.js';

export type SkipReason =
  | 'reauth_required' | 'not_connected' | 'data_not_ready' | 'connection_unauthorized'
  | 'finch_rate_limited' | 'finch_unavailable' | 'finch_rejected'
  /** The request's time ran out before this connection's people were all read. */
  | 'deadline_exceeded';

export interface DirectoryPage {
  people: DirectoryRow[];
  next_cursor: string | null;
  /** Connections whose people are missing from this answer, and why. */
  skipped: Array<{ connection_id: string; reason: SkipReason }>;
  /**
   * How old the merged data is: the oldest `Finch-Data-Retrieved` (when Finch retrieved the data
   * from the provider, "Headers") of the answers whose people were merged, ISO 8601; a skipped
   * connection adds nothing. Null when no such answer carried one.
   */
  oldest_data_retrieved_at: string | null;
}


const DIRECTORY_PAGE = 100;
/** Finch's batch reads take up to 100 requests. */
const INDIVIDUAL_BATCH = 100;
/** Bounds one connection's directory (100 pages of 100) so a runaway paging cannot spin. */
const MAX_DIRECTORY_PAGES = 100;
const CONCURRENCY = 4;
/**
 * The time the function keeps after the directory's deadline: in-flight Finch calls are cut at the
 * deadline, but a read may be inside a DynamoDB or KMS call then, and the rows must still be
 * reconciled and sent. The handler's deadline is the Lambda's remaining time minus this.
 */
export const DIRECTORY_RESERVE_MS = 3000;

/**
 * Reads every connection's people and reconciles them. No Finch call starts at or after `deadline`
 * (epoch ms) and none runs past it: the connections not finished by then are `skipped` with
 * `deadline_exceeded`, and the people gathered are answered.
 */
export async function readDirectory(
  deps: ProxyDeps, customerId: string, page: { limit: number; cursor?: string }, deadline: number,
): Promise<DirectoryPage> {
  const offset = page.cursor === undefined ? 0 : decodeCursor(page.cursor);
  const connections = await allConnections(deps, customerId);
  const skipped: DirectoryPage['skipped'] = [];
  const records: PersonRecord[] = [];
  let oldest: number | null = null;
  await forEachLimited(connections, CONCURRENCY, async (connection) => {
    try {
      const read = await readPeople(deps, customerId, connection, deadline);
      records.push(...read.people);
      oldest = older(oldest, read.retrieved);
    } catch (error) {
      const reason = skipReason(error);
      skipped.push({ connection_id: connection.connection_id, reason });
      deps.log.warn('directory skipped a connection', { connection_id: connection.connection_id, reason });
    }
  });
  const rows = reconcile(records);
  const end = offset + page.limit;
  return {
    people: rows.slice(offset, end),
    next_cursor: end < rows.length ? encodeCursor(end) : null,
    skipped: skipped.sort((a, b) => compare(a.connection_id, b.connection_id)),
    oldest_data_retrieved_at: oldest === null ? null : new Date(oldest).toISOString(),
  };
}

/** The earlier of two epoch-ms times, either possibly unknown. */
const older = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/** Finch-Data-Retrieved as epoch ms; absent or not a date: null. */
function retrievedAt(response: FinchDataResponse): number | null {
  const value = response.headers['finch-data-retrieved'];
  const at = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

/** All the customer's connections but tombstones: disconnected ones are gone, not skipped. */
async function allConnections(deps: ProxyDeps, customerId: string): Promise<Connection[]> {
  const all: Connection[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.connections.listConnections(customerId, { limit: 100, cursor });
    all.push(...page.connections);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return all.filter((connection) => connection.status !== 'disconnected' && connection.status !== 'disconnecting');
}

class Skip extends Error {
  constructor(readonly reason: SkipReason) { super(reason); this.name = 'Skip'; }
}

/** One connection's people, and the oldest retrieval time of the answers they came from. */
async function readPeople(
  deps: ProxyDeps, customerId: string, connection: Connection, deadline: number,
): Promise<{ people: PersonRecord[]; retrieved: number | null }> {
  if (connection.status !== 'connected' && connection.status !== 'reauth') throw new Skip('not_connected');
  const timeIsUp = () => deps.clock.now().getTime() >= deadline;
  if (timeIsUp()) throw new Skip('deadline_exceeded');
  const stored = await usableConnection(deps, customerId, connection.connection_id);
  // Decrypted at the first call the budget grants, once for all the connection's calls and entities.
  const accessToken = lazyAccessToken(deps, stored).source;
  let retrieved: number | null = null;
  const call: FinchCall = async (method, path, query, body) => {
    if (timeIsUp()) throw new Skip('deadline_exceeded');
    const response = await deps.finchData.forward({ method, path, query, body, headers: {}, deadline }, accessToken);
    deps.log.info('finch proxy call', { connection_id: connection.connection_id, method, template: path, status: response.status, via: 'directory' });
    await rejectUnauthorized(deps, stored, response);
    if (response.status === 200) retrieved = older(retrieved, retrievedAt(response));
    return response;
  };

  const people: PersonRecord[] = [];
  // Finch's multi-entity mode: each data request names exactly one of the token's entities
  // (`entity_ids`, "Provide exactly one entity ID per request", the SDK's DirectoryListParams), so
  // each entity is read on its own. A single-entity connection names none, as before.
  const entities = connection.entity_ids.length > 1 ? connection.entity_ids.map((id) => ({ entity_ids: [id] })) : [{}];
  for (const entity of entities) {
    people.push(...await readEntityPeople(connection.connection_id, call, entity));
  }
  return { people, retrieved };
}

type FinchCall = (method: 'GET' | 'POST', path: string, query: FinchQuery, body?: unknown) => Promise<FinchDataResponse>;

/** One entity's people (the whole connection's when `entity` names none): the directory's pages, then their details in batches. */
async function readEntityPeople(connectionId: string, call: FinchCall, entity: FinchQuery): Promise<PersonRecord[]> {
  const entries: DirectoryEntry[] = [];
  for (let pageNo = 0; pageNo < MAX_DIRECTORY_PAGES; pageNo++) {
    const response = await call('GET', '/employer/directory', { limit: String(DIRECTORY_PAGE), offset: String(entries.length), ...entity });
    const page = parseOk(shapes().directory, response);
    entries.push(...page.individuals);
    const total = page.paging?.count ?? entries.length;
    if (page.individuals.length === 0 || entries.length >= total) break;
  }

  const details = new Map<string, IndividualBody>();
  for (let start = 0; start < entries.length; start += INDIVIDUAL_BATCH) {
    const batch = entries.slice(start, start + INDIVIDUAL_BATCH);
    const response = await call('POST', '/employer/individual', entity, { requests: batch.map((entry) => ({ individual_id: entry.id })) });
    // Without the individual product the directory still lists names; those rows just cannot merge.
    if (response.status === 403) break;
    for (const answer of parseOk(shapes().individuals, response).responses) {
      if ((answer.code ?? 200) === 200 && answer.body) details.set(answer.individual_id, answer.body);
    }
  }

  return entries.map((entry) => {
    const detail = details.get(entry.id);
    return {
      connection_id: connectionId,
      individual_id: entry.id,
      first_name: detail?.first_name ?? entry.first_name ?? null,
      last_name: detail?.last_name ?? entry.last_name ?? null,
      dob: detail?.dob ?? null,
      emails: (detail?.emails ?? []).map((email) => email?.data).filter((data): data is string => typeof data === 'string'),
    };
  });
}

// Finch's shapes, loosely: unknown fields are dropped, missing optional ones are fine.
function finchShapes() {
  const name = z.nullish(z.string().check(z.maxLength(256)));
  const entry = z.object({ id: z.string().check(z.minLength(1), z.maxLength(128)), first_name: name, last_name: name });
  const individual = z.object({
    first_name: name,
    last_name: name,
    dob: z.nullish(z.string().check(z.maxLength(32))),
    emails: z.nullish(z.array(z.nullish(z.object({ data: z.nullish(z.string().check(z.maxLength(320))) })))),
  });
  return {
    directory: z.object({
      paging: z.nullish(z.object({ count: z.nullish(z.number()) })),
      individuals: z.array(entry),
    }),
    individuals: z.object({
      responses: z.array(z.object({ individual_id: z.string(), code: z.nullish(z.number()), body: z.optional(z.catch(z.nullable(individual), null)) })),
    }),
  };
}
/** Built on the first GET /directory: the proxy's other routes, in the same function, never parse them. */
const shapes = once(finchShapes);
type Shapes = ReturnType<typeof finchShapes>;
type DirectoryEntry = z.infer<Shapes['directory']>['individuals'][number];
type IndividualBody = NonNullable<z.infer<Shapes['individuals']>['responses'][number]['body']>;

function parseOk<T>(schema: z.ZodMiniType<T>, response: FinchDataResponse): T {
  if (response.status === 202) throw new Skip('data_not_ready');
  if (response.status === 429) throw new Skip('finch_rate_limited');
  if (response.status >= 500) throw new Skip('finch_unavailable');
  if (response.status !== 200) throw new Skip('finch_rejected');
  const parsed = schema.safeParse(response.body);
  if (!parsed.success) throw new Skip('finch_unavailable');
  return parsed.data;
}

function skipReason(error: unknown): SkipReason {
  if (error instanceof Skip) return error.reason;
  if (error instanceof ReauthRequired) return 'reauth_required';
  if (error instanceof FinchDeadlineExceeded) return 'deadline_exceeded';
  if (error instanceof FinchRateLimited) return 'finch_rate_limited';
  if (error instanceof FinchUnavailable) return 'finch_unavailable';
  if (error instanceof ConnectionUnauthorized) return 'connection_unauthorized';
  // A store or cipher fault is not one connection's problem: fail the request.
  throw error;
}

// ---- Paging --------------------------------------------------------------------------------

/** The position in the merged, sorted list: opaque to callers, and holding no names. */
function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ v: 1, offset })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; offset?: unknown };
    if (parsed.v === 1 && Number.isInteger(parsed.offset) && (parsed.offset as number) > 0 && (parsed.offset as number) <= 1_000_000) {
      return parsed.offset as number;
    }
  } catch {
    // fall through
  }
  throw new InvalidRequest('The cursor is not one this API returned.', [{ path: 'cursor', message: 'invalid cursor' }]);
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
