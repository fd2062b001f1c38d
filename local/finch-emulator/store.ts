// The emulator's whole state, in memory. Handlers change it synchronously between awaits, so two
// concurrent requests never interleave inside one change (a code is consumed exactly once).

export const CONNECTION_STATUSES = [
  'pending', 'processing', 'connected', 'error_no_account_setup', 'error_permissions', 'reauth',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const PRODUCTS = [
  'benefits', 'company', 'deduction', 'directory', 'documents', 'employment', 'individual', 'payment',
  'pay_statement', 'plans', 'plans_dependents', 'plans_enrollments', 'recordkeeping', 'ssn',
] as const;

export type AuthMethod = 'assisted' | 'credential' | 'oauth' | 'api_token';

export interface ConnectSession {
  session_id: string;
  /** `reauth` sessions come from /connect/sessions/reauthenticate and name their connection. */
  kind: 'connect' | 'reauth';
  connection_id: string | null;
  customer_id: string;
  customer_name: string;
  customer_email: string | null;
  products: string[];
  integration: { provider: string; auth_method: AuthMethod | null } | null;
  manual: boolean;
  sandbox: 'finch' | 'provider' | null;
  /** Absent for the embedded flow: the hosted page then answers the code as JSON. */
  redirect_uri: string | null;
  expires_at: number;
  /** Set once the employer completed it; a completed session cannot be used again. */
  completed: boolean;
}

export interface IssuedToken {
  access_token: string;
  /** The token's own id, as `/introspect` reports it. */
  token_id: string;
  issued_at: number;
}

export interface EmulatedConnection {
  connection_id: string;
  account_id: string;
  company_id: string;
  /** The entity of the company this connection reads (one a connection here): not the company's id. */
  entity_id: string;
  customer_id: string;
  customer_name: string;
  customer_email: string | null;
  provider_id: string;
  /** `finch` for a session with `sandbox: 'finch'` (Finch-generated data), else `provider`. */
  connection_type: 'finch' | 'provider';
  /** The credentials ("logins") the employer used on the hosted page; the first one made it. */
  logins: string[];
  products: string[];
  status: ConnectionStatus;
  status_message: string | null;
  /**
   * What /introspect reports instead of `status` (overall, on the authentication method and each
   * entity) when a test sets it: a value Finch documents that the SDK's union misses
   * (`disconnected`, `reauth_error`) or one nobody documents yet. The data endpoints keep to `status`.
   */
  reported_status?: string;
  authentication_type: AuthMethod;
  manual: boolean;
  created_at: number;
  last_successful_sync: number | null;
  tokens: IssuedToken[];
  disconnected: boolean;
  /** Finch sends its initial-sync events once, the first time the connection is connected with a token. */
  initial_sync_sent: boolean;
}

export interface AuthorizationCode {
  code: string;
  session_id: string;
  connection_id: string;
  /** The redirect_uri the code was sent to; the exchange must name the same one. */
  redirect_uri: string | null;
  products: string[];
  reauth: boolean;
  expires_at: number;
  used: boolean;
}

export interface WebhookRecord {
  event_id: string;
  event_type: string;
  connection_id: string;
  status: number | null;
}

export interface ConnectionView {
  connection_id: string;
  customer_id: string;
  customer_name: string;
  customer_email: string | null;
  provider_id: string;
  company_id: string;
  account_id: string;
  entity_id: string;
  connection_type: 'finch' | 'provider';
  logins: string[];
  products: string[];
  status: ConnectionStatus;
  /** Every access token ever issued for the connection, oldest first (tests search for leaks). */
  tokens: string[];
  disconnected: boolean;
  created_at: string;
}

export interface EmulatorState {
  connections: ConnectionView[];
  sessions: number;
  /** Calls per "METHOD /path-template", counted on arrival (before auth and faults). */
  calls: Record<string, number>;
  /** Every distinct User-Agent the API calls among them arrived with (not the hosted page's). */
  user_agents: string[];
  webhooks: WebhookRecord[];
  /** Faults still waiting for a request. */
  faults: Array<{ method: string; path: string; remaining: number }>;
}

export class EmulatorStore {
  readonly sessions = new Map<string, ConnectSession>();
  readonly connections = new Map<string, EmulatedConnection>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly calls = new Map<string, number>();
  readonly userAgents = new Set<string>();
  readonly webhooks: WebhookRecord[] = [];
  /** A company id per company key (the part of a login after its first `@`). */
  private readonly companies = new Map<string, string>();

  reset(): void {
    this.sessions.clear();
    this.connections.clear();
    this.companies.clear();
    this.codes.clear();
    this.calls.clear();
    this.userAgents.clear();
    this.webhooks.length = 0;
  }

  countCall(route: string, userAgent: string | undefined): void {
    this.calls.set(route, (this.calls.get(route) ?? 0) + 1);
    if (userAgent !== undefined) this.userAgents.add(userAgent);
  }

  /** A session for this customer that the employer has not finished yet and that has not expired. */
  pendingSessionFor(customer_id: string, now: number): ConnectSession | undefined {
    for (const session of this.sessions.values()) {
      if (session.kind === 'connect' && session.customer_id === customer_id && !session.completed && session.expires_at > now) {
        return session;
      }
    }
    return undefined;
  }

  /** A session the hosted page may still use. */
  usableSession(session_id: string, now: number): ConnectSession | undefined {
    const session = this.sessions.get(session_id);
    return session && !session.completed && session.expires_at > now ? session : undefined;
  }

  /** The newest live connection of a Finch customer id, on any provider. */
  liveConnectionOf(customer_id: string): EmulatedConnection | undefined {
    let newest: EmulatedConnection | undefined;
    for (const connection of this.connections.values()) {
      if (connection.customer_id !== customer_id || connection.disconnected) continue;
      if (!newest || connection.created_at >= newest.created_at) newest = connection;
    }
    return newest;
  }

  /** The employer a login belongs to: one id per company key, made on first use. */
  companyId(companyKey: string, newId: () => string): string {
    let id = this.companies.get(companyKey);
    if (!id) {
      id = newId();
      this.companies.set(companyKey, id);
    }
    return id;
  }

  /**
   * A connection's identity, as Finch's "Disconnect Tokens" page tells it: the same company on the
   * same provider with the same credentials is the same connection (a new token); other
   * credentials, or another provider, make another connection.
   */
  liveConnectionFor(company_id: string, provider_id: string, login: string): EmulatedConnection | undefined {
    for (const connection of this.connections.values()) {
      if (connection.disconnected || connection.company_id !== company_id || connection.provider_id !== provider_id) continue;
      if (connection.logins.includes(login)) return connection;
    }
    return undefined;
  }

  /** The connection holding a valid access token; tokens of a disconnected connection are revoked. */
  tokenHolder(access_token: string): { connection: EmulatedConnection; token: IssuedToken } | undefined {
    for (const connection of this.connections.values()) {
      if (connection.disconnected) continue;
      const token = connection.tokens.find((issued) => issued.access_token === access_token);
      if (token) return { connection, token };
    }
    return undefined;
  }

  snapshot(faults: EmulatorState['faults']): EmulatorState {
    return {
      connections: [...this.connections.values()].map((connection) => ({
        connection_id: connection.connection_id,
        customer_id: connection.customer_id,
        customer_name: connection.customer_name,
        customer_email: connection.customer_email,
        provider_id: connection.provider_id,
        company_id: connection.company_id,
        account_id: connection.account_id,
        entity_id: connection.entity_id,
        connection_type: connection.connection_type,
        logins: [...connection.logins],
        products: [...connection.products],
        status: connection.status,
        tokens: connection.tokens.map((token) => token.access_token),
        disconnected: connection.disconnected,
        created_at: new Date(connection.created_at).toISOString(),
      })),
      sessions: this.sessions.size,
      calls: Object.fromEntries(this.calls),
      user_agents: [...this.userAgents],
      webhooks: this.webhooks.map((record) => ({ ...record })),
      faults,
    };
  }
}
