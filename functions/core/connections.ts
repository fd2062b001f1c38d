// Reading connections, token-free; refreshing one's status from Finch; disconnecting one.
import type { Caller, CoreDeps } from './deps.js';
import { AccessTokenRejected, ConnectionNotFound, FinchOperationRefused, FinchRejected, RefreshRateLimited } from './errors.js';
import { type Connection, isEnded } from './model.js';
import type { ListQuery, StatusUpdate, StoredConnection } from './ports/connection-store.js';
import type { FinchGateway } from './ports/finch.js';
import { subjectOf } from './audit-subject.js';

/** At most 6 refreshes a minute per connection; connecting does not count (docs/ARCHITECTURE.md). */
export const REFRESHES_PER_MINUTE = 6;

export async function listConnections(deps: CoreDeps, customerId: string, query: ListQuery) {
  return deps.connections.listConnections(customerId, query);
}

export async function getConnection(deps: CoreDeps, customerId: string, connectionId: string): Promise<Connection> {
  return withoutToken(await findConnection(deps, customerId, connectionId));
}

/**
 * Asks Finch (`/introspect`, and `/employer/company` for the name) for the connection's current
 * status and stores it. A disconnected connection has no token left and is answered as it is.
 */
export async function refreshConnection(deps: CoreDeps, caller: Caller, connectionId: string): Promise<Connection> {
  const customerId = caller.customer_id;
  const stored = await findConnection(deps, customerId, connectionId);
  if (!stored.token || isEnded(stored.status)) return withoutToken(stored);
  const slot = await deps.connections.takeRefreshSlot(customerId, connectionId, deps.clock.now(), REFRESHES_PER_MINUTE);
  if (!slot.ok) throw new RefreshRateLimited(slot.retryAfterSeconds);
  const accessToken = await deps.cipher.decrypt(stored.token.ciphertext, { customer_id: customerId, connection_id: connectionId });
  const update = await readStatus(deps, accessToken, stored);
  if (update.status === 'connected') update.company_name = await readCompanyName(deps, accessToken, connectionId) ?? stored.company_name;
  const now = deps.clock.now();
  const refreshed = await deps.connections.recordStatus(customerId, connectionId, update, now, {
    action: 'refreshed', actor: caller.actor, customer_id: customerId, connection_id: connectionId, at: now.toISOString(),
    subject: subjectOf(stored, update),
    details: { status: update.status, previous_status: stored.status },
  });
  // A concurrent disconnect won the race: answer what is stored now.
  if (!refreshed) return getConnection(deps, customerId, connectionId);
  const defined = Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined));
  return { ...withoutToken(stored), ...defined, updated_at: now.toISOString() };
}

/** What a token Finch no longer accepts means for its connection: it needs reauthentication. */
export const TOKEN_REFUSED: StatusUpdate = { status: 'reauth', status_message: 'Finch no longer accepts this connection\'s token.' };

/** The status Finch reports for a token; a token Finch no longer accepts needs reauthentication. */
export async function readStatus(deps: CoreDeps, accessToken: string, stored: KnownStatus): Promise<StatusUpdate> {
  return await introspectStatus(deps, accessToken, stored) ?? TOKEN_REFUSED;
}

/** The connection as stored: what a status Finch reports that we do not know leaves it at. */
export type KnownStatus = Pick<StoredConnection, 'connection_id' | 'status'>;

/**
 * The status Finch reports for a token (`/introspect`), with what it says of the connection
 * (`manual`, `connection_status.last_successful_sync`, and `company_id` when it has one: a
 * company_id Finch leaves out keeps the stored one), or null when Finch refuses the token (401).
 * A status value we do not know (functions/core/finch-status.ts) keeps the stored status.
 */
export async function introspectStatus(
  deps: Pick<CoreDeps, 'log'> & { finch: Pick<FinchGateway, 'introspect'> }, accessToken: string, stored: KnownStatus,
): Promise<StatusUpdate | null> {
  try {
    const introspection = await deps.finch.introspect(accessToken);
    if (introspection.status === null) {
      deps.log.warn('Finch reported a connection status this service does not know; the stored status is kept', {
        connection_id: stored.connection_id, finch_status: introspection.finch_status, status: stored.status,
      });
    }
    return {
      status: introspection.status ?? stored.status,
      status_message: introspection.status_message,
      authentication_methods: introspection.authentication_methods,
      products: introspection.products,
      manual: introspection.manual,
      last_successful_sync: introspection.last_successful_sync,
      ...(introspection.company_id === null ? {} : { company_id: introspection.company_id }),
    };
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    return null;
  }
}

