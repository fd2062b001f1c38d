// The business metrics: one list of every metric the code emits, its unit and its dimensions. The
// core and the adapters emit through the Metrics port (functions/core/ports/metrics.ts; CloudWatch
// embedded metric format in functions/adapters/metrics.ts), and the stack's dashboard and alarms
// (lib/constructs/dashboard.ts, alarms.ts) name the same entries, so no metric name is written twice.
//
// Dimensions stay low-cardinality: kinds, outcomes, result codes, status classes and the names of
// our own error classes, each a short fixed list. Never a customer, connection, session, event or
// provider id: every distinct value is a metric CloudWatch bills and keeps. (provider_id is bounded
// by Finch's provider list, but that is some 200 values that grow without us, times every other
// dimension: per-provider questions are answered from the logs, which carry provider_id.)
import { DomainError, TransientCipherError, TransientSecretsError, TransientStoreError } from './errors.js';

/** The namespace when POWERTOOLS_METRICS_NAMESPACE (CDK context `metricsNamespace`) names none. */
export const DEFAULT_METRICS_NAMESPACE = 'FinchConnections';
/** Every metric's `service` dimension (Powertools adds it), the logger's service name too. */
export const METRICS_SERVICE = 'finch-connections';

export type MetricUnit = 'Count' | 'Milliseconds';

interface MetricSpec {
  unit: MetricUnit;
  /** The dimensions every datum of it carries (beside `service`). */
  dimensions: readonly string[];
  /**
   * Subsets of `dimensions` it is also published under (an EMF record may hold several dimension
   * sets): what an alarm sums over, since a CloudWatch alarm cannot search (`[]`: `service` alone).
   */
  rollups: ReadonlyArray<readonly string[]>;
}

/** Every metric; what each counts is README's "Operating" table too (comments, not strings: they cost no bundle bytes). */
export const METRICS = {
  /** Connect sessions started, by kind: connect, reauth (POST /connect/sessions/reauthenticate), adopt (a connection at Finch nobody here owns). */
  SessionsCreated: { unit: 'Count', dimensions: ['Kind'], rollups: [] },
  /** Callbacks answered, by result: connected, reauthenticated, or the error code of the redirect (CALLBACK_ERROR_CODES). */
  Callbacks: { unit: 'Count', dimensions: ['Result'], rollups: [[]] },
  /** HTTP requests sent to Finch (SDK retries included), by operation and by what Finch answered: 2xx, 401, 429, 4xx, 5xx, timeout, network_error. */
  FinchRequests: { unit: 'Count', dimensions: ['Operation', 'StatusClass'], rollups: [['StatusClass'], []] },
  /** Time Finch took to answer, by operation (token_exchange is the code exchange). */
  FinchLatency: { unit: 'Milliseconds', dimensions: ['Operation'], rollups: [] },
  /** Errors the Finch clients raised, by class: FinchTimeout, FinchUnavailable, FinchRateLimited (Finch's 429 or the budget's refusal), AccessTokenRejected, … */
  FinchErrors: { unit: 'Count', dimensions: ['ErrorName'], rollups: [] },
  /** Connections disconnected by DELETE, by whether Finch confirmed the revocation: confirmed, unconfirmed. */
  Disconnects: { unit: 'Count', dimensions: ['Revocation'], rollups: [] },
  /** Finch webhooks, by outcome (applied, duplicate, not_applied, deferred, rejected) and reason (rejected: signature, invalid_event; deferred: unowned, token_changed; else none). */
  Webhooks: { unit: 'Count', dimensions: ['Outcome', 'Reason'], rollups: [['Outcome']] },
  /** Data proxy calls, by the status class answered and the error class behind it (none when Finch answered). */
  ProxyCalls: { unit: 'Count', dimensions: ['StatusClass', 'ErrorName'], rollups: [['StatusClass']] },
  /** Retries of a transient fault within a request, by service: store (DynamoDB), kms, secrets. */
  TransientRetries: { unit: 'Count', dimensions: ['Service'], rollups: [] },
  /** 503 answers because a backing service stayed unavailable through the retries, by service. */
  ServiceUnavailable: { unit: 'Count', dimensions: ['Service'], rollups: [] },
  /** POST /connect/sessions answered from an Idempotency-Key record (no second session). */
  IdempotentReplays: { unit: 'Count', dimensions: [], rollups: [] },
  /** Connection events put on the bus by the events function. */
  EventsPublished: { unit: 'Count', dimensions: [], rollups: [] },
  /** Stream batches the events function reported a failed record in (partial batch failure: redelivered from it). */
  EventRecordsFailed: { unit: 'Count', dimensions: [], rollups: [] },
  /** enrich-company runs, by outcome (updated, unchanged, refused, …, dropped for an event it does not take). */
  CompanyEnrichments: { unit: 'Count', dimensions: ['Outcome'], rollups: [] },
  /** The reconciler's checks, by outcome: unchanged, drift (recorded), postponed (webhooks flow), ended, raced, failed (Finch, for that connection). */
  ReconcilerChecks: { unit: 'Count', dimensions: ['Outcome'], rollups: [] },
  /** The reconciler's runs, by why each stopped: done, budget (the Finch budget refused), time, failed (the run threw). */
  ReconcilerRuns: { unit: 'Count', dimensions: ['Stopped'], rollups: [] },
  /** Requests the shared Finch budget let through, by caller kind: interactive, background. */
  FinchBudgetTakes: { unit: 'Count', dimensions: ['CallerKind'], rollups: [] },
  /** Requests each bucket would still let through after a take (its Minimum is how close a bucket came to empty), by bucket. */
  FinchBudgetRemaining: { unit: 'Count', dimensions: ['Bucket'], rollups: [] },
  /** Requests the shared Finch budget refused before they left (answered as Finch's 429), by bucket and caller kind. */
  FinchBudgetThrottles: { unit: 'Count', dimensions: ['Bucket', 'CallerKind'], rollups: [[]] },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
/** The dimensions a datum of `N` carries, each named. */
export type DimensionsOf<N extends MetricName> = Record<(typeof METRICS)[N]['dimensions'][number], string>;

/** Finch's answer (or its absence) as FinchRequests' and ProxyCalls' StatusClass. */
export function statusClassOf(status: number): string {
  if (status === 401 || status === 429) return String(status);
  return status >= 200 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/** TransientRetries' and ServiceUnavailable's Service, from the transient fault. */
export function serviceOf(error: unknown): string {
  if (error instanceof TransientStoreError) return 'store';
  if (error instanceof TransientCipherError) return 'kms';
  if (error instanceof TransientSecretsError) return 'secrets';
  return 'other';
}

/**
 * An error's class name as a dimension value: our own classes (DomainError's, named on their
 * prototypes by nameErrors in errors.ts) are a fixed list; anything else (an SDK's error, a
 * TypeError) is `other`, so no foreign name can grow the dimension.
 */
export function errorNameOf(error: unknown): string {
  return error instanceof DomainError ? error.name : 'other';
}
