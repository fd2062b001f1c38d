// reconcile: the scheduled reconciler (issue 17). An EventBridge rule invokes it every
// RECONCILE_INTERVAL_MINUTES (CDK context reconcileIntervalMinutes, lib/constructs/reconcile-schedule.ts);
// each run asks Finch's /introspect about the live connections whose turn is oldest and records
// what drifted (functions/core/reconcile.ts). Not an HTTP route; the event's content is not read.
//
// A run stops before the function's timeout: no check starts unless one more Finch call (its
// FINCH_TIMEOUT_MS) and its writes fit in the time left. What a run did not reach keeps its turn
// and comes first in the next run. An error thrown here (the store or the key service failing
// through their retries; after the run, ReconcileIncomplete for connections that failed for reasons
// of their own) fails the invocation: the function's error alarm sees it, and the next scheduled run
// starts over from the queue (the rule's target does not retry: lib/constructs/reconcile-schedule.ts).
// Locally, `npm start` invokes this same handler on a short interval and on demand (local/reconcile.ts).
import type { Context } from 'aws-lambda';
import { buildReconcileContainer, makeNow } from '#adapters/container.js';
import { logOf, serviceLogger } from '#adapters/log.js';
import { metrics } from '#adapters/metrics.js';
import { configuredCipher } from '#adapters/token-cipher.js';
import { type ReconcileReport, reconcile } from '#core/reconcile.js';

// Never a token here: the core logs ids, statuses and outcomes.
const logger = serviceLogger();
const log = logOf(logger);

export const reconciler = buildReconcileContainer(process.env, log, configuredCipher);
// A run that finds a connection decrypts its token: the KMS client is made during init.
makeNow(reconciler.clients.kms);

/** Connections failed for reasons of their own (logged each, by id and error name): the run itself went on. */
export class ReconcileIncomplete extends Error {
  constructor(readonly connections: number) {
    super(`The reconciler could not check ${connections} connection(s); see its error log lines.`);
    this.name = 'ReconcileIncomplete';
  }
}

/** Room for the writes after a check's Finch call, and for the answer. */
const WRITES_MARGIN_MS = 2000;
/** A run's time without a Lambda context (a script calling the handler itself). */
const DEFAULT_RUN_MS = 60_000;

export async function handler(_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ReconcileReport> {
  if (context) logger.addContext(context as Context);
  const deadline = Date.now() + (context ? context.getRemainingTimeInMillis() : DEFAULT_RUN_MS);
  const needed = reconciler.config.FINCH_TIMEOUT_MS + WRITES_MARGIN_MS;
  const hasTime = () => deadline - Date.now() > needed;
  let stopped = 'failed';
  try {
    const report = await reconcile(reconciler.deps, reconciler.settings, hasTime);
    stopped = report.stopped;
    log.info('reconciler run', { ...report.outcomes, checked: report.checked, stopped });
    for (const [outcome, count] of Object.entries(report.outcomes)) if (count > 0) metrics.add('ReconcilerChecks', { Outcome: outcome }, count);
    // Their turns moved on (the queue goes on next run); failing the invocation is what raises the error alarm.
    if (report.errors > 0) throw new ReconcileIncomplete(report.errors);
    return report;
  } finally {
    // One EMF line a run, as the HTTP stack writes a request's.
    metrics.add('ReconcilerRuns', { Stopped: stopped });
    metrics.flush();
  }
}
