// CDK app entry (`cdk.json`: `npx tsx bin/app.ts`). Context keys are listed in lib/stack-config.ts
// and the README's Deploy section; a bad one stops synthesis with a message naming it.
import { App, Aspects, Tags } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FinchConnectionsStack } from '../lib/finch-connections-stack.js';
import { StackConfigError, readStackConfig } from '../lib/stack-config.js';

const app = new App();
// A bad setting, in the context or for the stack's environment (waf=true outside us-east-1), is one
// line on stderr and exit 1; anything else is a bug and keeps its stack trace.
try {
  const config = readStackConfig(app.node);
  new FinchConnectionsStack(app, config.stackName, {
    config,
    // Set by the CDK CLI from the current credentials/profile; absent offline (an environment-agnostic template).
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  console.error(`finch-connections: ${error.message}`);
  process.exit(1);
}
Tags.of(app).add('project', 'finch-connections');
// cdk-nag on every synth: an unsuppressed AwsSolutions error fails `cdk synth` and `cdk deploy`.
if (app.node.tryGetContext('nag') !== false && app.node.tryGetContext('nag') !== 'false') {
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
}
