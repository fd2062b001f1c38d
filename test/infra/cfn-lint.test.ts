// cfn-lint (the Python 1.x tool, current CloudFormation resource specs) over the synthesized
// templates: the default stack, the WAF variant and the events webhook variant. CloudFormation
// would reject what it calls an error at deploy time, long after cdk synth and cdk-nag passed:
// 0 errors. Warnings are printed.
// Skipped (one line) where cfn-lint is not installed; REQUIRE_CFN_LINT=1 fails instead. Bundling is
// skipped (the template is the same with placeholder assets).
import { jest } from '@jest/globals';
import { DEPLOY_CONTEXT, synthesizer } from './synth.js';
import { type CfnLintResult, findCfnLint, formatFinding, runCfnLint } from './cfn-lint.js';

// A synth with cdk-nag and a cfn-lint run each take seconds, more on a busy machine.
jest.setTimeout(240_000);

const found = findCfnLint();
const required = process.env.REQUIRE_CFN_LINT === '1';
if ('missing' in found && !required) process.stderr.write(`skipped "cfn-lint": ${found.missing}; set REQUIRE_CFN_LINT=1 to fail instead\n`);
const suite = 'executable' in found || required ? describe : describe.skip;

/** cfn-lint itself, or the test fails saying why it is missing (REQUIRE_CFN_LINT=1). */
function cfnLint(): string {
  if ('missing' in found) throw new Error(`REQUIRE_CFN_LINT=1 but ${found.missing}`);
  return found.executable;
}

/**
 * Warnings that say nothing about this stack, with why; printed as one line per rule, not in full.
 * W3005: each function DependsOn its role (CDK adds the role and its default policy, so the policy
 * exists before the function is created) while `Role` already GetAtts the role's Arn. The policy half
 * is needed, the role half is a harmless repeat, and both come from CDK's Function construct.
 */
const NOISE: Record<string, string> = {
  W3005: 'each function DependsOn the role its Role property already references (CDK Function; harmless)',
};

function report(name: string, result: CfnLintResult): void {
  const noise = result.warnings.filter((warning) => NOISE[warning.rule]);
  const lines = [
    `cfn-lint, ${name}: ${result.errors.length} errors, ${result.warnings.length} warnings, ${result.informational.length} informational`,
    ...result.errors.map((finding) => `  error ${formatFinding(finding)}`),
    ...result.warnings.filter((warning) => !NOISE[warning.rule]).map((finding) => `  warning ${formatFinding(finding)}`),
    ...Object.entries(NOISE).map(([rule, why]) => [rule, why, noise.filter((warning) => warning.rule === rule).length] as const)
      .filter(([, , count]) => count > 0).map(([rule, why, count]) => `  warning ${rule} ×${count}: ${why}`),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

suite('cfn-lint over the synthesized templates', () => {
  const synthesize = synthesizer();
  const lint = (name: string, context: Record<string, unknown>, options: Parameters<typeof synthesize>[1], regions: string[]) => {
    const executable = cfnLint();
    const synth = synthesize(context, options);
    const result = runCfnLint(executable, synth.json, regions);
    report(name, result);
    return { result, types: new Set(Object.values(synth.json.Resources).map((resource) => resource.Type)) };
  };

  test('the default stack has no errors in us-east-1 or eu-west-1', () => {
    const { result, types } = lint('default stack', DEPLOY_CONTEXT, {}, ['us-east-1', 'eu-west-1']);
    expect(result.errors.map(formatFinding)).toEqual([]);
    expect(types).not.toContain('AWS::WAFv2::WebACL');
  });

  test('the WAF variant (waf=true, us-east-1) has no errors', () => {
    const { result, types } = lint('waf=true', { ...DEPLOY_CONTEXT, waf: true }, { env: { account: '123456789012', region: 'us-east-1' } }, ['us-east-1']);
    expect(result.errors.map(formatFinding)).toEqual([]);
    expect([...types]).toEqual(expect.arrayContaining(['AWS::WAFv2::WebACL', 'AWS::CloudFront::Distribution']));
  });

  test('the events webhook variant (eventsWebhookUrl, with alarm email) has no errors', () => {
    const context = { ...DEPLOY_CONTEXT, eventsWebhookUrl: 'https://app.acme-payroll.io/hooks/finch-connections', alarmEmail: 'oncall@acme-payroll.io' };
    const { result, types } = lint('eventsWebhookUrl', context, {}, ['us-east-1']);
    expect(result.errors.map(formatFinding)).toEqual([]);
    expect([...types]).toEqual(expect.arrayContaining(['AWS::Events::Connection', 'AWS::Events::ApiDestination', 'AWS::Events::Archive', 'AWS::Lambda::EventSourceMapping']));
  });

  test('the helper reports a template CloudFormation would refuse', () => {
    const broken = {
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          // An unknown runtime, no Role, and a property Lambda does not have.
          Properties: { Runtime: 'nodejs99.x', Handler: 'index.handler', Code: { ZipFile: 'x' }, MemorySizeMb: 128 },
        },
        Table: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'PAY_PER_REQUEST' } },
      },
    };
    const result = runCfnLint(cfnLint(), broken);
    const paths = result.errors.map((finding) => finding.path);
    expect(paths).toEqual(expect.arrayContaining(['Resources/Fn/Properties/Runtime', 'Resources/Fn/Properties', 'Resources/Table/Properties']));
    expect(result.errors.some((finding) => /MemorySizeMb/.test(finding.message))).toBe(true);
    expect(result.errors.some((finding) => /Role/.test(finding.message))).toBe(true);
  });
});
