// What the context keys change, and what synth refuses. Bundling is skipped here (the bundles are
// checked in stack.test.ts), so each synth takes about a second.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { loadConfig } from '#adapters/config.js';
import { FinchConnectionsStack } from '../../lib/finch-connections-stack.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES, type FunctionName } from '../../lib/routes.js';
import { CDK_JSON_CONTEXT, DEPLOY_CONTEXT, type Synthesized, functionLogicalId, resourcesOfType, statementsOf, synthesize } from './synth.js';

// Each synth runs cdk-nag over the whole stack: seconds each, more on a busy machine.
jest.setTimeout(120_000);

const NAMES = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
const synthesized: Synthesized[] = [];
const synth = (context: Record<string, unknown>, options?: Parameters<typeof synthesize>[1]) => {
  const result = synthesize(context, options);
  synthesized.push(result);
  return result;
};
afterAll(() => synthesized.forEach((result) => result.cleanup()));

const construct = (context: Record<string, unknown>) => () =>
  new FinchConnectionsStack(new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } }), 'FinchConnections');

describe('the JWT issuer', () => {
  test.each([
    ['missing', {}],
    ['empty', { jwtIssuer: '' }],
    ['example.com', { jwtIssuer: 'https://issuer.example.com/' }],
    ['a placeholder word', { jwtIssuer: 'https://REPLACE_ME.auth0.com/' }],
    ['the local gateway', { jwtIssuer: 'http://127.0.0.1:3000' }],
    ['localhost', { jwtIssuer: 'https://localhost:3000/' }],
  ])('synth refuses a %s issuer without dev, naming the key', (_label, context) => {
    expect(construct({ ...context, jwtAudience: ['api'] })).toThrow(/jwtIssuer is (missing|a placeholder).*-c dev=true/);
  });

  test('an issuer that is not https is refused even with dev', () => {
    expect(construct({ jwtIssuer: 'http://login.acme-payroll.io/', dev: true })).toThrow(/jwtIssuer must be an https URL/);
  });

  test('an audience is required without dev', () => {
    expect(construct({ jwtIssuer: DEPLOY_CONTEXT.jwtIssuer })).toThrow(/jwtAudience is required/);
  });

  test('`cdk synth` (bin/app.ts) exits with the message and no stack trace', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, jwtIssuer: 'https://issuer.example.com/' }), CDK_OUTDIR: join(tmpdir(), 'finch-connections-refused') },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain('finch-connections: jwtIssuer is a placeholder (https://issuer.example.com/)');
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  test('with dev a placeholder issuer synthesizes, and dev relaxes retention and deletion protection', () => {
    const dev = synth({ dev: true });
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Issuer: 'https://issuer.example.com/' } });
    dev.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ DeletionProtectionEnabled: false }) });
    dev.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
    dev.template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    expect(dev.nagErrors).toEqual([]);
  });
});

