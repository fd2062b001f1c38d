// The connection events in the synthesized stack (issue 15): the table's stream, the events
// function's mapping (the shared filter, partial batch failures, bisection, bounded retries, a
// dead-letter queue), the bus and its archive, the enrichment rule, the optional webhook, their
// alarms, and the two new roles, statement by statement. Bundling is skipped (stack.test.ts loads
// the bundles); cdk-nag runs on every synth.
import { jest } from '@jest/globals';
import { AUDIT_STREAM_FILTER, TABLE_STREAM, keys } from '#adapters/table.js';
import { ITERATOR_AGE_ALARM_MS } from '../../lib/constructs/alarms.js';
import { AUDIT_STREAM_MAPPING } from '../../lib/constructs/audit-stream.js';
import { ENRICHED_DETAIL_TYPES, ENRICHMENT_RETRIES } from '../../lib/constructs/company-enrichment.js';
import { EVENT_SOURCE } from '../../lib/constructs/event-bus.js';
import { EVENTS_WEBHOOK_HEADER, EVENTS_WEBHOOK_RETRIES } from '../../lib/constructs/events-webhook.js';
import { FinchConnectionsStack } from '../../lib/finch-connections-stack.js';
import { App } from 'aws-cdk-lib';
import { CDK_JSON_CONTEXT, DEPLOY_CONTEXT, type Resource, type Synthesized, functionLogicalId, logicalId, resourcesOfType, statementsOf, synthesizer } from './synth.js';

// A synth with cdk-nag takes seconds, more on a busy machine.
jest.setTimeout(120_000);

const synthesize = synthesizer();
const WEBHOOK_URL = 'https://app.acme-payroll.io/hooks/finch-connections';
let synth: Synthesized;
beforeAll(() => { synth = synthesize(DEPLOY_CONTEXT); }, 120_000);

const only = (of: Synthesized, type: string): [string, Resource] => {
  const found = resourcesOfType(of, type);
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0];
};
const ref = (of: Synthesized, element: { node: { defaultChild?: unknown } }) => logicalId(of, element.node.defaultChild as never);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const alarms = (of: Synthesized) => resourcesOfType(of, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);

describe('the table stream (the outbox)', () => {
  test('the table streams each new image, as the shared definition (and DynamoDB Local) has it', () => {
    const [, table] = only(synth, 'AWS::DynamoDB::Table');
    expect(TABLE_STREAM.StreamViewType).toBe('NEW_IMAGE');
    expect(table.Properties!.StreamSpecification).toEqual({ StreamViewType: TABLE_STREAM.StreamViewType });
  });

  test('the events function reads it with the shared audit filter, partial batch failures, bisection and bounded retries', () => {
    const [tableId] = only(synth, 'AWS::DynamoDB::Table');
    const [, mapping] = only(synth, 'AWS::Lambda::EventSourceMapping');
    const props = mapping.Properties!;
    expect(props.EventSourceArn).toEqual({ 'Fn::GetAtt': [tableId, 'StreamArn'] });
    expect(props.FunctionName).toEqual({ Ref: functionLogicalId(synth, 'events') });
    // The same object the local stream runner filters with (functions/adapters/table.ts).
    expect(props.FilterCriteria.Filters.map((filter: { Pattern: string }) => JSON.parse(filter.Pattern))).toEqual([AUDIT_STREAM_FILTER]);
    expect(AUDIT_STREAM_FILTER).toEqual({ eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'AUDIT#' }] } } } });
    expect(props).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      BatchSize: 10,
      MaximumRetryAttempts: AUDIT_STREAM_MAPPING.retryAttempts,
      MaximumRecordAgeInSeconds: AUDIT_STREAM_MAPPING.maxRecordAge.toSeconds(),
    });
    // Bounded, and inside the stream's 24 hours.
    expect(props.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(props.MaximumRecordAgeInSeconds).toBeLessThan(24 * 3600);
    expect(props.DestinationConfig).toEqual({ OnFailure: { Destination: arnOf(ref(synth, synth.stack.auditStream.deadLetters.queue)) } });
  });

  test('only an audit item\'s INSERT passes the filter (Lambda\'s prefix and exact-match semantics)', () => {
    const passes = (record: { eventName: string; pk: string }) => AUDIT_STREAM_FILTER.eventName.includes(record.eventName as 'INSERT')
      && AUDIT_STREAM_FILTER.dynamodb.Keys.pk.S.some((rule) => record.pk.startsWith(rule.prefix));
    expect(passes({ eventName: 'INSERT', pk: keys.auditPartition('acme', 'conn-1') })).toBe(true);
    expect(passes({ eventName: 'INSERT', pk: keys.auditPartition('acme', null) })).toBe(true);
    expect(passes({ eventName: 'MODIFY', pk: keys.auditPartition('acme', 'conn-1') })).toBe(false);
    expect(passes({ eventName: 'INSERT', pk: keys.connection('acme', 'conn-1').pk })).toBe(false);
    expect(passes({ eventName: 'INSERT', pk: keys.session('a'.repeat(64)).pk })).toBe(false);
  });
});

