// Jest global teardown: stops the DynamoDB Local that global-setup.ts started and waits for the
// JVM to exit, so no Java process outlives the run.
import { checkCallRecords } from './aws-call-records.ts';

export default async function globalTeardown(): Promise<void> {
  const local = globalThis.__dynamoDbLocal;
  globalThis.__dynamoDbLocal = undefined;
  await local?.stop();
  // Every AWS call the tests saw a function make must be allowed by its role in the synthesized stack.
  checkCallRecords();
}
