// Jest global teardown: stops the DynamoDB Local that global-setup.ts started and waits for the
// JVM to exit, so no Java process outlives the run.
export default async function globalTeardown(): Promise<void> {
  const local = globalThis.__dynamoDbLocal;
  globalThis.__dynamoDbLocal = undefined;
  await local?.stop();
}
