import { TransientFault } from './errors.js';
import { serviceOf } from './metrics.js';
import type { Metrics } from './ports/metrics.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fault of the store, the key service or the secrets service that the same request may well get past a moment later. */
export const isTransientFault = (error: unknown): error is TransientFault => error instanceof TransientFault;

/**
 * Retries an operation that failed transiently (throttling, transaction conflicts, the key service)
 * with jittered backoff until `deadline` (epoch ms). Used where giving up would lose work already
 * done, such as encrypting and storing a token Finch has just issued (invariant 6). Each retry
 * counts in `metrics` (TransientRetries, by service).
 */
export async function retryTransient<T>(operation: () => Promise<T>, deadline: number, metrics?: Metrics): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const backoff = Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (!isTransientFault(error) || Date.now() + backoff >= deadline) throw error;
      metrics?.add('TransientRetries', { Service: serviceOf(error) });
      await sleep(backoff);
    }
  }
}
