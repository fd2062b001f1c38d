// The application's connection events: a custom EventBridge bus of this stack, which the events
// function puts on (audit-stream.ts) and applications subscribe to with rules of their own, and an
// archive of every event on it so a consumer that missed some can have them replayed
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-archive.html).
import { Duration, Stack } from 'aws-cdk-lib';
import { Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/** The `source` of every event the events function puts (functions/core/events.ts). */
export const EVENT_SOURCE = 'finch-connections';

export interface ConnectionEventBusProps {
  /** Days the archive keeps each event for replay. */
  archiveRetentionDays: number;
}

export class ConnectionEventBus extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: ConnectionEventBusProps) {
    super(scope, id);
    // Named after the stack, so a rule in another stack or account can name it.
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${Stack.of(this).stackName}-connection-events` });
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: 'finch-connections: every connection event, for replay to a consumer that missed some',
      // The application's events, not whatever else someone may put on this bus.
      eventPattern: { source: [EVENT_SOURCE] },
      retention: Duration.days(props.archiveRetentionDays),
    });
  }
}
