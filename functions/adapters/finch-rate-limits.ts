// Finch's 429s, for both Finch clients (finch-gateway.ts, finch-data.ts). Finch's rate limits
// belong to the whole application (per product, a rolling 60-second window) or to our IP address
// (a 60-minute penalty once tripped), and Finch documents no Retry-After for any of them
// (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits). So a request never
// waits for Finch or asks again (another call only adds to a limit every request shares), and the
// caller is told when to come back: Finch's Retry-After when it sent one, else by finch_code.

/** The longest wait we pass on: Finch's longest penalty (the IP limits' 60 minutes). */
export const MAX_RETRY_AFTER_SECONDS = 3600;
/** Without a header: the application's and the provider's limits roll over a minute. */
export const DEFAULT_RETRY_AFTER_SECONDS = 60;
/** The IP address limits' penalty, "60 minutes" (Rate Limits, "IP Address Rate Limits"). */
const BY_FINCH_CODE: Readonly<Record<string, number>> = { finch_api_ip_rl: 3600, finch_auth_ip_rl: 3600 };
/** A retryable answer (5xx, 408) asking for a longer wait than this is not retried inside a request. */
const MAX_IN_REQUEST_WAIT_MS = 2000;

/** How long the caller should wait after Finch's 429: its Retry-After (seconds or a date) capped, else by finch_code. */
export function retryAfterSeconds(headers: Headers | undefined, finchCode: unknown, now = Date.now()): number {
  const seconds = sentRetryAfter(headers, now);
  if (seconds !== undefined && Number.isFinite(seconds) && seconds > 0) return Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(seconds));
  return (typeof finchCode === 'string' ? BY_FINCH_CODE[finchCode] : undefined) ?? DEFAULT_RETRY_AFTER_SECONDS;
}

/**
 * A fetch for the SDK that keeps it from retrying what must not be retried inside a request: a 429
 * (the SDK would sleep for whatever Retry-After says, up to API Gateway's 29 s and beyond), a 409
 * (Finch's "already connected" refusal is an answer, not a lock timeout), and any answer whose
 * Retry-After asks for more than a moment. The SDK obeys `x-should-retry: false` before anything else.
 */
export function withoutLongRetries(send: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await send(input, init);
    if (!mustNotRetry(response)) return response;
    const headers = new Headers(response.headers);
    headers.set('x-should-retry', 'false');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

function mustNotRetry(response: Response): boolean {
  // 501 not_implemented_error: the provider does not support the operation; a second try spends the budget for the same answer.
  if (response.status === 429 || response.status === 409 || response.status === 501) return true;
  if (response.status < 500 && response.status !== 408) return false;
  const ms = Number(response.headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > MAX_IN_REQUEST_WAIT_MS) return true;
  const seconds = sentRetryAfter(response.headers);
  if (seconds === undefined) return false;
  return !Number.isFinite(seconds) || seconds * 1000 > MAX_IN_REQUEST_WAIT_MS;
}

/** A Retry-After header in seconds (delta-seconds or an HTTP date; NaN when neither), undefined without one. */
function sentRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const sent = headers?.get('retry-after')?.trim();
  if (!sent) return undefined;
  return /^\d+(\.\d+)?$/.test(sent) ? Number(sent) : (Date.parse(sent) - now) / 1000;
}
