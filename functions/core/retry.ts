import { TransientStoreError } from './ports.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries an operation that failed transiently (throttling, transaction conflicts) with jittered
 * backoff until `deadline` (epoch ms). Used where giving up would lose work already done, such as
 * the final store after Finch issued a token (invariant 6).
 */
export async function retryTransient<T>(operation: () => Promise<T>, deadline: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const backoff = Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (!(error instanceof TransientStoreError) || Date.now() + backoff >= deadline) throw error;
      await sleep(backoff);
    }
  }
}
