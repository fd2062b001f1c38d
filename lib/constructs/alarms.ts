// Alarms on what means users are failing: API 5xx, any function error or throttle, DynamoDB
// system errors, and for the connection events a dead-letter queue holding anything or the events
// function falling behind its stream. They notify an SNS topic from context (`alarmTopicArn`), or one created for
// `alarmEmail`; with neither they only change state in the console.
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type Table } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

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
}

const PERIOD = Duration.minutes(5);
/**
 * A stream consumer this far behind (IteratorAge, the age of the last record of a batch when it
 * was read) delays every event by as much: five minutes is far beyond a healthy consumer's
 * seconds, and well inside the 24 hours after which the stream drops records.
 */
export const ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000;

export class Alarms extends Construct {
  readonly topic?: ITopic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = props.alarmTopicArn
      ? Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn)
      : props.alarmEmail ? this.createTopic(props.alarmEmail) : undefined;

    this.add('Api5xx', props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }), 5,
      'The API answered 5 or more 5xx responses in 5 minutes (handlers, integrations or Finch failing).');
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
