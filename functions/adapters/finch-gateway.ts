// The FinchGateway port over the official SDK. Finch's errors become typed errors here so the core
// and the HTTP layer never see SDK types, and no SDK error text (which may quote a body) escapes.
import Finch, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@tryfinch/finch-api';
import { VERSION } from '@tryfinch/finch-api/version';
import {
  AccessTokenRejected, AuthorizationCodeRejected, ConnectionExistsAtFinch, FinchOperationRefused, type FinchRefusal, FinchRateLimited,
  FinchRejected, FinchResponseIncomplete, FinchTimeout, FinchUnavailable, WebhookSignatureInvalid,
} from '#core/errors.js';
import type { FinchBudget } from '#core/finch-budget.js';
import { CONNECTION_ID_PATTERN } from '#core/ids.js';
import type {
  ConnectSessionRequest, FinchGateway, FinchSession, Introspection, ReauthSessionRequest, TokenGrant, WebhookVerifier,
} from '#core/ports/finch.js';
import { budgetRefusal, withFinchBudget } from './finch-budget-fetch.js';
import { grantIdentity, introspectedIdentity, introspectedStatuses } from './finch-responses.js';
import { countFinchError, withFinchMetrics } from './finch-metrics-fetch.js';
import { retryAfterSeconds, withoutLongRetries } from './finch-rate-limits.js';
import { metrics } from './metrics.js';
import type { FinchCredentialsSource } from './secrets.js';

export interface FinchGatewayOptions {
  baseURL: string;
  /** API Gateway cuts a request at 29 s; two Finch calls must fit. */
  timeoutMs?: number;
  /** The shared Finch budget every request takes first (functions/core/finch-budget.ts). */
  budget: FinchBudget;
}

/**
 * The SDK's own User-Agent, set explicitly: the SDK derives it from its client class's name, which
 * the bundles' minification (no keepNames) shortens to a letter or two.
 */
export const FINCH_USER_AGENT = `Finch/JS ${VERSION}`;

type FinchErrorBody = { finch_code?: unknown; code?: unknown; name?: unknown; message?: unknown; context?: { connection_id?: unknown } };

/** What a call is, for telling Finch's answers apart: `connect` is `POST /connect/sessions`. */
export type CallKind = 'basic' | 'connect' | 'exchange' | 'bearer';

/** Words of a refusal that speak of a connection the customer id already has. */
const ALREADY_CONNECTED = /already[\s_-]*(exists?|connected)|existing[\s_-]*connection|connection[\s_-]*exists/i;

export class SdkFinchGateway implements FinchGateway, WebhookVerifier {
  private client: { credentials: object | null; finch: Finch } | null = null;

  /**
   * `credentials` null: a client for the calls made with a connection's access token only
   * (introspect, the company, disconnect), for a function that holds no client credentials
   * (enrich-company: no Secrets Manager call); any other call throws before anything is sent.
   */
  constructor(private readonly credentials: FinchCredentialsSource | null, private readonly options: FinchGatewayOptions) {}

  async prepare(): Promise<void> {
    await this.credentials?.get();
  }

  async createConnectSession(request: ConnectSessionRequest): Promise<FinchSession> {
    return this.withClient(async (finch) => {
      const { session_id, connect_url } = await finch.connect.sessions.new(request as Parameters<Finch['connect']['sessions']['new']>[0]);
      return { session_id, connect_url };
    }, 'connect');
  }

  async createReauthSession(request: ReauthSessionRequest): Promise<FinchSession> {
    return this.withClient(async (finch) => {
      const { session_id, connect_url } = await finch.connect.sessions.reauthenticate(request as Parameters<Finch['connect']['sessions']['reauthenticate']>[0]);
      return { session_id, connect_url };
    });
  }

