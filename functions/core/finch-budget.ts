// One budget of Finch requests, shared by every function (docs/ARCHITECTURE.md "Finch's rate
// limits"). Finch counts the requests of the whole application per product over a rolling 60
// seconds, and every request from our IP address over 5 minutes, with a 60-minute penalty past it
// (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits). Lambdas run side by
// side and know nothing of each other, so the count lives in the table: one bucket per product and
// one for the IP address, each taken before the request leaves (functions/adapters/finch-budget-fetch.ts).
//
// Each bucket is a GCRA ("generic cell rate algorithm"): one number, the theoretical arrival time
// `tat` (epoch ms) of the next request on schedule. A request at `now` conforms when
// `tat <= now + tolerance`; it then moves `tat` to `max(tat, now) + interval`. Its state is that one
// number, so a take is one conditional update (functions/adapters/dynamo/rate-buckets.ts).
//
// A bucket must never let through more than Finch's limit L in ANY window of Finch's period P, not
// just L per minute on average: Finch counts a sliding window. A GCRA with burst B (tolerance
// (B-1)·I) lets through at most L requests in any window of W when (B-1)·I + W <= L·I, that is
// I >= W / (L - B + 1). So the burst and the sustained rate share the limit: B + W/I <= L + 1. The
// defaults give a quarter of the limit as burst (20/min: 5 at once, then one every 3.9 s) and count
// the window a second longer than Finch's (W = P + 1 s), for the time a request takes to reach Finch
// after its take. test/unit/core/finch-budget.test.ts checks the bound against a sliding-window count.
import { FinchRateLimited } from './errors.js';
import type { Log } from './deps.js';
import type { BucketState, RateBuckets } from './ports/rate-buckets.js';

/**
 * The products Finch limits per application, in the Rate Limits table's words (`pay-statement` is
 * `pay_statement` here, as in the products a connection is granted), plus benefits and documents,
 * whose endpoints the table does not list: each gets its own bucket at the common 20.
 */
export const RATE_PRODUCTS = [
  'company', 'directory', 'individual', 'employment', 'payment', 'pay_statement', 'pay_statement_item', 'pay_groups',
  'benefits', 'documents',
] as const;
export type RateProduct = (typeof RATE_PRODUCTS)[number];
/** A bucket: a product's, or `ip` for every request from our address. */
export type BucketName = RateProduct | 'ip';
export const BUCKET_NAMES: readonly BucketName[] = [...RATE_PRODUCTS, 'ip'];

export interface RateLimit {
  /** Requests Finch accepts… */
  limit: number;
  /** …in any window of this many seconds. */
  periodSeconds: number;
}

/** Finch's documented numbers (Rate Limits: "Application Rate Limits" and "IP Address Rate Limits"). */
export const DEFAULT_RATE_LIMITS: Readonly<Record<BucketName, RateLimit>> = {
  company: { limit: 20, periodSeconds: 60 },
  directory: { limit: 20, periodSeconds: 60 },
  individual: { limit: 20, periodSeconds: 60 },
  employment: { limit: 20, periodSeconds: 60 },
  payment: { limit: 12, periodSeconds: 60 },
  pay_statement: { limit: 12, periodSeconds: 60 },
  pay_statement_item: { limit: 20, periodSeconds: 60 },
  pay_groups: { limit: 12, periodSeconds: 60 },
  benefits: { limit: 20, periodSeconds: 60 },
  documents: { limit: 20, periodSeconds: 60 },
  ip: { limit: 1000, periodSeconds: 300 },
};

/** The IP address's penalty once tripped: "60 minutes" (Rate Limits, "IP Address Rate Limits"). */
export const IP_PENALTY_SECONDS = 3600;
/** How much longer than Finch's period a bucket counts: a request reaches Finch after its take. */
export const WINDOW_MARGIN_MS = 1000;

/**
 * Finch's data endpoints by the first segments of their path (the API reference's resources), the
 * longest first. A path of none (`/introspect`, `/auth/token`, `/connect/sessions`, `/disconnect`,
 * an endpoint Finch adds) counts against the IP address only.
 */
const PRODUCT_PATHS: ReadonlyArray<[string, RateProduct]> = [
  ['/employer/pay-statement-item', 'pay_statement_item'],
  ['/employer/pay-statement', 'pay_statement'],
  ['/employer/pay-groups', 'pay_groups'],
  ['/employer/company', 'company'],
  ['/employer/directory', 'directory'],
  ['/employer/individual', 'individual'],
  ['/employer/employment', 'employment'],
  ['/employer/payment', 'payment'],
  ['/employer/benefits', 'benefits'],
  ['/employer/documents', 'documents'],
];

/** The product whose limit a request to this Finch path counts against, or null (the IP address's only). */
export function productOfPath(path: string): RateProduct | null {
  for (const [prefix, product] of PRODUCT_PATHS) {
    if (path === prefix || path.startsWith(`${prefix}/`)) return product;
  }
  return null;
}

