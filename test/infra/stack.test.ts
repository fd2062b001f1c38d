// The deployed stack, read from one synthesized template (with real esbuild bundles): routes and
// authorizer from the shared route table, each function's runtime and environment, least
// privilege, data protection, cdk-nag, and what the bundles contain.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Match } from 'aws-cdk-lib/assertions';
import { IDEMPOTENCY_PARTITION, LIST_INDEX, RECONCILE_INDEX, TABLE_KEYS, TTL_ATTRIBUTE, keys } from '#adapters/table.js';
import { FUNCTION_SPECS } from '../../lib/constructs/functions.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES, type FunctionName, LAMBDA_ENTRIES, type LambdaName, ROUTES, routeKey } from '../../lib/routes.js';
import {
  DEPLOY_CONTEXT, type Synthesized, allStatements, functionLogicalId, resourcesOfType, statementsOf, synthesize,
} from './synth.js';
import { stringLike } from '../support/iam.js';

/** The route table's functions (HTTP). */
const NAMES = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
/** Every Lambda: those and the two event functions (events, enrich-company; connection-events.test.ts has their wiring). */
const ALL = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
let synth: Synthesized;
// Bundling every function with esbuild and a cold start of each bundle: generous on a busy machine.
jest.setTimeout(60_000);

beforeAll(() => {
  synth = synthesize(DEPLOY_CONTEXT, { bundle: true });
}, 300_000);

afterAll(() => synth?.cleanup());

describe('routes come from the shared route table', () => {
  const routes = () => resourcesOfType(synth, 'AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties!);

  test('the API has exactly the routes of lib/routes.ts', () => {
    expect(routes().map((route) => route.RouteKey).sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  test('routes marked jwt use the JWT authorizer and the others take no authorization', () => {
    const authorizers = resourcesOfType(synth, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const [authorizerId] = authorizers[0];
    for (const route of ROUTES) {
      const found = routes().find((candidate) => candidate.RouteKey === routeKey(route))!;
      if (route.auth === 'jwt') {
        expect({ key: found.RouteKey, type: found.AuthorizationType, authorizer: found.AuthorizerId }).toEqual({ key: routeKey(route), type: 'JWT', authorizer: { Ref: authorizerId } });
      } else {
        expect({ key: found.RouteKey, type: found.AuthorizationType, authorizer: found.AuthorizerId }).toEqual({ key: routeKey(route), type: 'NONE', authorizer: undefined });
      }
    }
  });

  test('there is no $default catch-all and no local-only route', () => {
    const keys = routes().map((route) => route.RouteKey as string);
    expect(keys).not.toContain('$default');
    expect(keys.filter((key) => key.includes('_local') || key.startsWith('ANY '))).toEqual([]);
    expect(JSON.stringify(synth.json)).not.toContain('/_local');
  });

  test('each route reaches the function the route table names', () => {
    const integrations = Object.fromEntries(resourcesOfType(synth, 'AWS::ApiGatewayV2::Integration'));
    for (const route of ROUTES) {
      const found = routes().find((candidate) => candidate.RouteKey === routeKey(route))!;
      const integrationId = (found.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
      const uri = integrations[integrationId.Ref].Properties!.IntegrationUri;
      expect({ route: routeKey(route), target: uri }).toEqual({ route: routeKey(route), target: { 'Fn::GetAtt': [functionLogicalId(synth, route.function), 'Arn'] } });
      expect(integrations[integrationId.Ref].Properties!.PayloadFormatVersion).toBe('2.0');
    }
  });

  test('the JWT authorizer checks the issuer and audience from context on the Authorization header', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: DEPLOY_CONTEXT.jwtIssuer, Audience: DEPLOY_CONTEXT.jwtAudience },
    });
  });

  test('CORS allows the return origins, the route methods and the headers the API reads', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: DEPLOY_CONTEXT.allowedReturnOrigins,
        AllowMethods: Match.arrayWith([...new Set(ROUTES.map((route) => route.method))]),
        AllowHeaders: Match.arrayWith(['authorization', 'content-type', 'idempotency-key']),
      },
    });
  });

  test('the stage throttles every route; the unauthenticated ones have limits of their own, sized for a real peak', () => {
    const [[, stage]] = resourcesOfType(synth, 'AWS::ApiGatewayV2::Stage');
    const { DefaultRouteSettings: defaults, RouteSettings: perRoute } = stage.Properties!;
    expect(stage.Properties!.StageName).toBe('$default');
    expect(defaults).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const publicRoutes = ROUTES.filter((route) => route.auth === 'none').map(routeKey);
    expect(Object.keys(perRoute).sort()).toEqual(publicRoutes.sort());
    // lib/README.md "Throttles": the browser routes at 25/s (5x a busy onboarding minute), Finch's
    // deliveries at 50/s (a fleet's syncs finishing together); one client at 10/s starves neither.
    for (const key of ['GET /connect/callback', 'GET /connect/result']) {
      expect(perRoute[key]).toEqual({ ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 });
    }
    expect(perRoute['POST /webhooks/finch']).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });

  test('access logs are JSON and hold no query string, header or claim', () => {
    const [[, stage]] = resourcesOfType(synth, 'AWS::ApiGatewayV2::Stage');
    const { DestinationArn, Format } = stage.Properties!.AccessLogSettings;
    expect(DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'] });
    const fields = JSON.parse(Format) as Record<string, string>;
    expect(fields.requestId).toBe('$context.requestId');
    expect(fields.status).toBe('$context.status');
    expect(Object.values(fields).filter((value) => /querystring|header|claims|rawQuery/i.test(value))).toEqual([]);
  });
});

