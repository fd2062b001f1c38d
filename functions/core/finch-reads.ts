// Reads that outlast the gateway: what the proxy answers when Finch's data is not ready (202) or
// Finch is slower than this API may wait (504). Before a connection's initial sync, Finch fetches
// the data live from the provider: "several seconds to minutes" ("Data Syncs",
// https://developer.tryfinch.com/developer-resources/Data-Syncs), within its own 6-minute server
// timeout ("Error Handling", https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Handling).
// API Gateway ends an HTTP API's request at 30 s at most and the proxy's Lambda sooner (its
// timeout, lib/constructs/functions.ts): a read that would outlast either is cut here, in time to
// answer 504 `finch_timeout` saying whether the initial sync is still pending, never a gateway
// timeout with no body. Assisted connections answer nothing live: Finch says 202 until their first
// sync ("Handling API Responses", 202 Response Codes:
// https://developer.tryfinch.com/api-reference/development-guides/Handling-API-Responses).
import type { BaseDeps } from './deps.js';
import { FinchReadTimedOut, FinchTimeout } from './errors.js';
import type { InitialSync } from './model.js';
import type { StoredConnection } from './ports/connection-store.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from './ports/finch-data.js';

/**
 * API Gateway's cut: an HTTP API's integration timeout is 30 s at most, and cannot be raised as a
 * REST API's can (Amazon API Gateway quotas, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html);
 * 29 s leaves it the time to send our answer.
 */
export const API_GATEWAY_TIMEOUT_MS = 29_000;
/**
 * What the proxy keeps after the read's deadline: a Finch 401 still marks the connection `reauth`
 * (one DynamoDB transaction) and the answer must still be sent.
 */
export const PROXY_RESERVE_MS = 1500;

/** The proxy's read deadline (epoch ms): the function's remaining time, capped at API Gateway's, less the reserve. */
export function readDeadline(now: number, remainingMs: number): number {
  return now + Math.min(remainingMs, API_GATEWAY_TIMEOUT_MS) - PROXY_RESERVE_MS;
}

/**
 * The initial sync a proxied path's data waits on, by Finch's two initial-sync webhooks ("Webhooks":
 * `job.initial_data_sync_org` covers company, directory, individual and employment;
 * `job.initial_data_sync_payroll` payments and pay statements). Pay groups come with the `payment`
 * product and pay statement items with `pay_statement` (Finch's Permissions page). Benefits and
 * documents have no initial sync of their own: null.
 */
export function initialSyncOf(template: string): InitialSync | null {
  const resource = template.split('/')[2] ?? '';
  if (['company', 'directory', 'individual', 'employment'].includes(resource)) return 'org';
  if (['payment', 'pay-statement', 'pay-statement-item', 'pay-groups'].includes(resource)) return 'payroll';
  return null;
}

/**
 * Where the connection's initial sync of a path's data stands: `pending` until Finch's
 * `job.initial_data_sync_*.succeeded` arrived (`initial_sync_completed_at`, the event
 * `connection.initial_sync_completed`); null for data no initial sync covers.
 */
export interface InitialSyncState { sync: InitialSync; pending: boolean; completed_at: string | null }

export function initialSyncState(stored: Pick<StoredConnection, 'initial_sync_completed_at'>, template: string): InitialSyncState | null {
  const sync = initialSyncOf(template);
  if (sync === null) return null;
  const completedAt = stored.initial_sync_completed_at[sync];
  return { sync, pending: completedAt === null, completed_at: completedAt };
}

/**
 * One proxied call within the deadline. A Finch timeout (its own, or the deadline's cut) is
 * FinchReadTimedOut, naming the connection and its initial sync; Finch's 202 is answered as
 * dataNotReady says.
 */
export async function forwardRead(
  deps: BaseDeps & { finchData: FinchDataGateway }, stored: StoredConnection, template: string, request: FinchDataRequest, accessToken: AccessTokenSource,
): Promise<FinchDataResponse> {
  let response: FinchDataResponse;
  try {
    // All the time the function has, not just Finch's per-call timeout: a live read may need it.
    response = await deps.finchData.forward({ ...request, untilDeadline: true }, accessToken);
  } catch (error) {
    if (!(error instanceof FinchTimeout)) throw error;
    const sync = initialSyncState(stored, template);
    deps.log.warn('finch read timed out', { connection_id: stored.connection_id, template, initial_sync_pending: sync?.pending ?? null });
    throw new FinchReadTimedOut(stored.connection_id, sync);
  }
  return response.status === 202 ? dataNotReady(stored, template, response) : response;
}

/** Finch's 202 body, as the proxy answers it (functions/finch-proxy/schema.ts `DataNotReadyResponse`). */
export interface DataNotReadyBody {
  code: 202;
  name: 'accepted';
  /** Finch's `finch_code` (its emulator and the SDK's batch items say `data_sync_in_progress`), when it sent one. */
  finch_code: string | null;
  message: string;
  connection_id: string;
  /** `/introspect`'s `manual`: an Assisted Connect connection, whose first sync can take days. */
  manual: boolean | null;
  initial_sync: InitialSyncState | null;
}

/**
 * Finch's 202: "the connection is created, but data is not yet available"; an application retries
 * after a delay, backing off, and an assisted connection's first sync may take up to 14 days
 * ("Handling API Responses"). Answered 202 with Finch's headers and a body that says so and what
 * to do (wait for `connection.initial_sync_completed`), not Finch's bare body (or none, which the
 * proxy would otherwise answer 502).
 */
export function dataNotReady(stored: StoredConnection, template: string, response: FinchDataResponse): FinchDataResponse {
  const finchCode = (response.body as { finch_code?: unknown } | null)?.finch_code;
  const body: DataNotReadyBody = {
    code: 202,
    name: 'accepted',
    finch_code: typeof finchCode === 'string' && /^[a-z_]{1,64}$/.test(finchCode) ? finchCode : null,
    message: `Finch has accepted this connection but its data is not available yet (${stored.manual ? 'an assisted connection\'s first sync can take up to 14 days' : 'its first sync is still running'}). `
      + 'Retry later with backoff, or wait for the connection.initial_sync_completed event (GET /connections/{id}: initial_sync_completed_at) and read again.',
    connection_id: stored.connection_id,
    manual: stored.manual,
    initial_sync: initialSyncState(stored, template),
  };
  return { status: 202, body, headers: response.headers };
}
