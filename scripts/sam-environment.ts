// How `sam local invoke` finds a function in a synthesized template and builds its environment,
// restated so `npm run invoke` (scripts/invoke.ts) gives a function exactly what SAM would.
//
// The documented rules: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-using-invoke.html#serverless-sam-cli-using-invoke-environment-file
// ("Parameters" for every function, an object per function named by logical id, function id,
// function name or full path, the per-function values winning). What the page leaves out was read
// in SAM CLI's source (aws/aws-sam-cli at fe8f8dbb, July 2026):
//   - samcli/local/lambdafn/env_vars.py: only the variables the template declares reach the
//     function (a name the template lacks is ignored, whatever the file says); each takes the
//     env-vars value, else the invoking shell's, else the template's; a value that is still an
//     object or a list (an intrinsic SAM could not resolve) becomes ""; the AWS_* variables below
//     are always added, AWS_LAMBDA_FUNCTION_NAME among them.
//   - samcli/lib/intrinsic_resolver/: before that, intrinsics are resolved where SAM can: a `Ref`
//     to a resource is its logical id, `Fn::GetAtt [X, Arn]` a made-up Lambda ARN, pseudo
//     parameters have fixed defaults (account 123456789012, region us-east-1 unless --region,
//     URL suffix `localhost`); any other attribute (`Fn::GetAtt [HttpApi, ApiEndpoint]`, which
//     CALLBACK_URL is built from) or `Fn::ImportValue` leaves the whole variable unresolved: "".
//   - samcli/lib/samlib/resource_metadata_normalizer.py: a function's "function id" is its
//     `SamResourceId` metadata, else its construct id when `aws:cdk:path` is `Stack/Id/Resource`,
//     else (this stack's functions sit deeper: `FinchConnections/Functions/Callback/CallbackFunction/Resource`)
//     its logical id. So `sam local invoke` and the env-vars file name these functions by logical id.
// Only the intrinsics a CDK template puts in an environment are handled here (Ref, Fn::GetAtt,
// Fn::Join, Fn::Sub, Fn::Select, Fn::Split); any other resolves to "", where SAM might resolve it.
import { dirname, resolve } from 'node:path';

export interface CfnTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Resources: Record<string, CfnResource>;
}
export interface CfnResource { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }

export interface TemplateFunction {
  logicalId: string;
  /** SAM's function id (see above): the logical id for every function of this stack. */
  functionId: string;
  /** The `FunctionName` property, else the logical id. */
  functionName: string;
  /** SAM's full path: the function id, in a template without nested stacks. */
  fullPath: string;
  /** `aws:cdk:path` without the trailing `/Resource`, e.g. `FinchConnections/Functions/Callback/CallbackFunction`. */
  cdkPath?: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The bundle: `aws:asset:path` resolved against the template's folder. */
  codeDir?: string;
  /** `Environment.Variables` as the template has them, intrinsics included. */
  variables: Record<string, unknown>;
}

const CDK_FUNCTION_PATH = /^[^/]+\/[^/]+(\/Resource)?$/;

function functionIdOf(logicalId: string, metadata: Record<string, any>): string {
  if (typeof metadata.SamResourceId === 'string' && metadata.SamResourceId) return metadata.SamResourceId;
  const path = metadata['aws:cdk:path'];
  if (typeof path !== 'string' || !CDK_FUNCTION_PATH.test(path)) return logicalId;
  const parts = path.split('/');
  return parts.at(-1) === 'Resource' ? parts.at(-2)! : parts.at(-1)!;
}

/** The template's Lambda functions, as SAM reads them from a CDK template. */
export function templateFunctions(template: CfnTemplate, templateFile: string): TemplateFunction[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const properties = resource.Properties ?? {};
      const metadata = resource.Metadata ?? {};
      const functionId = functionIdOf(logicalId, metadata);
      const assetPath = metadata['aws:asset:path'];
      const cdkPath = typeof metadata['aws:cdk:path'] === 'string' ? metadata['aws:cdk:path'].replace(/\/Resource$/, '') : undefined;
      return {
        logicalId,
        functionId,
        functionName: typeof properties.FunctionName === 'string' ? properties.FunctionName : logicalId,
        fullPath: functionId,
        cdkPath,
        handler: String(properties.Handler ?? ''),
        runtime: String(properties.Runtime ?? ''),
        // CloudFormation's defaults when the template leaves them out.
        timeoutSeconds: Number(properties.Timeout ?? 3),
        memoryMb: Number(properties.MemorySize ?? 128),
        codeDir: typeof assetPath === 'string' ? resolve(dirname(templateFile), assetPath) : undefined,
        variables: properties.Environment?.Variables ?? {},
      };
    });
}

