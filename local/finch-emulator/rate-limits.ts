// Finch's rate limits, as Rate Limits documents them
// (https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits): per application and
// product, "summed on a rolling 60-second basis" (20 requests a minute; 12 for payment, pay
// statements and pay groups), answered 429 `finch_application_rl`; per IP address, 1,000 API
// requests in 5 minutes, past which a 60-minute penalty refuses everything, answered 429
// `finch_api_ip_rl`. The emulator serves one application and hears one address (this machine), so
// both are counted for all its callers. Enforcement is off unless switched on (the tests of other
// things make far more calls than Finch allows in a minute), with its own clock that a test may move
// forward instead of waiting: `POST /_emulator/rate-limits {enforce?, advance_ms?, reset?}`.
// The requests each product saw are counted either way (`GET /_emulator/rate-limits`).
import { ERROR_TABLE, tableError, type FinchApiError } from './errors.js';
import { expectBody, optionalBoolean, optionalInteger } from './validate.js';

/** Finch's products, in Rate Limits' words, with the endpoints each counts (the API reference's). */
export const FINCH_RATE_PRODUCTS: ReadonlyArray<{ product: string; limit: number; paths: readonly string[] }> = [
  { product: 'company', limit: 20, paths: ['/employer/company'] },
  { product: 'directory', limit: 20, paths: ['/employer/directory'] },
  { product: 'individual', limit: 20, paths: ['/employer/individual'] },
  { product: 'employment', limit: 20, paths: ['/employer/employment'] },
  { product: 'pay-statement-item', limit: 20, paths: ['/employer/pay-statement-item'] },
  { product: 'payment', limit: 12, paths: ['/employer/payment'] },
  { product: 'pay-groups', limit: 12, paths: ['/employer/pay-groups'] },
  { product: 'pay-statement', limit: 12, paths: ['/employer/pay-statement'] },
  // Not in Finch's table; limited here like the others.
  { product: 'benefits', limit: 20, paths: ['/employer/benefits'] },
  { product: 'documents', limit: 20, paths: ['/employer/documents'] },
];
const PRODUCT_WINDOW_MS = 60_000;
export const IP_LIMIT = { limit: 1000, windowMs: 5 * 60_000, penaltyMs: 60 * 60_000 };

const RATE_LIMIT_ROW = ERROR_TABLE.find((row) => row.name === 'rate_limit_exceeded_error')!;

/** The product a path counts against: the entry whose path is the path or a prefix of it (by segment). */
export function finchProductOf(path: string): string | null {
  for (const entry of FINCH_RATE_PRODUCTS) {
    if (entry.paths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return entry.product;
  }
  return null;
}

export interface RateLimitsView {
  enforce: boolean;
  /** The limiter's clock (epoch ms): the emulator's own plus what tests advanced. */
  now: number;
  /** Every API request since the last reset, by product, enforced or not; `ip` counts them all. */
  seen: Record<string, number>;
  /** Finch's 429s answered, by finch_code. */
  refused: Record<string, number>;
  /** The requests each product has in its current window, and the IP address's. */
  in_window: Record<string, number>;
  ip_blocked_until: number | null;
}

export class RateLimiter {
  private enforce = false;
  private advancedMs = 0;
  private readonly accepted = new Map<string, number[]>();
  private ipRequests: number[] = [];
  private ipBlockedUntil = 0;
  private seen: Record<string, number> = {};
  private refused: Record<string, number> = {};

  constructor(private readonly clock: () => number, enforce = false) {
    this.enforce = enforce;
  }

  now(): number {
    return this.clock() + this.advancedMs;
  }

  /**
   * An API request to `path` from our address, before anything else: counted, and when enforcing,
   * Finch's 429 for the IP address's limit, or null.
   */
  admitAddress(path: string): FinchApiError | null {
    const product = finchProductOf(path);
    this.seen.ip = (this.seen.ip ?? 0) + 1;
    if (product) this.seen[product] = (this.seen[product] ?? 0) + 1;
    if (!this.enforce) return null;
    const now = this.now();
    if (now < this.ipBlockedUntil) return this.refuse('finch_api_ip_rl');
    this.ipRequests = this.ipRequests.filter((at) => at > now - IP_LIMIT.windowMs);
    if (this.ipRequests.length >= IP_LIMIT.limit) {
      // The penalty: no more requests until it is over.
      this.ipBlockedUntil = now + IP_LIMIT.penaltyMs;
      this.ipRequests = [];
      return this.refuse('finch_api_ip_rl');
    }
    this.ipRequests.push(now);
    return null;
  }

  /**
   * The application's limit of the path's product, once the caller is known to be the application
   * (a valid token): Finch's 429 when enforcing and the product's window is full, or null.
   */
  admitProduct(path: string): FinchApiError | null {
    const product = finchProductOf(path);
    if (!this.enforce || !product) return null;
    const now = this.now();
    const limit = FINCH_RATE_PRODUCTS.find((entry) => entry.product === product)!.limit;
    const window = (this.accepted.get(product) ?? []).filter((at) => at > now - PRODUCT_WINDOW_MS);
    this.accepted.set(product, window);
    // "Max requests initiated per minute": a refused request is not one initiated.
    if (window.length >= limit) return this.refuse('finch_application_rl');
    window.push(now);
    return null;
  }

  /** The control: `{enforce?: boolean, advance_ms?: integer, reset?: boolean}`. */
  configure(body: unknown): RateLimitsView {
    const fields = expectBody(body, ['enforce', 'advance_ms', 'reset']);
    if (optionalBoolean(fields, 'reset')) this.reset();
    const enforce = optionalBoolean(fields, 'enforce');
    if (enforce !== null) this.enforce = enforce;
    this.advancedMs += optionalInteger(fields, 'advance_ms', 0, 7 * 24 * 3_600_000) ?? 0;
    return this.view();
  }

  /** Forgets every count and window and the penalty; keeps `enforce`. */
  reset(): void {
    this.accepted.clear();
    this.ipRequests = [];
    this.ipBlockedUntil = 0;
    this.seen = {};
    this.refused = {};
  }

  view(): RateLimitsView {
    const now = this.now();
    const inWindow = Object.fromEntries([...this.accepted].map(([product, times]) => [product, times.filter((at) => at > now - PRODUCT_WINDOW_MS).length]));
    return {
      enforce: this.enforce,
      now,
      seen: { ...this.seen },
      refused: { ...this.refused },
      in_window: { ...inWindow, ip: this.ipRequests.filter((at) => at > now - IP_LIMIT.windowMs).length },
      ip_blocked_until: now < this.ipBlockedUntil ? this.ipBlockedUntil : null,
    };
  }

  private refuse(finchCode: string): FinchApiError {
    this.refused[finchCode] = (this.refused[finchCode] ?? 0) + 1;
    return tableError(RATE_LIMIT_ROW, finchCode);
  }
}
