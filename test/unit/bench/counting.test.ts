// The benchmark's counting helpers (bench/counting.ts): what they count must be what was sent.
// No timing here: the benchmark's numbers live in BENCHMARKS.md, never in assertions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '#adapters/aws-json/secrets-manager.js';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { answerCalls, countCalls, delta, median, percentile, total } from '../../../bench/counting.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

describe('counting SDK calls with middleware', () => {
  it('counts each document-client command once by its DynamoDB name, and no attempt for a stubbed one', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:9' });
    const doc = DynamoDBDocumentClient.from(client);
    const counter = countCalls(doc);
    answerCalls(doc, { GetItemCommand: () => ({ Item: { pk: { S: 'a' } } }), PutItemCommand: () => ({}) });
    await doc.send(new GetCommand({ TableName: 'table', Key: { pk: 'a' } }));
    await doc.send(new PutCommand({ TableName: 'table', Item: { pk: 'b' } }));
    await doc.send(new GetCommand({ TableName: 'table', Key: { pk: 'c' } }));
    expect(counter.commands).toEqual({ GetItemCommand: 2, PutItemCommand: 1 });
    expect(total(counter.attempts)).toBe(0);
  });

  it('counts commands sent through the base client the document client was made from', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:9' });
    const counter = countCalls(DynamoDBDocumentClient.from(client));
    answerCalls(client, { GetItemCommand: () => ({}) });
    await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: 'table', Key: { pk: 'a' } }));
    expect(counter.commands).toEqual({ GetItemCommand: 1 });
  });

  it('counts an HTTP attempt per try of a command that reaches the network', async () => {
    // Port 9 (discard) on loopback refuses the connection: every attempt fails fast.
    const client = new SecretsManagerClient({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:9', maxAttempts: 2 });
    const counter = countCalls(client);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 's' }))).rejects.toThrow();
    expect(counter.commands).toEqual({ GetSecretValueCommand: 1 });
    expect(counter.attempts).toEqual({ GetSecretValueCommand: 2 });
  });

  it('answers a stubbed command with the given output', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1', credentials });
    answerCalls(client, { GetSecretValueCommand: (input) => ({ SecretString: `for ${input.SecretId}` }) });
    const out = await client.send(new GetSecretValueCommand({ SecretId: 'finch' }));
    expect(out.SecretString).toBe('for finch');
  });
});

describe('statistics', () => {
  it('delta leaves out names that did not change', () => {
    expect(delta({ a: 3, b: 1, c: 2 }, { a: 1, b: 1 })).toEqual({ a: 2, c: 2 });
  });

  it('median and percentiles interpolate between ranks', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBeCloseTo(9.1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
