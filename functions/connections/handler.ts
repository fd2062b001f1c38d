// GET /connections, GET /connections/{connection_id} (?refresh=true asks Finch). Token-free.
import { disconnectConnection, getConnection, listAuditTrail, listConnections, refreshConnection } from '#core/connections.js';
import { app, httpRoute } from '#http/app.js';
import { json, routeByKey, validate } from '#http/stack.js';
import { AuditQuery, ConnectionPath, CustomerQuery, GetQuery, ListQuery } from './schema.js';

const list = httpRoute({ auth: 'jwt', query: ListQuery }, async ({ query, caller }) => {
  const { customer_id: _redundant, limit = 25, ...filters } = query;
  return json(200, await listConnections(app.deps, caller.customer_id, { limit, ...filters }));
});

const get = httpRoute({ auth: 'jwt', query: GetQuery }, async ({ event, query, caller }) => {
  const { connection_id } = validate(ConnectionPath(), event.pathParameters ?? {}, 'path');
  const connection = query.refresh === 'true'
    ? await refreshConnection(app.deps, caller, connection_id)
    : await getConnection(app.deps, caller.customer_id, connection_id);
  return json(200, connection);
});

const disconnect = httpRoute({ auth: 'jwt', query: CustomerQuery }, async ({ event, caller }) => {
  const { connection_id } = validate(ConnectionPath(), event.pathParameters ?? {}, 'path');
  await disconnectConnection(app.deps, caller, connection_id);
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
});

const audit = httpRoute({ auth: 'jwt', query: AuditQuery }, async ({ event, query, caller }) => {
  const { connection_id } = validate(ConnectionPath(), event.pathParameters ?? {}, 'path');
  const { limit = 50, cursor } = query;
  return json(200, await listAuditTrail(app.deps, caller.customer_id, connection_id, { limit, cursor }));
});

/** One Lambda serves the connections routes; API Gateway's route key picks the operation. */
export const handler = routeByKey({
  'GET /connections': list,
  'GET /connections/{connection_id}': get,
  'DELETE /connections/{connection_id}': disconnect,
  'GET /connections/{connection_id}/audit': audit,
});
