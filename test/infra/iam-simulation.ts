// Offline IAM evaluation of the synthesized stack with @cloud-copilot/iam-simulate: each function's
// role policies and the token key's key policy, with CloudFormation's Ref/GetAtt/Join/Sub resolved
// to one account and region, asked whether a call (action, resource, partition keys, encryption
// context) is allowed.
//
// iam-simulate's request check drops `kms:EncryptionContext:<key>` context keys (it matches
// variable keys by `/` only), which would make every purpose-bound KMS statement look denied. So
// those conditions are evaluated here, against the call's encryption context, before the policies
// go to the simulator: a statement whose encryption-context conditions hold keeps its other
// conditions for the simulator, one whose conditions fail is left out. Any other context key the
// simulator drops is an error, not a silent pass, as soon as a policy conditions on it.
import { type Simulation, runSimulation } from '@cloud-copilot/iam-simulate';
import type { CfnElement } from 'aws-cdk-lib';
import { LIST_INDEX } from '#adapters/table.js';
import { LAMBDA_ENTRIES, type LambdaName } from '../../lib/routes.js';
import { type Resource, type Synthesized, logicalId, resourcesOfType, statementsOf } from './synth.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const STACK_NAME = 'FinchConnections';

type PolicyDocument = { Version: string; Statement: Array<Record<string, any>> };

export interface DeployedPolicies {
  tableArn: string;
  indexArn: string;
  keyArn: string;
  secretArn: string;
  /** The table's stream (the events function's mapping reads it). */
  streamArn: string;
  /** The connection events' bus. */
  busArn: string;
  /** enrich-company's queue (the bus rule's target, the function's event source). */
  enrichmentQueueArn: string;
  keyPolicy: PolicyDocument;
  tablePolicy?: PolicyDocument;
  secretPolicy?: PolicyDocument;
  roles: Record<LambdaName, { roleArn: string; sessionArn: string; policy: PolicyDocument }>;
}