/** The buckets a request to this path takes: its product's, and always the IP address's. */
export function bucketsOfPath(path: string): BucketName[] {
  const product = productOfPath(path);
  return product ? [product, 'ip'] : ['ip'];
}

/** Interactive: a person is waiting (every HTTP route). Background: the reconciler, enrichment. */
export type CallerKind = 'interactive' | 'background';

export interface BudgetSettings {
  limits: Readonly<Record<BucketName, RateLimit>>;
  /** The share of each bucket's burst background callers leave to interactive ones (0 to 0.9), rounded up to whole requests. */
  reserve: number;
  /** The share of each limit that may go at once (0 < burst <= 1); the rest paces the sustained rate. */
  burst: number;
}

export const DEFAULT_BUDGET: BudgetSettings = { limits: DEFAULT_RATE_LIMITS, reserve: 0.25, burst: 0.25 };

/** One bucket's GCRA for one kind of caller: the spacing of requests and how far ahead `tat` may run. */
export interface Pace {
  intervalMs: number;
  toleranceMs: number;
}

/** The burst B, at least 1 and at most the limit. */
export function burstOf(limit: RateLimit, burst: number): number {
  return Math.min(limit.limit, Math.max(1, Math.round(limit.limit * burst)));
}

/**
 * The pace that keeps any window of the period (plus the margin) within the limit: I = ceil(W / (L - B + 1))
 * and, for interactive callers, tolerance (B - 1)·I. Background callers stop ceil(reserve·B)
 * requests earlier (at most B - 1), so those are always left to interactive ones (none with B = 1:
 * a burst of one has nothing to spare).
 */
export function paceOf(limit: RateLimit, settings: Pick<BudgetSettings, 'burst' | 'reserve'>, kind: CallerKind): Pace {
  const burst = burstOf(limit, settings.burst);
  const intervalMs = Math.ceil((limit.periodSeconds * 1000 + WINDOW_MARGIN_MS) / (limit.limit - burst + 1));
  const reserved = kind === 'interactive' ? 0 : Math.min(burst - 1, Math.ceil(settings.reserve * burst));
  return { intervalMs, toleranceMs: (burst - 1 - reserved) * intervalMs };
}

/** What a take answers: taken, with the bucket's new `tat`, or refused until `retryAt`. */
export type TakeOutcome =
  | { taken: true; tat: number }
  | { taken: false; retryAt: number; blockedBy: string | null };

/**
 * The GCRA on one bucket's state, as every store must apply it atomically (the model the DynamoDB
 * adapter is property-tested against). A block (Finch's own 429) refuses everything until it ends.
 */
export function gcraTake(state: BucketState | null, pace: Pace, now: number): { outcome: TakeOutcome; next: BucketState | null } {
  if (state?.blocked_until !== undefined && state.blocked_until > now) {
    return { outcome: { taken: false, retryAt: state.blocked_until, blockedBy: state.blocked_by ?? null }, next: state };
  }
  if (state?.tat !== undefined && state.tat > now + pace.toleranceMs) {
    return { outcome: { taken: false, retryAt: state.tat - pace.toleranceMs, blockedBy: null }, next: state };
  }
  const tat = Math.max(state?.tat ?? now, now) + pace.intervalMs;
  return { outcome: { taken: true, tat }, next: { ...state, tat, taken: (state?.taken ?? 0) + 1 } };
}

/** Requests of this kind the bucket would still let through now, after a take that left `tat`. */
export function remainingAfter(tat: number, pace: Pace, now: number): number {
  return Math.max(0, Math.floor((now + pace.toleranceMs - tat) / pace.intervalMs) + 1);
}

/**
 * Where the budget's numbers go: log lines now; the metrics of remaining budget and throttled
 * calls (issue 16) plug in here.
 */
export interface BudgetObserver {
  taken(event: { buckets: Partial<Record<BucketName, number>>; kind: CallerKind }): void;
  throttled(event: { bucket: BucketName; kind: CallerKind; retry_after_seconds: number; blocked_by: string | null }): void;
  penalized(event: { bucket: BucketName; finch_code: string; seconds: number }): void;
}

/** The observer that writes log lines (the request's, with its request_id). */
export function loggingObserver(log: Log): BudgetObserver {
  return {
    taken: (event) => log.info('finch budget taken', { finch_budget_remaining: event.buckets, caller_kind: event.kind }),
    throttled: (event) => log.warn('finch budget throttled', { ...event }),
    penalized: (event) => log.warn('finch rate limit answered: bucket blocked', { ...event }),
  };
}

