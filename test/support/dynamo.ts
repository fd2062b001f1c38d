// A fresh table per test file on the DynamoDB Local that global-setup.ts started, created from the
// same definition as the deployed table (functions/adapters/table.ts).
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTableInput } from '#adapters/table.js';

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  /** A document client with default marshalling, as the store must work with any. */
  doc: DynamoDBDocumentClient;
}

export function localEndpoint(): string {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) {
    throw new Error('DYNAMODB_ENDPOINT is not set: run the tests through Jest, whose globalSetup (test/support/global-setup.ts) starts DynamoDB Local.');
  }
  return endpoint;
}

export function localClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: localEndpoint(),
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    },
  });
}

/** Creates a uniquely named table (so test files are isolated) and waits until it and its index are ACTIVE. */
export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const client = localClient();
  const tableName = `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) break;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { tableName, client, doc: DynamoDBDocumentClient.from(client) };
}
