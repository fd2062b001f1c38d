// The connection events in the synthesized stack (issue 15): the table's stream, the events
// function's mapping (the shared filter, partial batch failures, bisection, bounded retries, a
// dead-letter queue), the bus and its archive, the enrichment rule, queue and mapping, the optional
// webhook, their alarms, and the two new roles, statement by statement. Bundling is skipped (stack.test.ts loads
// the bundles); cdk-nag runs on every synth.
import { jest } from '@jest/globals';
import { AUDIT_STREAM_FILTER, TABLE_STREAM, keys } from '#adapters/table.js';
import { ITERATOR_AGE_ALARM_MS } from '../../lib/constructs/alarms.js';
import { AUDIT_STREAM_MAPPING } from '../../lib/constructs/audit-stream.js';
import { ENRICHMENT_ATTEMPTS, enrichesCompany } from '#core/enrichment.js';
import { ENRICHED_DETAIL_TYPES, ENRICHMENT_DELIVERY, ENRICHMENT_QUEUE } from '../../lib/constructs/company-enrichment.js';
import { FUNCTION_SPECS } from '../../lib/constructs/functions.js';
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
/** A role's statements, actions sorted, without X-Ray's Put* (every function traces: test/infra/observability.test.ts). */
const roleStatements = (of: Synthesized, name: 'events' | 'enrich-company') => statementsOf(of, name)
  .map(({ Effect, Action, Resource, Condition }) => ({ Effect, Action: [Action].flat().filter((action) => !action.startsWith('xray:')).sort(), Resource, Condition }))
  .filter((statement) => statement.Action.length > 0)
  // In the order of their first action: CloudFormation's order follows how CDK merged them.
  .sort((a, b) => a.Action[0].localeCompare(b.Action[0]));
/** The enrichment rule (the stack has others: the reconciler's schedule, the optional webhook's). */
const enrichmentRule = (of: Synthesized): [string, Resource] => {
  const id = ref(of, of.stack.enrichment.rule);
  return resourcesOfType(of, 'AWS::Events::Rule').find(([candidate]) => candidate === id)!;
};
const alarms = (of: Synthesized) => resourcesOfType(of, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);

