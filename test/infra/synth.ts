// Synthesizes the stack the way `cdk synth` does (cdk.json's context, cdk-nag on) into a temporary
// cloud assembly, and reads what the tests assert on: the template, cdk-nag's findings, the
// IAM statements of each function's role and the bundled assets.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects, type CfnElement, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly, CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FinchConnectionsStack } from '../../lib/finch-connections-stack.js';
import type { LambdaName } from '../../lib/routes.js';
import { PROJECT_ROOT } from '../../lib/constructs/service-function.js';

export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

/** What a real deployment passes on top of cdk.json. */
export const DEPLOY_CONTEXT = {
  jwtIssuer: 'https://login.acme-payroll.io/',
  jwtAudience: ['https://api.acme-payroll.io'],
  allowedReturnOrigins: ['https://app.acme-payroll.io', 'http://localhost:5173'],
};

export interface Synthesized {
  app: App;
  stack: FinchConnectionsStack;
  template: Template;
  json: { Resources: Record<string, Resource>; Outputs: Record<string, unknown>; Metadata?: unknown };
  assembly: CloudAssembly;
  artifact: CloudFormationStackArtifact;
  /** Unsuppressed cdk-nag findings (AwsSolutions-*), as `rule: path` lines. */
  nagErrors: string[];
  nagWarnings: string[];
  outdir: string;
  cleanup(): void;
}

export interface Resource { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string; Metadata?: Record<string, any> }

export interface SynthOptions {
  /** Bundle the functions with esbuild (slow); otherwise CDK skips bundling for this stack. */
  bundle?: boolean;
  env?: Environment;
  /** cdk-nag's AwsSolutions checks (default on); off where only the template matters. */
  nag?: boolean;
}

export function synthesize(context: Record<string, unknown>, options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'finch-connections-cdk-'));
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON_CONTEXT,
      ...context,
      // As the CDK CLI sets it: asset paths in resource metadata (what `sam local invoke` reads).
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = new FinchConnectionsStack(app, 'FinchConnections', { env: options.env });
  if (options.nag !== false) Aspects.of(app).add(new AwsSolutionsChecks());
  const assembly = app.synth();
  const artifact = assembly.getStackArtifact(stack.artifactId);
  const findings = (level: string) => artifact.messages
    .filter((message) => message.level === level && String(message.entry.data).includes('AwsSolutions-'))
    .map((message) => `${String(message.entry.data).split(':')[0]}: ${message.id}`);
  return {
    app,
    stack,
    template: Template.fromJSON(artifact.template),
    json: artifact.template,
    assembly,
    artifact,
    nagErrors: findings('error'),
    nagWarnings: findings('warning'),
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * `synthesize`, with every assembly it makes removed after the tests of the file or describe block
 * it is called in.
 */
export function synthesizer(): typeof synthesize {
  const made: Synthesized[] = [];
  afterAll(() => made.forEach((result) => result.cleanup()));
  return (context, options) => {
    const result = synthesize(context, options);
    made.push(result);
    return result;
  };
}

export function logicalId(synth: Synthesized, element: CfnElement | undefined): string {
  if (!element) throw new Error('no CloudFormation element');
  return synth.stack.getLogicalId(element);
}

export function functionLogicalId(synth: Synthesized, name: LambdaName): string {
  return logicalId(synth, synth.stack.functions.byName[name].fn.node.defaultChild as CfnElement);
}

export interface Statement { Effect: string; Action: string[]; Resource: unknown[]; Condition?: Record<string, Record<string, unknown>> }

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every IAM statement that applies to a function's role: inline, attached, and managed policies. */
export function statementsOf(synth: Synthesized, name: LambdaName): Statement[] {
  const roleId = logicalId(synth, synth.stack.functions.byName[name].role.node.defaultChild as CfnElement);
  const role = synth.json.Resources[roleId];
  const documents = [
    ...asArray(role.Properties?.Policies).map((policy: any) => policy.PolicyDocument),
    ...Object.values(synth.json.Resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy' && asArray(resource.Properties?.Roles).some((ref: any) => ref.Ref === roleId))
      .map((resource) => resource.Properties!.PolicyDocument),
  ];
  return documents.flatMap((document) => asArray(document.Statement)).map((statement: any) => ({
    ...statement,
    Action: asArray(statement.Action),
    Resource: asArray(statement.Resource),
  }));
}

/** Every IAM statement in the template, wherever it is. */
export function allStatements(synth: Synthesized): Statement[] {
  return Object.values(synth.json.Resources).flatMap((resource) => {
    const documents = resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
      ? [resource.Properties!.PolicyDocument]
      : resource.Type === 'AWS::IAM::Role' ? asArray(resource.Properties?.Policies).map((policy: any) => policy.PolicyDocument) : [];
    return documents.flatMap((document) => asArray(document.Statement)).map((statement: any) => ({
      ...statement,
      Action: asArray(statement.Action),
      Resource: asArray(statement.Resource),
    }));
  });
}

export function resourcesOfType(synth: Synthesized, type: string): Array<[string, Resource]> {
  return Object.entries(synth.json.Resources).filter(([, resource]) => resource.Type === type);
}