export interface FoundFunction {
  fn: TemplateFunction;
  /** Whether `sam local invoke` accepts this name too (its logical id, function id or function name). */
  samAccepts: boolean;
}

/**
 * The function a name means: SAM's names first (full path, then function id, logical id, function
 * name), then, as a convenience SAM lacks, a construct id on its `aws:cdk:path`
 * (`CallbackFunction`, or the service's `Callback`).
 */
export function findFunction(functions: TemplateFunction[], name: string): FoundFunction | undefined {
  const sam = functions.find((fn) => fn.fullPath === name)
    ?? functions.find((fn) => [fn.functionId, fn.logicalId, fn.functionName].includes(name));
  if (sam) return { fn: sam, samAccepts: true };
  const byConstruct = functions.filter((fn) => fn.cdkPath?.split('/').slice(-2).includes(name));
  return byConstruct.length === 1 ? { fn: byConstruct[0], samAccepts: false } : undefined;
}

export class EnvVarsFileError extends Error {
  constructor(message: string) { super(message); this.name = 'EnvVarsFileError'; }
}

/**
 * The values an env-vars file gives one function: `Parameters` for all, then the first non-empty
 * object named by the function's logical id, function id, function name or full path (in that
 * order) on top. Every top-level value must be an object, as SAM requires.
 */
export function envVarsOverrides(file: unknown, fn: TemplateFunction): Record<string, unknown> {
  if (!file || typeof file !== 'object' || Array.isArray(file)) throw new EnvVarsFileError('an env-vars file is a JSON object');
  const entries = file as Record<string, unknown>;
  for (const [key, value] of Object.entries(entries)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new EnvVarsFileError(`environment variables ${key} in incorrect format (each top-level value is an object)`);
  }
  const nonEmpty = (key: string) => {
    const value = entries[key] as Record<string, unknown> | undefined;
    return value && Object.keys(value).length > 0 ? value : undefined;
  };
  const own = nonEmpty(fn.logicalId) ?? nonEmpty(fn.functionId) ?? nonEmpty(fn.functionName) ?? nonEmpty(fn.fullPath);
  return { ...(entries.Parameters as Record<string, unknown> | undefined), ...own };
}

/** SAM's `_stringify_value`: objects, lists and null become "", booleans lowercase. */
export function stringifyValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'object') return '';
  return String(value);
}

class Unresolvable extends Error {}

export interface ResolveOptions {
  /** AWS::Region (SAM: its --region, else us-east-1). */
  region?: string;
  /** Values for the template's parameters (SAM's --parameter-overrides). */
  parameterOverrides?: Record<string, string>;
}

const PSEUDO_DEFAULTS: Record<string, string> = {
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::StackName': 'local',
  'AWS::StackId': 'arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123',
  'AWS::URLSuffix': 'localhost',
};

