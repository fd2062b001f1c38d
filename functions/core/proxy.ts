// The Finch proxy: one allowlisted Finch data call for one of the caller's connections, with the
// stored token added server-side. The caller never holds the token; this module decides exactly
// which calls may be made with it. Nothing outside the allowlist below ever reaches Finch.
import type { BaseDeps } from './deps.js';
import {
  ConnectionDisconnected, ConnectionNotFound, ConnectionUnauthorized, FinchUnavailable, InvalidRequest, PathNotAllowed,
  ReauthRequired, WriteScopeRequired,
} from './errors.js';
import { forwardRead } from './finch-reads.js';
import { parseProxyQuery, proxyRouteKey, resolveProxyPath } from './proxy-routes.js';
import { isEnded } from './model.js';
import { errorNameOf, statusClassOf } from './metrics.js';
import { subjectOf } from './audit-subject.js';
import type { StoredConnection } from './ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataMethod, FinchDataResponse } from './ports/finch-data.js';

/**
 * What the proxy and `GET /directory` need: the base ports and Finch's data API, and no client
 * credentials (data calls need only the connection's token).
 */
export interface ProxyDeps extends BaseDeps {
  finchData: FinchDataGateway;
  proxy: ProxySettings;
  /**
   * The status the HTTP layer answers an error with (functions/http/errors.ts statusOf): the
   * call's log line records it, and the core knows no status of its own.
   */
  statusOf: (error: unknown) => number;
}

export interface ProxySettings {
  /** FINCH_PROXY_WRITE_PATHS: the write routes (`METHOD /template`) this deployment enables. */
  writeRoutes: ReadonlySet<string>;
}

// ---- The call ------------------------------------------------------------------------------

/** Request headers a caller may have forwarded; Authorization and Finch-API-Version are the adapter's. */
export const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type'] as const;

export interface ProxyRequest {
  method: FinchDataMethod;
  /** The Finch path as sent, after `/finch` and still percent-encoded (from `rawPath`). */
  rawPath: string;
  rawQuery: string;
  connectionId: string;
  /** The parsed JSON body (an object, or an array where the route takes one); undefined when none was sent. */
  body: Record<string, unknown> | unknown[] | undefined;
  /** The caller's headers, names lowercased. */
  headers: Record<string, string | undefined>;
  /** Whether the caller's token carries the write scope. */
  writeScope: boolean;
  /** Epoch ms by which Finch must have answered (functions/core/finch-reads.ts `readDeadline`); none: Finch's timeout only. */
  deadline?: number;
}

/**
 * Forwards one allowlisted call and answers Finch's status and JSON body as they are. Everything
 * that can refuse the call (path, method, scope, query, body, connection) is checked before the
 * token is decrypted, and the token is decrypted only once the shared Finch budget granted the
 * call (lazyAccessToken); one log line per call records who used which connection's token for what.
 */
export async function proxyFinchCall(deps: ProxyDeps, customerId: string, request: ProxyRequest): Promise<FinchDataResponse> {
  let template: string | null = null;
  // The audit of token use, with CloudTrail's KMS Decrypt record: never the query values or bodies.
  const audit = (status: number, error?: unknown) => {
    deps.log.info('finch proxy call', { connection_id: request.connectionId, method: request.method, template, status });
    deps.metrics.add('ProxyCalls', { StatusClass: statusClassOf(status), ErrorName: error === undefined ? 'none' : errorNameOf(error) });
  };
  let response: FinchDataResponse;
  try {
    const { route, path } = resolveProxyPath(request.method, request.rawPath);
    template = route.template;
    if (route.access === 'write') {
      // Not enabled here is answered like any path off the allowlist; enabled but not granted is 403.
      if (!deps.proxy.writeRoutes.has(proxyRouteKey(route))) throw new PathNotAllowed();
      if (!request.writeScope) throw new WriteScopeRequired();
    }
    const query = parseProxyQuery(route, request.rawQuery);
    if (request.method === 'GET' && request.body !== undefined) {
      throw new InvalidRequest('A GET through the proxy takes no body.', [{ path: 'body', message: 'must be empty' }]);
    }
    if (request.body !== undefined && Array.isArray(request.body) !== (route.body === 'array')) {
      throw new InvalidRequest('The body does not have the shape Finch takes here.', [
        { path: 'body', message: route.body === 'array' ? 'must be a JSON array' : 'must be a JSON object' },
      ]);
    }
    const stored = await usableConnection(deps, customerId, request.connectionId);
    const accessToken = lazyAccessToken(deps, stored);
    response = await forwardRead(deps, stored, route.template, {
      method: request.method, path, query, body: request.method === 'GET' ? undefined : request.body ?? (route.body === 'array' ? [] : {}),
      headers: pickHeaders(request.headers), deadline: request.deadline,
    }, accessToken.source);
    await rejectUnauthorized(deps, stored, response);
    // Finch never echoes a token; if an answer ever held it, it must not reach the caller. (A call
    // that never asked for the token sent none, so nothing of it can come back.)
    const sent = accessToken.decrypted();
    if (response.body === null || (sent !== undefined && JSON.stringify(response.body).includes(sent))) throw new FinchUnavailable();
  } catch (error) {
    audit(deps.statusOf(error), error);
    throw error;
  }
  audit(response.status);
  return response;
}