describe('the bus and its archive', () => {
  test('one custom bus, which the events function is told of, archives its own events 30 days by default', () => {
    const [busId, bus] = only(synth, 'AWS::Events::EventBus');
    expect(bus.Properties!.Name).toBe('FinchConnections-connection-events');
    const [, archive] = only(synth, 'AWS::Events::Archive');
    expect(archive.Properties).toMatchObject({ SourceArn: arnOf(busId), EventPattern: { source: [EVENT_SOURCE] }, RetentionDays: 30 });
    const variables = synth.json.Resources[functionLogicalId(synth, 'events')].Properties!.Environment.Variables;
    expect(variables.EVENT_BUS_NAME).toEqual({ Ref: busId });
    synth.template.hasOutput('EventBusName', { Value: { Ref: busId } });
    synth.template.hasOutput('EventBusArn', { Value: arnOf(busId) });
  });

  test('eventsArchiveRetentionDays sets the archive\'s retention', () => {
    const [, archive] = only(synthesize({ ...DEPLOY_CONTEXT, eventsArchiveRetentionDays: '90' }, { nag: false }), 'AWS::Events::Archive');
    expect(archive.Properties!.RetentionDays).toBe(90);
  });
});

describe('enrichment', () => {
  test('a rule on the bus sends connection.connected and connection.reauthenticated to enrich-company, with retries and a DLQ', () => {
    const [busId] = only(synth, 'AWS::Events::EventBus');
    const dlq = arnOf(ref(synth, synth.stack.functions.byName['enrich-company'].fn.deadLetterQueue!));
    const [, rule] = only(synth, 'AWS::Events::Rule');
    expect(rule.Properties).toMatchObject({
      EventBusName: { Ref: busId },
      EventPattern: { source: ['finch-connections'], 'detail-type': ['connection.connected', 'connection.reauthenticated'] },
    });
    expect(ENRICHED_DETAIL_TYPES).toEqual(['connection.connected', 'connection.reauthenticated']);
    expect(rule.Properties!.Targets).toEqual([{
      Id: expect.any(String),
      Arn: arnOf(functionLogicalId(synth, 'enrich-company')),
      RetryPolicy: {
        MaximumRetryAttempts: ENRICHMENT_RETRIES.delivery.retryAttempts,
        MaximumEventAgeInSeconds: ENRICHMENT_RETRIES.delivery.maxEventAge.toSeconds(),
      },
      DeadLetterConfig: { Arn: dlq },
    }]);
    // Lambda's own retries of a failed invocation end in the same queue, the event as the body.
    const fn = synth.json.Resources[functionLogicalId(synth, 'enrich-company')].Properties!;
    expect(fn.DeadLetterConfig).toEqual({ TargetArn: dlq });
    const [, invokeConfig] = only(synth, 'AWS::Lambda::EventInvokeConfig');
    expect(invokeConfig.Properties).toMatchObject({
      FunctionName: { Ref: functionLogicalId(synth, 'enrich-company') },
      MaximumRetryAttempts: ENRICHMENT_RETRIES.invocation.retryAttempts,
      MaximumEventAgeInSeconds: ENRICHMENT_RETRIES.invocation.maxEventAge.toSeconds(),
    });
    // Only this rule may invoke it.
    const permissions = resourcesOfType(synth, 'AWS::Lambda::Permission').map(([, permission]) => permission.Properties!)
      .filter((permission) => JSON.stringify(permission.FunctionName).includes(functionLogicalId(synth, 'enrich-company')));
    expect(permissions).toEqual([expect.objectContaining({ Principal: 'events.amazonaws.com', SourceArn: arnOf(resourcesOfType(synth, 'AWS::Events::Rule')[0][0]) })]);
  });
});

