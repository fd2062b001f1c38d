// The reconciler in the synthesized stack (issue 17): its schedule (the rule's rate from CDK context,
// no retries either side), its role by key (its queue's index and nothing else to Query, connection
// items, the Finch budget's buckets, audit entries, an access token's Decrypt), its environment,
// the error alarm, and the context keys' checks. Bundling is skipped (stack.test.ts loads the
// bundles); cdk-nag runs on every synth.
import { jest } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { RECONCILE_INDEX, keys } from '#adapters/table.js';
import { FinchConnectionsStack } from '../../lib/finch-connections-stack.js';
import { CDK_JSON_CONTEXT, DEPLOY_CONTEXT, type Synthesized, functionLogicalId, resourcesOfType, statementsOf, synthesizer } from './synth.js';

jest.setTimeout(120_000);

const synthesize = synthesizer();
let synth: Synthesized;
beforeAll(() => { synth = synthesize(DEPLOY_CONTEXT); }, 120_000);

const reconcileRules = (of: Synthesized) => resourcesOfType(of, 'AWS::Events::Rule')
  .filter(([, rule]) => (rule.Properties!.Targets ?? []).some((target: { Arn: unknown }) => JSON.stringify(target.Arn).includes(functionLogicalId(of, 'reconcile'))));

describe('the reconciler\'s schedule', () => {
  test('one rule runs it every 15 minutes by default, on the default bus, and neither EventBridge nor Lambda retries a run', () => {
    const rules = reconcileRules(synth);
    expect(rules).toHaveLength(1);
    const props = rules[0][1].Properties!;
    expect(props).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' });
    expect(props.EventBusName).toBeUndefined();
    expect(props.Targets).toEqual([expect.objectContaining({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 15 * 60 } })]);
    const [[, invokeConfig]] = resourcesOfType(synth, 'AWS::Lambda::EventInvokeConfig')
      .filter(([, config]) => JSON.stringify(config.Properties!.FunctionName).includes(functionLogicalId(synth, 'reconcile')));
    expect(invokeConfig.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 15 * 60 });
  });

  test('reconcileIntervalMinutes and reconcileMaxConnections reach the rule and the function', () => {
    const custom = synthesize({ ...DEPLOY_CONTEXT, reconcileIntervalMinutes: 5, reconcileMaxConnections: 50 }, { nag: false });
    expect(reconcileRules(custom)[0][1].Properties!.ScheduleExpression).toBe('rate(5 minutes)');
    const env = custom.json.Resources[functionLogicalId(custom, 'reconcile')].Properties!.Environment.Variables;
    expect(env).toMatchObject({ RECONCILE_INTERVAL_MINUTES: '5', RECONCILE_MAX_CONNECTIONS: '50' });
  });

  test.each([
    [{ reconcileIntervalMinutes: 0 }, /reconcileIntervalMinutes must be an integer of at least 1/],
    [{ reconcileIntervalMinutes: 1441 }, /reconcileIntervalMinutes must be at most 1440/],
    [{ reconcileIntervalMinutes: 'often' }, /reconcileIntervalMinutes must be an integer/],
    [{ reconcileMaxConnections: 1001 }, /reconcileMaxConnections must be at most 1000/],
  ])('synth refuses %j, naming the key', (context, message) => {
    const build = () => new FinchConnectionsStack(new App({ context: { ...CDK_JSON_CONTEXT, ...DEPLOY_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } }), 'FinchConnections');
    expect(build).toThrow(message);
  });
});

describe('the reconciler\'s function', () => {
  test('its environment is its own: the table, the key, Finch without credentials, the budget and its runs\' settings', () => {
    const props = synth.json.Resources[functionLogicalId(synth, 'reconcile')].Properties!;
    expect(Object.keys(props.Environment.Variables).sort()).toEqual([
      'FINCH_API_BASE_URL', 'FINCH_BUDGET_BURST', 'FINCH_BUDGET_RESERVE', 'FINCH_RATE_LIMITS', 'FINCH_TIMEOUT_MS', 'KMS_KEY_ARN',
      // Every function's (service-function.ts: source maps).
      'NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'RECONCILE_INTERVAL_MINUTES', 'RECONCILE_MAX_CONNECTIONS', 'TABLE_NAME',
    ]);
    expect(props.Environment.Variables).toMatchObject({ RECONCILE_INTERVAL_MINUTES: '15', RECONCILE_MAX_CONNECTIONS: '200' });
    expect(props.Timeout).toBe(55);
  });

  test('it queries only its queue\'s index, and reads and writes items by key: connections, the Finch budget, audit entries', () => {
    const dynamo = statementsOf(synth, 'reconcile').filter((statement) => statement.Action.some((action) => action.startsWith('dynamodb:')));
    const grants = Object.fromEntries(dynamo.flatMap((statement) => statement.Action.map((action) => [action, {
      resource: statement.Resource,
      leadingKeys: (statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined)?.slice().sort() ?? 'ANY ITEM',
    }])));
    const [[tableId]] = resourcesOfType(synth, 'AWS::DynamoDB::Table');
    const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
    expect(grants).toEqual({
      'dynamodb:Query': { resource: [{ 'Fn::Join': ['', [tableArn, `/index/${RECONCILE_INDEX.name}`]] }], leadingKeys: 'ANY ITEM' },
      'dynamodb:GetItem': { resource: [tableArn], leadingKeys: [keys.connection('*', '*').pk] },
      'dynamodb:UpdateItem': { resource: [tableArn], leadingKeys: [keys.connection('*', '*').pk, keys.rateBucket('*').pk].sort() },
      'dynamodb:PutItem': { resource: [tableArn], leadingKeys: [keys.auditPartition('*', '*')] },
    });
    // Never the client credentials: /introspect takes the connection's own token.
    expect(statementsOf(synth, 'reconcile').some((statement) => statement.Action.some((action) => action.startsWith('secretsmanager:')))).toBe(false);
  });

  test('its errors raise an alarm', () => {
    const errors = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!)
      .filter((alarm) => alarm.MetricName === 'Errors' && JSON.stringify(alarm.Dimensions).includes(functionLogicalId(synth, 'reconcile')));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
  });

  test('cdk-nag finds nothing', () => {
    expect(synth.nagErrors).toEqual([]);
  });
});
