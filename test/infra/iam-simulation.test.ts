// Calls no function may make, evaluated against the synthesized stack's policies with iam-simulate
// (test/infra/iam-simulation.ts). Each refusal sits beside an allowed twin that differs in the one
// thing refused, so a refusal cannot come from a broken simulation. The calls the code does make
// are checked after the tests run (test/infra/check-recorded-calls.ts).
import { LAMBDA_ENTRIES, type LambdaName } from '../../lib/routes.js';
import { ACCOUNT, type DeployedPolicies, type IamRequest, REGION, bindEncryptionContext, deployedPolicies, evaluate } from './iam-simulation.js';
import { DEPLOY_CONTEXT, synthesize } from './synth.js';

/** Every Lambda, the event functions (events, enrich-company) included. */
const NAMES = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
/** Those that read a table item: all but the events function, which reads only the stream. */
const ITEM_READERS = NAMES.filter((name) => name !== 'events');
const OTHER_TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/another-table`;
const tokenContext = { purpose: 'access_token', customer_id: 'acme', connection_id: 'conn-1' };
let policies: DeployedPolicies;

beforeAll(() => {
  const synth = synthesize(DEPLOY_CONTEXT, { nag: false });
  try {
    policies = deployedPolicies(synth);
  } finally {
    synth.cleanup();
  }
}, 120_000);

const decide = (request: Omit<IamRequest, 'resource'> & { resource?: string }) => evaluate(policies, { resource: policies.keyArn, ...request });
const describeCall = (request: Omit<IamRequest, 'resource'> & { resource?: string }) => `${request.function} ${request.action}`;

async function expectDecision(request: Omit<IamRequest, 'resource'> & { resource?: string }, allowed: boolean) {
  const decision = await decide(request);
  expect({ call: describeCall(request), request, allowed: decision === 'Allowed' }).toEqual({ call: describeCall(request), request, allowed });
}

describe('KMS: tokens are decrypted only where Finch is called with one, and made only by callback', () => {
  test('create-session cannot decrypt an access_token ciphertext (it may decrypt its idempotency records)', async () => {
    await expectDecision({ function: 'create-session', action: 'kms:Decrypt', encryptionContext: tokenContext }, false);
    await expectDecision({ function: 'create-session', action: 'kms:Decrypt', encryptionContext: { purpose: 'idempotency', customer_id: 'acme' } }, true);
  });

  test.each(NAMES)('%s cannot decrypt without the purpose context', async (name) => {
    await expectDecision({ function: name, action: 'kms:Decrypt', encryptionContext: {} }, false);
    await expectDecision({ function: name, action: 'kms:Decrypt', encryptionContext: { customer_id: 'acme', connection_id: 'conn-1' } }, false);
    await expectDecision({ function: name, action: 'kms:Decrypt', encryptionContext: { ...tokenContext, purpose: 'ACCESS_TOKEN' } }, false);
  });

  test('the functions that call Finch with a stored token may decrypt one', async () => {
    for (const name of ['connections', 'webhook', 'finch-proxy', 'enrich-company', 'reconcile'] as const) {
      await expectDecision({ function: name, action: 'kms:Decrypt', encryptionContext: tokenContext }, true);
    }
  });

  test('callback may encrypt a token but not decrypt one', async () => {
    await expectDecision({ function: 'callback', action: 'kms:Encrypt', encryptionContext: tokenContext }, true);
    await expectDecision({ function: 'callback', action: 'kms:Decrypt', encryptionContext: tokenContext }, false);
  });

  test.each(NAMES.filter((name) => name !== 'callback'))('%s cannot make an access_token ciphertext', async (name) => {
    await expectDecision({ function: name, action: 'kms:Encrypt', encryptionContext: tokenContext }, false);
  });

  test.each(['reauthenticate', 'events'] as const)('%s cannot use the key at all', async (name) => {
    for (const action of ['kms:Encrypt', 'kms:Decrypt']) {
      for (const purpose of ['access_token', 'idempotency']) {
        await expectDecision({ function: name, action, encryptionContext: { ...tokenContext, purpose } }, false);
      }
    }
  });

  test.each(NAMES)('%s cannot re-encrypt, generate data keys or grant', async (name) => {
    for (const action of ['kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:CreateGrant']) {
      await expectDecision({ function: name, action, encryptionContext: tokenContext }, false);
    }
  });
});

describe('Secrets Manager: the data proxy never holds the client credentials', () => {
  test.each(['finch-proxy', 'events', 'enrich-company', 'reconcile'] as const)('%s cannot read the Finch secret; connections can', async (name) => {
    await expectDecision({ function: name, action: 'secretsmanager:GetSecretValue', resource: policies.secretArn }, false);
    await expectDecision({ function: 'connections', action: 'secretsmanager:GetSecretValue', resource: policies.secretArn }, true);
  });

  test.each(NAMES)('%s cannot change the Finch secret', async (name) => {
    await expectDecision({ function: name, action: 'secretsmanager:PutSecretValue', resource: policies.secretArn }, false);
  });
});

describe('DynamoDB: items by key, on this table only', () => {
  // A read each function does make: the twin of the refusals below.
  const ownRead = (name: LambdaName): IamRequest => (name === 'create-session'
    ? { function: name, action: 'dynamodb:GetItem', resource: policies.tableArn, leadingKeys: ['CONNECTION#conn-1'] }
    : { function: name, action: 'dynamodb:GetItem', resource: policies.tableArn, leadingKeys: ['CUSTOMER#acme'] });

  test.each(ITEM_READERS)('%s cannot Scan the table or its index', async (name) => {
    await expectDecision(ownRead(name), true);
    await expectDecision({ function: name, action: 'dynamodb:Scan', resource: policies.tableArn }, false);
    await expectDecision({ function: name, action: 'dynamodb:Scan', resource: policies.indexArn }, false);
  });

  test.each(ITEM_READERS)('%s can do nothing on another table', async (name) => {
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query']) {
      await expectDecision({ ...ownRead(name), action, resource: OTHER_TABLE }, false);
    }
    await expectDecision({ ...ownRead(name), action: 'dynamodb:Query', resource: `${OTHER_TABLE}/index/by_customer` }, false);
  });

  test.each(NAMES)('%s cannot change or delete the table itself', async (name) => {
    for (const action of ['dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:BatchWriteItem']) {
      await expectDecision({ function: name, action, resource: policies.tableArn }, false);
    }
  });

  test('enrich-company reads and updates connections, takes from the Finch budget and appends audit entries, and nothing else', async () => {
    const item = (action: string, pk: string, inTransaction = false): IamRequest => ({
      function: 'enrich-company', action, resource: policies.tableArn, leadingKeys: [pk], ...(inTransaction ? { enclosingOperation: 'TransactWriteItems' } : {}),
    });
    await expectDecision(item('dynamodb:GetItem', 'CUSTOMER#acme'), true);
    await expectDecision(item('dynamodb:UpdateItem', 'CUSTOMER#acme', true), true);
    await expectDecision(item('dynamodb:PutItem', 'AUDIT#acme#conn-1', true), true);
    // The shared Finch budget's bucket, before each Finch call.
    await expectDecision(item('dynamodb:UpdateItem', 'RATE#ip'), true);
    await expectDecision(item('dynamodb:GetItem', 'RATE#ip'), false);
    await expectDecision(item('dynamodb:PutItem', 'RATE#ip'), false);
    // Not a new connection, an owner, a session or an idempotency record; no delete; no audit rewrite.
    await expectDecision(item('dynamodb:PutItem', 'CUSTOMER#acme', true), false);
    await expectDecision(item('dynamodb:GetItem', 'CONNECTION#conn-1'), false);
    await expectDecision(item('dynamodb:UpdateItem', 'CONNECTION#conn-1', true), false);
    await expectDecision(item('dynamodb:UpdateItem', 'AUDIT#acme#conn-1', true), false);
    await expectDecision(item('dynamodb:PutItem', 'SESSION#abc', true), false);
    await expectDecision(item('dynamodb:DeleteItem', 'CUSTOMER#acme'), false);
    await expectDecision({ function: 'enrich-company', action: 'dynamodb:Query', resource: policies.indexArn, leadingKeys: ['CUSTOMER#acme'] }, false);
    await expectDecision({ function: 'enrich-company', action: 'events:PutEvents', resource: policies.busArn }, false);
  });

  test('reconcile queries its queue\'s index only, reads and updates connections, takes from the Finch budget and appends audit entries, and nothing else', async () => {
    const item = (action: string, pk: string, inTransaction = false): IamRequest => ({
      function: 'reconcile', action, resource: policies.tableArn, leadingKeys: [pk], ...(inTransaction ? { enclosingOperation: 'TransactWriteItems' } : {}),
    });
    const checkIndexArn = `${policies.tableArn}/index/by_check`;
    await expectDecision({ function: 'reconcile', action: 'dynamodb:Query', resource: checkIndexArn, leadingKeys: ['LIVE'] }, true);
    // Never the list index, the table's own partitions, nor a Scan of its index.
    await expectDecision({ function: 'reconcile', action: 'dynamodb:Query', resource: policies.indexArn, leadingKeys: ['CUSTOMER#acme'] }, false);
    await expectDecision({ function: 'reconcile', action: 'dynamodb:Query', resource: policies.tableArn, leadingKeys: ['AUDIT#acme#conn-1'] }, false);
    await expectDecision({ function: 'reconcile', action: 'dynamodb:Scan', resource: checkIndexArn }, false);
    await expectDecision(item('dynamodb:GetItem', 'CUSTOMER#acme'), true);
    await expectDecision(item('dynamodb:UpdateItem', 'CUSTOMER#acme'), true);
    await expectDecision(item('dynamodb:UpdateItem', 'CUSTOMER#acme', true), true);
    await expectDecision(item('dynamodb:PutItem', 'AUDIT#acme#conn-1', true), true);
    await expectDecision(item('dynamodb:UpdateItem', 'RATE#ip'), true);
    // Not a new connection, an owner, a session or an idempotency record; no delete; no audit rewrite.
    await expectDecision(item('dynamodb:PutItem', 'CUSTOMER#acme', true), false);
    await expectDecision(item('dynamodb:GetItem', 'CONNECTION#conn-1'), false);
    await expectDecision(item('dynamodb:UpdateItem', 'AUDIT#acme#conn-1', true), false);
    await expectDecision(item('dynamodb:PutItem', 'SESSION#abc', true), false);
    await expectDecision(item('dynamodb:DeleteItem', 'CUSTOMER#acme'), false);
    await expectDecision({ function: 'reconcile', action: 'events:PutEvents', resource: policies.busArn }, false);
  });

  test('events reads the table\'s stream and puts on the stack\'s bus, and touches no item nor another bus', async () => {
    for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
      await expectDecision({ function: 'events', action, resource: policies.streamArn }, true);
      await expectDecision({ function: 'events', action, resource: `${OTHER_TABLE}/stream/2026-01-01T00:00:00.000` }, false);
    }
    // ListStreams has no resource type: IAM evaluates it on "*" (a stream ARN is refused by iam-simulate as "must use wildcard").
    await expectDecision({ function: 'events', action: 'dynamodb:ListStreams', resource: '*' }, true);
    for (const name of NAMES.filter((other) => other !== 'events')) {
      await expectDecision({ function: name, action: 'dynamodb:ListStreams', resource: '*' }, false);
      await expectDecision({ function: name, action: 'dynamodb:GetRecords', resource: policies.streamArn }, false);
    }
    await expectDecision({ function: 'events', action: 'events:PutEvents', resource: policies.busArn }, true);
    await expectDecision({ function: 'events', action: 'events:PutEvents', resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` }, false);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan']) {
      await expectDecision({ function: 'events', action, resource: policies.tableArn, leadingKeys: ['AUDIT#acme#conn-1'] }, false);
    }
    // Only the events function may put on the bus.
    for (const name of NAMES.filter((other) => other !== 'events')) {
      await expectDecision({ function: name, action: 'events:PutEvents', resource: policies.busArn }, false);
    }
  });

  test('finch-proxy writes only audit entries: it cannot put or delete a connection', async () => {
    await expectDecision({ function: 'finch-proxy', action: 'dynamodb:PutItem', resource: policies.tableArn, leadingKeys: ['AUDIT#acme#conn-1'], enclosingOperation: 'TransactWriteItems' }, true);
    await expectDecision({ function: 'finch-proxy', action: 'dynamodb:PutItem', resource: policies.tableArn, leadingKeys: ['CUSTOMER#acme'], enclosingOperation: 'TransactWriteItems' }, false);
    await expectDecision({ function: 'finch-proxy', action: 'dynamodb:DeleteItem', resource: policies.tableArn, leadingKeys: ['CUSTOMER#acme'] }, false);
  });
});

