// Jest global setup: one in-memory DynamoDB Local for the whole run, started by the same code as
// `npm start` (local/dynamodb-local.ts), and, where `moto_server` is installed, one moto server
// (KMS, Secrets Manager) for the adapter tests that need AWS's own answers (test/support/moto.ts).
// Both start side by side, so moto (about 1.5 s) hides behind Java's longer start. Workers are
// forked after this runs, so the endpoints and dummy credentials set on process.env reach every
// test file; each file isolates itself with its own table (test/support/dynamo.ts) and its own
// keys and secrets. global-teardown.ts stops both.
//
// Node loads this file itself (type stripping), outside Jest's module mapping: hence the `.ts`
// specifier and no subpath imports.
import { LOCAL_CREDENTIALS, LOCAL_REGION, type RunningDynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startCallRecords } from './aws-call-records.ts';
import { findOnPath } from './find-on-path.ts';
import { type RunningMoto, startMotoServer } from './moto-server.ts';

declare global {
  // Read by global-teardown.ts, which Jest runs in the same process.
  var __dynamoDbLocal: RunningDynamoDbLocal | undefined;
  var __motoServer: RunningMoto | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Where the tests record each function's AWS calls for the IAM check (aws-call-records.ts).
  startCallRecords();
  const verbose = Boolean(process.env.DYNAMODB_LOCAL_VERBOSE);
  const motoExecutable = findOnPath('moto_server');
  const [dynamo, moto] = await Promise.allSettled([
    startDynamoDbLocal(),
    motoExecutable ? startMotoServer(motoExecutable) : Promise.resolve(undefined),
  ]);
  if (moto.status === 'fulfilled' && moto.value) {
    const running = moto.value;
    globalThis.__motoServer = running;
    // If Jest exits without running the teardown, moto must not outlive it.
    process.once('exit', () => running.killNow());
  }
  if (dynamo.status === 'rejected') {
    await globalThis.__motoServer?.stop();
    globalThis.__motoServer = undefined;
    throw dynamo.reason;
  }
  const local = dynamo.value;
  globalThis.__dynamoDbLocal = local;
  // If Jest exits without running the teardown, Java must not outlive it.
  process.once('exit', () => local.killNow());
  if (verbose) console.error(`DynamoDB Local answering on ${local.endpoint} after ${local.startedInMs} ms`);
  process.env.DYNAMODB_ENDPOINT = local.endpoint;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  // Never mix the dummy keys with a real session or profile from the developer's shell.
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  // The moto tests skip on MOTO_UNAVAILABLE (no moto_server here) and fail on it under
  // REQUIRE_MOTO=1; a moto that is installed but would not start always fails them.
  for (const name of ['MOTO_ENDPOINT', 'MOTO_START_ERROR', 'MOTO_UNAVAILABLE']) delete process.env[name];
  if (moto.status === 'fulfilled' && moto.value) {
    process.env.MOTO_ENDPOINT = moto.value.endpoint;
    if (verbose) console.error(`moto answering on ${moto.value.endpoint} after ${moto.value.startedInMs} ms`);
  } else if (moto.status === 'rejected') {
    process.env.MOTO_START_ERROR = `moto_server (${motoExecutable}) did not start: ${(moto.reason as Error).message}`;
  } else {
    process.env.MOTO_UNAVAILABLE = 'moto_server is not on PATH (install it with `pip install "moto[server]"`)';
  }
}