/** Reads the deployed policies out of a synthesized stack, every intrinsic resolved. */
export function deployedPolicies(synth: Synthesized): DeployedPolicies {
  const resolve = resolver(synth.json.Resources);
  const only = (type: string) => {
    const found = resourcesOfType(synth, type);
    if (found.length !== 1) throw new Error(`expected one ${type} in the template, found ${found.length}`);
    return found[0];
  };
  const [tableId, table] = only('AWS::DynamoDB::Table');
  const [keyId, key] = only('AWS::KMS::Key');
  const secrets = resourcesOfType(synth, 'AWS::SecretsManager::Secret');
  const secretArn = secrets.length === 1 ? resolve({ Ref: secrets[0][0] }) : String(synth.stack.node.tryGetContext('finchSecretArn'));
  const secretPolicies = resourcesOfType(synth, 'AWS::SecretsManager::ResourcePolicy')
    .filter(([, policy]) => resolve(policy.Properties!.SecretId) === secretArn);
  const [busId] = only('AWS::Events::EventBus');
  const names = Object.keys(LAMBDA_ENTRIES) as LambdaName[];
  const roles = Object.fromEntries(names.map((name) => {
    const service = synth.stack.functions.byName[name];
    const roleId = logicalId(synth, service.role.node.defaultChild as CfnElement);
    const roleName = synth.json.Resources[roleId].Properties?.RoleName ?? roleId;
    const functionId = logicalId(synth, service.fn.node.defaultChild as CfnElement);
    return [name, {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
      // Lambda calls AWS as a session of its execution role.
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${functionId}`,
      policy: { Version: '2012-10-17', Statement: resolve(statementsOf(synth, name)) },
    }];
  })) as DeployedPolicies['roles'];
  return {
    tableArn: resolve({ 'Fn::GetAtt': [tableId, 'Arn'] }),
    indexArn: `${resolve({ 'Fn::GetAtt': [tableId, 'Arn'] })}/index/${LIST_INDEX.name}`,
    keyArn: resolve({ 'Fn::GetAtt': [keyId, 'Arn'] }),
    secretArn,
    streamArn: resolve({ 'Fn::GetAtt': [tableId, 'StreamArn'] }),
    busArn: resolve({ 'Fn::GetAtt': [busId, 'Arn'] }),
    enrichmentQueueArn: resolve({ 'Fn::GetAtt': [logicalId(synth, synth.stack.enrichment.queue.node.defaultChild as CfnElement), 'Arn'] }),
    keyPolicy: resolve(key.Properties!.KeyPolicy),
    tablePolicy: table.Properties?.ResourcePolicy ? resolve(table.Properties.ResourcePolicy.PolicyDocument) : undefined,
    secretPolicy: secretPolicies.length ? resolve(secretPolicies[0][1].Properties!.ResourcePolicy) : undefined,
    roles,
  };
}

/** Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and the pseudo parameters, for one account and region. */
function resolver(resources: Record<string, Resource>) {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': STACK_NAME, 'AWS::StackId': `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK_NAME}/00000000-0000-0000-0000-000000000000`,
  };
  const nameOf = (id: string, property: string) => String(resources[id].Properties?.[property] ?? id);
  const ref = (id: string): string => {
    if (pseudo[id]) return pseudo[id];
    const resource = resources[id];
    if (!resource) throw new Error(`cannot resolve Ref ${id}: no such resource or pseudo parameter`);
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': return nameOf(id, 'TableName');
      case 'AWS::KMS::Key': return id;
      // A secret's Ref is its ARN, which ends in a random suffix.
      case 'AWS::SecretsManager::Secret': return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${nameOf(id, 'Name')}-AbCdEf`;
      case 'AWS::Logs::LogGroup': return nameOf(id, 'LogGroupName');
      case 'AWS::IAM::Role': return nameOf(id, 'RoleName');
      case 'AWS::Events::EventBus': return nameOf(id, 'Name');
      case 'AWS::SQS::Queue': return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${nameOf(id, 'QueueName')}`;
      default: return id;
    }
  };
  const getAtt = (id: string, attribute: string): string => {
    const resource = resources[id];
    if (!resource) throw new Error(`cannot resolve Fn::GetAtt ${id}.${attribute}: no such resource`);
    if (attribute === 'Arn') {
      switch (resource.Type) {
        case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${ref(id)}`;
        case 'AWS::KMS::Key': return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${ref(id)}`;
        case 'AWS::Logs::LogGroup': return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${ref(id)}:*`;
        case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role/${ref(id)}`;
        case 'AWS::Lambda::Function': return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${nameOf(id, 'FunctionName')}`;
        case 'AWS::SNS::Topic': return `arn:aws:sns:${REGION}:${ACCOUNT}:${nameOf(id, 'TopicName')}`;
        case 'AWS::Events::EventBus': return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${ref(id)}`;
        case 'AWS::SQS::Queue': return `arn:aws:sqs:${REGION}:${ACCOUNT}:${nameOf(id, 'QueueName')}`;
      }
    }
    // A stream's ARN is its table's with the time it was enabled.
    if (attribute === 'StreamArn' && resource.Type === 'AWS::DynamoDB::Table') return `${getAtt(id, 'Arn')}/stream/2026-01-01T00:00:00.000`;
    throw new Error(`cannot resolve Fn::GetAtt ${id}.${attribute} (${resource.Type}): add it to test/infra/iam-simulation.ts`);
  };
  const resolve = (value: any): any => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      const [name] = keys;
      const argument = value[name];
      switch (name) {
        case 'Ref': return ref(argument);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split(/\.(.*)/);
          return getAtt(id, attribute);
        }
        case 'Fn::Join': return (resolve(argument[1]) as unknown[]).join(argument[0]);
        case 'Fn::Select': return resolve(argument[1])[Number(resolve(argument[0]))];
        case 'Fn::Split': return String(resolve(argument[1])).split(argument[0]);
        case 'Fn::Sub': {
          const [template, variables] = Array.isArray(argument) ? [argument[0], resolve(argument[1] ?? {})] : [argument, {}];
          return String(template).replace(/\$\{([^}!][^}]*)\}/g, (_, expression: string) => {
            if (expression in variables) return String(variables[expression]);
            const [id, attribute] = expression.split(/\.(.*)/);
            return attribute ? getAtt(id, attribute) : ref(id);
          });
        }
        default: throw new Error(`cannot resolve ${name}: add it to test/infra/iam-simulation.ts`);
      }
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(value[key])]));
  };
  return resolve;
}

/** One call as IAM sees it. */
export interface IamRequest {
  function: LambdaName;
  action: string;
  resource: string;
  /** `dynamodb:LeadingKeys`: the partition key values the request names. */
  leadingKeys?: string[];
  /** The KMS encryption context (`kms:EncryptionContext:<key>`, `kms:EncryptionContextKeys`). */
  encryptionContext?: Record<string, string>;
  /** `dynamodb:EnclosingOperation` of a transaction item. */
  enclosingOperation?: string;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** Evaluates one call against the function's role policies and the resource's own policy. */
export async function evaluate(policies: DeployedPolicies, request: IamRequest): Promise<Decision> {
  const role = policies.roles[request.function];
  if (!role) throw new Error(`no role for function ${request.function}`);
  const service = request.action.split(':')[0];
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': role.roleArn,
    'aws:PrincipalAccount': ACCOUNT,
    'aws:RequestedRegion': REGION,
    'aws:SecureTransport': 'true',
  };
  if (request.leadingKeys) context['dynamodb:LeadingKeys'] = request.leadingKeys;
  if (request.enclosingOperation) context['dynamodb:EnclosingOperation'] = request.enclosingOperation;
  if (service === 'kms') {
    context['kms:CallerAccount'] = ACCOUNT;
    if (['kms:Encrypt', 'kms:Decrypt'].includes(request.action)) context['kms:EncryptionAlgorithm'] = 'SYMMETRIC_DEFAULT';
    if (request.encryptionContext) context['kms:EncryptionContextKeys'] = Object.keys(request.encryptionContext);
  }
  if (service === 'secretsmanager') context['secretsmanager:SecretId'] = request.resource;
  const bind = (policy: PolicyDocument) => bindEncryptionContext(policy, request.encryptionContext ?? {});
  const resourcePolicy = service === 'kms' && request.resource === policies.keyArn ? policies.keyPolicy
    : service === 'dynamodb' && request.resource.startsWith(policies.tableArn) ? policies.tablePolicy
      : service === 'secretsmanager' && request.resource === policies.secretArn ? policies.secretPolicy
        : undefined;
  const simulation: Simulation = {
    request: { principal: role.sessionArn, action: request.action, resource: { resource: request.resource, accountId: ACCOUNT }, contextVariables: context },
    identityPolicies: [{ name: `${request.function}-role`, policy: bind(role.policy) }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy ? bind(resourcePolicy) : undefined,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`iam-simulate refused ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single') throw new Error(`iam-simulate answered ${result.resultType} for ${request.action} on ${request.resource}`);
  // Keys the simulator does not know for this action (dynamodb:EnclosingOperation on
  // ConditionCheckItem, say) may be dropped only while no policy conditions on them.
  const policiesText = JSON.stringify([simulation.identityPolicies, simulation.resourcePolicy ?? null]).toLowerCase();
  const decisive = (result.result.ignoredContextKeys ?? []).filter((key) => policiesText.includes(key.toLowerCase()));
  if (decisive.length > 0) {
    throw new Error(`iam-simulate ignored context keys ${decisive.join(', ')} for ${request.action}, which a policy conditions on: evaluate them in test/infra/iam-simulation.ts`);
  }
  return result.overallResult as Decision;
}

const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:(.+)$/i;

/**
 * The policy with its `kms:EncryptionContext:<key>` conditions decided for this context: a
 * statement keeps its other conditions when these hold, and is left out when one does not (it
 * cannot apply, whatever its effect).
 */
export function bindEncryptionContext(policy: PolicyDocument, encryptionContext: Record<string, string>): PolicyDocument {
  const statements = [policy.Statement].flat().flatMap((statement) => {
    if (!statement.Condition) return [statement];
    const remaining: Record<string, Record<string, unknown>> = {};
    for (const [operator, entries] of Object.entries(statement.Condition as Record<string, Record<string, unknown>>)) {
      for (const [key, expected] of Object.entries(entries)) {
        const match = ENCRYPTION_CONTEXT.exec(key);
        if (!match) {
          (remaining[operator] ??= {})[key] = expected;
          continue;
        }
        // KMS matches encryption context keys case-sensitively; the condition key's case is IAM's (insensitive).
        const contextKey = Object.keys(encryptionContext).find((name) => name === match[1]) ?? Object.keys(encryptionContext).find((name) => name.toLowerCase() === match[1].toLowerCase());
        if (!conditionHolds(operator, contextKey === undefined ? undefined : encryptionContext[contextKey], [expected].flat().map(String))) return [];
      }
    }
    const { Condition: _, ...rest } = statement;
    return [Object.keys(remaining).length ? { ...rest, Condition: remaining } : rest];
  });
  return { ...policy, Statement: statements };
}

/** IAM's string condition operators on a single-valued key that may be absent. */
function conditionHolds(operator: string, actual: string | undefined, expected: string[]): boolean {
  if (expected.some((value) => value.includes('${'))) throw new Error(`policy variables in a kms:EncryptionContext condition are not evaluated here (${operator})`);
  const ifExists = operator.endsWith('IfExists');
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  if (base === 'Null') return expected.includes(String(actual === undefined));
  const negated = /^StringNot/.test(base);
  if (actual === undefined) return ifExists || negated;
  const like = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^$()|[\]\\{}]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  const matchers: Record<string, (value: string) => boolean> = {
    StringEquals: (value) => actual === value,
    StringNotEquals: (value) => actual === value,
    StringEqualsIgnoreCase: (value) => actual.toLowerCase() === value.toLowerCase(),
    StringNotEqualsIgnoreCase: (value) => actual.toLowerCase() === value.toLowerCase(),
    StringLike: (value) => like(value).test(actual),
    StringNotLike: (value) => like(value).test(actual),
  };
  const matcher = matchers[base];
  if (!matcher) throw new Error(`condition operator ${operator} on kms:EncryptionContext is not evaluated here: add it to test/infra/iam-simulation.ts`);
  return negated ? !expected.some(matcher) : expected.some(matcher);
}
