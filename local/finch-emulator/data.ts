// Bearer-token endpoints: the token holder's account, its employer data and Finch's sandbox control.
import {
  accountSetupRequired, insufficientPermissions, insufficientScope, invalidRequest, reauthenticateUser,
} from './errors.js';
import { companyOf, directoryEntryOf, individualOf, individualsOf } from './fake-data.js';
import { json, requireCaller, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { CONNECTION_STATUSES, type EmulatedConnection } from './store.js';
import { expectBody, isObject, optionalEnum } from './validate.js';

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
  const connection_status = {
    status: connection.status,
    ...(connection.status_message ?? STATUS_MESSAGES[connection.status]
      ? { message: connection.status_message ?? STATUS_MESSAGES[connection.status] }
      : {}),
    last_successful_sync: connection.last_successful_sync === null ? null : new Date(connection.last_successful_sync).toISOString(),
  };
  return json(200, {
    id: token.token_id,
    client_id: deps.clientId,
    client_type: 'sandbox',
    connection_id: connection.connection_id,
    connection_status,
    connection_type: 'provider',
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
    username: null,
    entities: [],
  });
}

/** Disconnecting revokes every token of the connection, not only the caller's. */
export function disconnect(input: RequestInput): Reply {
  requireCaller(input).connection.disconnected = true;
  return json(200, { status: 'success' });
}

/** Finch's sandbox control: `PUT /sandbox/connections/accounts` sets the token holder's status. */
export function updateSandboxAccount(input: RequestInput): Reply {
  const { connection } = requireCaller(input);
  const fields = expectBody(input.body, ['connection_status']);
  const status = optionalEnum(fields, 'connection_status', CONNECTION_STATUSES);
  if (status) {
    connection.status = status;
    connection.status_message = null;
  }
  return json(200, {
    account_id: connection.account_id,
    authentication_type: connection.authentication_type,
    company_id: connection.company_id,
    connection_id: connection.connection_id,
    entity_id: connection.company_id,
    products: [...connection.products],
    provider_id: connection.provider_id,
  });
}

export function company(input: RequestInput): Reply {
  const { connection } = requireCaller(input);
  return dataReply(connection, 'company', () => companyOf(connection));
}

export function directory(input: RequestInput): Reply {
  const { connection } = requireCaller(input);
  const limit = pagingParam(input.query, 'limit');
  const offset = pagingParam(input.query, 'offset') ?? 0;
  return dataReply(connection, 'directory', () => {
    const everyone = individualsOf(connection);
    const page = everyone.slice(offset, limit === null ? undefined : offset + limit);
    return { paging: { count: everyone.length, offset }, individuals: page.map(directoryEntryOf) };
  });
}

export function individuals(input: RequestInput): Reply {
  const { connection } = requireCaller(input);
  const fields = expectBody(input.body, ['requests', 'options']);
  const requests = fields.requests;
  if (!Array.isArray(requests) || requests.length === 0) throw invalidRequest('requests must be a non-empty array.');
  const ids = requests.map((request, index) => {
    if (!isObject(request) || typeof request.individual_id !== 'string') throw invalidRequest(`requests.${index}.individual_id is required.`);
    return request.individual_id;
  });
  return dataReply(connection, 'individual', () => {
    const people = new Map(individualsOf(connection).map((person) => [person.id, person]));
    return {
      responses: ids.map((individual_id) => {
        const person = people.get(individual_id);
        return person
          ? { individual_id, code: 200, body: individualOf(person, connection) }
          : { individual_id, code: 404, body: { code: 404, name: 'not_found_error', finch_code: 'individual_not_found', message: 'The individual was not found.' } };
      }),
    };
  });
}

/**
 * Data answers depend on the connection's status, as at Finch: reauth and unfinished setups are
 * 401 `authentication_error`, missing permissions 403, an assisted connection still being set up
 * 202 (Finch's "accepted, data not ready yet"; the body here is the emulator's own wording).
 */
function dataReply(connection: EmulatedConnection, product: string, build: () => unknown): Reply {
  switch (connection.status) {
    case 'reauth': throw reauthenticateUser();
    case 'error_no_account_setup': throw accountSetupRequired();
    case 'error_permissions': throw insufficientPermissions();
    case 'pending':
    case 'processing':
      return json(202, { code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', message: 'Finch is still retrieving data for this connection.' });
    case 'connected':
      break;
  }
  if (!connection.products.includes(product)) throw insufficientScope(product);
  return json(200, build());
}

function pagingParam(query: URLSearchParams, key: string): number | null {
  const raw = query.get(key);
  if (raw === null) return null;
  if (!/^\d+$/.test(raw)) throw invalidRequest(`${key} must be a non-negative integer.`);
  return Number(raw);
}