describe('other context keys', () => {
  test('bad values fail synth naming the key', () => {
    const base = { ...DEPLOY_CONTEXT };
    expect(construct({ ...base, allowedReturnOrigins: ['https://app.acme-payroll.io/path'] })).toThrow(/allowedReturnOrigins/);
    expect(construct({ ...base, defaultProducts: 'company,ssn' })).toThrow(/defaultProducts: ssn not in allowedProducts/);
    expect(construct({ ...base, allowedProducts: 'company,salary' })).toThrow(/allowedProducts: unknown Finch product\(s\) salary/);
    expect(construct({ ...base, finchSandbox: 'yes' })).toThrow(/finchSandbox/);
    expect(construct({ ...base, finchSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:finch' })).toThrow(/finchSecretArn/);
    expect(construct({ ...base, logRetentionDays: 31 })).toThrow(/logRetentionDays/);
    expect(construct({ ...base, dev: 'maybe' })).toThrow(/dev must be true or false/);
    expect(construct({ ...base, finchProxyWritePaths: 'POST /employer/benefits,GET /employer/company' })).toThrow(/finchProxyWritePaths: GET \/employer\/company is not a proxy write route/);
    expect(construct({ ...base, finchProxyWritePaths: 'POST /employer/anything' })).toThrow(/finchProxyWritePaths/);
    expect(construct({ ...base, finchProxyWriteScope: 'two words' })).toThrow(/finchProxyWriteScope must be a single scope word/);
    expect(construct({ ...base, adminClientIds: 'svc-billing,svc ops' })).toThrow(/adminClientIds: "svc ops" is not a client id/);
    expect(construct({ ...base, finchTimeoutMs: 20000 })).toThrow(/finchTimeoutMs must be at most 8000/);
    expect(construct({ ...base, finchTimeoutMs: 50 })).toThrow(/finchTimeoutMs must be an integer of at least 100/);
    expect(construct({ ...base, storeBudgetMs: 9000 })).toThrow(/storeBudgetMs must be at most 6000/);
  });

  test('-c strings (comma lists, JSON arrays) reach the functions\' environment, and FINCH_SANDBOX only when set', () => {
    const custom = synth({
      jwtIssuer: DEPLOY_CONTEXT.jwtIssuer,
      jwtAudience: '["aud-1","aud-2"]',
      allowedReturnOrigins: 'https://app.acme-payroll.io,https://admin.acme-payroll.io',
      allowedProducts: 'company,directory,individual,employment,payment,pay_statement,benefits',
      finchSandbox: 'finch',
      customerIdClaim: 'https://acme-payroll.io/customer_id',
      adminScope: 'payroll:admin',
      adminClientIds: 'svc-billing, 4f1c2a9e7b',
      finchApiBaseUrl: 'https://sandbox.tryfinch.example.net',
      finchProxyWritePaths: '["POST /employer/benefits", "DELETE  /employer/benefits/{benefit_id}/individuals"]',
      finchProxyWriteScope: 'payroll:write',
      finchTimeoutMs: '5000',
      storeBudgetMs: 4000,
    });
    custom.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Audience: ['aud-1', 'aud-2'] } });
    for (const name of NAMES) {
      expect(custom.json.Resources[functionLogicalId(custom, name)].Properties!.Environment.Variables).toMatchObject({
        ALLOWED_RETURN_ORIGINS: 'https://app.acme-payroll.io,https://admin.acme-payroll.io',
        ALLOWED_PRODUCTS: 'company,directory,individual,employment,payment,pay_statement,benefits',
        FINCH_SANDBOX: 'finch',
        CUSTOMER_ID_CLAIM: 'https://acme-payroll.io/customer_id',
        ADMIN_SCOPE: 'payroll:admin',
        ADMIN_CLIENT_IDS: 'svc-billing,4f1c2a9e7b',
        FINCH_API_BASE_URL: 'https://sandbox.tryfinch.example.net',
        FINCH_PROXY_WRITE_PATHS: 'POST /employer/benefits,DELETE /employer/benefits/{benefit_id}/individuals',
        FINCH_PROXY_WRITE_SCOPE: 'payroll:write',
        FINCH_TIMEOUT_MS: '5000',
        STORE_BUDGET_MS: '4000',
      });
      // What the functions' configuration adapter reads at cold start accepts what the stack sets.
      const env = custom.json.Resources[functionLogicalId(custom, name)].Properties!.Environment.Variables as Record<string, unknown>;
      const plain = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, typeof value === 'string' ? value : `resolved-${key}`]));
      const config = loadConfig({ ...plain, CALLBACK_URL: 'https://api.acme-payroll.io/connect/callback' });
      expect(config).toMatchObject({ FINCH_TIMEOUT_MS: 5000, STORE_BUDGET_MS: 4000, FINCH_PROXY_WRITE_SCOPE: 'payroll:write', ADMIN_CLIENT_IDS: ['svc-billing', '4f1c2a9e7b'] });
      expect(config.FINCH_PROXY_WRITE_PATHS).toEqual(['POST /employer/benefits', 'DELETE /employer/benefits/{benefit_id}/individuals']);
    }
  });

  test('with no allowed origins the API has no CORS configuration', () => {
    const noCors = synth({ ...DEPLOY_CONTEXT, allowedReturnOrigins: [] });
    noCors.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });

  test('finchSecretArn imports the secret: none is created and the grant names exactly that ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:finch/prod-AbC123';
    const imported = synth({ ...DEPLOY_CONTEXT, finchSecretArn: arn });
    expect(resourcesOfType(imported, 'AWS::SecretsManager::Secret')).toEqual([]);
    imported.template.hasOutput('FinchSecretArn', { Value: arn });
    for (const name of NAMES) {
      expect(imported.json.Resources[functionLogicalId(imported, name)].Properties!.Environment.Variables.FINCH_SECRET_ARN).toBe(arn);
      const reads = statementsOf(imported, name).filter((statement) => statement.Action.includes('secretsmanager:GetSecretValue'));
      expect(reads.map((statement) => statement.Resource)).toEqual(name === 'finch-proxy' ? [] : [[arn]]);
    }
  });

  test('publicBaseUrl (a custom domain) becomes the callback URL and the outputs', () => {
    const custom = synth({ ...DEPLOY_CONTEXT, publicBaseUrl: 'https://connect.acme-payroll.io' });
    custom.template.hasOutput('CallbackUrl', { Value: 'https://connect.acme-payroll.io/connect/callback' });
    expect(custom.json.Resources[functionLogicalId(custom, 'callback')].Properties!.Environment.Variables.CALLBACK_URL)
      .toBe('https://connect.acme-payroll.io/connect/callback');
  });
});

