import type { Clock } from './ports/clock.js';
import type { ConnectionStore } from './ports/connection-store.js';
import type { FinchGateway, WebhookVerifier } from './ports/finch.js';
import type { Metrics } from './ports/metrics.js';
import type { SessionStore } from './ports/session-store.js';
import type { TokenCipher } from './ports/token-cipher.js';
import type { WebhookInbox } from './ports/webhook-inbox.js';

/** Settings the core needs, already validated by the configuration adapter. */
export interface CoreSettings {
  /** This backend's `GET /connect/callback`, sent to Finch as `redirect_uri` in the redirect flow. */
  callbackUrl: string;
  allowedReturnOrigins: ReadonlySet<string>;
  defaultProducts: string[];
  /** Ceiling for non-admin callers. */
  allowedProducts: ReadonlySet<string>;
  /** FINCH_SANDBOX: the sandbox mode sessions get when the request names none. */
  defaultSandbox?: 'finch' | 'provider';
  /** How long the callback may keep retrying the final store before it gives up (ms). */
  storeBudgetMs: number;
}

/** A structured logger; Powertools' Logger fits. Attributes must never hold a secret. */
export interface Log {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** What every function has: the stores (one table), the token cipher, time, a logger and the metrics. */
export interface BaseDeps {
  /** Connect sessions, and the callback's claim, stash and final transactions. */
  sessions: SessionStore;
  /** Connections and their audit trail. */
  connections: ConnectionStore;
  /** Finch's webhook events, deduplicated and applied. */
  inbox: WebhookInbox;
  cipher: TokenCipher;
  clock: Clock;
  log: Log;
  /** Business metrics (functions/core/metrics.ts), written once a request by the HTTP stack. */
  metrics: Metrics;
}

/** Plus Finch with the client credentials and the settings: every function but the data proxy. */
export interface CoreDeps extends BaseDeps {
  finch: FinchGateway;
  webhooks: WebhookVerifier;
  settings: CoreSettings;
}

/**
 * Starting a Connect session: no token cipher, since a session never reads or writes a token
 * (reauthenticate's container has none, functions/http/session-app.ts).
 */
export type SessionDeps = Omit<CoreDeps, 'cipher'>;

/** Who is calling, from the JWT authorizer context, already checked by the HTTP layer. */
export interface Caller {
  /** The customer this request acts for (admins name it explicitly). */
  customer_id: string;
  admin: boolean;
  /** Who acts, for tombstones and audit: the token's `sub`, else the customer. */
  actor: string;
  /** The client the token was issued to (`client_id`, else `azp`), when it names one. */
  client_id?: string;
  /** From the `customer_name` claim when the token has one. */
  customer_name?: string;
}
