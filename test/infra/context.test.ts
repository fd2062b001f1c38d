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
import { CDK_JSON_CONTEXT, DEPLOY_CONTEXT, functionLogicalId, resourcesOfType, statementsOf, synthesize, synthesizer } from './synth.js';

// Each synth runs cdk-nag over the whole stack: seconds each, more on a busy machine.
jest.setTimeout(120_000);

const NAMES = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
const synth = synthesizer();

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

  test('`cdk synth` (bin/app.ts) outside us-east-1 exits 1 with one line, not a stack trace', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          CDK_DEFAULT_REGION: 'eu-west-1',
          CDK_DEFAULT_ACCOUNT: '123456789012',
          CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, ...DEPLOY_CONTEXT, waf: true }),
          CDK_OUTDIR: join(tmpdir(), 'finch-connections-waf-refused'),
        },
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^finch-connections: waf=true creates a CloudFront web ACL, which AWS accepts only in us-east-1 \(this stack's region is eu-west-1\)/),
    ]);
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  test('puts CloudFront with a rate-limiting web ACL in front, and the callback URL goes through it', () => {
    const edge = synth({ ...DEPLOY_CONTEXT, waf: 'true', wafRateLimit: 300 }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[aclId, acl]] = resourcesOfType(edge, 'AWS::WAFv2::WebACL');
    expect(acl.Properties!.Scope).toBe('CLOUDFRONT');
    expect(acl.Properties!.Rules).toEqual(expect.arrayContaining([expect.objectContaining({
      Action: { Block: {} },
      Statement: { RateBasedStatement: expect.objectContaining({ Limit: 300, AggregateKeyType: 'IP', EvaluationWindowSec: 300 }) },
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

  // The execute-api URL stays reachable (HTTP APIs take no resource policy), so what keeps a
  // client from skipping the WAF is a header only CloudFront sends and every function checks.
  test('CloudFront sends the origin header from a generated secret, every function gets it, and execute-api is no output', () => {
    const edge = synth({ ...DEPLOY_CONTEXT, waf: true }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[secretId, secret]] = resourcesOfType(edge, 'AWS::SecretsManager::Secret')
      .filter(([, resource]) => resource.Properties!.GenerateSecretString);
    expect(secret.Properties!.GenerateSecretString).toEqual({ ExcludePunctuation: true, PasswordLength: 64 });
    const current = { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] };
    const [[, distribution]] = resourcesOfType(edge, 'AWS::CloudFront::Distribution');
    expect(distribution.Properties!.DistributionConfig.Origins).toEqual([expect.objectContaining({
      OriginCustomHeaders: [{ HeaderName: 'x-origin-verify', HeaderValue: current }],
    })]);
    for (const name of NAMES) {
      const variables = edge.json.Resources[functionLogicalId(edge, name)].Properties!.Environment.Variables;
      expect([name, variables.ORIGIN_VERIFY]).toEqual([name, current]);
      expect([name, variables.ORIGIN_VERIFY_ROTATING]).toEqual([name, undefined]);
    }
    // The functions read it from their environment: no function may read the secret itself.
    for (const name of NAMES) {
      expect(statementsOf(edge, name).filter((statement) => JSON.stringify(statement.Resource).includes(secretId))).toEqual([]);
    }
    expect(Object.keys(edge.json.Outputs)).not.toContain('ExecuteApiUrl');
    edge.template.hasOutput('OriginVerifySecretArn', { Value: { Ref: secretId } });
    // Finch calls CloudFront too, so its deliveries carry the header like every other request.
    expect(edge.json.Outputs.WebhookUrl).toEqual(expect.objectContaining({
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.any(String), 'DomainName'] }, '/webhooks/finch']] },
    }));

    const plain = synth({ ...DEPLOY_CONTEXT, publicBaseUrl: 'https://connect.acme-payroll.io' });
    for (const name of NAMES) {
      const variables = plain.json.Resources[functionLogicalId(plain, name)].Properties!.Environment.Variables;
      expect([name, Object.keys(variables).filter((key) => key.startsWith('ORIGIN_VERIFY'))]).toEqual([name, []]);
    }
    expect(resourcesOfType(plain, 'AWS::SecretsManager::Secret')).toHaveLength(1);
    expect(Object.keys(plain.json.Outputs)).toContain('ExecuteApiUrl');
  });

  test('originVerifyVersions pins the values: CloudFront sends the first, every function accepts both', () => {
    const [sent, also] = ['4f5d3c1e-8a7b-4c2d-9e1f-0a1b2c3d4e5f', '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'];
    const edge = synth({ ...DEPLOY_CONTEXT, waf: true, originVerifyVersions: `${sent},${also}` }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[secretId]] = resourcesOfType(edge, 'AWS::SecretsManager::Secret').filter(([, resource]) => resource.Properties!.GenerateSecretString);
    const version = (id: string) => ({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, `:SecretString:::${id}}}`]] });
    const [[, distribution]] = resourcesOfType(edge, 'AWS::CloudFront::Distribution');
    expect(distribution.Properties!.DistributionConfig.Origins[0].OriginCustomHeaders).toEqual([{ HeaderName: 'x-origin-verify', HeaderValue: version(sent) }]);
    for (const name of NAMES) {
      const variables = edge.json.Resources[functionLogicalId(edge, name)].Properties!.Environment.Variables;
      expect([name, variables.ORIGIN_VERIFY, variables.ORIGIN_VERIFY_ROTATING]).toEqual([name, version(sent), version(also)]);
    }
    expect(construct({ ...DEPLOY_CONTEXT, waf: true, originVerifyVersions: 'AWSCURRENT' })).toThrow(/originVerifyVersions must be one or two distinct Secrets Manager version ids/);
    expect(construct({ ...DEPLOY_CONTEXT, waf: true, originVerifyVersions: `${sent},${sent}` })).toThrow(/originVerifyVersions/);
    expect(construct({ ...DEPLOY_CONTEXT, waf: true, originVerifyVersions: [sent, also, sent.replace('4f', '5f')] })).toThrow(/originVerifyVersions/);
  });

  test('the per-IP rate rule leaves Finch\'s webhook to a rule of its own with a higher limit', () => {
    const edge = synth({ ...DEPLOY_CONTEXT, waf: true }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[, acl]] = resourcesOfType(edge, 'AWS::WAFv2::WebACL');
    const webhookPath = {
      ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'EXACTLY', SearchString: '/webhooks/finch', TextTransformations: [{ Priority: 0, Type: 'NONE' }] },
    };
    const rateRules = (acl.Properties!.Rules as Array<{ Name: string; Statement: Record<string, any> }>).filter((rule) => rule.Statement.RateBasedStatement);
    expect(Object.fromEntries(rateRules.map((rule) => [rule.Name, rule.Statement.RateBasedStatement]))).toEqual({
      RateLimitPerIp: { Limit: 500, AggregateKeyType: 'IP', EvaluationWindowSec: 300, ScopeDownStatement: { NotStatement: { Statement: webhookPath } } },
      WebhookRateLimitPerIp: { Limit: 5000, AggregateKeyType: 'IP', EvaluationWindowSec: 300, ScopeDownStatement: webhookPath },
    });
    const custom = synth({ ...DEPLOY_CONTEXT, waf: true, wafWebhookRateLimit: 20000 }, { env: { account: '123456789012', region: 'us-east-1' } });
    const [[, customAcl]] = resourcesOfType(custom, 'AWS::WAFv2::WebACL');
    expect((customAcl.Properties!.Rules as Array<{ Name: string; Statement: Record<string, any> }>)
      .find((rule) => rule.Name === 'WebhookRateLimitPerIp')!.Statement.RateBasedStatement.Limit).toBe(20000);
  });
});
