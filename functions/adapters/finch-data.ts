// The FinchDataGateway port over the official SDK's raw request methods (`client.get/post/delete`
// with a path): the SDK sets `Finch-API-Version: 2020-09-17`, encodes query lists as Finch
// expects, and applies the timeout. `Authorization: Bearer` is set last, in the fetch the SDK is
// given (withAccessToken), once the shared Finch budget granted the request: the token is asked
// for (decrypted) only for a request that leaves, and the SDK never holds it (nor logs it).
// This client holds no client credentials at all: data calls need only the connection's token, so
// the proxy never has the client secret and nothing here can fall back to Basic auth.
import Finch, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@tryfinch/finch-api';
import { FinchDeadlineExceeded, FinchTimeout, FinchUnavailable, PathNotAllowed } from '#core/errors.js';
import type { FinchBudget } from '#core/finch-budget.js';
import type { AccessTokenSource, FinchDataGateway, FinchDataRequest, FinchDataResponse } from '#core/ports/finch-data.js';
import { budgetRefusal, withFinchBudget } from './finch-budget-fetch.js';
import { FINCH_USER_AGENT, abortAwareFetch } from './finch-gateway.js';
import { countFinchError, withFinchMetrics } from './finch-metrics-fetch.js';
import { metrics } from './metrics.js';
import { retryAfterSeconds } from './finch-rate-limits.js';

export interface FinchDataOptions {
  baseURL: string;
  timeoutMs?: number;
  /** The shared Finch budget every request takes first (functions/core/finch-budget.ts). */
  budget: FinchBudget;
  /** For tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** Request headers this adapter passes on; its own (Authorization, Finch-API-Version) always win. */
const REQUEST_HEADERS = new Set(['accept', 'content-type']);
/**
 * Finch's response headers worth passing on; the rest describe Finch's infrastructure. Besides the
 * request id, the data's freshness ("Headers", https://developer.tryfinch.com/api-reference/development-guides/Headers):
 * when the data was retrieved from the provider, when Finch last tried to update it and with what
 * result (`success`, `error`, `partial_error`).
 */
export const RESPONSE_HEADERS = [
  'retry-after', 'finch-request-id', 'finch-data-retrieved', 'finch-last-attempted-update-date', 'finch-last-attempted-update-result',
];

export class OutgoingUrlRefused extends Error {
  constructor() { super('The outgoing URL is not on Finch\'s origin.'); this.name = 'OutgoingUrlRefused'; }
}

/** The token could not be put in a header; says nothing of the token (the Headers error would quote it). */
export class AccessTokenUnsendable extends Error {
  constructor() { super('The access token is not a valid header value.'); this.name = 'AccessTokenUnsendable'; }
}

export class SdkFinchDataGateway implements FinchDataGateway {
  private readonly finch: Finch;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly budget: FinchBudget;
  private readonly send: typeof fetch;

  constructor(options: FinchDataOptions) {
    this.origin = new URL(options.baseURL).origin;
    this.timeoutMs = options.timeoutMs ?? 8000;
    this.budget = options.budget;
    // Aborts from another realm stay timeouts (see abortAwareFetch).
    this.send = options.fetch ?? abortAwareFetch;
    // Each call gets a client of its own with its fetch (forward): this one only builds and checks URLs.
    this.finch = new Finch({
      baseURL: options.baseURL,
      // Explicit nulls: the SDK would otherwise read FINCH_CLIENT_ID/SECRET from the environment.
      accessToken: null,
      clientID: null,
      clientSecret: null,
      webhookSecret: null,
      timeout: this.timeoutMs,
      // The caller gets Finch's status and owns the retry; a POST is never sent twice.
      maxRetries: 0,
      // A redirect could carry the token elsewhere: never follow one.
      fetchOptions: { redirect: 'error' },
      defaultHeaders: { 'User-Agent': FINCH_USER_AGENT },
    });
  }

