// The callback's result as the Callbacks metric (functions/core/metrics.ts): what the employer's
// browser (redirect) or the app (embedded) was answered, in the redirect's words.
import type { CallbackOutcome } from './callback.js';
import { InvalidState } from './errors.js';
import type { Metrics } from './ports/metrics.js';
import { isTransientFault } from './retry.js';

export async function countCallback(metrics: Metrics, run: () => Promise<CallbackOutcome>): Promise<CallbackOutcome> {
  let outcome: CallbackOutcome;
  try {
    outcome = await run();
  } catch (error) {
    // Thrown, the callback answers as functions/callback/handler.ts does: invalid_state, a 503
    // (store_unavailable on the redirect's page) for a backing service down, else internal_error.
    const result = error instanceof InvalidState ? 'invalid_state' : isTransientFault(error) ? 'store_unavailable' : 'internal_error';
    metrics.add('Callbacks', { Result: result });
    throw error;
  }
  const { result } = outcome;
  metrics.add('Callbacks', { Result: result.status === 'error' ? result.error : result.reauthenticated ? 'reauthenticated' : 'connected' });
  return outcome;
}
