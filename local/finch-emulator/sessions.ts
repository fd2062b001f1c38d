// Finch Connect sessions: POST /connect/sessions and POST /connect/sessions/reauthenticate, each
// answering 201 as Finch's API reference ("Create a new connect session", "… for reauthentication") says.
import type Finch from '@tryfinch/finch-api';
import { connectionAlreadyExists, invalidRequest, notFound } from './errors.js';
import { newId } from './ids.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import type { AuthMethod, ConnectSession } from './store.js';
import {
  expectBody, optionalBoolean, optionalEmail, optionalEnum, optionalInteger, optionalRedirectUri,
  isObject, products, requiredString, type Fields,
} from './validate.js';

const MAX_MINUTES = 129_600; // 90 days, Finch's maximum and its default for new sessions
const REAUTH_DEFAULT_MINUTES = 43_200; // 30 days, Finch's default for reauthentication
const AUTH_METHODS: readonly AuthMethod[] = ['assisted', 'credential', 'oauth', 'api_token'];
/** customer_id and customer_name: "Required string length: 1 - 255". */
const MAX_NAME_LENGTH = 255;

export function createSession(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, [
    'customer_id', 'customer_name', 'products', 'customer_email', 'integration', 'manual',
    'minutes_to_expire', 'redirect_uri', 'sandbox',
  ]);
  const customer_id = boundedString(fields, 'customer_id');
  const customer_name = boundedString(fields, 'customer_name');
  const requested = {
    customer_name,
    customer_email: optionalEmail(fields, 'customer_email'),
    products: products(fields, 'products', true) as string[],
    integration: integrationOf(fields),
    manual: optionalBoolean(fields, 'manual') ?? false,
    sandbox: optionalEnum(fields, 'sandbox', ['finch', 'provider'] as const),
    redirect_uri: optionalRedirectUri(fields, 'redirect_uri'),
  };
  const minutes = optionalInteger(fields, 'minutes_to_expire', 1, MAX_MINUTES) ?? MAX_MINUTES;
  const now = deps.now();

  // Finch refuses a second Connect for a customer id with a live connection, whatever the
  // provider: the token for it must come through reauthentication.
  const live = deps.store.liveConnectionOf(customer_id);
  if (live) throw connectionAlreadyExists(live.connection_id);

  // Finch refreshes a still-pending session of the same customer and answers its session_id again.
  const pending = deps.store.pendingSessionFor(customer_id, now);
  const session: ConnectSession = {
    session_id: pending?.session_id ?? newId(),
    kind: 'connect',
    connection_id: null,
    customer_id,
    ...requested,
    expires_at: now + minutes * 60_000,
    completed: false,
  };
  deps.store.sessions.set(session.session_id, session);
  return json(201, sessionAnswer(session, deps));
}

export function createReauthSession(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['connection_id', 'minutes_to_expire', 'products', 'redirect_uri']);
  const connection_id = requiredString(fields, 'connection_id');
  const requestedProducts = products(fields, 'products', false);
  const redirect_uri = optionalRedirectUri(fields, 'redirect_uri');
  const minutes = optionalInteger(fields, 'minutes_to_expire', 1, MAX_MINUTES) ?? REAUTH_DEFAULT_MINUTES;

  const connection = deps.store.connections.get(connection_id);
  // A disconnected connection is gone at Finch: its tokens are revoked and it cannot come back.
  // Error Types' finch_code for a resource not found is item_not_found.
  if (!connection || connection.disconnected) throw notFound(`Connection ${connection_id} not found.`);

  const session: ConnectSession = {
    session_id: newId(),
    kind: 'reauth',
    connection_id,
    customer_id: connection.customer_id,
    customer_name: connection.customer_name,
    customer_email: connection.customer_email,
    products: requestedProducts ?? [...connection.products],
    integration: { provider: connection.provider_id, auth_method: connection.authentication_type },
    manual: connection.manual,
    sandbox: null,
    redirect_uri,
    expires_at: deps.now() + minutes * 60_000,
    completed: false,
  };
  deps.store.sessions.set(session.session_id, session);
  return json(201, sessionAnswer(session, deps));
}

/** A required string of 1 to 255 characters, as Finch counts them (whitespace counts). */
function boundedString(fields: Fields, key: string): string {
  const value = fields[key];
  if (value === undefined || value === null) throw invalidRequest(`${key} is required.`);
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_NAME_LENGTH) {
    throw invalidRequest(`${key} must be a string of 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  return value;
}

function sessionAnswer(session: ConnectSession, deps: EmulatorDeps): Finch.Connect.SessionNewResponse & Finch.Connect.SessionReauthenticateResponse {
  return {
    session_id: session.session_id,
    connect_url: `${deps.baseUrl()}/connect?session=${encodeURIComponent(session.session_id)}`,
  };
}

function integrationOf(fields: Fields): ConnectSession['integration'] {
  const value = fields.integration;
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw invalidRequest('integration must be an object.');
  const unknown = Object.keys(value).filter((key) => key !== 'provider' && key !== 'auth_method');
  if (unknown.length) throw invalidRequest(`Unknown fields: ${unknown.map((key) => `integration.${key}`).join(', ')}.`);
  const { provider, auth_method } = value;
  if (typeof provider !== 'string' || !/^[a-z0-9_]+$/.test(provider)) throw invalidRequest('integration.provider must be a Finch provider id.');
  if (auth_method !== undefined && auth_method !== null && !AUTH_METHODS.includes(auth_method as AuthMethod)) {
    throw invalidRequest(`integration.auth_method must be one of ${AUTH_METHODS.join(', ')}.`);
  }
  return { provider, auth_method: (auth_method ?? null) as AuthMethod | null };
}
