// The shared Finch budget (functions/core/finch-budget.ts), taken in the one place every request to
// Finch passes: the fetch the official SDK is given (finch-gateway.ts, finch-data.ts). Whatever an
// SDK method or a retry of the SDK sends, it takes its buckets first, so no code path can reach
// Finch around the budget (test/integration/finch-budget.test.ts counts both sides).
//
// A refusal must reach our caller as FinchRateLimited, with no request sent and no retry by the
// SDK; so must a fault of the budget's own (the table unreachable: TransientStoreError, 503), not
// as Finch being unavailable. A fetch that throws is retried by the SDK and then reported as a
// network fault, so the stop is a 429 that never left: `x-should-retry: false`, and its Headers
// object remembered here with the error, which the SDK hands on unchanged as the APIError's
// `headers`: budgetRefusal() tells it from Finch's own 429, which no header can imitate.
import { FinchRateLimited } from '#core/errors.js';
import type { FinchBudget } from '#core/finch-budget.js';
import { retryAfterSeconds } from './finch-rate-limits.js';

const refusals = new WeakMap<Headers, Error>();

/**
 * What stopped the request before it left, behind an SDK error's headers: the budget's refusal
 * (FinchRateLimited) or the fault that kept the budget from answering. Undefined for an answer Finch gave.
 */
export function budgetRefusal(headers: Headers | undefined): Error | undefined {
  return headers ? refusals.get(headers) : undefined;
}

/** `send` with the budget taken before each request, and Finch's 429s reported to it. */
export function withFinchBudget(send: typeof fetch, budget: FinchBudget): typeof fetch {
  return async (input, init) => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    try {
      await budget.take(path);
    } catch (error) {
      const stop = error instanceof Error ? error : new Error('The Finch budget could not be taken.');
      const refusal = new Response('{}', {
        status: 429,
        headers: {
          'content-type': 'application/json', 'x-should-retry': 'false',
          ...(stop instanceof FinchRateLimited ? { 'retry-after': String(stop.retryAfterSeconds) } : {}),
        },
      });
      refusals.set(refusal.headers, stop);
      return refusal;
    }
    const response = await send(input, init);
    if (response.status === 429) {
      const finchCode = await finchCodeOf(response);
      // Not recording the block loses nothing the caller needs: it still gets Finch's 429.
      await budget.sawRateLimit(path, finchCode, retryAfterSeconds(response.headers, finchCode)).catch(() => undefined);
    }
    return response;
  };
}

async function finchCodeOf(response: Response): Promise<string | null> {
  try {
    const body = await response.clone().json() as { finch_code?: unknown } | null;
    return typeof body?.finch_code === 'string' ? body.finch_code : null;
  } catch {
    return null;
  }
}
