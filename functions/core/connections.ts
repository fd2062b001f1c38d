// Reading connections, token-free, and refreshing one's status from Finch.
import type { CoreDeps } from './deps.js';
import { ConnectionNotFound } from './errors.js';
import type { Connection } from './model.js';
import { AccessTokenRejected, type ListQuery, type StoredConnection } from './ports.js';

export async function listConnections(deps: CoreDeps, customerId: string, query: ListQuery) {
  return deps.store.listConnections(customerId, query);
}

export async function getConnection(deps: CoreDeps, customerId: string, connectionId: string): Promise<Connection> {
  return withoutToken(await findConnection(deps, customerId, connectionId));
}

/**
 * Asks Finch (`/introspect`) for the connection's current status and stores it. A disconnected
 * connection has no token left and is answered as it is.
 */
export async function refreshConnection(deps: CoreDeps, customerId: string, connectionId: string): Promise<Connection> {
  const stored = await findConnection(deps, customerId, connectionId);
  if (!stored.token || stored.status === 'disconnected' || stored.status === 'disconnecting') return withoutToken(stored);
  const accessToken = await deps.cipher.decrypt(stored.token.ciphertext, { customer_id: customerId, connection_id: connectionId });
  let update;
  try {
    const introspection = await deps.finch.introspect(accessToken);
    update = {
      status: introspection.status,
      status_message: introspection.status_message,
      authentication_methods: introspection.authentication_methods,
      products: introspection.products,
    };
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    // Finch no longer accepts the token: only a reauthentication can bring the connection back.
    update = { status: 'reauth' as const, status_message: 'Finch no longer accepts this connection\'s token.' };
  }
  const updated = await deps.store.updateStatus(customerId, connectionId, update, deps.clock.now());
  // A concurrent disconnect won the race: answer what is stored now.
  return updated ?? getConnection(deps, customerId, connectionId);
}

async function findConnection(deps: CoreDeps, customerId: string, connectionId: string): Promise<StoredConnection> {
  const stored = await deps.store.getConnection(customerId, connectionId);
  if (!stored) throw new ConnectionNotFound();
  return stored;
}

function withoutToken({ token: _token, ...connection }: StoredConnection): Connection {
  return connection;
}