describe('dead-letter queues and alarms', () => {
  test('every queue is a DLQ: SSE, TLS only, kept 14 days, and alarmed on its first message', () => {
    const queues = resourcesOfType(synth, 'AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual([
      ref(synth, synth.stack.auditStream.deadLetters.queue),
      ref(synth, synth.stack.functions.byName['enrich-company'].fn.deadLetterQueue!),
    ].sort());
    const policies = resourcesOfType(synth, 'AWS::SQS::QueuePolicy').map(([, policy]) => policy.Properties!);
    for (const [id, queue] of queues) {
      expect({ id, sse: queue.Properties!.SqsManagedSseEnabled, retention: queue.Properties!.MessageRetentionPeriod }).toEqual({ id, sse: true, retention: 14 * 24 * 3600 });
      const policy = policies.find((candidate) => JSON.stringify(candidate.Queues) === JSON.stringify([{ Ref: id }]));
      expect(policy?.PolicyDocument.Statement).toEqual(expect.arrayContaining([expect.objectContaining({
        Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      })]));
      const alarm = alarms(synth).find((candidate) => candidate.MetricName === 'ApproximateNumberOfMessagesVisible'
        && JSON.stringify(candidate.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }]));
      expect({ id, alarm: alarm && { threshold: alarm.Threshold, operator: alarm.ComparisonOperator, statistic: alarm.Statistic } })
        .toEqual({ id, alarm: { threshold: 1, operator: 'GreaterThanOrEqualToThreshold', statistic: 'Maximum' } });
    }
  });

  test('the events function falling 5 minutes behind its stream alarms, and both new functions\' errors do', () => {
    const events = { Ref: functionLogicalId(synth, 'events') };
    const iteratorAge = alarms(synth).filter((alarm) => alarm.MetricName === 'IteratorAge');
    expect(iteratorAge).toEqual([expect.objectContaining({
      Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: events }], Statistic: 'Maximum', Threshold: ITERATOR_AGE_ALARM_MS,
    })]);
    for (const name of ['events', 'enrich-company'] as const) {
      const errors = alarms(synth).filter((alarm) => alarm.MetricName === 'Errors'
        && JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: functionLogicalId(synth, name) } }]));
      expect([name, errors.length]).toEqual([name, 1]);
    }
  });

  test('with alarmEmail, the new alarms notify the topic too', () => {
    const withEmail = synthesize({ ...DEPLOY_CONTEXT, alarmEmail: 'oncall@acme-payroll.io' }, { nag: false });
    const [topicId] = only(withEmail, 'AWS::SNS::Topic');
    const added = alarms(withEmail).filter((alarm) => ['IteratorAge', 'ApproximateNumberOfMessagesVisible'].includes(alarm.MetricName));
    expect(added).toHaveLength(3);
    for (const alarm of added) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});