describe('alarm notifications', () => {
  test('alarmEmail creates an encrypted, TLS-only topic CloudWatch can publish to, and every alarm notifies it', () => {
    const withEmail = synth({ ...DEPLOY_CONTEXT, alarmEmail: 'oncall@acme-payroll.io' });
    const [[topicId, topic]] = resourcesOfType(withEmail, 'AWS::SNS::Topic');
    expect(topic.Properties!.KmsMasterKeyId).toBeDefined();
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@acme-payroll.io' });
    withEmail.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    withEmail.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]) },
    });
    for (const [, alarm] of resourcesOfType(withEmail, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties!.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(withEmail.nagErrors).toEqual([]);
    expect(withEmail.nagWarnings).toEqual([]);
  });

  test('alarmTopicArn sends every alarm to that topic and creates none', () => {
    const arn = 'arn:aws:sns:us-east-1:123456789012:ops-alarms';
    const withTopic = synth({ ...DEPLOY_CONTEXT, alarmTopicArn: arn });
    expect(resourcesOfType(withTopic, 'AWS::SNS::Topic')).toEqual([]);
    for (const [, alarm] of resourcesOfType(withTopic, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties!.AlarmActions).toEqual([arn]);
  });
});

describe('the optional WAF front (waf=true)', () => {
  test('is refused outside us-east-1, where AWS keeps CloudFront web ACLs', () => {
    expect(() => synthesize({ ...DEPLOY_CONTEXT, waf: true }, { env: { account: '123456789012', region: 'eu-west-1' } })).toThrow(/us-east-1/);
    expect(() => synthesize({ ...DEPLOY_CONTEXT, waf: true })).toThrow(/us-east-1/);
  });

  test('puts CloudFront with a rate-limiting web ACL in front, and the callback URL goes through it', () => {
    const edge = synth({ ...DEPLOY_CONTEXT, waf: 'true', wafRateLimit: 300 }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[aclId, acl]] = resourcesOfType(edge, 'AWS::WAFv2::WebACL');
    expect(acl.Properties!.Scope).toBe('CLOUDFRONT');
    expect(acl.Properties!.Rules).toEqual(expect.arrayContaining([expect.objectContaining({
      Action: { Block: {} },
      Statement: { RateBasedStatement: { Limit: 300, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
    })]));
    const [[distributionId, distribution]] = resourcesOfType(edge, 'AWS::CloudFront::Distribution');
    expect(distribution.Properties!.DistributionConfig.WebACLId).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const viaCloudFront = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/connect/callback']] };
    expect(edge.json.Resources[functionLogicalId(edge, 'callback')].Properties!.Environment.Variables.CALLBACK_URL).toEqual(viaCloudFront);
    edge.template.hasOutput('CallbackUrl', { Value: viaCloudFront });
    // Authorization reaches the API on every method; nothing is cached beyond what the API allows.
    edge.template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        DefaultTTL: 0,
        MinTTL: 0,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] } }),
      }),
    });
    expect(edge.nagErrors).toEqual([]);
    expect(edge.nagWarnings).toEqual([]);
  });
});
