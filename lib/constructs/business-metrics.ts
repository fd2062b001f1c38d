// The business metrics as CDK metrics, from the one list the code emits by (functions/core/metrics.ts):
// a name not in it does not compile, and dimensions that are not one of the sets the code publishes
// it under (its dimensions or a rollup) throw at synth, so the dashboard and the alarms can only
// name metrics CloudWatch will have.
import type { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS, METRICS_SERVICE, type MetricName } from '#core/metrics.js';

export interface BusinessMetricOptions {
  period: Duration;
  statistic?: string;
  label?: string;
}

export class BusinessMetrics {
  constructor(readonly namespace: string) {}

  /** `name` under `dimensions` (beside `service`), which must be exactly one of its published sets. */
  metric(name: MetricName, dimensions: Record<string, string>, options: BusinessMetricOptions): Metric {
    const spec = METRICS[name];
    const keys = JSON.stringify(Object.keys(dimensions).sort());
    const published = [spec.dimensions, ...spec.rollups].map((set) => JSON.stringify([...set].sort()));
    if (!published.includes(keys)) {
      throw new Error(`${name} is not published under ${keys}; its sets are ${published.join(', ')} (functions/core/metrics.ts)`);
    }
    return new Metric({
      namespace: this.namespace,
      metricName: name,
      dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
      statistic: options.statistic ?? (spec.unit === 'Count' ? 'Sum' : 'p99'),
      period: options.period,
      label: options.label,
    });
  }

  /**
   * Every value of one dimension of `name` (a dashboard graph: SEARCH finds the values CloudWatch
   * has seen, so a new error class or result code shows with no change here). Alarms cannot search.
   */
  search(name: MetricName, dimensions: readonly string[], statistic = 'Sum', periodSeconds = 300, where: Record<string, string> = {}): string {
    const spec = METRICS[name];
    const published = [spec.dimensions, ...spec.rollups].map((set) => JSON.stringify([...set].sort()));
    if (!published.includes(JSON.stringify([...dimensions].sort()))) throw new Error(`${name} is not published under ${dimensions.join(', ')}`);
    const schema = [`"${this.namespace}"`, 'service', ...dimensions].join(',');
    const terms = Object.entries(where).map(([key, value]) => ` ${key}="${value}"`).join('');
    return `SEARCH('{${schema}} MetricName="${name}" service="${METRICS_SERVICE}"${terms}', '${statistic}', ${periodSeconds})`;
  }
}
