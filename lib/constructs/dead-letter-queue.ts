// Where what could not be delivered waits: an SQS queue, encrypted, refusing plain HTTP, kept for
// SQS's longest retention so an operator has two weeks to look and redrive. Alarms
// (alarms.ts) fire on its first message.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';

export interface DeadLetterQueueProps {
  /** What lands here and from where, for the queue's cdk-nag record and the alarm. */
  holds: string;
  /**
   * Whether cdk-nag can see the queue is a dead-letter queue: it recognizes a queue's redrive
   * policy and a function's DeadLetterConfig, not a stream mapping's on-failure destination nor a
   * rule target's DLQ.
   */
  nagSeesDlq: boolean;
  dev: boolean;
}

export class DeadLetterQueue extends Construct {
  readonly queue: Queue;
  readonly holds: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.holds = props.holds;
    this.queue = new Queue(this, 'Queue', {
      // SSE-SQS: Lambda and EventBridge may send to it with no key policy to keep (a queue under the
      // AWS-managed key alias/aws/sqs would refuse EventBridge, whose key policy no one can change).
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (!props.nagSeesDlq) {
      NagSuppressions.addResourceSuppressions(this.queue, [{
        id: 'AwsSolutions-SQS3',
        reason: `This queue is itself a dead-letter queue (${props.holds}); cdk-nag only recognizes queues named by a redrive policy `
          + 'or a function\'s DeadLetterConfig. A queue behind it would hold nothing: nothing consumes this one but an operator.',
      }]);
    }
  }
}
