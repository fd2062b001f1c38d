// The employer's name without a slower callback (issue 15): the consumer of the events
// `connection.connected`, `connection.reauthenticated` and the org data's
// `connection.initial_sync_completed` (ENRICHING_EVENTS; functions/enrich-company/handler.ts) reads,
// with the connection's stored token, Finch's `/introspect` (company_id, manual) and
// `/employer/company` (the legal name), and writes them on the connection in one conditional
// transaction with a `company_updated` audit entry (whose event is connection.company_updated).
//
// The write never revives an ended connection and never lands once the token it used is no longer
// the stored one, so a disconnect or a reauthentication racing it wins. Events come at least once:
// a redelivery that finds what Finch says already stored writes nothing (no second entry, no
// second event).
import { subjectOf } from './audit-subject.js';
import type { BaseDeps } from './deps.js';
import { AccessTokenRejected, FinchOperationRefused, FinchRejected } from './errors.js';
import type { ConnectionEventType } from './events.js';
import { type InitialSync, isEnded } from './model.js';
import type { AuditEntry } from './ports/audit.js';
import type { CompanyFields, StoredConnection } from './ports/connection-store.js';
import type { FinchGateway } from './ports/finch.js';

/**
 * The events worth reading the company for: a new or renewed token, and the org data's initial sync
 * (an assisted or pending connection has no company at connect: Finch's `/employer/company` answers
 * once the org data is synced; Finch's job-completion webhook says when,
 * https://developer.tryfinch.com/developer-resources/Webhooks, and Data-Syncs). The stack's rule
 * pattern (lib/constructs/company-enrichment.ts), the consumer's schema and the local subscription
 * are all made of this list, so they cannot drift.
 */
export const ENRICHING_EVENTS = [
  { type: 'connection.connected' },
  { type: 'connection.reauthenticated' },
  { type: 'connection.initial_sync_completed', reason: 'org' },
] as const satisfies ReadonlyArray<{ type: ConnectionEventType; reason?: InitialSync }>;

/** The types of ENRICHING_EVENTS. */
export const ENRICHED_EVENT_TYPES = [...new Set(ENRICHING_EVENTS.map((event) => event.type))] as Array<(typeof ENRICHING_EVENTS)[number]['type']>;

/** Whether an event's type (and reason, where ENRICHING_EVENTS names one) is one enrichment reads the company for. */
export function enrichesCompany(detail: { type: string; reason?: string | null }): boolean {
  return ENRICHING_EVENTS.some((event) => event.type === detail.type && (!('reason' in event) || event.reason === detail.reason));
}

/**
 * Deliveries of one event before it is given up to the dead-letter queue: the enrichment queue's
 * `maxReceiveCount` (lib/constructs/company-enrichment.ts) and the local bus subscription's attempts
 * (local/enrich-company.ts). A delivery the Finch budget refused counts as one, so this is many: a
 * burst of connects waits its turn over several refusals, each hidden until the budget has room.
 */
export const ENRICHMENT_ATTEMPTS = 20;

/**
 * The store, the token cipher and Finch's two bearer calls: no client credentials (the function
 * holds none, functions/adapters/container.ts) and no session settings.
 */
export type EnrichmentDeps = Pick<BaseDeps, 'connections' | 'cipher' | 'clock' | 'log'> & {
  finch: Pick<FinchGateway, 'introspect' | 'getCompanyName'>;
};

export type EnrichmentOutcome =
  /** Written, with its company_updated entry. */
  | 'updated'
  /** What Finch says is what is stored (a redelivery, or nothing new): nothing written. */
  | 'unchanged'
  /** No such connection of this customer. */
  | 'missing'
  /** Disconnecting or disconnected: never revived. */
  | 'ended'
  /** A newer token was stored meanwhile: its own connection.reauthenticated event reads the company with it. */
  | 'superseded'
  /** Finch refused the token (401): nothing recorded, the proxy and refresh own reauth_required. */
  | 'token_refused';

/** A status change between our read and our write makes us read again; more than this many in a row is left to the event's retry. */
const MAX_WRITES = 3;

/**
 * Reads the connection's company from Finch and records it. Throws what is worth retrying (Finch
 * unavailable, timed out or rate limited; a store or key-service fault): the event is delivered
 * again. Answers the outcome otherwise, a refused token included.
 */
