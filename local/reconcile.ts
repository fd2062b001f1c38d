// The reconciler, locally (issue 17): `npm start` invokes the real reconcile handler
// (functions/reconcile/handler.ts) every RECONCILE_LOCAL_INTERVAL_SECONDS (30 by default; 0: only
// on demand) instead of EventBridge's schedule, and on demand through `POST /_local/reconcile`
// (loopback only, local/gateway/local-routes.ts). Its drift reaches the local events pipe like any
// change: the audit entry → the table's stream → the events function → the local bus.
// Runs never overlap: one asked for while another runs starts after it.
import type { ReconcileReport } from '#core/reconcile.js';

export const DEFAULT_LOCAL_INTERVAL_SECONDS = 30;
/** As the deployed function's timeout (lib/constructs/functions.ts FUNCTION_SPECS.reconcile). */
const RUN_MS = 55_000;

export interface LocalReconciler {
  /** One run now (after the one under way, if any): what it did. */
  runNow(): Promise<ReconcileReport>;
  /** Stops the interval; a run under way finishes. */
  stop(): Promise<void>;
}

/** The interval from RECONCILE_LOCAL_INTERVAL_SECONDS: a whole number of seconds, 0 for none. */
export function localInterval(env: NodeJS.ProcessEnv): number {
  const raw = env.RECONCILE_LOCAL_INTERVAL_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_LOCAL_INTERVAL_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) {
    throw new Error('RECONCILE_LOCAL_INTERVAL_SECONDS must be a whole number of seconds from 0 (on demand only) to 86400.');
  }
  return seconds;
}

/**
 * Imports the handler (its container reads process.env, as at a Lambda cold start: set the
 * handlers' environment first) and starts the interval.
 */
export async function startLocalReconciler(options: { intervalSeconds: number; log: (line: string) => void }): Promise<LocalReconciler> {
  const module = await import('../functions/reconcile/handler.js');
  const context = () => {
    const deadline = Date.now() + RUN_MS;
    return { getRemainingTimeInMillis: () => deadline - Date.now() };
  };
  let invoke = () => module.handler({ source: 'local', 'detail-type': 'Scheduled Event' }, context());
  // The tests' IAM check records the function's AWS calls (test/support/aws-calls.ts). Never set by `npm start`.
  if (process.env.AWS_CALLS_DIR) {
    const calls = await import('../test/support/aws-calls.js');
    calls.recordCallsOf(module.reconciler, 'reconcile');
    const plain = invoke;
    invoke = () => calls.invokeAs('reconcile', plain);
  }
  let last: Promise<unknown> = Promise.resolve();
  const runNow = () => {
    const run = last.catch(() => undefined).then(invoke);
    last = run;
    return run;
  };
  const timer = options.intervalSeconds > 0
    ? setInterval(() => {
      runNow().catch((error: unknown) => options.log(`reconcile  run failed: ${(error as Error).name}`));
    }, options.intervalSeconds * 1000)
    : undefined;
  timer?.unref();
  return {
    runNow,
    stop: async () => {
      if (timer) clearInterval(timer);
      await last.catch(() => undefined);
    },
  };
}
