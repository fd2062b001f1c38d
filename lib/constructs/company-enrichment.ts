// The employer's name without a slower callback: a rule on the connection events' bus sends
// connection.connected and connection.reauthenticated to the enrich-company function, which reads
// the company from Finch with the connection's token and records it (functions/core/enrichment.ts).
//
// EventBridge invokes the function asynchronously, so two retry policies apply: EventBridge's (the
// rule target's) for an event it could not hand to Lambda, and Lambda's for an invocation that
// failed. Both end in the same dead-letter queue, whose every message is the event itself (the
// target's DLQ and the function's DeadLetterConfig both send the event as the body:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
// Redelivering one is safe: the write is conditional and a second one writes nothing.
import { Duration } from 'aws-cdk-lib';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENRICHED_EVENT_TYPES } from '#core/enrichment.js';
import { EVENT_SOURCE } from './event-bus.js';

/** The events worth reading the company for: the core's own list, so the rule and the consumer cannot drift. */
export const ENRICHED_DETAIL_TYPES: string[] = [...ENRICHED_EVENT_TYPES];

/** Retries, exported for the infra tests. */
export const ENRICHMENT_RETRIES = {
  /** EventBridge → Lambda (the hand-over only: throttled, or Lambda unavailable). */
  delivery: { retryAttempts: 8, maxEventAge: Duration.hours(2) },
  /** Lambda → the function: Finch down or rate limiting, a store fault. Lambda waits 1, then 2 minutes between tries. */
  invocation: { retryAttempts: 2, maxEventAge: Duration.hours(2) },
} as const;

export interface CompanyEnrichmentProps {
  bus: IEventBus;
  /** The enrich-company function, created with `deadLetterQueue` (its DeadLetterConfig). */
  enricher: IFunction;
  deadLetterQueue: IQueue;
}

export class CompanyEnrichment extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: CompanyEnrichmentProps) {
    super(scope, id);
    props.enricher.configureAsyncInvoke({
      retryAttempts: ENRICHMENT_RETRIES.invocation.retryAttempts,
      maxEventAge: ENRICHMENT_RETRIES.invocation.maxEventAge,
    });
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: 'finch-connections: a new or renewed token → read the company\'s name and id from Finch',
      eventPattern: { source: [EVENT_SOURCE], detailType: ENRICHED_DETAIL_TYPES },
      targets: [new LambdaFunction(props.enricher, {
        retryAttempts: ENRICHMENT_RETRIES.delivery.retryAttempts,
        maxEventAge: ENRICHMENT_RETRIES.delivery.maxEventAge,
        deadLetterQueue: props.deadLetterQueue,
      })],
    });
  }
}
