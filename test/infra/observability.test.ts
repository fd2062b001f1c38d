// Operating the stack (issue 16, part I): the dashboard names the metrics the code emits (one list,
// functions/core/metrics.ts), the alarms' metric math and thresholds, X-Ray active tracing on every
// function with the permissions it brings, all cdk-nag clean (stack.test.ts checks the whole stack).
import { Duration } from 'aws-cdk-lib';
import { METRICS, METRIC_NAMES, METRICS_SERVICE } from '#core/metrics.js';
import {
  CALLBACK_FAILURE_RATE_PERCENT, CALLBACK_RATE_MIN_CALLBACKS, FINCH_FAILURE_RATE_PERCENT, FINCH_RATE_MIN_REQUESTS,
} from '../../lib/constructs/alarms.js';
import { BusinessMetrics } from '../../lib/constructs/business-metrics.js';
import { LAMBDA_ENTRIES, type LambdaName } from '../../lib/routes.js';
import { DEPLOY_CONTEXT, type Synthesized, functionLogicalId, resourcesOfType, statementsOf, synthesize } from './synth.js';

const ALL = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
let synth: Synthesized;
let custom: Synthesized;

beforeAll(() => {
  synth = synthesize({ ...DEPLOY_CONTEXT, alarmEmail: 'ops@acme-payroll.io' });
  custom = synthesize({ ...DEPLOY_CONTEXT, metricsNamespace: 'Acme/Connections' }, { nag: false });
}, 300_000);
afterAll(() => { synth?.cleanup(); custom?.cleanup(); });

/** The dashboard's body as CloudFormation holds it (a Fn::Join of strings and references), as one JSON text. */
function dashboardBody(of: Synthesized): string {
  const [[, dashboard]] = resourcesOfType(of, 'AWS::CloudWatch::Dashboard');
  const body = dashboard.Properties!.DashboardBody;
  return typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
}

