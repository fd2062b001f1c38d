// The recorder behind the IAM deploy-truth check (test/support/aws-calls.ts): a DynamoDB request
// becomes the actions IAM authorizes, with the partition keys it names, from a document client's
// input and from a plain client's marshalled one alike.
import { dynamoCalls } from '../../support/aws-calls.js';

const TABLE = 'it-table';

test('a transaction is one item action per item, each with its own partition key, marshalled or not', () => {
  const items = [
    { Put: { TableName: TABLE, Item: { pk: 'AUDIT#acme#c1', sk: 'x' } } },
    { Update: { TableName: TABLE, Key: { pk: { S: 'CUSTOMER#acme' }, sk: { S: 'CONNECTION#c1' } } } },
    { ConditionCheck: { TableName: TABLE, Key: { pk: 'CONNECTION#c1', sk: 'OWNER' } } },
    { Delete: { TableName: 'another', Key: { pk: 'SESSION#s' } } },
  ];
  expect(dynamoCalls('TransactWriteItemsCommand', { TransactItems: items }, TABLE)).toEqual([
    { action: 'dynamodb:PutItem', resource: { kind: 'table', name: TABLE, own: true }, leadingKeys: ['AUDIT#acme#c1'], enclosingOperation: 'TransactWriteItems' },
    { action: 'dynamodb:UpdateItem', resource: { kind: 'table', name: TABLE, own: true }, leadingKeys: ['CUSTOMER#acme'], enclosingOperation: 'TransactWriteItems' },
    { action: 'dynamodb:ConditionCheckItem', resource: { kind: 'table', name: TABLE, own: true }, leadingKeys: ['CONNECTION#c1'], enclosingOperation: 'TransactWriteItems' },
    { action: 'dynamodb:DeleteItem', resource: { kind: 'table', name: 'another', own: false }, leadingKeys: ['SESSION#s'], enclosingOperation: 'TransactWriteItems' },
  ]);
});

test('a Query names its index and the partition key value of its key condition', () => {
  expect(dynamoCalls('QueryCommand', {
    TableName: TABLE, IndexName: 'by_customer', KeyConditionExpression: '#gsi1pk = :partition',
    ExpressionAttributeNames: { '#gsi1pk': 'gsi1pk' }, ExpressionAttributeValues: { ':partition': 'CUSTOMER#acme' },
  }, TABLE)).toEqual([{ action: 'dynamodb:Query', resource: { kind: 'table', name: TABLE, own: true, index: 'by_customer' }, leadingKeys: ['CUSTOMER#acme'] }]);
  expect(dynamoCalls('QueryCommand', {
    TableName: TABLE, KeyConditionExpression: 'pk = :partition AND sk < :before', ExpressionAttributeValues: { ':partition': { S: 'AUDIT#acme#c1' }, ':before': { S: 'z' } },
  }, TABLE)[0].leadingKeys).toEqual(['AUDIT#acme#c1']);
});

test('a key it cannot read is null (the check then fails), and a Scan names none', () => {
  expect(dynamoCalls('GetItemCommand', { TableName: TABLE, Key: { pk: { N: '1' } } }, TABLE)[0].leadingKeys).toBeNull();
  expect(dynamoCalls('QueryCommand', { TableName: TABLE, KeyConditionExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': 'A' } }, TABLE)[0].leadingKeys).toBeNull();
  expect(dynamoCalls('ScanCommand', { TableName: TABLE }, TABLE)).toEqual([{ action: 'dynamodb:Scan', resource: { kind: 'table', name: TABLE, own: true } }]);
});
