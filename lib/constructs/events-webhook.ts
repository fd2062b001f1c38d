// Optional (`eventsWebhookUrl`): every connection event POSTed to the application by an EventBridge
// API destination, with EventBridge's retries and a dead-letter queue.
//
// What authenticates a delivery: EventBridge cannot sign a body. Its connection adds a header with
// a secret value to every request (API key authorization; the value lives in a Secrets Manager
// secret EventBridge keeps for the connection:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destination-connections.html),
// so the receiver compares EVENTS_WEBHOOK_HEADER with the secret, in constant time, over HTTPS
// (lib/README.md "Connection events": what the receiver checks).
import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { ApiDestination as ApiDestinationResource, Authorization, Connection, HttpMethod, type IEventBus, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { ApiDestination } from 'aws-cdk-lib/aws-events-targets';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { EVENT_SOURCE } from './event-bus.js';

/** The header each delivery carries; its value is the webhook secret. */
export const EVENTS_WEBHOOK_HEADER = 'x-finch-connections-secret';

/**
 * EventBridge retries a delivery that failed with a retriable error (a 429, a 5xx, no answer
 * within its 5-second timeout), with backoff, within these bounds, then puts the event in the
 * dead-letter queue (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html,
 * eb-rule-retry-policy.html). A day rides out an application's outage of a few hours.
 */
export const EVENTS_WEBHOOK_RETRIES = { retryAttempts: 24, maxEventAge: Duration.hours(24) } as const;

export interface EventsWebhookProps {
  bus: IEventBus;
  /** The application's https endpoint. */
  url: string;
  /** An existing secret whose SecretString is the header's value; absent: one is generated. */
  secretArn?: string;
  dev: boolean;
}

export class EventsWebhook extends Construct {
  readonly secret: ISecret;
  readonly rule: Rule;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: EventsWebhookProps) {
    super(scope, id);
    this.secret = props.secretArn ? Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn) : this.generatedSecret(props.dev);
    const connection = new Connection(this, 'Connection', {
      description: 'finch-connections: the application\'s events webhook',
      // A dynamic reference: CloudFormation reads the value at deploy time; it is in no template.
      authorization: Authorization.apiKey(EVENTS_WEBHOOK_HEADER, SecretValue.secretsManager(this.secret.secretArn)),
    });
    const destination = new ApiDestinationResource(this, 'Destination', {
      description: 'finch-connections: POSTs each connection event\'s detail to the application',
      connection,
      endpoint: props.url,
      httpMethod: HttpMethod.POST,
    });
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', {
      holds: 'the events webhook rule target\'s DLQ: events the application refused or did not take in time',
      nagSeesDlq: false,
      dev: props.dev,
    });
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: 'finch-connections: every connection event → the application\'s webhook',
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [new ApiDestination(destination, {
        // The body is the event's detail, as the local stack's EVENTS_FORWARD_URL receives it:
        // `{id, type, connection_id, …}`, the id being the dedupe key.
        event: RuleTargetInput.fromEventPath('$.detail'),
        retryAttempts: EVENTS_WEBHOOK_RETRIES.retryAttempts,
        maxEventAge: EVENTS_WEBHOOK_RETRIES.maxEventAge,
        deadLetterQueue: this.deadLetters.queue,
      })],
    });
  }

  private generatedSecret(dev: boolean): Secret {
    const secret = new Secret(this, 'Secret', {
      description: 'finch-connections: the value of the x-finch-connections-secret header on every events webhook delivery',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    NagSuppressions.addResourceSuppressions(secret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'EventBridge copies the value into its connection at deploy time, and the application must accept the new value before '
        + 'the connection sends it: a rotation Lambda changing it in place would have deliveries refused. Rotate with lib/README.md '
        + '"Connection events" instead.',
    }]);
    return secret;
  }
}
