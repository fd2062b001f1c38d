// Template mistakes that DynamoDB Local, the emulator and cdk-nag cannot see, because they only
// bite in AWS: a resource policy that lets nobody in, an origin that can be reached around the WAF,
// throttles that let one client starve everyone. Bundling is skipped (stack.test.ts covers bundles).
import { jest } from '@jest/globals';
import { DEPLOY_CONTEXT, resourcesOfType, synthesizer } from './synth.js';

jest.setTimeout(120_000);

const synth = synthesizer();

describe('alarms reach email', () => {
  // With enforceSSL the topic policy holds its Deny only; without an Allow for CloudWatch's service
  // principal, every alarm notification is refused by SNS. The Allow is bound to this account
  // against the confused deputy (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html).
  test('the alarm topic lets CloudWatch alarms of this account publish, and still refuses plain HTTP', () => {
    const withEmail = synth({ ...DEPLOY_CONTEXT, alarmEmail: 'oncall@acme-payroll.io' });
    const [[topicId]] = resourcesOfType(withEmail, 'AWS::SNS::Topic');
    const [[, policy]] = resourcesOfType(withEmail, 'AWS::SNS::TopicPolicy');
    expect(policy.Properties!.Topics).toEqual([{ Ref: topicId }]);
    const statements: Array<Record<string, any>> = policy.Properties!.PolicyDocument.Statement;
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toEqual([expect.objectContaining({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: topicId },
      Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
    })]);
    expect(JSON.stringify(allows[0].Condition.ArnLike['aws:SourceArn'])).toContain(':alarm:*');
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({
      Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    })]));
    expect(withEmail.nagErrors).toEqual([]);
  });
});