describe('the table stream (the outbox)', () => {
  test('the table streams each new image, as the shared definition (and DynamoDB Local) has it', () => {
    const [, table] = only(synth, 'AWS::DynamoDB::Table');
    expect(TABLE_STREAM.StreamViewType).toBe('NEW_IMAGE');
    expect(table.Properties!.StreamSpecification).toEqual({ StreamViewType: TABLE_STREAM.StreamViewType });
  });

  test('the events function reads it with the shared audit filter, partial batch failures, bisection and bounded retries', () => {
    const [tableId] = only(synth, 'AWS::DynamoDB::Table');
    const [, mapping] = resourcesOfType(synth, 'AWS::Lambda::EventSourceMapping').find(([, candidate]) => candidate.Properties!.EventSourceArn['Fn::GetAtt']?.[1] === 'StreamArn')!;
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
  const queueId = () => ref(synth, synth.stack.enrichment.queue);
  const dlqId = () => ref(synth, synth.stack.enrichment.queue.deadLetterQueue!.queue);

  test('a rule on the bus puts connection.connected, .reauthenticated and the org data\'s .initial_sync_completed on the enrichment queue, with retries and a DLQ', () => {
    const [busId] = only(synth, 'AWS::Events::EventBus');
    const [, rule] = enrichmentRule(synth);
    expect(rule.Properties).toMatchObject({
      EventBusName: { Ref: busId },
      EventPattern: {
        source: ['finch-connections'],
        'detail-type': ['connection.connected', 'connection.reauthenticated', 'connection.initial_sync_completed'],
        // EventBridge's $or: any reason for a new or renewed token, only `org` for a sync.
        detail: { $or: [{ type: ['connection.connected', 'connection.reauthenticated'] }, { type: ['connection.initial_sync_completed'], reason: ['org'] }] },
      },
    });
    expect(ENRICHED_DETAIL_TYPES).toEqual(['connection.connected', 'connection.reauthenticated', 'connection.initial_sync_completed']);
    expect(rule.Properties!.Targets).toEqual([{
      Id: expect.any(String),
      Arn: arnOf(queueId()),
      RetryPolicy: { MaximumRetryAttempts: ENRICHMENT_DELIVERY.retryAttempts, MaximumEventAgeInSeconds: ENRICHMENT_DELIVERY.maxEventAge.toSeconds() },
      DeadLetterConfig: { Arn: arnOf(dlqId()) },
    }]);
    // The function is no rule's target any more: no invoke permission, no asynchronous retries or DeadLetterConfig.
    const fn = synth.json.Resources[functionLogicalId(synth, 'enrich-company')].Properties!;
    expect(fn.DeadLetterConfig).toBeUndefined();
    expect(resourcesOfType(synth, 'AWS::Lambda::EventInvokeConfig')
      .filter(([, config]) => JSON.stringify(config.Properties!.FunctionName).includes(functionLogicalId(synth, 'enrich-company')))).toEqual([]);
    expect(resourcesOfType(synth, 'AWS::Lambda::Permission').map(([, permission]) => permission.Properties!)
      .filter((permission) => JSON.stringify(permission.FunctionName).includes(functionLogicalId(synth, 'enrich-company')))).toEqual([]);
  });

  test('the pattern\'s content filter is the core\'s check: a payroll sync is not enriched, an org sync is', () => {
    const detail = (type: string, reason?: string) => ({ type, ...(reason ? { reason } : {}) });
    expect(enrichesCompany(detail('connection.initial_sync_completed', 'org'))).toBe(true);
    expect(enrichesCompany(detail('connection.initial_sync_completed', 'payroll'))).toBe(false);
    expect(enrichesCompany(detail('connection.connected'))).toBe(true);
    expect(enrichesCompany(detail('connection.reauthenticated'))).toBe(true);
    expect(enrichesCompany(detail('connection.disconnected', 'customer'))).toBe(false);
  });

  test('the queue: SSE, TLS only, only this rule may send, a visibility timeout of six times the function\'s timeout, redrive to the DLQ after ENRICHMENT_ATTEMPTS receives', () => {
    const [, queue] = resourcesOfType(synth, 'AWS::SQS::Queue').find(([id]) => id === queueId())!;
    // "at least six times the timeout that you configure on your function" (AWS, "Configuring a queue to use with Lambda").
    expect(FUNCTION_SPECS['enrich-company'].timeout.toSeconds() * 6).toBe(120);
    expect(queue.Properties).toEqual({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 120,
      MessageRetentionPeriod: ENRICHMENT_QUEUE.retentionPeriod.toSeconds(),
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlqId()), maxReceiveCount: ENRICHMENT_ATTEMPTS },
    });
    expect(ENRICHMENT_ATTEMPTS).toBe(20);
    // Kept shorter than the DLQ's 14 days: a moved message keeps its first enqueue time.
    expect(ENRICHMENT_QUEUE.retentionPeriod.toDays()).toBeLessThan(14);
    const [, policy] = resourcesOfType(synth, 'AWS::SQS::QueuePolicy').find(([, candidate]) => JSON.stringify(candidate.Properties!.Queues) === JSON.stringify([{ Ref: queueId() }]))!;
    const [ruleId] = enrichmentRule(synth);
    expect(policy.Properties!.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: expect.arrayContaining(['sqs:SendMessage']),
        Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ruleId) } },
      }),
    ]);
    // ENRICHMENT_QUEUE_URL: where the function changes a throttled message's visibility.
    const variables = synth.json.Resources[functionLogicalId(synth, 'enrich-company')].Properties!.Environment.Variables;
    expect(variables.ENRICHMENT_QUEUE_URL).toEqual({ Ref: queueId() });
  });

  test('enrich-company reads it through an event-source mapping: small batches, at most two at once, partial batch failures; made after its role\'s grant', () => {
    const mappings = resourcesOfType(synth, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) => JSON.stringify(mapping.Properties!.EventSourceArn) === JSON.stringify(arnOf(queueId())));
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0];
    expect(mapping.Properties).toEqual({
      EventSourceArn: arnOf(queueId()),
      FunctionName: { Ref: functionLogicalId(synth, 'enrich-company') },
      BatchSize: ENRICHMENT_QUEUE.batchSize,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(ENRICHMENT_QUEUE.batchSize).toBeLessThanOrEqual(10);
    const roleId = ref(synth, synth.stack.functions.byName['enrich-company'].role);
    expect((mapping as { DependsOn?: string[] }).DependsOn).toEqual(expect.arrayContaining([roleId, expect.stringMatching(/^FunctionsEnrichCompanyRoleDefaultPolicy/)]));
  });
});