describe('functions', () => {
  const fn = (name: LambdaName) => synth.json.Resources[functionLogicalId(synth, name)].Properties!;

  test.each(ALL)('%s runs Node.js 22 on arm64 from an ESM bundle with source maps', (name) => {
    const props = fn(name);
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Handler).toBe('index.handler');
    expect(props.MemorySize).toBe(512);
    expect(props.Timeout).toBe(FUNCTION_SPECS[name].timeout.toSeconds());
    expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    // No reserved concurrency: new accounts have a quota of 10 and a deploy would fail.
    expect(props.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('callback may run up to 28 s (under API Gateway\'s 30 s), the others less; the stream consumer 30 s a batch, the reconciler 55 s a run', () => {
    expect(fn('callback').Timeout).toBe(28);
    for (const name of ALL.filter((other) => !['callback', 'events', 'reconcile'].includes(other))) expect(fn(name).Timeout).toBeLessThanOrEqual(20);
    expect(fn('events').Timeout).toBe(30);
    // Under its shortest schedule (a minute), so two runs never overlap.
    expect(fn('reconcile').Timeout).toBe(55);
  });

  test.each(NAMES)('%s gets the environment functions/adapters/config.ts reads, and no local-only variable', (name) => {
    const variables = fn(name).Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual([
      'ADMIN_SCOPE', 'ALLOWED_PRODUCTS', 'ALLOWED_RETURN_ORIGINS', 'CALLBACK_URL', 'CUSTOMER_ID_CLAIM', 'CUSTOMER_NAME_CLAIM',
      'DEFAULT_PRODUCTS', 'FINCH_API_BASE_URL', 'FINCH_BUDGET_BURST', 'FINCH_BUDGET_RESERVE', 'FINCH_PROXY_WRITE_PATHS',
      'FINCH_PROXY_WRITE_SCOPE', 'FINCH_RATE_LIMITS', 'FINCH_SECRET_ARN', 'FINCH_TIMEOUT_MS', 'KMS_KEY_ARN', 'NODE_OPTIONS',
      'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'STORE_BUDGET_MS', 'TABLE_NAME',
    ]);
    // Proxy writes stay off unless the deployer names them.
    expect(variables).toMatchObject({ FINCH_PROXY_WRITE_PATHS: '', FINCH_TIMEOUT_MS: '8000', STORE_BUDGET_MS: '6000' });
    const [[tableId]] = resourcesOfType(synth, 'AWS::DynamoDB::Table');
    const [[keyId]] = resourcesOfType(synth, 'AWS::KMS::Key');
    const [[secretId]] = resourcesOfType(synth, 'AWS::SecretsManager::Secret');
    const [[apiId]] = resourcesOfType(synth, 'AWS::ApiGatewayV2::Api');
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      KMS_KEY_ARN: { 'Fn::GetAtt': [keyId, 'Arn'] },
      FINCH_SECRET_ARN: { Ref: secretId },
      CALLBACK_URL: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/connect/callback']] },
      FINCH_API_BASE_URL: 'https://api.tryfinch.com',
      ALLOWED_RETURN_ORIGINS: DEPLOY_CONTEXT.allowedReturnOrigins.join(','),
      DEFAULT_PRODUCTS: 'company,directory,individual,employment',
      ALLOWED_PRODUCTS: 'company,directory,individual,employment,payment,pay_statement',
      CUSTOMER_ID_CLAIM: 'customer_id',
      CUSTOMER_NAME_CLAIM: 'customer_name',
      ADMIN_SCOPE: 'connections:admin',
      POWERTOOLS_SERVICE_NAME: 'finch-connections',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  test.each(ALL)('%s has a role of its own with no AWS managed policy and logs to its own group', (name) => {
    const props = fn(name);
    const roleId = props.Role['Fn::GetAtt'][0];
    expect(synth.json.Resources[roleId].Properties!.ManagedPolicyArns).toBeUndefined();
    const logGroupId = props.LoggingConfig.LogGroup.Ref;
    expect(synth.json.Resources[logGroupId].Properties!.RetentionInDays).toBe(30);
    const logs = statementsOf(synth, name).filter((statement) => statement.Action.some((action) => action.startsWith('logs:')));
    expect(logs).toEqual([expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }] })]);
  });
});