/** Resolves one template value the way SAM does; throws Unresolvable where SAM leaves it as is. */
function resolver(template: CfnTemplate, options: ResolveOptions) {
  const symbols: Record<string, unknown> = { ...PSEUDO_DEFAULTS };
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    if (parameter.Default !== undefined) symbols[name] = parameter.Default;
  }
  Object.assign(symbols, options.parameterOverrides, options.region ? { 'AWS::Region': options.region } : {});
  const region = String(symbols['AWS::Region']);
  const partition = region.includes('cn') ? 'aws-cn' : region.includes('gov') ? 'aws-us-gov' : 'aws';

  const symbol = (logicalId: string, attribute: string, ignoreErrors = false): unknown => {
    const known = symbols[logicalId];
    if (known !== undefined && attribute === 'Ref') return known;
    if (attribute === 'Ref') return logicalId;
    // SAM's arn_resolver assumes a Lambda function whatever the resource is.
    if (attribute === 'Arn') {
      const name = template.Resources[logicalId]?.Properties?.FunctionName ?? logicalId;
      return `arn:${partition}:lambda:${region}:${symbols['AWS::AccountId']}:function:${name}`;
    }
    if (ignoreErrors) return `$${logicalId}.${attribute}`;
    throw new Unresolvable(`${logicalId}.${attribute}`);
  };
  const text = (value: unknown): string => {
    if (typeof value !== 'string') throw new Unresolvable('not a string');
    return value;
  };
  const list = (value: unknown): unknown[] => {
    if (!Array.isArray(value)) throw new Unresolvable('not a list');
    return value;
  };

  const resolveValue = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolveValue);
    if (!value || typeof value !== 'object') return value;
    const [key] = Object.keys(value);
    const argument = (value as Record<string, unknown>)[key];
    switch (key) {
      case 'Ref': return symbol(text(resolveValue(argument)), 'Ref');
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = list(resolveValue(argument));
        return symbol(text(logicalId), text(attribute));
      }
      case 'Fn::Join': {
        const [delimiter, items] = list(resolveValue(argument));
        return list(items).map((item) => text(resolveValue(item))).join(text(delimiter));
      }
      case 'Fn::Select': {
        const [index, items] = list(resolveValue(argument));
        return list(items)[Number(index)];
      }
      case 'Fn::Split': {
        const [delimiter, source] = list(resolveValue(argument));
        return text(source).split(text(delimiter));
      }
      case 'Fn::Sub': {
        const [pattern, variables = {}] = typeof argument === 'string' ? [argument, {}] : list(argument);
        const values = resolveValue(variables) as Record<string, unknown>;
        return text(resolveValue(pattern)).replace(/\$\{(AWS::[^}]*?|[a-zA-Z0-9]*?\.?[a-zA-Z0-9]*?)\}/g, (_, name: string) => {
          const item = typeof values[name] === 'string' ? values[name] as string : name;
          const [logicalId, attribute] = item.includes('.') && !item.startsWith('AWS::') ? [item.slice(0, item.lastIndexOf('.')), item.slice(item.lastIndexOf('.') + 1)] : [item, 'Ref'];
          return String(symbol(logicalId, attribute, true));
        });
      }
      default:
        // Fn::ImportValue (SAM: "currently not supported"), conditions, and the rest.
        if (key?.startsWith('Fn::') || key === 'Condition') throw new Unresolvable(key);
        // A plain object (Fn::Sub's variables): each value on its own, as SAM does.
        return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, resolveOrKeep(item)]));
    }
  };
  const resolveOrKeep = (value: unknown): unknown => {
    try {
      return resolveValue(value);
    } catch (error) {
      if (error instanceof Unresolvable) return value;
      throw error;
    }
  };
  return resolveOrKeep;
}

/** The template's variables as SAM resolves them before anything overrides them. */
export function templateDefaults(template: CfnTemplate, fn: TemplateFunction, options: ResolveOptions = {}): Record<string, string> {
  const resolveValue = resolver(template, options);
  return Object.fromEntries(Object.entries(fn.variables).map(([name, value]) => [name, stringifyValue(resolveValue(value))]));
}

export interface AwsCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region: string }

/** SAM's placeholders when it finds no credentials. */
export const SAM_DEFAULT_CREDENTIALS: AwsCredentials = { accessKeyId: 'defaultkey', secretAccessKey: 'defaultsecret', region: 'us-east-1' };

/** The AWS_* variables SAM always sets (env_vars.py `_get_aws_variables`). */
export function samAwsVariables(fn: TemplateFunction, credentials: AwsCredentials): Record<string, string> {
  return {
    AWS_SAM_LOCAL: 'true',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
    AWS_LAMBDA_FUNCTION_HANDLER: fn.handler,
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `aws/lambda/${fn.logicalId}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '$LATEST',
    AWS_REGION: credentials.region,
    AWS_DEFAULT_REGION: credentials.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ACCOUNT_ID: '123456789012',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
  };
}

export interface SamEnvironmentInput {
  template: CfnTemplate;
  fn: TemplateFunction;
  /** What the env-vars file gives this function (envVarsOverrides). */
  overrides: Record<string, unknown>;
  /** The invoking shell's environment: it wins over the template for the variables the template declares. */
  shell: Record<string, string | undefined>;
  credentials: AwsCredentials;
  resolve?: ResolveOptions;
}

/** The whole environment `sam local invoke` gives the function (before the Lambda image's own variables). */
export function samEnvironment(input: SamEnvironmentInput): Record<string, string> {
  const defaults = templateDefaults(input.template, input.fn, input.resolve);
  const result = samAwsVariables(input.fn, input.credentials);
  for (const name of Object.keys(input.fn.variables)) {
    let value: unknown = defaults[name];
    if (input.shell[name] !== undefined) value = input.shell[name];
    if (name in input.overrides) value = input.overrides[name];
    result[name] = stringifyValue(value);
  }
  return result;
}
