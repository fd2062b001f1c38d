// Round trips per operation: bench/roundtrips-child.ts against a running DynamoDB Local.
import { runPhase } from './child.js';
import type { RoundTripsResult } from './roundtrips-child.js';

export const measureRoundTrips = (dynamodbEndpoint: string) => runPhase<RoundTripsResult>('roundtrips-child.ts', {
  DYNAMODB_ENDPOINT: dynamodbEndpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
}, {});
