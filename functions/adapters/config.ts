// Configuration, validated once at cold start. A missing or bad value fails naming the variable.
// Every variable is defined once, below, in the part of a container that reads it; a container
// validates the parts it builds (functions/adapters/container.ts) and no others, so the data proxy
// never parses the Connect session settings nor a session function the proxy's write routes.
import * as z from '#core/zod.js';
import { parseRateLimits } from '#core/finch-budget.js';
import { FINCH_PRODUCTS } from '#core/model.js';
import { WRITE_ROUTE_KEYS } from '#core/proxy.js';

const list = (fallback: string) => z.pipe(
  z._default(z.string(), fallback),
  z.transform((raw: string) => raw.split(',').map((item) => item.trim()).filter(Boolean)),
);
const products = (fallback: string) => z.pipe(list(fallback), z.array(z.enum(FINCH_PRODUCTS)));
const httpUrl = z.url({ protocol: /^https?$/ });

/** Each part's variables, made only for a container that builds the part. */
const PARTS = {
  /** The table and its client. */
  store: () => ({
    TABLE_NAME: z.string().check(z.minLength(3)),
    DYNAMODB_ENDPOINT: z.optional(httpUrl),
  }),
  /** The JWT claim names and admin settings every HTTP route reads (functions/http/wiring.ts). */
  caller: () => ({
    CUSTOMER_ID_CLAIM: z._default(z.string().check(z.minLength(1)), 'customer_id'),
    CUSTOMER_NAME_CLAIM: z._default(z.string().check(z.minLength(1)), 'customer_name'),
    ADMIN_SCOPE: z._default(z.string().check(z.regex(/^\S+$/)), 'connections:admin'),
    /** The clients (`client_id`/`azp`) whose tokens the admin scope counts for; empty: any client. */
    ADMIN_CLIENT_IDS: z.pipe(list(''), z.array(z.string().check(z.regex(/^[\x21-\x7e]+$/)))),
  }),
  finch: () => ({
    FINCH_API_BASE_URL: z._default(httpUrl, 'https://api.tryfinch.com'),
    /** Per Finch call; API Gateway cuts a request at 29 s and a callback may make two calls. */
    FINCH_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.gte(100), z.lte(12000)), 8000),
  }),
  /**
   * The shared Finch budget (functions/core/finch-budget.ts), for every container that calls Finch.
   * Defaults are Finch's documented limits
   * (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits).
   */
  budget: () => ({
    /** Overrides of Finch's numbers, `bucket=limit[/seconds]`, comma-separated (parseRateLimits). */
    FINCH_RATE_LIMITS: z.pipe(z._default(z.string(), ''), z.transform((raw: string, ctx) => {
      const parsed = parseRateLimits(raw);
      if ('limits' in parsed) return parsed.limits;
      ctx.issues.push({ code: 'custom', message: parsed.error, input: raw });
      return z.NEVER;
    })),
    /** The share of each burst background callers leave to interactive ones. */
    FINCH_BUDGET_RESERVE: z._default(z.coerce.number().check(z.gte(0), z.lte(0.9)), 0.25),
    /** The share of each limit that may go at once; the rest paces the sustained rate. */
    FINCH_BUDGET_BURST: z._default(z.coerce.number().check(z.gt(0), z.lte(1)), 0.25),
  }),
  /** Finch's client credentials: Secrets Manager in AWS, the environment locally. */
  credentials: () => ({
    FINCH_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
    FINCH_CLIENT_ID: z.optional(z.string().check(z.minLength(1))),
    FINCH_CLIENT_SECRET: z.optional(z.string().check(z.minLength(1))),
    FINCH_WEBHOOK_SECRET: z.optional(z.string().check(z.minLength(1))),
  }),
  /** The token cipher: KMS in AWS, local keys locally. */
  cipher: () => ({
    KMS_KEY_ARN: z.optional(z.string().check(z.minLength(1))),
    LOCAL_TOKEN_KEYS: z.optional(z.string().check(z.minLength(1))),
  }),
  /** The core's settings (CoreSettings): Connect sessions and the callback. */
  settings: () => ({
    CALLBACK_URL: httpUrl,
    ALLOWED_RETURN_ORIGINS: z.pipe(list(''), z.array(httpUrl)),
    DEFAULT_PRODUCTS: products('company,directory,individual,employment'),
    ALLOWED_PRODUCTS: products('company,directory,individual,employment,payment,pay_statement'),
    FINCH_SANDBOX: z.optional(z.enum(['finch', 'provider'])),
    STORE_BUDGET_MS: z._default(z.coerce.number().check(z.int(), z.gte(500), z.lte(20000)), 6000),
  }),
  proxy: () => ({
    /** Finch proxy writes to enable, as `METHOD /template` (see WRITE_ROUTE_KEYS); none by default. */
    FINCH_PROXY_WRITE_PATHS: z.pipe(list(''), z.array(z.enum(WRITE_ROUTE_KEYS))),
    /** The scope (a whole word of the JWT's `scope`) a caller needs for an enabled proxy write. */
    FINCH_PROXY_WRITE_SCOPE: z._default(z.string().check(z.regex(/^\S+$/)), 'connections:write'),
  }),
  /** The reconciler's runs (functions/reconcile/handler.ts; CDK context reconcileIntervalMinutes, reconcileMaxConnections). */
  reconcile: () => ({
    /** Minutes between two scheduled runs: the schedule's rate, and the unit of the webhook rule (core/reconcile.ts). */
    RECONCILE_INTERVAL_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1440)), 15),
    /** At most this many connections a run. */
    RECONCILE_MAX_CONNECTIONS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 200),
  }),
  /** The events function's bus (functions/events/handler.ts). */
  events: () => ({
    /** The custom bus the stack creates; PutEvents takes its name or ARN. */
    EVENT_BUS_NAME: z.string().check(z.minLength(1), z.maxLength(1600)),
    /** Locally: the local bus's PutEvents endpoint (local/events/bus.ts). Never in Lambda. */
    EVENTBRIDGE_ENDPOINT: z.optional(httpUrl),
  }),
  /** enrich-company's queue (functions/enrich-company/handler.ts): it changes a throttled message's visibility there. */
  enrichment: () => ({
    /** The queue's URL (lib/constructs/company-enrichment.ts); locally the local queue's (local/events/queue-endpoint.ts). */
    ENRICHMENT_QUEUE_URL: httpUrl,
  }),
};

