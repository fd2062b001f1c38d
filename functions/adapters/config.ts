// Configuration, validated once at cold start. A missing or bad value fails naming the variable.
// Every variable is defined once, below, in the part of a container that reads it; a container
// validates the parts it builds (functions/adapters/container.ts) and no others, so the data proxy
// never reads the Connect session settings nor a session function the proxy's write routes.
//
// Read with the small readers below rather than a zod schema, on purpose: the variables are read
// once per cold start, and building and running zod schemas for them cost every function ~15–22 M
// instructions of its cold import (3–4 %, ≈ 0.06× of the floor's wall time; BENCHMARKS.md "Issue 18:
// the configuration without zod"). Requests are still validated with zod, beside their handlers.
import { parseRateLimits } from '#core/finch-budget.js';
import { FINCH_PRODUCTS } from '#core/model.js';
import { WRITE_ROUTE_KEYS } from '#core/proxy-routes.js';

/** One variable: its value from the raw text (undefined when unset), or a Problem naming what is wrong (never the value). */
type Reader<T> = (raw: string | undefined) => T;

class Problem extends Error {}

/** Text, required unless it has a fallback; checked by length and pattern. */
const text = (options: { fallback?: string; min?: number; max?: number; pattern?: RegExp; says?: string } = {}): Reader<string> => (raw) => {
  const value = raw ?? options.fallback;
  if (value === undefined) throw new Problem('required');
  if (value.length < (options.min ?? 0)) throw new Problem(options.min === 1 ? 'must not be empty' : `must be at least ${options.min} characters`);
  if (options.max !== undefined && value.length > options.max) throw new Problem(`must be at most ${options.max} characters`);
  if (options.pattern && !options.pattern.test(value)) throw new Problem(options.says ?? `must match ${options.pattern}`);
  return value;
};

/** An absent variable is undefined; a present one must read. */
const optional = <T>(read: Reader<T>): Reader<T | undefined> => (raw) => (raw === undefined ? undefined : read(raw));

/** An http(s) URL (as given, less surrounding spaces). */
const httpUrl = (fallback?: string): Reader<string> => (raw) => {
  const value = (raw ?? fallback)?.trim();
  if (value === undefined) throw new Problem('required');
  if (!isHttpUrl(value)) throw new Problem('must be an http or https URL');
  return value;
};