  async forward(request: FinchDataRequest, accessToken: AccessTokenSource): Promise<FinchDataResponse> {
    const query = Object.keys(request.query).length > 0 ? request.query : undefined;
    // Checked before anything is sent; the fetch guard checks the URL the SDK finally built, too.
    if (new URL(this.finch.buildURL(request.path, query)).origin !== this.origin) throw new PathNotAllowed();
    // The caller's deadline caps Finch's timeout, so one slow call cannot outlast it.
    const left = request.deadline === undefined ? Number.POSITIVE_INFINITY : Math.ceil(request.deadline - Date.now());
    if (left <= 0) throw new FinchDeadlineExceeded();
    // A read allowed the whole deadline waits for it; otherwise Finch's timeout may come first.
    const cut = left < this.timeoutMs || (request.untilDeadline === true && Number.isFinite(left));
    const token = withAccessToken(withFinchMetrics(this.send, metrics), accessToken);
    // Per call: the guard first, then the budget, then the token, for this call's requests only.
    const client = this.finch.withOptions({ fetch: this.guard(withFinchBudget(token.fetch, this.budget)) });
    const options = {
      ...(cut ? { timeout: left } : {}),
      query,
      headers: {
        ...Object.fromEntries(Object.entries(request.headers).filter(([name]) => REQUEST_HEADERS.has(name.toLowerCase()))),
        // No token in the SDK: an explicit null tells it that Authorization is set elsewhere (withAccessToken).
        Authorization: null,
      },
      ...(request.method === 'GET' ? {} : { body: request.body ?? {} }),
    };
    try {
      const call = request.method === 'GET' ? client.get(request.path, options)
        : request.method === 'POST' ? client.post(request.path, options)
          : client.delete(request.path, options);
      const response = await call.asResponse();
      return { status: response.status, body: parseJson(await response.text()), headers: pickHeaders(response.headers) };
    } catch (error) {
      // The token could not be had (a KMS fault): nothing was sent, and it is no fault of Finch's.
      const tokenFault = token.fault();
      if (tokenFault) throw tokenFault.error;
      // The SDK throws for every non-2xx answer; those are Finch's answers, returned as data.
      if (error instanceof APIError && typeof error.status === 'number') {
        // The budget's refusal: nothing was sent, and the caller is ours to answer (429 finch_rate_limited).
        const refusal = error.status === 429 ? budgetRefusal(error.headers) : undefined;
        if (refusal) throw countFinchError(metrics, refusal);
        const headers = pickHeaders(error.headers);
        // Finch documents no Retry-After for its 429s: the caller gets one anyway, Finch's (capped)
        // or the finch_code's, as every 429 of this API has one (finch-rate-limits.ts).
        if (error.status === 429) headers['retry-after'] = String(retryAfterSeconds(error.headers, (error.error as { finch_code?: unknown } | undefined)?.finch_code));
        return { status: error.status, body: error.error ?? null, headers };
      }
      if (error instanceof APIConnectionTimeoutError) throw countFinchError(metrics, cut ? new FinchDeadlineExceeded() : new FinchTimeout());
      if (error instanceof APIConnectionError) throw countFinchError(metrics, new FinchUnavailable());
      throw error;
    }
  }

  /** The last check before a request leaves: the URL's origin must be Finch's. */
  private guard(send: typeof fetch): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.origin !== this.origin) throw new OutgoingUrlRefused();
      return send(input, init);
    };
  }
}

/**
 * `send` with `Authorization: Bearer` from the token source, asked for only when a request gets
 * here (past the guard and the budget). A failure to get the token is kept for forward to throw as
 * it is (the SDK would report a throwing fetch as a connection error) and nothing is sent.
 */
function withAccessToken(send: typeof fetch, accessToken: AccessTokenSource): { fetch: typeof fetch; fault: () => { error: unknown } | undefined } {
  let fault: { error: unknown } | undefined;
  return {
    fault: () => fault,
    fetch: async (input, init) => {
      let value: string;
      try {
        value = `Bearer ${await accessToken()}`;
        if (!/^[\x21-\x7e]+ [\x21-\x7e]+$/.test(value)) throw new AccessTokenUnsendable();
      } catch (error) {
        fault = { error };
        throw error;
      }
      const headers = new Headers(init?.headers);
      headers.set('authorization', value);
      return send(input, { ...init, headers });
    },
  };
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function pickHeaders(headers: Headers | undefined): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = headers?.get(name);
    if (value && /^[\x20-\x7e]{1,128}$/.test(value)) picked[name] = value;
  }
  return picked;
}
