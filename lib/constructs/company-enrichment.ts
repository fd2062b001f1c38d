// The employer's name without a slower callback: a rule on the connection events' bus puts each of
// ENRICHING_EVENTS (connection.connected, connection.reauthenticated, the org data's
// connection.initial_sync_completed) on an SQS queue, which the enrich-company function consumes
// through an event-source mapping; it reads the company from Finch with the connection's token and
// records it (functions/core/enrichment.ts).
//
// Why a queue, not the rule invoking the function: enrichment is a background caller of the shared
// Finch budget, and a burst of connects is refused by it for minutes. Lambda's asynchronous retries
// (2, about 1 and 2 minutes apart: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)
// were spent within that and the name was lost. From a queue, a refused message is hidden until the
// budget has room (ChangeMessageVisibility, functions/enrich-company/batch.ts) and received again,
// up to ENRICHMENT_ATTEMPTS times, and the mapping's maximum concurrency keeps the consumer from
// stampeding the budget.
//
// One dead-letter queue holds what is given up on: the queue's redrive policy moves a message there
// after maxReceiveCount receives, and the rule target's DLQ takes an event EventBridge could not put
// on the queue. Every message there is the event itself (the target's DLQ sends the event as the body:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html; a redriven message
// keeps its body), so redriving it to the enrichment queue is safe: the write is conditional and a
// second one writes nothing.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENRICHED_EVENT_TYPES, ENRICHING_EVENTS, ENRICHMENT_ATTEMPTS } from '#core/enrichment.js';
import { EVENT_SOURCE } from './event-bus.js';
import type { ServiceFunction } from './service-function.js';

/** The events worth reading the company for: the core's own list, so the rule and the consumer cannot drift. */
export const ENRICHED_DETAIL_TYPES: string[] = [...ENRICHED_EVENT_TYPES];

/**
 * The rule's content filter on the detail, made of ENRICHING_EVENTS: the types taken whatever their
 * reason, or with the one reason named (`$or`: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
export const ENRICHMENT_DETAIL_PATTERN = {
  $or: [
    { type: ENRICHING_EVENTS.filter((event) => !('reason' in event)).map((event) => event.type) },
    ...ENRICHING_EVENTS.flatMap((event) => ('reason' in event ? [{ type: [event.type], reason: [event.reason] }] : [])),
  ],
};

/** The queue and its mapping, exported for the infra tests. */
export const ENRICHMENT_QUEUE = {
  /** Receives before SQS moves a message to the dead-letter queue: the shared constant the local subscription uses too. */
  maxReceiveCount: ENRICHMENT_ATTEMPTS,
  /**
   * The queue's visibility timeout, in multiples of the function's timeout: "at least six times"
   * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), so a batch the
   * mapping could not hand over yet (the function throttled) is not received twice meanwhile.
   * A retryable fault other than the budget's waits this long.
   */
  visibilityTimeoutFactor: 6,
  /** Shorter than the dead-letter queue's 14 days: a message moved there keeps its first enqueue time. */
  retentionPeriod: Duration.days(4),
  /** Small batches: one refusal of the budget hides the rest of its batch without a take each. */
  batchSize: 5,
  /** Background work: at most two invocations at once (the least the mapping allows), never a stampede on the budget. */
  maxConcurrency: 2,
} as const;

/** EventBridge → the queue: only the hand-over (SQS unavailable, throttled). */
export const ENRICHMENT_DELIVERY = { retryAttempts: 8, maxEventAge: Duration.hours(2) } as const;

export interface CompanyEnrichmentProps {
  bus: IEventBus;
  /** The enrich-company function (FUNCTION_SPECS['enrich-company']): the mapping's target, its role the mapping's. */
  enricher: ServiceFunction;
  deadLetterQueue: IQueue;
  dev: boolean;
}

export class CompanyEnrichment extends Construct {
  readonly rule: Rule;
  readonly queue: Queue;
  readonly mapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: CompanyEnrichmentProps) {
    super(scope, id);
    const { fn, role } = props.enricher;
    this.queue = new Queue(this, 'Queue', {
      // SSE-SQS, as the dead-letter queue: EventBridge may send to it with no key policy to keep.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(fn.timeout!.toSeconds() * ENRICHMENT_QUEUE.visibilityTimeoutFactor),
      retentionPeriod: ENRICHMENT_QUEUE.retentionPeriod,
      deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: ENRICHMENT_QUEUE.maxReceiveCount },
      removalPolicy: props.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // The function changes a throttled message's visibility on this queue (functions/enrich-company/handler.ts).
    fn.addEnvironment('ENRICHMENT_QUEUE_URL', this.queue.queueUrl);

    // The rule target adds the queue policy letting this rule (aws:SourceArn) send, and the DLQ's.
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: 'finch-connections: a new or renewed token, or the org data synced → read the company\'s name and id from Finch',
      eventPattern: { source: [EVENT_SOURCE], detailType: ENRICHED_DETAIL_TYPES, detail: ENRICHMENT_DETAIL_PATTERN },
      targets: [new SqsQueue(this.queue, {
        retryAttempts: ENRICHMENT_DELIVERY.retryAttempts,
        maxEventAge: ENRICHMENT_DELIVERY.maxEventAge,
        deadLetterQueue: props.deadLetterQueue,
      })],
    });

    // What Lambda's poller calls with the function's role (receive, delete, read the queue's
    // attributes: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions),
    // and the function's own ChangeMessageVisibility; on this queue only. The mapping is made after
    // the grant: Lambda checks the role when it creates one.
    const grant = new PolicyStatement({
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
      resources: [this.queue.queueArn],
    });
    role.addToPrincipalPolicy(grant);
    this.mapping = new EventSourceMapping(this, 'Mapping', {
      target: fn,
      eventSourceArn: this.queue.queueArn,
      batchSize: ENRICHMENT_QUEUE.batchSize,
      maxConcurrency: ENRICHMENT_QUEUE.maxConcurrency,
      // The function answers the messages to keep (batchItemFailures); Lambda deletes the others.
      reportBatchItemFailures: true,
    });
    this.mapping.node.addDependency(role);
  }
}
