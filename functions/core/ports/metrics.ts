// Business metrics, as a port: the core counts what happened (functions/core/metrics.ts lists
// every metric) and the adapter decides how it reaches CloudWatch (embedded metric format,
// functions/adapters/metrics.ts). Nothing is sent at `add`: the HTTP stack flushes once a request.
import type { DimensionsOf, MetricName } from '../metrics.js';

export interface Metrics {
  /** One datum of `name` (1 for a count; milliseconds for a latency) with its dimensions. */
  add<N extends MetricName>(name: N, dimensions: DimensionsOf<N>, value?: number): void;
}

/** For code that has nowhere to report to. */
export const noMetrics: Metrics = { add() {} };
