// In-memory fakes of the core's ports, for unit tests and the warm-overhead benchmark: Finch, the
// token cipher and the webhook verifier here, the three stores in memory-stores.ts.
import { randomUUID } from 'node:crypto';
import type { CoreDeps, Log } from '#core/deps.js';
import { AuthorizationCodeRejected, ConnectionExistsAtFinch, WebhookSignatureInvalid } from '#core/errors.js';
import type {
  ConnectSessionRequest, FinchGateway, FinchSession, Introspection, ReauthSessionRequest, TokenGrant, WebhookVerifier,
} from '#core/ports/finch.js';
import type { TokenCipher, TokenContext } from '#core/ports/token-cipher.js';
import type { Metrics } from '#core/ports/metrics.js';
import type { DimensionsOf, MetricName } from '#core/metrics.js';
import { MemoryTable, memoryStores } from './memory-stores.js';

/** A fake Finch that issues tokens and records every call. */
export class FakeFinch implements FinchGateway {
  calls: string[] = [];
  grants = new Map<string, TokenGrant>();
  existing = new Map<string, string>();
  exchangeError: Error | null = null;
  introspection: Partial<Introspection> = {};
  prepareError: Error | null = null;

  async prepare() {
    if (this.prepareError) throw this.prepareError;
  }

  async createConnectSession(request: ConnectSessionRequest): Promise<FinchSession> {
    this.calls.push('POST /connect/sessions');
    const existing = this.existing.get(request.customer_id);
    if (existing) throw new ConnectionExistsAtFinch(existing);
    return { session_id: `sess_${randomUUID()}`, connect_url: 'https://connect.example/authorize?session=1' };
  }

  async createReauthSession(request: ReauthSessionRequest): Promise<FinchSession> {
    this.calls.push('POST /connect/sessions/reauthenticate');
    return { session_id: `sess_${request.connection_id}`, connect_url: 'https://connect.example/authorize?session=2' };
  }

  /** Registers a code that exchanges for the given grant. */
  issue(code: string, grant: Partial<TokenGrant> & { connection_id: string; customer_id: string | null }) {
    this.grants.set(code, {
      access_token: `tok_${randomUUID()}`, provider_id: 'gusto', products: ['company'],
      company_id: null, entity_ids: [], connection_type: null, ...grant,
    });
  }

  async exchangeCode(code: string): Promise<TokenGrant> {
    this.calls.push('POST /auth/token');
    if (this.exchangeError) throw this.exchangeError;
    const grant = this.grants.get(code);
    if (!grant) throw new AuthorizationCodeRejected();
    this.grants.delete(code);
    return grant;
  }

  disconnectError: Error | null = null;
  companyName: string | null = 'Acme Payroll LLC';

  async getCompanyName() {
    this.calls.push('GET /employer/company');
    return this.companyName;
  }

  async disconnect() {
    this.calls.push('POST /disconnect');
    if (this.disconnectError) throw this.disconnectError;
  }

  async introspect(): Promise<Introspection> {
    this.calls.push('GET /introspect');
    return {
      connection_id: 'c', customer_id: null, provider_id: 'gusto', products: ['company'], status: 'connected', finch_status: 'connected',
      status_message: null, authentication_methods: ['credential'], company_id: null, manual: null, last_successful_sync: null,
      authentication_method_statuses: [{ type: 'credential', status: 'connected' }], entity_statuses: [],
      ...this.introspection,
    };
  }
}

/** Reversible and context-bound, so tests can see what was stored without real crypto. */
export class FakeCipher implements TokenCipher {
  async encrypt(token: string, context: TokenContext) { return `enc(${context.customer_id}/${context.connection_id}):${token}`; }
  async decrypt(ciphertext: string, context: TokenContext) {
    const prefix = `enc(${context.customer_id}/${context.connection_id}):`;
    if (!ciphertext.startsWith(prefix)) throw new Error('wrong context');
    return ciphertext.slice(prefix.length);
  }
}

/** Accepts a body whose headers carry `finch-signature: valid`. */
export class FakeVerifier implements WebhookVerifier {
  async verify(_rawBody: string, headers: Record<string, string | undefined>) {
    if (headers['finch-signature'] !== 'valid') throw new WebhookSignatureInvalid();
  }
}

export const silentLog: Log = { info() {}, warn() {}, error() {} };

/** Keeps every datum the core adds, for tests of what it counts. */
export class RecordingMetrics implements Metrics {
  readonly data: Array<{ name: MetricName; dimensions: Record<string, string>; value: number }> = [];
  add<N extends MetricName>(name: N, dimensions: DimensionsOf<N>, value = 1) {
    this.data.push({ name, dimensions: dimensions as Record<string, string>, value });
  }
  /** The data of one metric, as `name dim=value …` strings (sorted dimensions), for toEqual. */
  of(name: MetricName): string[] {
    return this.data.filter((datum) => datum.name === name)
      .map((datum) => [datum.name, ...Object.keys(datum.dimensions).sort().map((key) => `${key}=${datum.dimensions[key]}`)].join(' '));
  }
}

/**
 * Core deps on fakes. `store` is the table the three store fakes share, to seed and inspect; to make
 * a store misbehave, replace a method of `deps.sessions`, `deps.connections` or `deps.inbox`.
 */
export function fakeDeps(overrides: Partial<CoreDeps> = {}) {
  const store = new MemoryTable();
  const finch = new FakeFinch();
  const deps: CoreDeps = {
    ...memoryStores(store),
    finch,
    webhooks: new FakeVerifier(),
    cipher: new FakeCipher(),
    clock: { now: () => new Date() },
    settings: {
      callbackUrl: 'https://api.example/connect/callback',
      allowedReturnOrigins: new Set(['https://app.example']),
      defaultProducts: ['company', 'directory'],
      allowedProducts: new Set(['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement']),
      storeBudgetMs: 500,
    },
    log: silentLog,
    metrics: new RecordingMetrics(),
    ...overrides,
  };
  return { deps, store, finch };
}