const alarmsOf = (of: Synthesized): Array<Record<string, any>> => resourcesOfType(of, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => ({ id, ...alarm.Properties! }));
const alarmNamed = (of: Synthesized, id: string) => {
  const found = alarmsOf(of).filter((alarm) => alarm.id.startsWith(`Alarms${id}`));
  expect(found).toHaveLength(1);
  return found[0];
};
/** A math alarm's metrics by id: `{namespace, name, dimensions}` or the expression. */
function mathOf(alarm: Record<string, any>) {
  const queries = alarm.Metrics as Array<{ Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Array<{ Name: string; Value: unknown }> }; Stat: string; Period: number } }>;
  const expression = queries.find((query) => query.Expression)!.Expression!;
  const metrics = Object.fromEntries(queries.filter((query) => query.MetricStat).map((query) => [query.Id, {
    namespace: query.MetricStat!.Metric.Namespace,
    name: query.MetricStat!.Metric.MetricName,
    dimensions: Object.fromEntries((query.MetricStat!.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
    stat: query.MetricStat!.Stat,
    period: query.MetricStat!.Period,
  }]));
  return { expression, metrics };
}

describe('the dashboard', () => {
  test('names every business metric the code emits, and none it does not, in the configured namespace', () => {
    const body = dashboardBody(synth);
    for (const name of METRIC_NAMES) expect([name, body.includes(`"${name}"`) || body.includes(`MetricName=\\"${name}\\"`)]).toEqual([name, true]);
    const named = new Set([...body.matchAll(/MetricName=\\"(\w+)\\"/g)].map((match) => match[1]));
    const plain = new Set([...body.matchAll(/\["FinchConnections","(\w+)"/g)].map((match) => match[1]));
    for (const name of [...named, ...plain]) expect(METRIC_NAMES).toContain(name);
    expect(body).toContain(`service=\\"${METRICS_SERVICE}\\"`);
    const other = dashboardBody(custom);
    expect(other).toContain('Acme/Connections');
    expect(other).not.toContain('"FinchConnections"');
  });

  test('shows each function\'s errors, duration and throttles, the API\'s 4xx, 5xx and latency, DynamoDB\'s throttles and system errors, and the alarms', () => {
    const body = dashboardBody(synth);
    for (const name of ALL) {
      const id = functionLogicalId(synth, name);
      for (const metric of ['Errors', 'Duration', 'Throttles']) expect(body).toContain(`"AWS/Lambda","${metric}","FunctionName","{"Ref":"${id}"}"`);
    }
    for (const metric of ['4xx', '5xx', 'Latency']) expect(body).toContain(`"AWS/ApiGateway","${metric}"`);
    for (const metric of ['ThrottledRequests', 'SystemErrors']) expect(body).toContain(`"AWS/DynamoDB","${metric}"`);
    expect(body).toContain('"type":"alarm"');
    expect((body.match(/"Fn::GetAtt":\["Alarms[A-Za-z0-9]+","Arn"\]/g) ?? []).length).toBe(alarmsOf(synth).length);
  });
});

describe('alarms on the business metrics', () => {
  test(`callback failure rate: failures (all but connected, reauthenticated and connect_cancelled) / all callbacks >= ${CALLBACK_FAILURE_RATE_PERCENT}% over 15 minutes, with at least ${CALLBACK_RATE_MIN_CALLBACKS} callbacks`, () => {
    const alarm = alarmNamed(synth, 'CallbackFailureRate');
    const { expression, metrics } = mathOf(alarm);
    expect(expression).toBe(`IF(total >= ${CALLBACK_RATE_MIN_CALLBACKS}, 100 * (total - FILL(connected, 0) - FILL(reauthenticated, 0) - FILL(cancelled, 0)) / total, 0)`);
    const callbacks = (dimensions: Record<string, string>) => ({ namespace: 'FinchConnections', name: 'Callbacks', dimensions: { service: METRICS_SERVICE, ...dimensions }, stat: 'Sum', period: 900 });
    expect(metrics).toEqual({
      total: callbacks({}), connected: callbacks({ Result: 'connected' }),
      reauthenticated: callbacks({ Result: 'reauthenticated' }), cancelled: callbacks({ Result: 'connect_cancelled' }),
    });
    expect(alarm).toMatchObject({ Threshold: CALLBACK_FAILURE_RATE_PERCENT, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
  });

  test(`Finch failure rate: 5xx + 429 + timeout + network_error / all requests >= ${FINCH_FAILURE_RATE_PERCENT}%, with at least ${FINCH_RATE_MIN_REQUESTS} requests`, () => {
    const alarm = alarmNamed(synth, 'FinchFailureRate');
    const { expression, metrics } = mathOf(alarm);
    expect(expression).toBe(`IF(total >= ${FINCH_RATE_MIN_REQUESTS}, 100 * (FILL(s5xx, 0) + FILL(s429, 0) + FILL(timeout, 0) + FILL(network, 0)) / total, 0)`);
    const requests = (dimensions: Record<string, string>) => ({ namespace: 'FinchConnections', name: 'FinchRequests', dimensions: { service: METRICS_SERVICE, ...dimensions }, stat: 'Sum', period: 900 });
    expect(metrics).toEqual({
      total: requests({}), s5xx: requests({ StatusClass: '5xx' }), s429: requests({ StatusClass: '429' }),
      timeout: requests({ StatusClass: 'timeout' }), network: requests({ StatusClass: 'network_error' }),
    });
    expect(alarm.Threshold).toBe(FINCH_FAILURE_RATE_PERCENT);
  });

  test('API 5xx leaves out deferred webhooks (Webhooks Outcome=deferred, a 503 on purpose)', () => {
    const { expression, metrics } = mathOf(alarmNamed(synth, 'Api5xx'));
    expect(expression).toBe('MAX([0, FILL(api5xx, 0) - FILL(deferred, 0)])');
    expect(metrics.api5xx).toMatchObject({ namespace: 'AWS/ApiGateway', name: '5xx', stat: 'Sum', period: 300 });
    expect(metrics.deferred).toEqual({ namespace: 'FinchConnections', name: 'Webhooks', dimensions: { service: METRICS_SERVICE, Outcome: 'deferred' }, stat: 'Sum', period: 300 });
  });

  test('every alarm notifies the alarm topic, the dead-letter queue alarms included', () => {
    const [[topicId]] = resourcesOfType(synth, 'AWS::SNS::Topic');
    const alarms = alarmsOf(synth);
    expect(alarms.map((alarm) => alarm.id).filter((id) => /DeadLetters/.test(id)).length).toBeGreaterThanOrEqual(2);
    for (const alarm of alarms) expect([alarm.id, alarm.AlarmActions]).toEqual([alarm.id, [{ Ref: topicId }]]);
  });

  test('the alarms read the configured namespace', () => {
    expect(mathOf(alarmNamed(custom, 'CallbackFailureRate')).metrics.total.namespace).toBe('Acme/Connections');
    const [[, fn]] = resourcesOfType(custom, 'AWS::Lambda::Function');
    expect(fn.Properties!.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Acme/Connections');
  });

  test('a dimension set the code does not publish cannot be named (the synth fails)', () => {
    const business = new BusinessMetrics('FinchConnections');
    const period = Duration.minutes(5);
    expect(() => business.metric('Callbacks', { Kind: 'connect' }, { period })).toThrow(/not published/);
    expect(() => business.metric('FinchRequests', { Operation: 'data' }, { period })).toThrow(/not published/);
    expect(() => business.search('Webhooks', ['Reason'])).toThrow(/not published/);
    expect(METRICS.FinchRequests.rollups).toEqual([['StatusClass'], []]);
  });
});

describe('tracing', () => {
  test('every function has X-Ray active tracing, and its role only X-Ray\'s two write actions on * (no resource-level permissions)', () => {
    for (const name of ALL) {
      const fn = synth.json.Resources[functionLogicalId(synth, name)];
      expect([name, fn.Properties!.TracingConfig]).toEqual([name, { Mode: 'Active' }]);
      const xray = statementsOf(synth, name).filter((statement) => statement.Action.some((action) => action.startsWith('xray:')));
      // CDK may merge them into a statement with another action on * (events' dynamodb:ListStreams).
      expect([name, xray.flatMap((statement) => statement.Action).filter((action) => action.startsWith('xray:')).sort(), xray.flatMap((statement) => statement.Resource)])
        .toEqual([name, ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']]);
    }
  });

  test('the HTTP API stage has no tracing setting: HTTP APIs do not support X-Ray (REST APIs only)', () => {
    const [[, stage]] = resourcesOfType(synth, 'AWS::ApiGatewayV2::Stage');
    expect(JSON.stringify(stage.Properties)).not.toMatch(/[Tt]rac/);
  });

  test('cdk-nag has nothing unsuppressed with tracing and the dashboard on', () => {
    expect(synth.nagErrors).toEqual([]);
    expect(synth.nagWarnings).toEqual([]);
  });
});
