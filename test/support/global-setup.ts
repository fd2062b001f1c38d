// Jest global setup: one in-memory DynamoDB Local for the whole run, started by the same code as
// `npm start` (local/dynamodb-local.ts). Workers are forked after this runs, so the endpoint and
// dummy credentials set on process.env reach every test file; each file isolates itself with its
// own table (test/support/dynamo.ts). global-teardown.ts stops it.
//
// Node loads this file itself (type stripping), outside Jest's module mapping: hence the `.ts`
// specifier and no subpath imports.
import { LOCAL_CREDENTIALS, LOCAL_REGION, type RunningDynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startCallRecords } from './aws-call-records.ts';

declare global {
  // Read by global-teardown.ts, which Jest runs in the same process.
  var __dynamoDbLocal: RunningDynamoDbLocal | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Where the tests record each function's AWS calls for the IAM check (aws-call-records.ts).
  startCallRecords();
  const local = await startDynamoDbLocal();
  globalThis.__dynamoDbLocal = local;
  // If Jest exits without running the teardown, Java must not outlive it.
  process.once('exit', () => local.killNow());
  if (process.env.DYNAMODB_LOCAL_VERBOSE) console.error(`DynamoDB Local answering on ${local.endpoint} after ${local.startedInMs} ms`);
  process.env.DYNAMODB_ENDPOINT = local.endpoint;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  // Never mix the dummy keys with a real session or profile from the developer's shell.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}