/** The company name is a nicety: a failure to read it keeps the name we had. */
async function readCompanyName(deps: CoreDeps, accessToken: string, connectionId: string): Promise<string | null> {
  try {
    return await deps.finch.getCompanyName(accessToken);
  } catch (error) {
    deps.log.warn('could not read the company name', { connection_id: connectionId, error: (error as Error).name });
    return null;
  }
}

/**
 * DELETE: `disconnecting` (conditional) → Finch `POST /disconnect` → `disconnected`, ciphertext
 * deleted, tombstone kept. Repeating it is harmless. If Finch cannot be reached the connection is
 * restored and the error surfaces (502), so a retry can finish.
 *
 * Two DELETEs at once both go to Finch (the second finds `disconnecting` and goes on, as a retry
 * does). One may fail and restore the status while the other is still waiting for Finch; once
 * Finch has disconnected the connection, the finishing write therefore applies from whatever
 * status it finds except `disconnected`, so a 204 always leaves the item disconnected.
 */
export async function disconnectConnection(deps: CoreDeps, caller: Caller, connectionId: string): Promise<void> {
  const customerId = caller.customer_id;
  const before = await deps.connections.beginDisconnect(customerId, connectionId, deps.clock.now());
  if (!before) throw new ConnectionNotFound();
  if (before.status === 'disconnected') return;
  let confirmed = false;
  if (before.token) {
    try {
      const accessToken = await deps.cipher.decrypt(before.token.ciphertext, { customer_id: customerId, connection_id: connectionId });
      await deps.finch.disconnect(accessToken);
      confirmed = true;
    } catch (error) {
      // Finch says the token is already invalid, or refuses the revocation for a reason no retry
      // changes (403 permissions, 501): nothing we can revoke there, finish here. Not for 402
      // payment_required: once the invoices are paid a retry revokes it, so the token is kept.
      const unpaid = error instanceof FinchOperationRefused && error.finch_error === 'payment_required';
      if (unpaid || !(error instanceof AccessTokenRejected || error instanceof FinchRejected)) {
        await deps.connections.abortDisconnect(customerId, connectionId, deps.clock.now());
        throw error;
      }
      deps.log.warn('Finch refused the revocation; disconnecting locally', { connection_id: connectionId, error: error.name });
    }
  }
  const at = deps.clock.now().toISOString();
  const finished = await deps.connections.finishDisconnect(customerId, connectionId, {
    disconnected_by: caller.actor,
    disconnected_at: at,
    revocation_confirmed: confirmed,
  }, {
    action: 'disconnected', actor: caller.actor, customer_id: customerId, connection_id: connectionId, at,
    subject: subjectOf(before, { status: 'disconnected' }),
    details: { revocation_confirmed: confirmed },
  });
  // Not applied: another DELETE finished first. A 204 must mean `disconnected`, so read the truth.
  if (!finished) {
    const now = await deps.connections.getConnection(customerId, connectionId);
    if (!now) throw new ConnectionNotFound();
    if (now.status !== 'disconnected') throw new Error(`The disconnect's final write did not apply and the connection is ${now.status}.`);
    return;
  }
  deps.log.info('connection disconnected', { connection_id: connectionId, customer_id: customerId, revocation_confirmed: confirmed });
  deps.metrics.add('Disconnects', { Revocation: confirmed ? 'confirmed' : 'unconfirmed' });
}

/** The owner's view of a connection's audit trail, newest first. */
export async function listAuditTrail(deps: CoreDeps, customerId: string, connectionId: string, query: { limit: number; cursor?: string }) {
  await findConnection(deps, customerId, connectionId);
  return deps.connections.listAudit(customerId, connectionId, query);
}

async function findConnection(deps: CoreDeps, customerId: string, connectionId: string): Promise<StoredConnection> {
  const stored = await deps.connections.getConnection(customerId, connectionId);
  if (!stored) throw new ConnectionNotFound();
  return stored;
}

function withoutToken({ token: _token, ...connection }: StoredConnection): Connection {
  return connection;
}
