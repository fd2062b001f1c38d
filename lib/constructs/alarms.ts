// Alarms on what means users are failing: API 5xx, any function error or throttle, DynamoDB
// system errors, and for the connection events a dead-letter queue holding anything or the events
// function falling behind its stream. They notify an SNS topic from context (`alarmTopicArn`), or one created for
// `alarmEmail`; with neither they only change state in the console.
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IMetric, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { BusinessMetrics } from './business-metrics.js';

export interface AlarmsProps {
  httpApi: HttpApi;
  functions: Record<string, IFunction>;
  table: Table;
  alarmTopicArn?: string;
  alarmEmail?: string;
  /** Each dead-letter queue (by name) with what it holds: any message in one is an event not delivered. */
  deadLetterQueues: Record<string, { queue: IQueue; holds: string }>;
  /** Functions reading a stream (by name): how far behind the newest record they are. */
  streamConsumers: Record<string, IFunction>;
  /** The business metrics' namespace (functions/core/metrics.ts): the callback and Finch rate alarms read it. */
  metricsNamespace: string;
}

const PERIOD = Duration.minutes(5);
/**
 * A stream consumer this far behind (IteratorAge, the age of the last record of a batch when it
 * was read) delays every event by as much: five minutes is far beyond a healthy consumer's
 * seconds, and well inside the 24 hours after which the stream drops records.
 */
export const ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000;

/**
 * Rates need enough traffic to mean anything: below these counts in a period the expression is 0
 * (one failed callback of two at night is no incident; twenty of forty is).
 */
export const CALLBACK_RATE_MIN_CALLBACKS = 10;
export const CALLBACK_FAILURE_RATE_PERCENT = 25;
export const FINCH_RATE_MIN_REQUESTS = 20;
export const FINCH_FAILURE_RATE_PERCENT = 10;
const RATE_PERIOD = Duration.minutes(15);

/**
 * Callbacks that failed, in % of all callbacks answered (Callbacks, functions/core/metrics.ts):
 * everything but connected, reauthenticated and connect_cancelled (the employer's own choice).
 * Metric math over fixed metrics: an alarm cannot SEARCH, hence the Callbacks rollup on `service` alone.
 */
export function callbackFailureRate(business: BusinessMetrics, period: Duration): MathExpression {
  const options = { period };
  return new MathExpression({
    expression: `IF(total >= ${CALLBACK_RATE_MIN_CALLBACKS}, 100 * (total - FILL(connected, 0) - FILL(reauthenticated, 0) - FILL(cancelled, 0)) / total, 0)`,
    usingMetrics: {
      total: business.metric('Callbacks', {}, options),
      connected: business.metric('Callbacks', { Result: 'connected' }, options),
      reauthenticated: business.metric('Callbacks', { Result: 'reauthenticated' }, options),
      cancelled: business.metric('Callbacks', { Result: 'connect_cancelled' }, options),
    },
    label: 'callback failure rate (%)',
    period,
  });
}

/**
 * Finch's answers that were 5xx or 429, or no answer at all (timeout, network), in % of the
 * requests sent to it (FinchRequests; the budget's own refusals never left and are not in it).
 */
export function finchFailureRate(business: BusinessMetrics, period: Duration): MathExpression {
  const options = { period };
  const byClass = (StatusClass: string) => business.metric('FinchRequests', { StatusClass }, options);
  return new MathExpression({
    expression: `IF(total >= ${FINCH_RATE_MIN_REQUESTS}, 100 * (FILL(s5xx, 0) + FILL(s429, 0) + FILL(timeout, 0) + FILL(network, 0)) / total, 0)`,
    usingMetrics: {
      total: business.metric('FinchRequests', {}, options),
      s5xx: byClass('5xx'), s429: byClass('429'), timeout: byClass('timeout'), network: byClass('network_error'),
    },
    label: 'Finch 5xx/429/no-answer rate (%)',
    period,
  });
}