/** `detail`: the event's (functions/core/events.ts ConnectionEventDetail); only the connection it names is read. */
export async function enrichCompany(deps: EnrichmentDeps, detail: { customer_id: string; connection_id: string }): Promise<EnrichmentOutcome> {
  const { customer_id: customerId, connection_id: connectionId } = detail;
  let stored = await deps.connections.getConnection(customerId, connectionId);
  const gone = whyNot(stored);
  if (gone) return gone;
  const token = stored!.token!;
  const accessToken = await deps.cipher.decrypt(token.ciphertext, { customer_id: customerId, connection_id: connectionId });
  const said = await readCompany(deps, accessToken, connectionId);
  if (said === null) {
    deps.log.warn('Finch refused the token while reading the company; nothing recorded', { connection_id: connectionId, customer_id: customerId });
    return 'token_refused';
  }
  for (let write = 1; ; write++) {
    const current = stored!;
    // What Finch did not say (a company not readable yet, an older answer without `manual`) keeps what is stored.
    const company: CompanyFields = {
      company_name: said.company_name ?? current.company_name,
      company_id: said.company_id ?? current.company_id,
      manual: said.manual ?? current.manual,
    };
    if (sameCompany(current, company)) return 'unchanged';
    const now = deps.clock.now();
    const outcome = await deps.connections.recordCompany(customerId, connectionId, company, {
      token_issued_at: token.token_issued_at, status: current.status,
    }, now, companyEntry(current, company, now));
    // `moved`: the status changed between our read and our write, so the entry's subject would not
    // be the connection as the write left it. Read again and write with what Finch said.
    if (outcome !== 'moved') return outcome;
    if (write >= MAX_WRITES) throw new Error('The connection\'s status kept changing while its company was being recorded.');
    stored = await deps.connections.getConnection(customerId, connectionId);
    const ended = whyNot(stored);
    if (ended) return ended;
    if (stored!.token!.token_issued_at !== token.token_issued_at) return 'superseded';
  }
}

/** Why a stored connection cannot be enriched, or null when it can. */
function whyNot(stored: StoredConnection | null): 'missing' | 'ended' | null {
  if (!stored) return 'missing';
  return !stored.token || isEnded(stored.status) ? 'ended' : null;
}

/**
 * `/introspect`, then `/employer/company` when the token can read it: Finch's Permissions page
 * (https://developer.tryfinch.com/api-reference/development-guides/Permissions) puts that endpoint
 * under the `company` product, and a connection that is not `connected` answers it with 202 (data
 * not ready) or an error. Null when Finch refuses the token.
 */
async function readCompany(deps: EnrichmentDeps, accessToken: string, connectionId: string): Promise<CompanyFields | null> {
  try {
    const introspection = await deps.finch.introspect(accessToken);
    const readable = introspection.status === 'connected' && introspection.products.includes('company');
    return {
      company_name: readable ? await readLegalName(deps, accessToken, connectionId) : null,
      company_id: introspection.company_id,
      manual: introspection.manual,
    };
  } catch (error) {
    // Any other refusal of /introspect is thrown, so the message comes back: the one Finch documents
    // for it is 402 payment_required (every call of this application, until its invoices are
    // settled), whose message the dead-letter queue keeps to be redriven then.
    if (error instanceof AccessTokenRejected) return null;
    throw error;
  }
}

/**
 * A refusal of the company read will not change on a retry: the name stays unknown, and the message
 * is done (a retry would spend the Finch budget to hear the same, then end in the dead-letter queue).
 * Finch refuses the request (400/404/422), or the call for good (FinchOperationRefused: the connected
 * admin account lacks permissions, the product was not granted, the provider does not support it).
 */
async function readLegalName(deps: EnrichmentDeps, accessToken: string, connectionId: string): Promise<string | null> {
  try {
    return await deps.finch.getCompanyName(accessToken);
  } catch (error) {
    if (!(error instanceof FinchRejected)) throw error;
    const finchError = error instanceof FinchOperationRefused ? { finch_error: error.finch_error } : {};
    deps.log.warn('Finch refused the company read; the name stays unknown', { connection_id: connectionId, error: error.name, ...finchError });
    return null;
  }
}

function sameCompany(stored: CompanyFields, company: CompanyFields): boolean {
  return stored.company_name === company.company_name && stored.company_id === company.company_id && stored.manual === company.manual;
}

function companyEntry(stored: StoredConnection, company: CompanyFields, now: Date): AuditEntry {
  return {
    action: 'company_updated',
    // What was written is what Finch said.
    actor: 'finch',
    customer_id: stored.customer_id,
    connection_id: stored.connection_id,
    at: now.toISOString(),
    subject: subjectOf(stored, { company_id: company.company_id }),
    details: { company_name: company.company_name, manual: company.manual },
  };
}
