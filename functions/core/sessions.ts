// Starting Finch Connect: new connections, reauthentication of our own, and adoption of a
// connection Finch has but nobody here owns (its token was lost or never stored).
import type { Caller, SessionDeps } from './deps.js';
import {
  ConnectionAlreadyExists, ConnectionDisconnected, ConnectionExistsAtFinch, ConnectionNotFound, InvalidRequest,
} from './errors.js';
import { FINCH_NAME_MAX_LENGTH, finchCustomerId, hashState, newState } from './ids.js';
import { type Flow, type SessionKind, type SessionRecord, isEnded } from './model.js';
import type { ConnectSessionRequest, FinchSession } from './ports/finch.js';
import { checkReturnTo } from './return-to.js';

export const DEFAULT_MINUTES_TO_EXPIRE = 43200;

interface SessionOptions {
  products?: string[];
  minutes_to_expire?: number;
  flow: Flow;
  return_to?: string;
}

export interface CreateSessionInput extends SessionOptions {
  entity?: string;
  customer_name?: string;
  customer_email?: string;
  integration?: ConnectSessionRequest['integration'];
  sandbox?: 'finch' | 'provider';
  manual?: boolean;
}

export interface ReauthenticateInput extends SessionOptions {
  connection_id: string;
}

export interface StartedSession {
  session_id: string;
  connect_url: string;
  state: string;
  expires_at: string;
  finch_customer_id: string;
  adopts_connection_id?: string;
}

/**
 * The checks createConnectSession makes before it calls anyone (the products ceiling, return_to,
 * customer_name), for callers that must refuse a request before anything else: an Idempotency-Key
 * is recorded only for a request this caller may make.
 */
export function checkConnectSessionInput(deps: SessionDeps, caller: Caller, input: CreateSessionInput): void {
  resolveOptions(deps, caller, input);
  resolveFinchCustomerId(caller, input.entity ?? null);
  resolveCustomerName(caller, input.customer_name);
}

export async function createConnectSession(deps: SessionDeps, caller: Caller, input: CreateSessionInput): Promise<StartedSession> {
  const options = resolveOptions(deps, caller, input);
  const entity = input.entity ?? null;
  const finch_customer_id = resolveFinchCustomerId(caller, entity);
  const request: ConnectSessionRequest = {
    customer_id: finch_customer_id,
    customer_name: resolveCustomerName(caller, input.customer_name),
    customer_email: input.customer_email,
    products: options.products,
    integration: input.integration,
    sandbox: input.sandbox ?? deps.settings.defaultSandbox,
    manual: input.manual,
    minutes_to_expire: options.minutes_to_expire,
    redirect_uri: options.redirect_uri,
  };
  const base = { customer_id: caller.customer_id, entity, finch_customer_id, ...options };
  try {
    const finchSession = await deps.finch.createConnectSession(request);
    return await recordSession(deps, caller, finchSession, { ...base, kind: 'connect', connection_id: null });
  } catch (error) {
    if (!(error instanceof ConnectionExistsAtFinch)) throw error;
    return adoptOrRefuse(deps, caller, error.connection_id, base);
  }
}

export async function createReauthSession(deps: SessionDeps, caller: Caller, input: ReauthenticateInput): Promise<StartedSession> {
  const options = resolveOptions(deps, caller, input);
  const connection = await deps.connections.getConnection(caller.customer_id, input.connection_id);
  if (!connection) throw new ConnectionNotFound();
  if (isEnded(connection.status)) throw new ConnectionDisconnected();
  const finchSession = await deps.finch.createReauthSession({
    connection_id: connection.connection_id,
    minutes_to_expire: options.minutes_to_expire,
    products: input.products ? options.products : undefined,
    redirect_uri: options.redirect_uri,
  });
  return recordSession(deps, caller, finchSession, {
    customer_id: caller.customer_id,
    entity: connection.entity,
    finch_customer_id: connection.finch_customer_id,
    kind: 'reauth',
    connection_id: connection.connection_id,
    ...options,
  });
}

type SessionBase = Pick<SessionRecord, 'customer_id' | 'entity' | 'finch_customer_id'> & ResolvedOptions;

/**
 * Finch refuses a new session for a Finch customer id that already has a live connection. If this
 * customer owns it, say so; if nobody owns it, its token was lost (e.g. an exchange that timed out
 * after Finch issued it), and a reauthentication session recovers it (invariant 6). A refusal that
 * names no connection can be neither checked nor adopted: 409 with what to do instead, never a
 * session that could make a new connection.
 */
async function adoptOrRefuse(deps: SessionDeps, caller: Caller, connectionId: string | null, base: SessionBase): Promise<StartedSession> {
  if (!connectionId) {
    deps.log.warn('Finch refused a Connect session as already connected without naming the connection', { customer_id: caller.customer_id });
    throw new ConnectionAlreadyExists();
  }
  const owner = await deps.connections.getOwner(connectionId);
  if (owner === caller.customer_id) throw new ConnectionAlreadyExists(connectionId);
  // Owned by someone else cannot happen with derived Finch customer ids; never reveal the id then.
  if (owner) throw new ConnectionAlreadyExists();
  const finchSession = await deps.finch.createReauthSession({
    connection_id: connectionId,
    minutes_to_expire: base.minutes_to_expire,
    products: base.products,
    redirect_uri: base.redirect_uri,
  });
  deps.log.info('adopting a connection nobody owns', { connection_id: connectionId, customer_id: caller.customer_id });
  const started = await recordSession(deps, caller, finchSession, { ...base, kind: 'adopt', connection_id: connectionId });
  return { ...started, adopts_connection_id: connectionId };
}

