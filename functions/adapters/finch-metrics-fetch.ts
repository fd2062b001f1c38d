// What Finch answered, measured in the fetch the official SDK is given (finch-gateway.ts,
// finch-data.ts), inside the budget's (finch-budget-fetch.ts): each request that leaves, SDK
// retries included, counts once with its status class and its latency; a request the budget
// refused never left and is not Finch's 429 (FinchBudgetThrottles counts it).
import type { BudgetObserver } from '#core/finch-budget.js';
import { errorNameOf, statusClassOf } from '#core/metrics.js';
import { isTransientFault } from '#core/retry.js';
import type { Metrics } from '#core/ports/metrics.js';

/** Finch's endpoints as a short fixed list (the path itself would carry ids). */
export function operationOf(path: string): string {
  if (path === '/auth/token') return 'token_exchange';
  if (path === '/connect/sessions') return 'connect_session';
  if (path === '/connect/sessions/reauthenticate') return 'reauth_session';
  if (path === '/introspect') return 'introspect';
  if (path === '/disconnect') return 'disconnect';
  return 'data';
}

export function withFinchMetrics(send: typeof fetch, metrics: Metrics): typeof fetch {
  return async (input, init) => {
    const operation = operationOf(new URL(input instanceof Request ? input.url : String(input)).pathname);
    const started = performance.now();
    let response: Response;
    try {
      response = await send(input, init);
    } catch (error) {
      // The SDK's timeout aborts the fetch; anything else is the network.
      const name = (error as Error | null)?.name;
      metrics.add('FinchRequests', { Operation: operation, StatusClass: name === 'AbortError' || name === 'TimeoutError' ? 'timeout' : 'network_error' });
      throw error;
    }
    metrics.add('FinchRequests', { Operation: operation, StatusClass: statusClassOf(response.status) });
    metrics.add('FinchLatency', { Operation: operation }, Math.round(performance.now() - started));
    return response;
  };
}

/** The budget's takes and refusals as metrics, beside its log lines (the observer it was built with). */
export function meteredBudgetObserver(inner: BudgetObserver, metrics: Metrics): BudgetObserver {
  return {
    taken: (event) => {
      metrics.add('FinchBudgetTakes', { CallerKind: event.kind });
      for (const [bucket, remaining] of Object.entries(event.buckets)) metrics.add('FinchBudgetRemaining', { Bucket: bucket }, remaining);
      inner.taken(event);
    },
    throttled: (event) => { metrics.add('FinchBudgetThrottles', { Bucket: event.bucket, CallerKind: event.kind }); inner.throttled(event); },
    penalized: (event) => inner.penalized(event),
  };
}

/**
 * Counts an error a Finch client raises (FinchErrors, by our class name) and hands it back to be
 * thrown. A fault of our own store met on the way (the budget's take) is not Finch's: the
 * retries and 503s count it (TransientRetries, ServiceUnavailable).
 */
export function countFinchError<E>(metrics: Metrics, error: E): E {
  if (!isTransientFault(error)) metrics.add('FinchErrors', { ErrorName: errorNameOf(error) });
  return error;
}
