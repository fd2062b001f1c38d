// POST /auth/token: exchanges a single-use authorization code for a new access token. A new
// connection's first token starts Finch's initial sync, which ends in job.initial_data_sync_* events.
import type Finch from '@tryfinch/finch-api';
import { entitiesOf } from './dataset.js';
import { invalidGrant } from './errors.js';
import { newAccessToken, newId } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { expectBody, optionalString, requiredString } from './validate.js';
import { sendInitialSyncEvents } from './webhooks.js';

export function exchangeCode(input: RequestInput, deps: EmulatorDeps): Reply {
  // client_id and client_secret were checked by the server before this handler runs.
  const fields = expectBody(input.body, ['code', 'redirect_uri', 'client_id', 'client_secret', 'grant_type']);
  const code = requiredString(fields, 'code');
  const redirect_uri = optionalString(fields, 'redirect_uri');
  const now = deps.now();

  const grant = deps.store.codes.get(code);
  if (!grant || grant.used) throw invalidGrant('The authorization code is invalid or has already been used.');
  if (grant.expires_at <= now) throw invalidGrant('The authorization code has expired.');
  // OAuth's rule: a code sent to a redirect_uri is redeemed only by naming the same redirect_uri.
  if (grant.redirect_uri !== null && redirect_uri !== grant.redirect_uri) {
    throw invalidGrant('redirect_uri does not match the one the authorization code was issued to.');
  }
  const connection = deps.store.connections.get(grant.connection_id);
  if (!connection || connection.disconnected) throw invalidGrant('The connection of this authorization code was disconnected.');

  grant.used = true;
  const token = { access_token: newAccessToken(), token_id: newId(), issued_at: now };
  // Older tokens stay valid: Finch revokes a connection's tokens only on disconnect.
  connection.tokens.push(token);
  connection.products = [...grant.products];
  if (grant.reauth) {
    connection.status = 'connected';
    connection.status_message = null;
  }
  if (connection.status === 'connected') connection.last_successful_sync = now;
  sendInitialSyncEvents(connection, deps);

  return json(200, {
    access_token: token.access_token,
    token_type: 'bearer',
    connection_id: connection.connection_id,
    customer_id: connection.customer_id,
    customer_name: connection.customer_name,
    account_id: connection.account_id,
    company_id: connection.company_id,
    provider_id: connection.provider_id,
    products: [...connection.products],
    client_type: 'sandbox',
    connection_type: connection.connection_type,
    // "An array of entity IDs that can be accessed with this access token" (the SDK's
    // CreateAccessTokenResponse): every entity of a multi-entity connection, its own otherwise.
    entity_ids: entitiesOf(connection).map((entity) => entity.id),
  } satisfies Finch.CreateAccessTokenResponse);
}