interface ResolvedOptions {
  products: string[];
  minutes_to_expire: number;
  flow: Flow;
  return_to: string | null;
  redirect_uri: string | undefined;
}

function resolveOptions(deps: SessionDeps, caller: Caller, input: SessionOptions): ResolvedOptions {
  const { settings } = deps;
  const products = [...new Set(input.products ?? settings.defaultProducts)];
  if (!caller.admin) {
    const refused = products
      .map((product, index) => ({ product, index }))
      .filter(({ product }) => !settings.allowedProducts.has(product));
    if (refused.length) {
      throw new InvalidRequest('Some products are not allowed for this caller.', refused.map(({ product, index }) => ({
        path: `products.${index}`, message: `"${product}" is not in ALLOWED_PRODUCTS`,
      })));
    }
  }
  if (input.flow === 'embedded' && input.return_to !== undefined) {
    throw new InvalidRequest('return_to applies to the redirect flow only.', [{ path: 'return_to', message: 'not allowed with flow "embedded"' }]);
  }
  return {
    products,
    minutes_to_expire: input.minutes_to_expire ?? DEFAULT_MINUTES_TO_EXPIRE,
    flow: input.flow,
    return_to: input.return_to === undefined ? null : checkReturnTo(input.return_to, settings.allowedReturnOrigins),
    // Finch sends the employer back to our callback only in the redirect flow; without a
    // redirect_uri the session is embedded and the frontend posts the code to us.
    redirect_uri: input.flow === 'redirect' ? settings.callbackUrl : undefined,
  };
}

/** `customer_id~entity` is Finch's customer_id, so it must fit Finch's limit as a whole. */
function resolveFinchCustomerId(caller: Caller, entity: string | null): string {
  const id = finchCustomerId(caller.customer_id, entity);
  if (id.length > FINCH_NAME_MAX_LENGTH) {
    throw new InvalidRequest('The customer id and the entity together are longer than Finch takes.', [
      { path: 'entity', message: `customer_id~entity must be at most ${FINCH_NAME_MAX_LENGTH} characters (Finch's customer_id)` },
    ]);
  }
  return id;
}

function resolveCustomerName(caller: Caller, bodyName: string | undefined): string {
  if (caller.customer_name !== undefined) {
    if (bodyName !== undefined && bodyName !== caller.customer_name) {
      throw new InvalidRequest('customer_name differs from the token\'s customer_name claim.', [
        { path: 'customer_name', message: 'must match the token\'s customer_name claim or be omitted' },
      ]);
    }
    // The caller cannot change its claim: a name longer than Finch takes is cut to fit, never
    // inside a surrogate pair (the body's own customer_name is held to the limit instead).
    return fitName(caller.customer_name);
  }
  // Finch requires a name; the customer id is the honest fallback.
  return bodyName ?? caller.customer_id;
}

function fitName(name: string): string {
  if (name.length <= FINCH_NAME_MAX_LENGTH) return name;
  const cut = name.slice(0, FINCH_NAME_MAX_LENGTH);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

async function recordSession(
  deps: SessionDeps,
  caller: Caller,
  finchSession: FinchSession,
  base: SessionBase & { kind: SessionKind; connection_id: string | null },
): Promise<StartedSession> {
  const state = newState();
  const now = deps.clock.now();
  // The state lives exactly as long as Finch's session.
  const expiresAt = Math.floor(now.getTime() / 1000) + base.minutes_to_expire * 60;
  await deps.sessions.putSession({
    state_hash: hashState(state),
    session_id: finchSession.session_id,
    status: 'pending',
    kind: base.kind,
    flow: base.flow,
    customer_id: base.customer_id,
    entity: base.entity,
    finch_customer_id: base.finch_customer_id,
    connection_id: base.connection_id,
    products: base.products,
    return_to: base.return_to,
    expires_at: expiresAt,
    created_at: now.toISOString(),
  }, {
    action: 'session_created',
    actor: caller.actor,
    customer_id: base.customer_id,
    connection_id: base.connection_id,
    at: now.toISOString(),
    details: { session_id: finchSession.session_id, kind: base.kind, flow: base.flow, entity: base.entity, products: base.products.join(',') },
  });
  deps.metrics.add('SessionsCreated', { Kind: base.kind });
  const connectUrl = new URL(finchSession.connect_url);
  connectUrl.searchParams.set('state', state);
  return {
    session_id: finchSession.session_id,
    connect_url: connectUrl.href,
    state,
    expires_at: new Date(expiresAt * 1000).toISOString(),
    finch_customer_id: base.finch_customer_id,
  };
}