export class Alarms extends Construct {
  readonly topic?: ITopic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn
      ? Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn)
      : props.alarmEmail ? this.createTopic(props.alarmEmail) : undefined;

    const business = new BusinessMetrics(props.metricsNamespace);
    // A deferred webhook is a 503 on purpose (Finch delivers it again: functions/core/webhooks.ts),
    // so it is taken off API Gateway's 5xx count. Both are sums over the same 5 minutes; API
    // Gateway counts a request when it answers, EMF when the function flushes, milliseconds apart,
    // so one falling on the other side of a period boundary can move a count by one either way.
    this.add('Api5xx', new MathExpression({
      expression: 'MAX([0, FILL(api5xx, 0) - FILL(deferred, 0)])',
      usingMetrics: {
        api5xx: props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }),
        deferred: business.metric('Webhooks', { Outcome: 'deferred' }, { period: PERIOD }),
      },
      label: 'API 5xx but deferred webhooks',
      period: PERIOD,
    }), 5, 'The API answered 5 or more 5xx responses in 5 minutes, deferred webhooks not counted (handlers, integrations or Finch failing).');
    this.add('CallbackFailureRate', callbackFailureRate(business, RATE_PERIOD), CALLBACK_FAILURE_RATE_PERCENT,
      `${CALLBACK_FAILURE_RATE_PERCENT}% or more of the callbacks in 15 minutes failed (at least ${CALLBACK_RATE_MIN_CALLBACKS} callbacks; `
      + 'cancelled by the employer not counted): the dashboard\'s "Callbacks, by result" says which code.');
    this.add('FinchFailureRate', finchFailureRate(business, RATE_PERIOD), FINCH_FAILURE_RATE_PERCENT,
      `${FINCH_FAILURE_RATE_PERCENT}% or more of the requests to Finch in 15 minutes got a 5xx, a 429 or no answer (at least ${FINCH_RATE_MIN_REQUESTS} requests): `
      + 'Finch is failing or limiting us (the dashboard\'s Finch graphs).');
    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), 1,
        `${name}: the function failed (an unhandled error, a timeout or an out-of-memory).`);
      this.add(`${name}Throttles`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), 1,
        `${name}: Lambda throttled invocations (the account's concurrency is exhausted).`);
    }
    this.add('DynamoDbSystemErrors', props.table.metricSystemErrorsForOperations({
      period: PERIOD,
      operations: [Operation.GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.QUERY, Operation.TRANSACT_WRITE_ITEMS],
    }), 1, 'DynamoDB answered with internal server errors (HTTP 500) on the connections table.');
    for (const [name, { queue, holds }] of Object.entries(props.deadLetterQueues)) {
      this.add(`${name}Messages`, queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }), 1,
        `${name} holds messages: ${holds}. Read them, fix the cause, redrive (lib/README.md "Connection events").`);
    }
    for (const [name, fn] of Object.entries(props.streamConsumers)) {
      this.add(`${name}IteratorAge`, fn.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' }), ITERATOR_AGE_ALARM_MS,
        `${name}: the stream's records wait 5 minutes or more before they are read (events are late; failing batches retried, or throttling).`);
    }
  }

  private add(id: string, metric: IMetric, threshold: number, description: string) {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `finch-connections: ${description}`,
    });
    if (this.topic) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    }
    this.alarms.push(alarm);
  }

  /** Encrypted with a key of its own that CloudWatch may use (the AWS-managed SNS key does not let it publish). */
  private createTopic(email: string): Topic {
    const key = new Key(this, 'TopicKey', {
      description: 'finch-connections: encrypts the alarm topic',
      enableKeyRotation: true,
      // Alarm notifications are transient: nothing stays encrypted under this key.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const topic = new Topic(this, 'AlarmTopic', { displayName: 'finch-connections alarms', masterKey: key, enforceSSL: true });
    // enforceSSL gives the topic a resource policy holding only its Deny; a service principal needs
    // an Allow there to publish (IAM identity policies cover principals of the account, not
    // CloudWatch). Scoped to this account's alarms against the confused deputy:
    // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html (aws:SourceAccount and aws:SourceOwner)
    topic.addToResourcePolicy(new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      effect: Effect.ALLOW,
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    topic.addSubscription(new EmailSubscription(email));
    return topic;
  }
}