describe('dead-letter queues and alarms', () => {
  test('every queue but the enrichment queue is a DLQ: SSE, TLS only, kept 14 days, and alarmed on its first message', () => {
    const queues = resourcesOfType(synth, 'AWS::SQS::Queue').filter(([id]) => id !== ref(synth, synth.stack.enrichment.queue));
    expect(queues.map(([id]) => id).sort()).toEqual([
      ref(synth, synth.stack.auditStream.deadLetters.queue),
      ref(synth, synth.stack.enrichment.queue.deadLetterQueue!.queue),
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
    expect(roleStatements(synth, 'events')).toEqual(([
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
    ]).sort((a, b) => a.Action[0].localeCompare(b.Action[0])));
  });

  test('enrich-company: reads and updates connection items, takes from the Finch budget, puts audit entries, decrypts access tokens, consumes its queue; no secret, no bus, no DLQ', () => {
    const [tableId] = only(synth, 'AWS::DynamoDB::Table');
    const [keyId] = only(synth, 'AWS::KMS::Key');
    const logGroup = synth.json.Resources[functionLogicalId(synth, 'enrich-company')].Properties!.LoggingConfig.LogGroup.Ref;
    expect(roleStatements(synth, 'enrich-company')).toEqual(([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [arnOf(logGroup)], Condition: undefined },
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
      // The mapping's receive, delete and queue attributes, and the function's own visibility changes: this queue only.
      {
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        Resource: [arnOf(ref(synth, synth.stack.enrichment.queue))],
        Condition: undefined,
      },
    ]).sort((a, b) => a.Action[0].localeCompare(b.Action[0])));
  });

  test('each gets only the variables it reads: no client credentials, callback or origin settings', () => {
    const variables = (name: 'events' | 'enrich-company') => synth.json.Resources[functionLogicalId(synth, name)].Properties!.Environment.Variables as Record<string, unknown>;
    const powertools = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
    expect(Object.keys(variables('events')).sort()).toEqual(['EVENT_BUS_NAME', 'NODE_OPTIONS', ...powertools].sort());
    // The shared Finch budget's settings too: it takes from the budget like every function that calls Finch.
    const budget = ['FINCH_BUDGET_BURST', 'FINCH_BUDGET_RESERVE', 'FINCH_RATE_LIMITS'];
    expect(Object.keys(variables('enrich-company')).sort())
      .toEqual(['ENRICHMENT_QUEUE_URL', 'FINCH_API_BASE_URL', 'FINCH_TIMEOUT_MS', 'KMS_KEY_ARN', 'NODE_OPTIONS', ...budget, ...powertools, 'TABLE_NAME'].sort());
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
    // On the bus: the enrichment rule alone (the reconciler's schedule is on the default bus).
    expect(resourcesOfType(synth, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties!.EventBusName)).toHaveLength(1);
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
