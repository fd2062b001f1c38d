// One CloudWatch dashboard: the business metrics the functions emit (functions/core/metrics.ts) above
// the platform's own: each Lambda's errors, duration and throttles, the HTTP API's 4xx, 5xx and
// latency, DynamoDB's throttles and system errors, and the alarms' states. README "Operating" says
// what each graph answers.
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm, AlarmStatusWidget, Dashboard, GraphWidget, type IMetric, MathExpression, TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { BusinessMetrics } from './business-metrics.js';
import { callbackFailureRate, finchFailureRate } from './alarms.js';

export interface OperationsDashboardProps {
  metricsNamespace: string;
  httpApi: HttpApi;
  functions: Record<string, IFunction>;
  table: Table;
  alarms: Alarm[];
}

const PERIOD = Duration.minutes(5);
const WIDTH = 8;
const HEIGHT = 6;

export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const business = new BusinessMetrics(props.metricsNamespace);
    const m = (name: Parameters<BusinessMetrics['metric']>[0], dims: Record<string, string>, label: string, statistic?: string) =>
      business.metric(name, dims, { period: PERIOD, label, statistic });
    const search = (name: Parameters<BusinessMetrics['search']>[0], dims: string[], label: string, statistic = 'Sum') =>
      new MathExpression({ expression: business.search(name, dims, statistic, PERIOD.toSeconds()), label, period: PERIOD, usingMetrics: {} });
    const graph = (title: string, left: IMetric[], width = WIDTH) => new GraphWidget({ title, left, width, height: HEIGHT });

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(24) });
    this.dashboard.addWidgets(new TextWidget({
      markdown: '## finch-connections\nBusiness metrics (namespace `' + props.metricsNamespace + '`, README "Operating"), then Lambda, API Gateway, DynamoDB and the alarms.',
      width: 24, height: 2,
    }));
    this.dashboard.addWidgets(
      graph('Connect sessions started, by kind', ['connect', 'reauth', 'adopt'].map((kind) => m('SessionsCreated', { Kind: kind }, kind))),
      graph('Callbacks, by result', [search('Callbacks', ['Result'], 'by result')]),
      graph('Callback failure rate (%)', [callbackFailureRate(business, PERIOD)]),
    );
    this.dashboard.addWidgets(
      graph('Finch requests, by status class', [search('FinchRequests', ['StatusClass'], 'by status class')]),
      graph('Finch 5xx/429/no-answer rate (%)', [finchFailureRate(business, PERIOD)]),
      graph('Finch latency p99 (ms), by operation', [search('FinchLatency', ['Operation'], 'p99', 'p99')]),
    );
    this.dashboard.addWidgets(
      graph('Finch errors, by class', [search('FinchErrors', ['ErrorName'], 'by class')]),
      graph('Finch budget: taken and throttled', [
        search('FinchBudgetTakes', ['CallerKind'], 'taken'),
        m('FinchBudgetThrottles', {}, 'throttled'),
      ]),
      graph('Finch budget: places left after a take (minimum), by bucket', [search('FinchBudgetRemaining', ['Bucket'], 'remaining', 'Minimum')]),
      new GraphWidget({
        title: 'Token exchanges: Finch\'s answers, and its latency (ms, right)',
        left: [new MathExpression({
          expression: business.search('FinchRequests', ['Operation', 'StatusClass'], 'Sum', PERIOD.toSeconds(), { Operation: 'token_exchange' }),
          label: 'by status class', period: PERIOD, usingMetrics: {},
        })],
        right: [m('FinchLatency', { Operation: 'token_exchange' }, 'p50', 'p50'), m('FinchLatency', { Operation: 'token_exchange' }, 'p99', 'p99')],
        width: WIDTH, height: HEIGHT,
      }),
    );
    this.dashboard.addWidgets(
      graph('Webhooks, by outcome', [search('Webhooks', ['Outcome'], 'by outcome')]),
      graph('Disconnects, by revocation', ['confirmed', 'unconfirmed'].map((revocation) => m('Disconnects', { Revocation: revocation }, revocation))),
      graph('Data proxy calls, by status class', [search('ProxyCalls', ['StatusClass'], 'by status class')]),
    );
    this.dashboard.addWidgets(
      graph('Store/KMS/secrets: retries and 503s', [
        search('TransientRetries', ['Service'], 'retries'),
        search('ServiceUnavailable', ['Service'], '503s'),
      ]),
      graph('Idempotent replays', [m('IdempotentReplays', {}, 'replays')]),
      graph('Connection events and enrichment', [
        m('EventsPublished', {}, 'events published'),
        m('EventRecordsFailed', {}, 'batches with a failed record'),
        search('CompanyEnrichments', ['Outcome'], 'enrichment'),
      ]),
      graph('Reconciler: checks by outcome, runs by stop', [
        search('ReconcilerChecks', ['Outcome'], 'checks'),
        search('ReconcilerRuns', ['Stopped'], 'runs'),
      ]),
    );

    const fns = Object.entries(props.functions);
    this.dashboard.addWidgets(
      graph('Lambda errors', fns.map(([name, fn]) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: name }))),
      graph('Lambda duration p99 (ms)', fns.map(([name, fn]) => fn.metricDuration({ period: PERIOD, statistic: 'p99', label: name }))),
      graph('Lambda throttles', fns.map(([name, fn]) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: name }))),
    );
    const operations = [Operation.GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.QUERY, Operation.TRANSACT_WRITE_ITEMS];
    this.dashboard.addWidgets(
      graph('API 4xx and 5xx', [
        props.httpApi.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
        props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
      ]),
      graph('API latency (ms)', [
        props.httpApi.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
        props.httpApi.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
      ]),
      // Two graphs: each is a sum over the operations whose metric ids would clash in one.
      graph('DynamoDB throttled requests', [props.table.metricThrottledRequestsForOperations({ period: PERIOD, operations, label: 'throttled requests' })], 4),
      graph('DynamoDB system errors', [props.table.metricSystemErrorsForOperations({ period: PERIOD, operations, label: 'system errors' })], 4),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }));
  }
}