/** Finch's finch_codes of the IP address limits: every function waits out the penalty. */
const IP_CODES: ReadonlySet<string> = new Set(['finch_api_ip_rl', 'finch_auth_ip_rl']);
/**
 * Requests our pacing never refuses, only Finch's own penalty does: the code exchange. The
 * employer's authorization code is single-use and short-lived, so a refusal here would be a Connect
 * the employer must do again; the pacing (a quarter of the limit as burst, a window a second longer
 * than Finch's) leaves the margin for it.
 */
const MUST_SEND_PATHS: ReadonlySet<string> = new Set(['/auth/token']);

/** The shared budget, as one kind of caller takes it. */
export class FinchBudget {
  private readonly paces: Record<BucketName, Pace>;

  constructor(
    private readonly buckets: RateBuckets,
    settings: BudgetSettings,
    readonly kind: CallerKind,
    private readonly now: () => number,
    private readonly observer: BudgetObserver,
  ) {
    this.paces = Object.fromEntries(BUCKET_NAMES.map((name) => [name, paceOf(settings.limits[name], settings, kind)])) as Record<BucketName, Pace>;
  }

  /**
   * Takes one request of each bucket the path counts against, or throws FinchRateLimited with when
   * to come back, before anything is sent to Finch. The product's bucket first, the IP address's
   * only once the product granted it: taken side by side, every request a product refused also
   * spent a place of the IP bucket, and under overload the IP bucket filled with requests Finch
   * never saw, refusing the other products and the reconciler (`npm run bench -- --scenario scale`
   * at 4× demand: Finch saw a quarter of its IP limit; BENCHMARKS.md, issue 17 part L). An IP
   * refusal after the product's grant still spends that product place: rarer, since the products'
   * paces together stay under the IP's. One more round trip on a product's path.
   */
  async take(path: string): Promise<void> {
    const now = this.now();
    const names = bucketsOfPath(path);
    const remaining: Record<string, number> = {};
    for (const name of names) {
      const outcome = await this.buckets.take(name, this.paces[name], now);
      // The first bucket that refuses stops the take: the next is not asked.
      if (!outcome.taken) return this.refuse(path, name, outcome, now);
      remaining[name] = remainingAfter(outcome.tat, this.paces[name], now);
    }
    this.observer.taken({ buckets: remaining, kind: this.kind });
  }

  private refuse(path: string, bucket: BucketName, outcome: Extract<TakeOutcome, { taken: false }>, now: number): void {
    // Sent uncounted: one request over our pacing, which keeps a margin below Finch's limit for it.
    if (MUST_SEND_PATHS.has(path) && outcome.blockedBy === null) return;
    const seconds = Math.max(1, Math.ceil((outcome.retryAt - now) / 1000));
    this.observer.throttled({ bucket, kind: this.kind, retry_after_seconds: seconds, blocked_by: outcome.blockedBy });
    throw new FinchRateLimited(seconds, outcome.blockedBy);
  }

  /**
   * Finch answered 429 although the bucket let the request through (another application on our IP
   * address, a limit lower than configured). Nothing is given back; by `finch_code`, an IP limit
   * blocks every request of every function for the penalty, the application's limit the product's
   * requests until `retryAfterSeconds`. Others (the provider's own limit) block nothing here.
   */
  async sawRateLimit(path: string, finchCode: string | null, retryAfterSeconds: number): Promise<void> {
    const bucket: BucketName | null = finchCode !== null && IP_CODES.has(finchCode) ? 'ip'
      : finchCode === 'finch_application_rl' ? productOfPath(path) : null;
    if (bucket === null || finchCode === null) return;
    const seconds = bucket === 'ip' ? Math.max(retryAfterSeconds, IP_PENALTY_SECONDS) : retryAfterSeconds;
    await this.buckets.block(bucket, this.now() + seconds * 1000, finchCode);
    this.observer.penalized({ bucket, finch_code: finchCode, seconds });
  }
}

/**
 * FINCH_RATE_LIMITS (and the CDK context's finchRateLimits): `bucket=limit` (per 60 s) or
 * `bucket=limit/seconds`, comma-separated, each overriding Finch's documented number for that
 * bucket. Answers the whole table, or what is wrong.
 */
export function parseRateLimits(text: string): { limits: Record<BucketName, RateLimit> } | { error: string } {
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const item of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z_]+)=(\d{1,7})(?:\/(\d{1,5}))?$/.exec(item);
    if (!match) return { error: `"${item}" is not bucket=limit or bucket=limit/seconds` };
    const [, name, limit, seconds] = match;
    if (!(BUCKET_NAMES as readonly string[]).includes(name)) return { error: `${name} is not a bucket (one of ${BUCKET_NAMES.join(', ')})` };
    const parsed = { limit: Number(limit), periodSeconds: seconds === undefined ? 60 : Number(seconds) };
    if (parsed.limit < 1 || parsed.periodSeconds < 1) return { error: `${name}: the limit and the period must be at least 1` };
    limits[name as BucketName] = parsed;
  }
  return { limits };
}