describe('least privilege of the new functions', () => {
  test('events: PutEvents on this bus, its stream\'s reads, its DLQ, its logs; no table item, key or secret', () => {
    const [tableId] = only(synth, 'AWS::DynamoDB::Table');
    const [busId] = only(synth, 'AWS::Events::EventBus');
    const logGroup = synth.json.Resources[functionLogicalId(synth, 'events')].Properties!.LoggingConfig.LogGroup.Ref;
    expect(statementsOf(synth, 'events').map(({ Effect, Action, Resource, Condition }) => ({ Effect, Action: [...Action].sort(), Resource, Condition }))).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [arnOf(logGroup)], Condition: undefined },
      { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [arnOf(busId)], Condition: undefined },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        Resource: [{ 'Fn::GetAtt': [tableId, 'StreamArn'] }],
        Condition: undefined,
      },
      // No resource type: "*" or nothing (iam-simulation.test.ts shows a stream ARN would grant nothing).
      { Effect: 'Allow', Action: ['dynamodb:ListStreams'], Resource: ['*'], Condition: undefined },
      { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: [arnOf(ref(synth, synth.stack.auditStream.deadLetters.queue))], Condition: undefined },
    ]);
  });

  test('enrich-company: reads and updates connection items, takes from the Finch budget, puts audit entries, decrypts access tokens; no secret, no bus', () => {
    const [tableId] = only(synth, 'AWS::DynamoDB::Table');
    const [keyId] = only(synth, 'AWS::KMS::Key');
    const logGroup = synth.json.Resources[functionLogicalId(synth, 'enrich-company')].Properties!.LoggingConfig.LogGroup.Ref;
    const dlq = ref(synth, synth.stack.functions.byName['enrich-company'].fn.deadLetterQueue!);
    expect(statementsOf(synth, 'enrich-company').map(({ Effect, Action, Resource, Condition }) => ({ Effect, Action: [...Action].sort(), Resource, Condition }))).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [arnOf(logGroup)], Condition: undefined },
      // Lambda's DeadLetterConfig sends with the function's role.
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [arnOf(dlq)], Condition: undefined },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [arnOf(tableId)],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.connection('*', '*').pk] } },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:UpdateItem'],
        Resource: [arnOf(tableId)],
        // The connection's company fields, and the shared Finch budget's buckets.
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.connection('*', '*').pk, keys.rateBucket('*').pk] } },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem'],
        Resource: [arnOf(tableId)],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.auditPartition('*', '*')] } },
      },
      { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [arnOf(keyId)], Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'access_token' } } },
    ]);
  });

  test('each gets only the variables it reads: no client credentials, callback or origin settings', () => {
    const variables = (name: 'events' | 'enrich-company') => synth.json.Resources[functionLogicalId(synth, name)].Properties!.Environment.Variables as Record<string, unknown>;
    const powertools = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
    expect(Object.keys(variables('events')).sort()).toEqual(['EVENT_BUS_NAME', 'NODE_OPTIONS', ...powertools].sort());
    // The shared Finch budget's settings too: it takes from the budget like every function that calls Finch.
    const budget = ['FINCH_BUDGET_BURST', 'FINCH_BUDGET_RESERVE', 'FINCH_RATE_LIMITS'];
    expect(Object.keys(variables('enrich-company')).sort()).toEqual(['FINCH_API_BASE_URL', 'FINCH_TIMEOUT_MS', 'KMS_KEY_ARN', 'NODE_OPTIONS', ...budget, ...powertools, 'TABLE_NAME'].sort());
    // Behind the WAF the HTTP functions get the origin header; the event functions take no request.
    const edge = synthesize({ ...DEPLOY_CONTEXT, waf: true }, { env: { account: '123456789012', region: 'us-east-1' }, nag: false });
    for (const name of ['events', 'enrich-company'] as const) {
      const keysOf = Object.keys(edge.json.Resources[functionLogicalId(edge, name)].Properties!.Environment.Variables);
      expect([name, keysOf.filter((key) => key.startsWith('ORIGIN_VERIFY'))]).toEqual([name, []]);
    }
  });
});