export type Part = keyof typeof PARTS;
type Shape<P extends Part> = ReturnType<(typeof PARTS)[P]>;
type VariablesOf<P extends Part> = P extends Part ? keyof Shape<P> : never;
type ValueOf<P extends Part, V> = P extends Part ? (V extends keyof Shape<P> ? z.output<Shape<P>[V]> : never) : never;

/**
 * Parts that only a function outside the HTTP API builds (the stream's events function, the reconciler): never in
 * the default, so the HTTP functions and their tests need no EVENT_BUS_NAME.
 */
const OWN_FUNCTION_PARTS = ['events', 'reconcile', 'enrichment'] as const satisfies readonly Part[];
/** Every part an HTTP function may build: the default of loadConfig. */
export type HttpPart = Exclude<Part, (typeof OWN_FUNCTION_PARTS)[number]>;

/** The validated variables of the parts `P` (every HTTP part by default): `Config<'store' | 'finch'>`. */
export type Config<P extends Part = HttpPart> = { [V in VariablesOf<P>]: ValueOf<P, V> };

export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
}

const HTTP_PARTS = (Object.keys(PARTS) as Part[]).filter((part) => !(OWN_FUNCTION_PARTS as readonly Part[]).includes(part)) as HttpPart[];

/** Validates the variables of the parts `parts` (every HTTP part by default) and no others. */
export function loadConfig<P extends Part = HttpPart>(env: Record<string, string | undefined>, parts: readonly P[] = HTTP_PARTS as P[]): Config<P> {
  const schema = z.object(Object.assign({}, ...parts.map((part) => PARTS[part]())) as z.core.$ZodLooseShape);
  const parsed = schema.safeParse(env);
  // Name the variable, never echo its value (it may be a secret).
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  // The schema holds exactly the parts' variables, each with its own schema.
  const config = parsed.data as Config<P>;
  const values = parsed.data as Partial<Config<Part>>;
  const reads = (part: Part) => (parts as readonly Part[]).includes(part);
  // In Lambda, tokens are KMS-encrypted and credentials come from Secrets Manager, always: a stray
  // local variable must never make a deployed function use a key that lives in its environment,
  // whether or not this function reads it.
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    const localOnly = ['LOCAL_TOKEN_KEYS', 'FINCH_CLIENT_SECRET', 'FINCH_WEBHOOK_SECRET'].filter((name) => env[name]);
    if (localOnly.length) throw new ConfigError(`Invalid configuration: ${localOnly.join(', ')} must not be set in AWS Lambda (use KMS_KEY_ARN and FINCH_SECRET_ARN)`);
    // A deployed events function puts on the bus of its region, never on an endpoint from its environment.
    if (env.EVENTBRIDGE_ENDPOINT) throw new ConfigError('Invalid configuration: EVENTBRIDGE_ENDPOINT must not be set in AWS Lambda (it names the local bus)');
    const missing = [reads('cipher') && !values.KMS_KEY_ARN && 'KMS_KEY_ARN', reads('credentials') && !values.FINCH_SECRET_ARN && 'FINCH_SECRET_ARN'].filter(Boolean);
    if (missing.length) throw new ConfigError(`Invalid configuration: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required in AWS Lambda`);
  }
  if (reads('cipher') && !values.KMS_KEY_ARN && !values.LOCAL_TOKEN_KEYS) {
    throw new ConfigError('Invalid configuration: KMS_KEY_ARN (or LOCAL_TOKEN_KEYS locally) is required');
  }
  if (reads('credentials') && !values.FINCH_SECRET_ARN && !(values.FINCH_CLIENT_ID && values.FINCH_CLIENT_SECRET)) {
    throw new ConfigError('Invalid configuration: FINCH_SECRET_ARN (or FINCH_CLIENT_ID and FINCH_CLIENT_SECRET locally) is required');
  }
  return config;
}
