// The outbox relay: the table's stream → the events function, filtered to new audit entries, with
// partial batch failures, bisection, bounded retries and a dead-letter queue. The function puts
// each entry's event on the bus (functions/events/handler.ts); the audit entry itself stays in the
// table, so a record given up on can be replayed from it (lib/README.md "Connection events").
import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, FilterCriteria, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';
import { AUDIT_STREAM_FILTER } from '#adapters/table.js';
import { DeadLetterQueue } from './dead-letter-queue.js';

/**
 * The mapping's settings, exported for the infra tests. A batch is at most 10 records: one
 * PutEvents call takes at most 10 entries
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
 */
export const AUDIT_STREAM_MAPPING = {
  batchSize: 10,
  // A record retried this often, or this old, is given up on (its metadata goes to the DLQ). The
  // stream keeps records 24 hours; six leaves time to fix a bus or role before anything expires.
  retryAttempts: 10,
  maxRecordAge: Duration.hours(6),
} as const;

export interface AuditStreamProps {
  table: Table;
  /** The events function (FUNCTION_SPECS.events). */
  consumer: IFunction;
  dev: boolean;
}

export class AuditStream extends Construct {
  readonly mapping: EventSourceMapping;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: AuditStreamProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('The connections table has no stream: ConnectionsTable must enable it (TABLE_STREAM).');
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', {
      holds: 'the events function\'s on-failure destination: the shard and sequence numbers of stream records given up on',
      nagSeesDlq: false,
      dev: props.dev,
    });
    // What Lambda's poller calls, with the role of the function
    // (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions): the
    // reads on this table's stream only. ListStreams takes no resource (the Service Authorization
    // Reference lists no resource type for it; iam-simulate answers "must use wildcard"), so it is
    // "*" or nothing: it names the account's streams, and reads no record.
    const role = props.consumer.role;
    if (!role) throw new Error('The events function has no role to grant the stream reads to.');
    role.addToPrincipalPolicy(new PolicyStatement({
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      resources: [streamArn],
    }));
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    NagSuppressions.addResourceSuppressions(role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'dynamodb:ListStreams has no resource-level permissions (no resource type in the Service Authorization Reference), '
        + 'so it is granted on * or not at all; Lambda\'s DynamoDB event source names it among the execution role\'s permissions. '
        + 'It lists stream ARNs, never a record: the reads (GetRecords, GetShardIterator, DescribeStream) are on this table\'s stream only.',
      appliesTo: ['Resource::*'],
    }], true);
    this.mapping = new EventSourceMapping(this, 'Mapping', {
      target: props.consumer,
      eventSourceArn: streamArn,
      // TRIM_HORIZON: the oldest record the stream still has. The mapping starts after the table's
      // stream exists (and again whenever it is re-created), so LATEST would skip the audit
      // entries written in between, each a lost event; a record delivered twice is deduped by its
      // id downstream, a record skipped is gone.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: AUDIT_STREAM_MAPPING.batchSize,
      // Only new audit entries reach the function (and count as processed otherwise): the shared
      // filter the local stream runner applies too.
      filters: [FilterCriteria.filter(AUDIT_STREAM_FILTER)],
      // The function answers the records it could not put (batchItemFailures); Lambda retries from
      // the first of them, not the whole batch. A batch that throws is split in two until the bad
      // record is alone, so one poison record holds back no other.
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: AUDIT_STREAM_MAPPING.retryAttempts,
      maxRecordAge: AUDIT_STREAM_MAPPING.maxRecordAge,
      onFailure: new SqsDlq(this.deadLetters.queue),
    });
  }
}