describe('the events webhook (eventsWebhookUrl)', () => {
  test('is not there without the context', () => {
    for (const type of ['AWS::Events::Connection', 'AWS::Events::ApiDestination']) expect(resourcesOfType(synth, type)).toEqual([]);
    expect(resourcesOfType(synth, 'AWS::Events::Rule')).toHaveLength(1);
    expect(Object.keys(synth.json.Outputs)).not.toContain('EventsWebhookSecretArn');
  });

  test('POSTs every event\'s detail with the secret header, with retries, a DLQ and its alarm; cdk-nag clean', () => {
    const hooked = synthesize({ ...DEPLOY_CONTEXT, eventsWebhookUrl: WEBHOOK_URL });
    expect(hooked.nagErrors).toEqual([]);
    expect(hooked.nagWarnings).toEqual([]);
    const [busId] = only(hooked, 'AWS::Events::EventBus');
    const webhook = hooked.stack.webhook!;
    const secretId = ref(hooked, webhook.secret as never);
    const [, secret] = resourcesOfType(hooked, 'AWS::SecretsManager::Secret').find(([id]) => id === secretId)!;
    expect(secret.Properties!.GenerateSecretString).toEqual({ ExcludePunctuation: true, PasswordLength: 64 });
    const [connectionId, connection] = only(hooked, 'AWS::Events::Connection');
    expect(connection.Properties).toMatchObject({
      AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: EVENTS_WEBHOOK_HEADER, ApiKeyValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] } } },
    });
    const [destinationId, destination] = only(hooked, 'AWS::Events::ApiDestination');
    expect(destination.Properties).toMatchObject({ ConnectionArn: arnOf(connectionId), InvocationEndpoint: WEBHOOK_URL, HttpMethod: 'POST' });
    const rule = resourcesOfType(hooked, 'AWS::Events::Rule').map(([, candidate]) => candidate.Properties!)
      .find((candidate) => JSON.stringify(candidate.Targets).includes(destinationId))!;
    expect(rule.EventBusName).toEqual({ Ref: busId });
    expect(rule.EventPattern).toEqual({ source: [EVENT_SOURCE] });
    const dlq = ref(hooked, webhook.deadLetters.queue);
    expect(rule.Targets).toEqual([expect.objectContaining({
      Arn: arnOf(destinationId),
      InputPath: '$.detail',
      RetryPolicy: { MaximumRetryAttempts: EVENTS_WEBHOOK_RETRIES.retryAttempts, MaximumEventAgeInSeconds: EVENTS_WEBHOOK_RETRIES.maxEventAge.toSeconds() },
      DeadLetterConfig: { Arn: arnOf(dlq) },
    })]);
    expect(alarms(hooked).filter((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible'
      && JSON.stringify(alarm.Dimensions).includes(dlq))).toHaveLength(1);
    hooked.template.hasOutput('EventsWebhookSecretArn', { Value: { Ref: secretId } });
    // The secret reaches the connection at deploy time; no function reads it.
    for (const name of Object.keys(hooked.stack.functions.byName) as Array<keyof typeof hooked.stack.functions.byName>) {
      expect([name, statementsOf(hooked, name).filter((statement) => JSON.stringify(statement.Resource).includes(secretId))]).toEqual([name, []]);
    }
  });

  test('eventsWebhookSecretArn uses that secret and creates none', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/events-webhook-AbC123';
    const hooked = synthesize({ ...DEPLOY_CONTEXT, eventsWebhookUrl: WEBHOOK_URL, eventsWebhookSecretArn: arn }, { nag: false });
    expect(resourcesOfType(hooked, 'AWS::SecretsManager::Secret')).toHaveLength(1); // the Finch secret only
    const [, connection] = only(hooked, 'AWS::Events::Connection');
    expect(connection.Properties!.AuthParameters.ApiKeyAuthParameters.ApiKeyValue).toBe(`{{resolve:secretsmanager:${arn}:SecretString:::}}`);
    hooked.template.hasOutput('EventsWebhookSecretArn', { Value: arn });
  });

  test('synth refuses a webhook URL that is not https, a secret without a URL, and a partial secret ARN', () => {
    const construct = (context: Record<string, unknown>) => () => new FinchConnectionsStack(
      new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...DEPLOY_CONTEXT, ...context } }), 'FinchConnections');
    expect(construct({ eventsWebhookUrl: 'http://app.acme-payroll.io/hooks' })).toThrow(/eventsWebhookUrl must be an https URL/);
    expect(construct({ eventsWebhookUrl: 'not a url' })).toThrow(/eventsWebhookUrl must be an https URL/);
    expect(construct({ eventsWebhookSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbC123' })).toThrow(/eventsWebhookSecretArn is the secret of eventsWebhookUrl/);
    expect(construct({ eventsWebhookUrl: WEBHOOK_URL, eventsWebhookSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook' })).toThrow(/eventsWebhookSecretArn must be the secret's complete ARN/);
    expect(construct({ eventsArchiveRetentionDays: 0 })).toThrow(/eventsArchiveRetentionDays must be an integer of at least 1/);
  });
});
