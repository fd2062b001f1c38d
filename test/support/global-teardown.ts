// Jest global teardown: stops the DynamoDB Local and the moto server that global-setup.ts started
// and waits for them to exit, so no Java or Python process outlives the run.
import { checkCallRecords } from './aws-call-records.ts';

export default async function globalTeardown(): Promise<void> {
  const local = globalThis.__dynamoDbLocal;
  const moto = globalThis.__motoServer;
  globalThis.__dynamoDbLocal = undefined;
  globalThis.__motoServer = undefined;
  await Promise.all([local?.stop(), moto?.stop()]);
  // Every AWS call the tests saw a function make must be allowed by its role in the synthesized stack.
  checkCallRecords();
}