function isHttpUrl(value: string): value is string {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** A number, with bounds; `integer` refuses fractions. */
const number = (options: { fallback: number; min?: number; above?: number; max: number; integer?: boolean }): Reader<number> => (raw) => {
  const value = raw === undefined ? options.fallback : Number(raw);
  if (raw !== undefined && (raw.trim() === '' || !Number.isFinite(value))) throw new Problem('must be a number');
  if (options.integer && !Number.isInteger(value)) throw new Problem('must be a whole number');
  if (options.min !== undefined && value < options.min) throw new Problem(`must be at least ${options.min}`);
  if (options.above !== undefined && value <= options.above) throw new Problem(`must be more than ${options.above}`);
  if (value > options.max) throw new Problem(`must be at most ${options.max}`);
  return value;
};

/** A comma-separated list (spaces around items and empty items dropped), each item checked. */
const list = <T extends string>(fallback: string, item: (value: string) => value is T, says: string): Reader<T[]> => (raw) => {
  const items = (raw ?? fallback).split(',').map((value) => value.trim()).filter(Boolean);
  const bad = items.findIndex((value) => !item(value));
  if (bad >= 0) throw new Problem(`item ${bad + 1} ${says}`);
  return items as T[];
};

const oneOf = <T extends string>(allowed: readonly T[]) => (value: string): value is T => (allowed as readonly string[]).includes(value);
const matches = (pattern: RegExp) => (value: string): value is string => pattern.test(value);
const products = (fallback: string) => list(fallback, oneOf(FINCH_PRODUCTS), `must be one of Finch's products (${FINCH_PRODUCTS.join(', ')})`);

/** Each part's variables. */
const PARTS = {
  /** The table and its client. */
  store: {
    TABLE_NAME: text({ min: 3 }),
    DYNAMODB_ENDPOINT: optional(httpUrl()),
  },
  /** The JWT claim names and admin settings every HTTP route reads (functions/http/wiring.ts). */
  caller: {
    CUSTOMER_ID_CLAIM: text({ fallback: 'customer_id', min: 1 }),
    CUSTOMER_NAME_CLAIM: text({ fallback: 'customer_name', min: 1 }),
    ADMIN_SCOPE: text({ fallback: 'connections:admin', pattern: /^\S+$/, says: 'must be one word' }),
    /** The clients (`client_id`/`azp`) whose tokens the admin scope counts for; empty: any client. */
    ADMIN_CLIENT_IDS: list('', matches(/^[\x21-\x7e]+$/), 'must be printable ASCII without spaces'),
  },
  finch: {
    FINCH_API_BASE_URL: httpUrl('https://api.tryfinch.com'),
    /** Per Finch call; API Gateway cuts a request at 29 s and a callback may make two calls. */
    FINCH_TIMEOUT_MS: number({ fallback: 8000, min: 100, max: 12000, integer: true }),
  },
  /**
   * The shared Finch budget (functions/core/finch-budget.ts), for every container that calls Finch.
   * Defaults are Finch's documented limits
   * (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits).
   */
  budget: {
    /** Overrides of Finch's numbers, `bucket=limit[/seconds]`, comma-separated (parseRateLimits). */
    FINCH_RATE_LIMITS: (raw: string | undefined) => {
      const parsed = parseRateLimits(raw ?? '');
      if ('error' in parsed) throw new Problem(parsed.error);
      return parsed.limits;
    },
    /** The share of each burst background callers leave to interactive ones. */
    FINCH_BUDGET_RESERVE: number({ fallback: 0.25, min: 0, max: 0.9 }),
    /** The share of each limit that may go at once; the rest paces the sustained rate. */
    FINCH_BUDGET_BURST: number({ fallback: 0.25, above: 0, max: 1 }),
  },
  /** Finch's client credentials: Secrets Manager in AWS, the environment locally. */
  credentials: {
    FINCH_SECRET_ARN: optional(text({ min: 1 })),
    FINCH_CLIENT_ID: optional(text({ min: 1 })),
    FINCH_CLIENT_SECRET: optional(text({ min: 1 })),
    FINCH_WEBHOOK_SECRET: optional(text({ min: 1 })),
  },
  /** The token cipher: KMS in AWS, local keys locally. */
  cipher: {
    KMS_KEY_ARN: optional(text({ min: 1 })),
    LOCAL_TOKEN_KEYS: optional(text({ min: 1 })),
  },
  /** The core's settings (CoreSettings): Connect sessions and the callback. */
  settings: {
    CALLBACK_URL: httpUrl(),
    ALLOWED_RETURN_ORIGINS: list('', isHttpUrl, 'must be an http or https URL'),
    DEFAULT_PRODUCTS: products('company,directory,individual,employment'),
    ALLOWED_PRODUCTS: products('company,directory,individual,employment,payment,pay_statement'),
    FINCH_SANDBOX: optional((raw) => {
      if (!oneOf(['finch', 'provider'] as const)(raw!)) throw new Problem('must be finch or provider');
      return raw;
    }),
    STORE_BUDGET_MS: number({ fallback: 6000, min: 500, max: 20000, integer: true }),
  },
  proxy: {
    /** Finch proxy writes to enable, as `METHOD /template` (see WRITE_ROUTE_KEYS); none by default. */
    FINCH_PROXY_WRITE_PATHS: list('', oneOf(WRITE_ROUTE_KEYS), 'must be one of the proxy\'s write routes (METHOD /template)'),
    /** The scope (a whole word of the JWT's `scope`) a caller needs for an enabled proxy write. */
    FINCH_PROXY_WRITE_SCOPE: text({ fallback: 'connections:write', pattern: /^\S+$/, says: 'must be one word' }),
  },
  /** The reconciler's runs (functions/reconcile/handler.ts; CDK context reconcileIntervalMinutes, reconcileMaxConnections). */
  reconcile: {
    /** Minutes between two scheduled runs: the schedule's rate, and the unit of the webhook rule (core/reconcile.ts). */
    RECONCILE_INTERVAL_MINUTES: number({ fallback: 15, min: 1, max: 1440, integer: true }),
    /** At most this many connections a run. */
    RECONCILE_MAX_CONNECTIONS: number({ fallback: 200, min: 1, max: 1000, integer: true }),
  },
  /** The events function's bus (functions/events/handler.ts). */
  events: {
    /** The custom bus the stack creates; PutEvents takes its name or ARN. */
    EVENT_BUS_NAME: text({ min: 1, max: 1600 }),
    /** Locally: the local bus's PutEvents endpoint (local/events/bus.ts). Never in Lambda. */
    EVENTBRIDGE_ENDPOINT: optional(httpUrl()),
  },
  /** enrich-company's queue (functions/enrich-company/handler.ts): it changes a throttled message's visibility there. */
  enrichment: {
    /** The queue's URL (lib/constructs/company-enrichment.ts); locally the local queue's (local/events/queue-endpoint.ts). */
    ENRICHMENT_QUEUE_URL: httpUrl(),
  },
} satisfies Record<string, Record<string, Reader<unknown>>>;

export type Part = keyof typeof PARTS;
type Shape<P extends Part> = (typeof PARTS)[P];
type VariablesOf<P extends Part> = P extends Part ? keyof Shape<P> : never;
type ValueOf<P extends Part, V> = P extends Part ? (V extends keyof Shape<P> ? (Shape<P>[V] extends Reader<infer T> ? T : never) : never) : never;

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
  const read: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, reader] of parts.flatMap((part) => Object.entries(PARTS[part]) as Array<[string, Reader<unknown>]>)) {
    try {
      read[name] = reader(env[name]);
    } catch (error) {
      // Name the variable, never echo its value (it may be a secret).
      if (!(error instanceof Problem)) throw error;
      problems.push(`${name}: ${error.message}`);
    }
  }
  if (problems.length) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  // Exactly the parts' variables, each read by its own reader.
  const config = read as Config<P>;
  const values = read as Partial<Config<Part>>;
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