describe('the encryption-context conditions iam-simulate drops are decided here', () => {
  const statement = (condition: Record<string, Record<string, unknown>>) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Condition: condition }] });
  const kept = (condition: Record<string, Record<string, unknown>>, context: Record<string, string>) => bindEncryptionContext(statement(condition), context).Statement.length === 1;

  test('a statement applies only when its conditions hold; other conditions stay for the simulator', () => {
    expect(kept({ StringEquals: { 'kms:EncryptionContext:purpose': 'access_token' } }, { purpose: 'access_token' })).toBe(true);
    expect(kept({ StringEquals: { 'kms:EncryptionContext:purpose': 'access_token' } }, { purpose: 'idempotency' })).toBe(false);
    expect(kept({ StringEquals: { 'kms:EncryptionContext:purpose': 'access_token' } }, {})).toBe(false);
    expect(kept({ StringEqualsIfExists: { 'kms:EncryptionContext:purpose': 'access_token' } }, {})).toBe(true);
    expect(kept({ StringNotEquals: { 'kms:EncryptionContext:purpose': 'access_token' } }, {})).toBe(true);
    expect(kept({ StringLike: { 'kms:EncryptionContext:customer_id': ['ac*'] } }, { customer_id: 'acme' })).toBe(true);
    expect(kept({ Null: { 'kms:EncryptionContext:purpose': 'false' } }, {})).toBe(false);
    const bound = bindEncryptionContext(statement({ StringEquals: { 'kms:EncryptionContext:purpose': 'access_token', 'kms:CallerAccount': ACCOUNT } }), { purpose: 'access_token' });
    expect(bound.Statement[0].Condition).toEqual({ StringEquals: { 'kms:CallerAccount': ACCOUNT } });
  });

  test('an operator it does not know fails instead of passing', () => {
    expect(() => kept({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContext:purpose': 'access_token' } }, { purpose: 'access_token' })).toThrow(/not evaluated here/);
  });
});