  async exchangeCode(code: string, redirectUri: string | undefined): Promise<TokenGrant> {
    return this.withClient(async (finch) => {
      // Never retried: a retry of a consumed code fails and hides the first success.
      const grant = await finch.accessTokens.create({ code, redirect_uri: redirectUri }, { maxRetries: 0 });
      // Without these the token cannot be bound to a connection: refuse it rather than store it
      // under a made-up id (the adopt path recovers the connection).
      const required = [grant.access_token, grant.connection_id, grant.provider_id];
      if (!required.every((value) => typeof value === 'string' && value.length > 0)) throw new FinchResponseIncomplete();
      return {
        access_token: grant.access_token,
        connection_id: grant.connection_id,
        customer_id: grant.customer_id ?? null,
        provider_id: grant.provider_id,
        products: grant.products ?? [],
        ...grantIdentity(grant),
      };
    }, 'exchange');
  }

  async introspect(accessToken: string): Promise<Introspection> {
    return this.withClient(async (finch) => {
      const found = await finch.withOptions({ accessToken }).account.introspect();
      return {
        connection_id: found.connection_id,
        customer_id: found.customer_id ?? null,
        provider_id: found.provider_id,
        products: found.products ?? [],
        ...introspectedStatuses(found),
        ...introspectedIdentity(found),
      };
    }, 'bearer');
  }

  async getCompanyName(accessToken: string): Promise<string | null> {
    return this.withClient(async (finch) => (await finch.withOptions({ accessToken }).hris.company.retrieve()).legal_name ?? null, 'bearer');
  }

  async disconnect(accessToken: string): Promise<void> {
    // Not retried by the SDK on a 5xx: the caller decides (DELETE answers 502 and can be repeated).
    await this.withClient(async (finch) => { await finch.withOptions({ accessToken }).account.disconnect({ maxRetries: 0 }); }, 'bearer');
  }

  /**
   * The official SDK's check: HMAC-SHA256 over `${id}.${timestamp}.${body}`, several `v1,`
   * signatures, ±300 s, constant-time compare. A failure is retried once with freshly fetched
   * credentials, in case the webhook secret was rotated.
   */
  async verify(rawBody: string, headers: Record<string, string | undefined>): Promise<void> {
    const clean = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    for (let attempt = 0; attempt < 2; attempt++) {
      const credentials = await this.clientCredentials().get(attempt > 0);
      if (!credentials.webhook_secret) throw new Error('The Finch webhook secret is not configured.');
      try {
        (await this.finch(false)).webhooks.verifySignature(rawBody, clean, credentials.webhook_secret);
        return;
      } catch {
        // The SDK's messages name what failed (stale, missing header); the caller gets one answer.
      }
    }
    throw new WebhookSignatureInvalid();
  }

  /**
   * Runs a call with a client built from the current credentials. A rejected client credential is
   * refetched once (the secret may have been rotated) before giving up, except for the code
   * exchange, which is never sent twice.
   */
  private async withClient<T>(call: (finch: Finch) => Promise<T>, kind: CallKind = 'basic'): Promise<T> {
    if (kind !== 'bearer') this.clientCredentials();
    for (let attempt = 0; ; attempt++) {
      const finch = await this.finch(attempt > 0);
      try {
        return await call(finch);
      } catch (error) {
        if ((kind === 'basic' || kind === 'connect') && error instanceof APIError && error.status === 401 && attempt === 0) continue;
        throw countFinchError(metrics, translate(error, kind));
      }
    }
  }

  private clientCredentials(): FinchCredentialsSource {
    if (!this.credentials) throw new Error('This Finch client holds no client credentials: it makes only calls with an access token.');
    return this.credentials;
  }

  private async finch(refresh: boolean): Promise<Finch> {
    const credentials = this.credentials ? await this.credentials.get(refresh) : null;
    if (!this.client || this.client.credentials !== credentials) {
      this.client = {
        credentials,
        finch: new Finch({
          // Explicit nulls without credentials: the SDK would otherwise read FINCH_CLIENT_ID/SECRET from the environment.
          clientID: credentials?.client_id ?? null,
          clientSecret: credentials?.client_secret ?? null,
          accessToken: null,
          webhookSecret: null,
          baseURL: this.options.baseURL,
          timeout: this.options.timeoutMs ?? 8000,
          // One retry of a passing fault (a 5xx, a reset connection), never of a 429 or a 409, and
          // never after a long Retry-After: a request does not sleep on Finch (finch-rate-limits.ts).
          maxRetries: 1,
          // The budget outermost: it sees each request the SDK sends, retries included; the metrics
          // inside it see only what left for Finch.
          fetch: withFinchBudget(withFinchMetrics(withoutLongRetries(abortAwareFetch), metrics), this.options.budget),
          defaultHeaders: { 'User-Agent': FINCH_USER_AGENT },
        }),
      };
    }
    return this.client.finch;
  }
}

