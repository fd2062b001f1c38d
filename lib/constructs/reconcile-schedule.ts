// The reconciler's schedule: an EventBridge rule invokes the reconcile function every
// `reconcileIntervalMinutes` (CDK context, lib/stack-config.ts), which asks Finch about the live
// connections whose turn is oldest (functions/core/reconcile.ts).
//
// No retries: a run that failed is not worth repeating, the next scheduled run starts over from
// the queue (what a run did not reach keeps its turn). So neither EventBridge (the hand-over) nor
// Lambda (the asynchronous invocation) tries again, and a run's failure reaches the function's
// error alarm (lib/constructs/alarms.ts) instead of being retried past the next run
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface ReconcileScheduleProps {
  /** The reconcile function. */
  reconciler: IFunction;
  intervalMinutes: number;
}

export class ReconcileSchedule extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ReconcileScheduleProps) {
    super(scope, id);
    // A run not started within one interval is skipped: the next one is due.
    const maxEventAge = Duration.minutes(Math.max(1, props.intervalMinutes));
    props.reconciler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge });
    this.rule = new Rule(this, 'Rule', {
      description: `finch-connections: the reconciler, every ${props.intervalMinutes} minute${props.intervalMinutes === 1 ? '' : 's'}`,
      schedule: Schedule.rate(Duration.minutes(props.intervalMinutes)),
      targets: [new LambdaFunction(props.reconciler, { retryAttempts: 0, maxEventAge })],
    });
  }
}
