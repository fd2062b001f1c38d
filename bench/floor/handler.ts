// The floor every function is compared with: a handler that only imports the DynamoDB document
// client and does one GetCommand. Nothing a real handler could do costs less.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { pathParameters?: Record<string, string> }) => {
  const { Item } = await doc.send(new GetCommand({
    TableName: process.env.TABLE_NAME,
    Key: { pk: `CONNECTION#${event.pathParameters?.connection_id ?? ''}`, sk: 'OWNER' },
  }));
  return { statusCode: Item ? 200 : 404, body: JSON.stringify(Item ?? null) };
};