describe('least privilege', () => {
  const tableArn = () => ({ 'Fn::GetAtt': [resourcesOfType(synth, 'AWS::DynamoDB::Table')[0][0], 'Arn'] });
  const keyArn = () => ({ 'Fn::GetAtt': [resourcesOfType(synth, 'AWS::KMS::Key')[0][0], 'Arn'] });
  const streamArn = () => ({ 'Fn::GetAtt': [resourcesOfType(synth, 'AWS::DynamoDB::Table')[0][0], 'StreamArn'] });
  const actionsOn = (name: LambdaName, prefix: string) => statementsOf(synth, name)
    .flatMap((statement) => statement.Action.filter((action) => action.startsWith(prefix)).map((action) => ({ action, resource: statement.Resource, condition: statement.Condition })));
  /** `action purpose` pairs a function may use the token key for. */
  const keyUses = (name: LambdaName) => actionsOn(name, 'kms:').map(({ action, resource, condition }) => {
    expect(resource).toEqual([keyArn()]);
    return `${action} ${condition?.StringEquals?.['kms:EncryptionContext:purpose'] ?? 'ANY PURPOSE'}`;
  }).sort();

  test('no IAM statement anywhere grants a wildcard action or a wildcard resource', () => {
    const statements = allStatements(synth);
    expect(statements.length).toBeGreaterThan(0);
    const wildcards = statements.filter((statement) => statement.Action.some((action) => action.includes('*'))
      || statement.Resource.some((resource) => typeof resource === 'string' && resource.includes('*')));
    // But those of actions with no resource type, each on * alone: dynamodb:ListStreams (the events
    // function's stream mapping; audit-stream.ts: names streams, reads no record) and active
    // tracing's xray:PutTraceSegments/PutTelemetryRecords (every function; service-function.ts),
    // which CDK may merge into one statement.
    const noResourceType = new Set(['dynamodb:ListStreams', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    for (const statement of wildcards) {
      expect(statement).toMatchObject({ Effect: 'Allow', Resource: ['*'] });
      expect(statement.Action.filter((action) => !noResourceType.has(action))).toEqual([]);
    }
    const listStreams = (name: LambdaName) => statementsOf(synth, name).some((statement) => statement.Action.includes('dynamodb:ListStreams'));
    expect(ALL.filter(listStreams)).toEqual(['events']);
  });

  test('each function holds exactly the table actions its code path calls', () => {
    const indexArn = { 'Fn::Join': ['', [tableArn(), `/index/${LIST_INDEX.name}`]] };
    const checkIndexArn = { 'Fn::Join': ['', [tableArn(), `/index/${RECONCILE_INDEX.name}`]] };
    const tableAccess = Object.fromEntries(ALL.map((name) => [name, actionsOn(name, 'dynamodb:').flatMap(({ action, resource }) => resource.map((arn) => {
      if (JSON.stringify(arn) === JSON.stringify(indexArn)) return `${action} (index)`;
      if (JSON.stringify(arn) === JSON.stringify(checkIndexArn)) return `${action} (check index)`;
      if (JSON.stringify(arn) === JSON.stringify(streamArn())) return `${action} (stream)`;
      if (arn === '*') return `${action} (any)`;
      expect(arn).toEqual(tableArn());
      return action;
    })).sort()]));
    expect(tableAccess).toEqual({
      'create-session': ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // Its only update is the Finch budget's bucket (RATE#* only: see least-privilege tests below).
      reauthenticate: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      callback: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      connections: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Query (index)', 'dynamodb:UpdateItem'],
      webhook: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // Marking a connection reauth puts its audit entry in the same transaction (AUDIT#* keys only).
      'finch-proxy': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query (index)', 'dynamodb:UpdateItem'],
      // The stream mapping's reads, on this table's stream only: the audit entry comes in the record.
      events: ['dynamodb:DescribeStream (stream)', 'dynamodb:GetRecords (stream)', 'dynamodb:GetShardIterator (stream)', 'dynamodb:ListStreams (any)'],
      // The connection, its company fields and the company_updated entry (connection-events.test.ts: by key).
      'enrich-company': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // Its queue (the sparse check index, keys only), the connection, its drift and the entry (reconcile.test.ts: by key).
      reconcile: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query (check index)', 'dynamodb:UpdateItem'],
    });
  });

  test('create-session reads and writes only items under the partition keys its code uses (dynamodb:LeadingKeys)', () => {
    const grants: Record<string, string[] | 'ANY ITEM'> = {};
    for (const statement of statementsOf(synth, 'create-session').filter((s) => s.Action.some((action) => action.startsWith('dynamodb:')))) {
      expect(statement.Resource).toEqual([tableArn()]);
      const leadingKeys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
      for (const action of statement.Action) grants[action] = leadingKeys ? [...leadingKeys].sort() : 'ANY ITEM';
    }
    expect(grants).toEqual({
      // The session and its audit entry (one transaction: each Put is authorized as a PutItem), and
      // Powertools' Idempotency-Key record.
      'dynamodb:PutItem': ['AUDIT#*#*', IDEMPOTENCY_PARTITION, 'SESSION#*'],
      // Powertools' record, and the shared Finch budget's buckets.
      'dynamodb:UpdateItem': [IDEMPOTENCY_PARTITION, keys.rateBucket('*').pk].sort(),
      'dynamodb:DeleteItem': [IDEMPOTENCY_PARTITION],
      // The adopt path reads a connection's owner; Powertools reads its record.
      'dynamodb:GetItem': ['CONNECTION#*', IDEMPOTENCY_PARTITION],
    });
    // The patterns are the table's own key formats, and leave out what create-session never writes.
    const writable = (pk: string) => (grants['dynamodb:PutItem'] as string[]).some((pattern) => stringLike(pattern, pk));
    expect([keys.session('a'.repeat(64)).pk, keys.auditPartition('acme', null), keys.auditPartition('acme', 'conn-1'), IDEMPOTENCY_PARTITION].every(writable)).toBe(true);
    expect([keys.connection('acme', 'conn-1').pk, keys.owner('conn-1').pk, keys.webhookEvent('evt-1').pk, `${IDEMPOTENCY_PARTITION}#x`].some(writable)).toBe(false);
  });

  test('reauthenticate updates only the Finch budget\'s buckets (RATE#*), never a connection', () => {
    const updates = statementsOf(synth, 'reauthenticate').filter((statement) => statement.Action.includes('dynamodb:UpdateItem'));
    expect(updates).toEqual([expect.objectContaining({
      Action: ['dynamodb:UpdateItem'],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.rateBucket('*').pk] } },
    })]);
  });

  test('create-session can use the key only for idempotency records, so it cannot decrypt a token', () => {
    expect(keyUses('create-session')).toEqual(['kms:Decrypt idempotency', 'kms:Encrypt idempotency']);
    expect(keyUses('create-session')).not.toContain('kms:Decrypt access_token');
  });

  test('only callback may encrypt an access token, and it cannot decrypt one', () => {
    expect(keyUses('callback')).toEqual(['kms:Encrypt access_token']);
    const encryptors = ALL.filter((name) => keyUses(name).some((use) => use === 'kms:Encrypt access_token' || use.endsWith('ANY PURPOSE')));
    expect(encryptors).toEqual(['callback']);
  });

  test('only the functions that call Finch with a stored token may decrypt one; reauthenticate never touches the key', () => {
    for (const name of ['connections', 'webhook', 'finch-proxy', 'enrich-company', 'reconcile'] as const) expect(keyUses(name)).toEqual(['kms:Decrypt access_token']);
    expect(keyUses('reauthenticate')).toEqual([]);
    expect(keyUses('events')).toEqual([]);
    const decryptors = ALL.filter((name) => keyUses(name).includes('kms:Decrypt access_token'));
    expect(decryptors.sort()).toEqual(['connections', 'enrich-company', 'finch-proxy', 'reconcile', 'webhook']);
  });

  test('the functions that use client credentials read the one Finch secret; the data proxy never can', () => {
    const [[secretId]] = resourcesOfType(synth, 'AWS::SecretsManager::Secret');
    const readers = ALL.filter((name) => actionsOn(name, 'secretsmanager:').length > 0);
    expect(readers.sort()).toEqual(['callback', 'connections', 'create-session', 'reauthenticate', 'webhook']);
    for (const name of readers) {
      expect(actionsOn(name, 'secretsmanager:')).toEqual([{ action: 'secretsmanager:GetSecretValue', resource: [{ Ref: secretId }], condition: undefined }]);
    }
  });

  test('no role holds anything outside logs, the table, the token key, the secret and X-Ray\'s trace writes; the event functions also their bus or DLQ', () => {
    const beyond: Partial<Record<LambdaName, string[]>> = { events: ['events', 'sqs'], 'enrich-company': ['sqs'] };
    for (const name of ALL) {
      const services = new Set(statementsOf(synth, name).flatMap((statement) => statement.Action.map((action) => action.split(':')[0])));
      expect([name, [...services].filter((service) => !['logs', 'dynamodb', 'kms', 'secretsmanager', 'xray'].includes(service)).sort()]).toEqual([name, beyond[name] ?? []]);
    }
  });
});