/**
 * The SDK tells a timeout from other connection errors by the abort error's name, which it loses
 * when the error comes from another JavaScript realm (a test runner's sandbox): rethrow aborts as
 * this realm's Error with the same name so a timeout stays a 504 everywhere.
 */
export const abortAwareFetch: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (error) {
    if ((error as Error | null)?.name === 'AbortError' && !(error instanceof Error)) {
      throw Object.assign(new Error('The request was aborted.'), { name: 'AbortError' });
    }
    throw error;
  }
};

/** Finch's answer to a call as the core's error (exported for its unit tests). */
export function translate(error: unknown, kind: CallKind): Error {
  if (error instanceof APIConnectionTimeoutError) return new FinchTimeout();
  if (error instanceof APIConnectionError) return new FinchUnavailable();
  if (error instanceof FinchUnavailable) return error;
  if (!(error instanceof APIError)) return error instanceof Error ? error : new Error('unknown Finch error');
  const body = (error.error ?? {}) as FinchErrorBody;
  if (error.status === 429) {
    // The budget's own refusal: nothing was sent to Finch.
    const refusal = budgetRefusal(error.headers);
    if (refusal) return refusal;
    const finchCode = typeof body.finch_code === 'string' ? body.finch_code : null;
    return new FinchRateLimited(retryAfterSeconds(error.headers, finchCode), finchCode);
  }
  if (error.status === 401 && kind === 'bearer') return new AccessTokenRejected(typeof body.finch_code === 'string' ? body.finch_code : null);
  const refusal = kind === 'bearer' ? refusalOf(error.status, body) : null;
  if (refusal) return new FinchOperationRefused(refusal);
  if (kind === 'connect' && isAlreadyConnected(error.status, body)) {
    const named = body.context?.connection_id;
    return new ConnectionExistsAtFinch(typeof named === 'string' && CONNECTION_ID_PATTERN.test(named) ? named : null);
  }
  if (error.status === 400 && kind === 'exchange') return new AuthorizationCodeRejected();
  if (error.status === 400 || error.status === 404 || error.status === 422) {
    return new FinchRejected();
  }
  return new FinchUnavailable();
}

/**
 * Finch's answers to a call with a connection's token that a retry does not change ("Error Types",
 * https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types): 402
 * `payment_required`, 403 `error_permissions` (finch_code `insufficient_account_permissions`: the
 * connected admin account lacks permissions) or `insufficient_scope_error` (the product was not
 * granted; the 403 a body naming neither is taken for), 501 `not_implemented_error` (the provider
 * does not support it). Only for bearer calls: a 403 with the client credentials (a Connect
 * session) means this application lacks a scope, a fault of ours that stays finch_unavailable.
 */
function refusalOf(status: number | undefined, body: FinchErrorBody): FinchRefusal | null {
  if (status === 402) return 'payment_required';
  if (status === 403) return body.name === 'error_permissions' || body.finch_code === 'insufficient_account_permissions' ? 'error_permissions' : 'insufficient_scope_error';
  if (status === 501) return 'not_implemented_error';
  return null;
}

/**
 * Finch refuses a Connect session for a customer id with a live connection (Manage Connections:
 * reauthenticate it instead) but documents no body for the refusal. Recognised: any 409 from
 * `POST /connect/sessions` (a conflict is what else it could mean), and a 400 whose finch_code, name
 * or message speaks of an existing connection. Any other 400 (bad products, a bad field) stays a
 * refusal of the request.
 */
function isAlreadyConnected(status: number | undefined, body: FinchErrorBody): boolean {
  if (status === 409) return true;
  if (status !== 400) return false;
  return [body.finch_code, body.name, body.message].some((text) => typeof text === 'string' && ALREADY_CONNECTED.test(text));
}
