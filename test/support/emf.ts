// Reads the CloudWatch embedded metric format (EMF) lines a handler wrote
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// each record's metrics, under each of its dimension sets, as CloudWatch would file them.
export interface EmfDatum {
  namespace: string;
  name: string;
  unit: string;
  /** The dimension set's names and values (`service` included). */
  dimensions: Record<string, string>;
  values: number[];
}

interface EmfRecord {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** Every EMF record in `text` (JSON lines; other lines, log lines among them, are skipped). */
export function emfRecords(text: string): EmfRecord[] {
  const records: EmfRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    try {
      const parsed = JSON.parse(line) as Partial<EmfRecord>;
      if (parsed._aws?.CloudWatchMetrics) records.push(parsed as EmfRecord);
    } catch { /* a log line quoting one */ }
  }
  return records;
}

/** Each metric of each record under each of its dimension sets. */
export function emfData(text: string): EmfDatum[] {
  return emfRecords(text).flatMap((record) => record._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.flatMap((metric) => directive.Dimensions.map((set) => {
      const raw = record[metric.Name];
      return {
        namespace: directive.Namespace,
        name: metric.Name,
        unit: metric.Unit,
        dimensions: Object.fromEntries(set.map((key) => [key, String(record[key])])),
        values: (Array.isArray(raw) ? raw : [raw]) as number[],
      };
    }))));
}

/**
 * A datum as one sortable line: `Name Unit k=v k=v ×count` (dimensions sorted, `service` left out,
 * one line per value, so counts add up).
 */
export function emfLines(text: string): string[] {
  return emfData(text).flatMap((datum) => {
    const dims = Object.keys(datum.dimensions).filter((key) => key !== 'service').sort().map((key) => `${key}=${datum.dimensions[key]}`);
    return datum.values.map(() => [datum.name, datum.unit, ...dims].join(' '));
  }).sort();
}
