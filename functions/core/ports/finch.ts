// Finch with this application's client credentials: Connect sessions, the code exchange, a
// connection's status, disconnecting, and verifying Finch's webhooks. Implemented by
// functions/adapters/finch-gateway.ts over the official SDK.
import type { ConnectionStatus, ConnectionType } from '../model.js';

export interface ConnectSessionRequest {
  customer_id: string;
  customer_name: string;
  customer_email?: string;
  products: string[];
  integration?: { provider: string; auth_method?: 'assisted' | 'credential' | 'oauth' | 'api_token' };
  sandbox?: 'finch' | 'provider';
  manual?: boolean;
  minutes_to_expire: number;
  redirect_uri?: string;
}

export interface ReauthSessionRequest {
  connection_id: string;
  minutes_to_expire: number;
  products?: string[];
  redirect_uri?: string;
}

export interface FinchSession { session_id: string; connect_url: string }

export interface TokenGrant {
  access_token: string;
  connection_id: string;
  /** Finch's customer id for this token, or null when the response lacked it (invariant 3). */
  customer_id: string | null;
  provider_id: string;
  products: string[];
  /** Optional in Finch's answer (SDK CreateAccessTokenResponse): null/[] when absent or not what the SDK types say. */
  company_id: string | null;
  entity_ids: string[];
  connection_type: ConnectionType | null;
}

export interface Introspection {
  connection_id: string;
  customer_id: string | null;
  provider_id: string;
  products: string[];
  /**
   * Our status for Finch's `connection_status.status` (functions/core/finch-status.ts: e.g. Finch's
   * `disconnected` is `reauth`); null when Finch reported a value that table does not hold (one
   * Finch added later, a wrong type): the caller keeps the status it has.
   */
  status: ConnectionStatus | null;
  /** Finch's own value, when it is a snake_case word (for the log line of a value we do not know). */
  finch_status: string | null;
  status_message: string | null;
  authentication_methods: string[];
  /** Each authentication method's status (`authentication_methods[].connection_status.status`), read as `status` is. */
  authentication_method_statuses: Array<{ type: string; status: ConnectionStatus | null }>;
  /** Finch's multi-entity mode: each entity's status (`entities[].status`), read as `status` is; [] otherwise. */
  entity_statuses: Array<{ entity_id: string; status: ConnectionStatus | null }>;
  /** Optional in Finch's answer (SDK Introspection): null when absent or not what the SDK types say. */
  company_id: string | null;
  manual: boolean | null;
  last_successful_sync: string | null;
}

/**
 * Finch's API. Its errors say what happened (functions/core/errors.ts): FinchUnavailable (and
 * FinchTimeout, FinchResponseIncomplete), FinchRateLimited, FinchRejected (AuthorizationCodeRejected
 * for a code), AccessTokenRejected, ConnectionExistsAtFinch.
 */
export interface FinchGateway {
  /**
   * Has the client credentials at hand (fetched once per container, then cached). The callback
   * asks before it claims a state, so a secrets fault is answered while the state is still unspent.
   */
  prepare(): Promise<void>;
  createConnectSession(request: ConnectSessionRequest): Promise<FinchSession>;
  createReauthSession(request: ReauthSessionRequest): Promise<FinchSession>;
  /** `POST /auth/token`: never retried (a retry of a consumed code fails and hides the first success). */
  exchangeCode(code: string, redirectUri: string | undefined): Promise<TokenGrant>;
  introspect(accessToken: string): Promise<Introspection>;
  /** `GET /employer/company`: the company's legal name, for the connections page. */
  getCompanyName(accessToken: string): Promise<string | null>;
  /** `POST /disconnect`: revokes every token of the connection at Finch. */
  disconnect(accessToken: string): Promise<void>;
}

/** Verifies a Finch webhook's signature over the raw body; throws `WebhookSignatureInvalid`. */
export interface WebhookVerifier {
  verify(rawBody: string, headers: Record<string, string | undefined>): Promise<void>;
}
