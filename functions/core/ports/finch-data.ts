// Finch's data API with a connection's access token, for the proxy and the directory.
// Implemented by functions/adapters/finch-data.ts, which holds no client credentials.

export type FinchDataMethod = 'GET' | 'POST' | 'DELETE';
/** Validated query parameters; lists are sent the way Finch's SDK sends them (`name[]=a&name[]=b`). */
export type FinchQuery = Record<string, string | string[]>;

export interface FinchDataRequest {
  method: FinchDataMethod;
  /** Canonical and allowlisted by the core: `/employer/...`, plain segments only. */
  path: string;
  query: FinchQuery;
  body?: unknown;
  /** Caller headers the core allowed through (never Authorization). */
  headers: Record<string, string>;
  /**
   * Epoch ms by which the call must be over: it is not sent once this has passed, and is cut here
   * when that comes before Finch's own timeout (FinchDeadlineExceeded either way).
   */
  deadline?: number;
  /**
   * Wait for Finch until the deadline, however long Finch's own timeout (FINCH_TIMEOUT_MS) is: a
   * proxied read before the initial sync, which Finch answers live in seconds to minutes, gets all
   * the time the function has (functions/core/finch-reads.ts). Without it the shorter of the two cuts.
   */
  untilDeadline?: boolean;
}

export interface FinchDataResponse {
  status: number;
  /** Finch's JSON body as it came; null when the answer was not JSON. */
  body: unknown;
  /**
   * Response headers worth passing on, names lowercased: `retry-after`, `finch-request-id`, and the
   * data's freshness, `finch-data-retrieved`, `finch-last-attempted-update-date`, `…-result`.
   */
  headers: Record<string, string>;
}

/**
 * A connection's access token, asked for only when a request is about to leave for Finch: after the
 * shared Finch budget granted it, so a refused call never decrypts the token. Each call that is sent
 * asks again; the caller memoizes it (functions/core/proxy.ts `lazyAccessToken`) so the calls of one
 * request decrypt once.
 */
export type AccessTokenSource = () => Promise<string>;

/**
 * Finch's data API with a connection's access token. Answers every HTTP status as data (the proxy
 * returns Finch's status and body); only a failed or timed-out exchange throws (FinchUnavailable,
 * FinchTimeout, FinchDeadlineExceeded), and a call the shared Finch budget refused before sending
 * it (FinchRateLimited, functions/core/finch-budget.ts).
 * The adapter sets `Authorization` and `Finch-API-Version` itself and refuses a URL whose origin is
 * not Finch's. A failure of `accessToken` is thrown as it is, and nothing is sent.
 */
export interface FinchDataGateway {
  forward(request: FinchDataRequest, accessToken: AccessTokenSource): Promise<FinchDataResponse>;
}