describe('data at rest', () => {
  test('the token key rotates and has an alias', () => {
    synth.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, KeySpec: Match.absent() });
    synth.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/FinchConnections/access-tokens' });
    synth.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  test('the table follows the shared definition: keys, list index, the reconciler\'s sparse index, on-demand, PITR, TTL, encryption', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [{
        IndexName: LIST_INDEX.name,
        KeySchema: [
          { AttributeName: LIST_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: LIST_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }, {
        IndexName: RECONCILE_INDEX.name,
        KeySchema: [
          { AttributeName: RECONCILE_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: RECONCILE_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  test('the table, key and secret survive a stack deletion unless dev', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    synth.template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });

  test('the Finch secret is created with empty placeholders and instructions', () => {
    const [[, secret]] = resourcesOfType(synth, 'AWS::SecretsManager::Secret');
    expect(JSON.parse(secret.Properties!.SecretString)).toEqual({ client_id: '', client_secret: '', webhook_secret: '' });
    expect(secret.Properties!.Description).toMatch(/put-secret-value/);
  });
});

describe('alarms and outputs', () => {
  test('alarms watch API 5xx, every function\'s errors and throttles, and DynamoDB system errors', () => {
    const alarms = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);
    const named = (metric: string) => alarms.filter((alarm) => alarm.MetricName === metric);
    // API 5xx is metric math (deferred webhooks taken off): test/infra/observability.test.ts.
    expect(alarms.filter((alarm) => JSON.stringify(alarm.Metrics ?? []).includes('"MetricName":"5xx"'))).toHaveLength(1);
    expect(named('Errors')).toHaveLength(ALL.length);
    expect(named('Throttles')).toHaveLength(ALL.length);
    const systemErrors = alarms.filter((alarm) => JSON.stringify(alarm.Metrics ?? []).includes('SystemErrors'));
    expect(systemErrors).toHaveLength(1);
  });

  test('outputs give the API, callback and webhook URLs, the table name and the secret ARN', () => {
    const [[apiId]] = resourcesOfType(synth, 'AWS::ApiGatewayV2::Api');
    const endpoint = { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] };
    synth.template.hasOutput('ApiUrl', { Value: endpoint });
    synth.template.hasOutput('CallbackUrl', { Value: { 'Fn::Join': ['', [endpoint, '/connect/callback']] } });
    synth.template.hasOutput('WebhookUrl', { Value: { 'Fn::Join': ['', [endpoint, '/webhooks/finch']] } });
    synth.template.hasOutput('TableName', { Value: { Ref: resourcesOfType(synth, 'AWS::DynamoDB::Table')[0][0] } });
    synth.template.hasOutput('FinchSecretArn', { Value: { Ref: resourcesOfType(synth, 'AWS::SecretsManager::Secret')[0][0] } });
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('no unsuppressed error or warning', () => {
    expect(synth.nagErrors).toEqual([]);
    expect(synth.nagWarnings).toEqual([]);
  });

  test('every suppression carries a written reason', () => {
    const suppressions = Object.values(synth.json.Resources)
      .flatMap((resource) => (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Array<{ id: string; reason: string }>);
    expect(suppressions.length).toBeGreaterThan(0);
    for (const suppression of suppressions) expect({ id: suppression.id, reason: suppression.reason.length > 60 }).toEqual({ id: suppression.id, reason: true });
  });
});

describe('bundles', () => {
  /** The asset directory of each function, from the synthesized assembly. */
  const bundleDir = (name: LambdaName) => {
    const path = synth.json.Resources[functionLogicalId(synth, name)].Metadata!['aws:asset:path'] as string;
    return join(synth.assembly.directory, path);
  };
  const bundle = (name: LambdaName) => readFileSync(join(bundleDir(name), 'index.mjs'), 'utf8');

  test.each(ALL)('%s is one minified ESM file with its source map and the AWS SDK inside', (name) => {
    expect(existsSync(join(bundleDir(name), 'index.mjs.map'))).toBe(true);
    const code = bundle(name);
    expect(code.startsWith('import { createRequire as __createRequire } from "node:module"')).toBe(true);
    // The events function's one client is EventBridge's: it touches no table item.
    expect(code).toContain(name === 'events' ? 'PutEvents' : 'DynamoDBDocumentClient');
    // Minified: lines are long (the few line breaks left are inside template literals).
    expect(code.length / code.split('\n').length).toBeGreaterThan(2000);
    expect(code).not.toMatch(/^\s*\/\/ /m);
  });

  test.each(ALL)('%s holds no local-only route or dev signing key', (name) => {
    const code = bundle(name);
    expect(code).not.toContain('/_local');
    expect(code).not.toContain('_local');
    expect(code).not.toMatch(/BEGIN (EC |RSA )?PRIVATE KEY/);
  });

  // The adapters still name the local AES key variable (it is how the local stack and the tests
  // encrypt), but a deployed function refuses to start with it: see test/unit/adapters/config.test.ts
  // ("in AWS Lambda, local keys and secrets are refused"), and it is never in a function's environment.

  test.each(NAMES)('%s loads on Node.js 22 with the deployed environment (a real cold start)', (name) => {
    // Configuration validation, module-scope clients and the createRequire banner all run on import.
    // The callback function also answers events/callback-result.json (what `sam local invoke`
    // would pass it): the result page touches no AWS service.
    const script = `
      const { handler } = await import('./index.mjs');
      const event = process.env.SAMPLE_EVENT ? JSON.parse(process.env.SAMPLE_EVENT) : null;
      const status = event ? (await handler(event, { awsRequestId: 'aws-1' })).statusCode : null;
      process.stdout.write(JSON.stringify({ type: typeof handler, status }));`;
    const out = execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      cwd: bundleDir(name),
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        TABLE_NAME: 'finch-connections',
        FINCH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:finch-AbCdEf',
        KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
        CALLBACK_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com/connect/callback',
        ALLOWED_RETURN_ORIGINS: DEPLOY_CONTEXT.allowedReturnOrigins.join(','),
        SAMPLE_EVENT: name === 'callback' ? readFileSync(join(PROJECT_ROOT, 'events/callback-result.json'), 'utf8') : '',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(out)).toEqual({ type: 'function', status: name === 'callback' ? 200 : null });
  });

  // The event functions get only their own variables (FUNCTION_SPECS environment): this proves
  // their configuration needs no other, as Lambda would run them (AWS_LAMBDA_FUNCTION_NAME set:
  // local-only variables refused, KMS_KEY_ARN required where the cipher is built).
  test.each(['events', 'enrich-company'] as const)('%s loads with exactly the environment the stack gives it', (name) => {
    const deployed = synth.json.Resources[functionLogicalId(synth, name)].Properties!.Environment.Variables as Record<string, unknown>;
    const resolved: Record<string, string> = {
      TABLE_NAME: 'finch-connections',
      KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
      EVENT_BUS_NAME: 'FinchConnections-connection-events',
      ENRICHMENT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/FinchConnections-CompanyEnrichmentQueue',
    };
    const env = Object.fromEntries(Object.entries(deployed).map(([key, value]) => {
      if (typeof value === 'string') return [key, value];
      if (!resolved[key]) throw new Error(`${name}: ${key} is an intrinsic this test does not resolve`);
      return [key, resolved[key]];
    }));
    const script = `
      const { handler } = await import('./index.mjs');
      process.stdout.write(JSON.stringify({ type: typeof handler }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: bundleDir(name),
      env: {
        PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        AWS_LAMBDA_FUNCTION_NAME: `FinchConnections-${name}`, ...env,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(out)).toEqual({ type: 'function' });
  });
});
