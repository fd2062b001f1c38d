// The token holder's account: GET /introspect, POST /disconnect and Finch's sandbox control
// PUT /sandbox/connections/accounts. A disconnect or a status the sandbox sets is followed by
// account.updated, as Finch sends it ("Webhooks").
import type Finch from '@tryfinch/finch-api';
import { entitiesOf, isMultiEntity } from './dataset.js';
import { json, requireCaller, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { CONNECTION_STATUSES, type EmulatedConnection } from './store.js';
import { expectBody, optionalEnum } from './validate.js';
import { sendStatusEvents } from './webhooks.js';

const STATUS_MESSAGES: Partial<Record<EmulatedConnection['status'], string>> = {
  reauth: 'The employer must reauthenticate this connection.',
  error_no_account_setup: 'The employer has not finished setting up the connected account.',
  error_permissions: 'The connected admin account lacks the permissions Finch needs.',
  pending: 'Finch is setting up this assisted connection.',
  processing: 'Finch is processing this connection.',
};

/** `/introspect` answers whatever the status: it is how a client learns it must reauthenticate. */
export function introspect(input: RequestInput, deps: EmulatorDeps): Reply {
  const { connection, token } = requireCaller(input);
  const message = connection.status_message ?? STATUS_MESSAGES[connection.status];
  // A status the SDK's union misses (or nobody documents), as a test set it: Finch sends such values.
  const status = (connection.reported_status ?? connection.status) as Finch.Introspection['connection_status']['status'];
  const connection_status = {
    status,
    ...(message ? { message } : {}),
    last_successful_sync: connection.last_successful_sync === null ? null : new Date(connection.last_successful_sync).toISOString(),
  };
  return json(200, {
    id: token.token_id,
    client_id: deps.clientId,
    client_type: 'sandbox',
    connection_id: connection.connection_id,
    connection_status,
    connection_type: connection.connection_type,
    products: [...connection.products],
    provider_id: connection.provider_id,
    payroll_provider_id: connection.provider_id,
    account_id: connection.account_id,
    company_id: connection.company_id,
    customer_id: connection.customer_id,
    customer_name: connection.customer_name,
    customer_email: connection.customer_email,
    authentication_methods: [{ type: connection.authentication_type, connection_status, products: [...connection.products] }],
    manual: connection.manual,
    username: connection.logins[0] ?? null,
    // The SDK's Introspection `entities?`: each entity of a multi-entity connection ({id, name,
    // source_id, status}); a single-entity connection lists none (its one entity is the token's entity_ids).
    entities: isMultiEntity(connection)
      ? entitiesOf(connection).map(({ id, name, source_id }) => ({ id, name, source_id, status: status as Finch.Introspection.Entity['status'] }))
      : [],
  } satisfies Finch.Introspection);
}

/** Disconnecting revokes every token of the connection, not only the caller's. */
export function disconnect(input: RequestInput, deps: EmulatorDeps): Reply {
  const { connection } = requireCaller(input);
  connection.disconnected = true;
  sendStatusEvents(connection, deps);
  return json(200, { status: 'success' } satisfies Finch.DisconnectResponse);
}

/** Finch's sandbox control: `PUT /sandbox/connections/accounts` sets the token holder's status. */
export function updateSandboxAccount(input: RequestInput, deps: EmulatorDeps): Reply {
  const { connection } = requireCaller(input);
  const fields = expectBody(input.body, ['connection_status']);
  const status = optionalEnum(fields, 'connection_status', CONNECTION_STATUSES);
  if (status) {
    const changed = status !== connection.status;
    connection.status = status;
    connection.status_message = null;
    if (changed) sendStatusEvents(connection, deps);
  }
  return json(200, {
    account_id: connection.account_id,
    authentication_type: connection.authentication_type,
    company_id: connection.company_id,
    connection_id: connection.connection_id,
    entity_id: connection.entity_id,
    products: [...connection.products],
    provider_id: connection.provider_id,
  } satisfies Finch.Sandbox.Connections.AccountUpdateResponse);
}