/** The caller's connection with a token Finch may accept; another customer's is answered as missing. */
export async function usableConnection(deps: BaseDeps, customerId: string, connectionId: string): Promise<StoredConnection> {
  const stored = await deps.connections.getConnection(customerId, connectionId);
  if (!stored) throw new ConnectionNotFound();
  if (!stored.token || isEnded(stored.status)) throw new ConnectionDisconnected();
  // Finch refuses a connection awaiting reauthentication; only a new token (connected again) helps.
  if (stored.status === 'reauth') throw new ReauthRequired(connectionId);
  return stored;
}

/** A connection's token for Finch's data API, decrypted when first asked for (see lazyAccessToken). */
export interface LazyAccessToken {
  /** For FinchDataGateway.forward: decrypts on the first call and answers the same token to every later one. */
  source: AccessTokenSource;
  /** The token if a call asked for it; undefined while none did (no call was sent). */
  decrypted(): string | undefined;
}

/**
 * The stored token, decrypted only when a call to Finch is about to leave: a call the shared Finch
 * budget refuses costs no KMS Decrypt (money, the account's KMS quota, latency) and puts no
 * plaintext token in memory. Memoized, so the calls of one request (the directory's pages and
 * entities) decrypt once; a failed decrypt fails them all alike, as one decrypt up front did.
 */
export function lazyAccessToken(deps: BaseDeps, stored: StoredConnection): LazyAccessToken {
  let decrypting: Promise<string> | undefined;
  let plaintext: string | undefined;
  const context = { customer_id: stored.customer_id, connection_id: stored.connection_id };
  return {
    source: () => (decrypting ??= deps.cipher.decrypt(stored.token!.ciphertext, context).then((token) => (plaintext = token))),
    decrypted: () => plaintext,
  };
}

/**
 * Finch's 401 on a data call: `reauthenticate_user` marks the connection `reauth` (so lists show
 * it). `stored` is the connection as the call read it: its status is the entry's previous_status.
 */
export async function rejectUnauthorized(deps: BaseDeps, stored: StoredConnection, response: FinchDataResponse) {
  if (response.status !== 401) return;
  const { customer_id: customerId, connection_id: connectionId } = stored;
  const finchCode = finchCodeOf(response.body);
  if (finchCode === 'reauthenticate_user') {
    const now = deps.clock.now();
    // False when a concurrent disconnect got there first: nothing to mark, the answer is the same.
    await deps.connections.recordStatus(customerId, connectionId, {
      status: 'reauth', status_message: 'Finch asks the employer to reauthenticate this connection.',
    }, now, {
      action: 'reauth_required', actor: 'finch-proxy', customer_id: customerId, connection_id: connectionId, at: now.toISOString(),
      subject: subjectOf(stored, { status: 'reauth' }),
      details: { finch_code: finchCode, previous_status: stored.status },
    });
    throw new ReauthRequired(connectionId);
  }
  // Any other 401 is about our token, not the caller's JWT: a 401 would read as "log in again".
  throw new ConnectionUnauthorized(finchCode);
}

function finchCodeOf(body: unknown): string | null {
  const code = (body as { finch_code?: unknown } | null)?.finch_code;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : null;
}

function pickHeaders(headers: Record<string, string | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = headers[name];
    if (value !== undefined && /^[\x20-\x7e]{1,256}$/.test(value)) picked[name] = value;
  }
  return picked;
}
