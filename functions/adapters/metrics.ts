// The Metrics port over Powertools Metrics: CloudWatch's embedded metric format (EMF), JSON lines
// on stdout that CloudWatch Logs turns into metrics, so no API call and no IAM permission
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// Locally the same lines are in the function's output.
//
// Each datum has its own dimensions, and Powertools holds one dimension state at a time, so the
// data of a request are kept here and written at the end of it (the HTTP stack's middleware, the
// event functions' `finally`): one EMF record per distinct set of dimension values, each published
// under the metric's full dimensions and its rollups (functions/core/metrics.ts).
import { Console } from 'node:console';
import { Metrics as Powertools } from '@aws-lambda-powertools/metrics';
import { DEFAULT_METRICS_NAMESPACE, type DimensionsOf, METRICS, METRICS_SERVICE, type MetricName } from '#core/metrics.js';
import type { Metrics } from '#core/ports/metrics.js';

interface Datum { name: MetricName; dimensions: Record<string, string>; value: number }

export class EmfMetrics implements Metrics {
  private pending: Datum[] = [];
  private emf: Powertools | undefined;

  constructor(private readonly namespace: string) {}

  add<N extends MetricName>(name: N, dimensions: DimensionsOf<N>, value = 1): void {
    this.pending.push({ name, dimensions: dimensions as Record<string, string>, value });
  }

  /**
   * Writes what was added since the last flush; never throws (a metric is not worth a request).
   * `metadata` (the request id and route) goes on each record as plain keys, never dimensions: a
   * Logs Insights search finds a datum's request, and CloudWatch files nothing by them.
   */
  flush(metadata: Record<string, string> = {}): void {
    const data = this.pending;
    this.pending = [];
    if (data.length === 0) return;
    try {
      // Made at the first flush, not at import: nothing of a cold start waits for it.
      this.emf ??= new Powertools({ namespace: this.namespace, serviceName: METRICS_SERVICE, logger: quietRollups() });
      for (const group of groupsOf(data).values()) {
        for (const set of group.sets) this.emf.addDimensions(pick(group.dimensions, set));
        for (const [key, value] of Object.entries(metadata)) this.emf.addMetadata(key, value);
        for (const datum of group.data) this.emf.addMetric(datum.name, METRICS[datum.name].unit, datum.value);
        this.emf.publishStoredMetrics();
      }
    } catch {
      // Powertools refused a datum (a name or dimension it does not take): drop this request's.
      this.emf?.clearMetrics();
      this.emf?.clearDimensions();
      this.emf?.clearMetadata();
    }
  }
}

/**
 * Powertools warns when one key is in two dimension sets of a record (its values could differ). A
 * rollup repeats a key of the datum's own set with the same value, so that warning would be a
 * line in every request's log for nothing; any other warning is written as Powertools would.
 */
const ROLLUP_KEY = /^EMF key "\w+" is defined as both a dimension set and dimension set/;
function quietRollups() {
  // Powertools' own default: a Console on the process's streams (Lambda's console is patched).
  const out = new Console({ stdout: process.stdout, stderr: process.stderr });
  return {
    debug: (...args: unknown[]) => out.debug(...args),
    info: (...args: unknown[]) => out.info(...args),
    warn: (...args: unknown[]) => { if (!ROLLUP_KEY.test(String(args[0]))) out.warn(...args); },
    error: (...args: unknown[]) => out.error(...args),
  };
}

interface Group { sets: ReadonlyArray<readonly string[]>; dimensions: Record<string, string>; data: Datum[] }

/** Data that can share one EMF record: the same dimension sets with the same values. */
function groupsOf(data: Datum[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const datum of data) {
    const spec = METRICS[datum.name];
    const sets = uniqueSets([spec.dimensions, ...spec.rollups]);
    const key = JSON.stringify([sets, sets[0].map((name) => datum.dimensions[name])]);
    const group = groups.get(key) ?? { sets, dimensions: datum.dimensions, data: [] };
    group.data.push(datum);
    groups.set(key, group);
  }
  return groups;
}

function uniqueSets(sets: ReadonlyArray<readonly string[]>): ReadonlyArray<readonly string[]> {
  const seen = new Map(sets.map((set) => [JSON.stringify(set), set]));
  return [...seen.values()];
}

function pick(dimensions: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, dimensions[name]]));
}

/** The one instance of a container: the core's port (deps.metrics), the Finch clients' and the stack's flush. */
export const metrics = new EmfMetrics(process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE);
