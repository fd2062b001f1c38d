// scripts/sam-environment.ts restates how `sam local invoke` names functions and builds their
// environment; these are SAM's rules as its documentation and source state them, one a test, on a
// small template shaped like a CDK one.
import {
  type CfnTemplate, EnvVarsFileError, SAM_DEFAULT_CREDENTIALS, envVarsOverrides, findFunction, samEnvironment, templateDefaults, templateFunctions,
} from '../../../scripts/sam-environment.js';

const lambda = (cdkPath: string, variables: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Timeout: 20, MemorySize: 512, Environment: { Variables: variables }, ...extra },
  Metadata: { 'aws:cdk:path': cdkPath, 'aws:asset:path': 'asset.abc', 'aws:asset:property': 'Code' },
});

const template: CfnTemplate = {
  Parameters: { Stage: { Type: 'String', Default: 'dev' } },
  Resources: {
    Table1234: { Type: 'AWS::DynamoDB::Table' },
    Key5678: { Type: 'AWS::KMS::Key' },
    HttpApi9: { Type: 'AWS::ApiGatewayV2::Api' },
    FunctionsCallbackCallbackFunctionAB12: lambda('App/Functions/Callback/CallbackFunction/Resource', {
      TABLE_NAME: { Ref: 'Table1234' },
      KMS_KEY_ARN: { 'Fn::GetAtt': ['Key5678', 'Arn'] },
      CALLBACK_URL: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['HttpApi9', 'ApiEndpoint'] }, '/connect/callback']] },
      REGION_URL: { 'Fn::Join': ['', ['https://', { Ref: 'HttpApi9' }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] },
      IMPORTED: { 'Fn::ImportValue': 'SharedTable' },
      STAGE: { Ref: 'Stage' },
      SUB: { 'Fn::Sub': '${AWS::StackName}-${Table1234}-${Key5678.Arn}' },
      FLAG: true,
      PLAIN: 'from-template',
    }),
    ShallowFn: lambda('App/ShallowFn/Resource', { PLAIN: 'x' }, { FunctionName: 'shallow-name' }),
  },
};
const functions = templateFunctions(template, '/work/cdk.out/App.template.json');
const callback = functions.find((fn) => fn.logicalId === 'FunctionsCallbackCallbackFunctionAB12')!;
const shallow = functions.find((fn) => fn.logicalId === 'ShallowFn')!;

describe('naming a function', () => {
  test('a CDK path deeper than Stack/Id/Resource gives no function id: SAM names the function by its logical id', () => {
    expect(callback).toMatchObject({ functionId: 'FunctionsCallbackCallbackFunctionAB12', functionName: 'FunctionsCallbackCallbackFunctionAB12', fullPath: 'FunctionsCallbackCallbackFunctionAB12' });
    expect(shallow).toMatchObject({ functionId: 'ShallowFn', functionName: 'shallow-name' });
    expect(callback.codeDir).toBe('/work/cdk.out/asset.abc');
  });

  test('a function id comes from Stack/Id/Resource or SamResourceId', () => {
    const [fn] = templateFunctions({ Resources: { Abc123: { ...lambda('App/MyFn/Resource', {}), Metadata: { 'aws:cdk:path': 'App/MyFn/Resource' } } } }, '/t.json');
    expect(fn.functionId).toBe('MyFn');
    const [tagged] = templateFunctions({ Resources: { Abc123: { ...lambda('App/A/B/C/Resource', {}), Metadata: { SamResourceId: 'Named' } } } }, '/t.json');
    expect(tagged.functionId).toBe('Named');
  });

  test('SAM\'s names are found and marked as such; construct ids are a convenience SAM lacks', () => {
    expect(findFunction(functions, 'FunctionsCallbackCallbackFunctionAB12')).toEqual({ fn: callback, samAccepts: true });
    expect(findFunction(functions, 'shallow-name')).toEqual({ fn: shallow, samAccepts: true });
    expect(findFunction(functions, 'CallbackFunction')).toEqual({ fn: callback, samAccepts: false });
    expect(findFunction(functions, 'Callback')).toEqual({ fn: callback, samAccepts: false });
    expect(findFunction(functions, 'Functions')).toBeUndefined();
  });
});

describe('intrinsics in the template\'s environment', () => {
  const defaults = templateDefaults(template, callback);

  test('a Ref to a resource is its logical id, to a parameter its default, to a pseudo parameter SAM\'s default', () => {
    expect(defaults.TABLE_NAME).toBe('Table1234');
    expect(defaults.STAGE).toBe('dev');
    expect(defaults.REGION_URL).toBe('https://HttpApi9.execute-api.us-east-1.localhost');
    expect(templateDefaults(template, callback, { region: 'eu-west-1', parameterOverrides: { Stage: 'prod' } })).toMatchObject({ STAGE: 'prod', REGION_URL: 'https://HttpApi9.execute-api.eu-west-1.localhost' });
  });

  test('Fn::GetAtt Arn is a made-up Lambda ARN whatever the resource', () => {
    expect(defaults.KMS_KEY_ARN).toBe('arn:aws:lambda:us-east-1:123456789012:function:Key5678');
  });

  test('any other attribute, or Fn::ImportValue, leaves the whole variable empty', () => {
    expect(defaults.CALLBACK_URL).toBe('');
    expect(defaults.IMPORTED).toBe('');
  });

  test('Fn::Sub substitutes pseudo parameters, Refs and attributes', () => {
    expect(defaults.SUB).toBe('local-Table1234-arn:aws:lambda:us-east-1:123456789012:function:Key5678');
  });

  test('scalars are strings, booleans lowercase', () => {
    expect(defaults.FLAG).toBe('true');
    expect(defaults.PLAIN).toBe('from-template');
  });
});

describe('the env-vars file', () => {
  test('Parameters apply to every function; a function\'s own object wins over them', () => {
    const file = { Parameters: { PLAIN: 'all', STAGE: 'all' }, FunctionsCallbackCallbackFunctionAB12: { PLAIN: 'mine' } };
    expect(envVarsOverrides(file, callback)).toEqual({ PLAIN: 'mine', STAGE: 'all' });
    expect(envVarsOverrides(file, shallow)).toEqual({ PLAIN: 'all', STAGE: 'all' });
  });

  test('a function\'s object is found by logical id, then function id, function name, full path; an empty one is skipped', () => {
    expect(envVarsOverrides({ 'shallow-name': { PLAIN: 'by name' } }, shallow)).toEqual({ PLAIN: 'by name' });
    expect(envVarsOverrides({ ShallowFn: {}, 'shallow-name': { PLAIN: 'by name' } }, shallow)).toEqual({ PLAIN: 'by name' });
    expect(envVarsOverrides({ ShallowFn: { PLAIN: 'by id' }, 'shallow-name': { PLAIN: 'by name' } }, shallow)).toEqual({ PLAIN: 'by id' });
    // Construct ids are not SAM's names: a file keyed by one does not reach the function.
    expect(envVarsOverrides({ CallbackFunction: { PLAIN: 'no' } }, callback)).toEqual({});
  });

  test('a top-level value that is not an object is refused, as SAM refuses it', () => {
    expect(() => envVarsOverrides({ Parameters: { A: 'b' }, TABLE_NAME: 'x' }, callback)).toThrow(EnvVarsFileError);
    expect(() => envVarsOverrides([], callback)).toThrow(EnvVarsFileError);
  });
});

describe('the environment SAM gives the function', () => {
  const credentials = { accessKeyId: 'AKIA', secretAccessKey: 'secret', region: 'eu-west-1' };
  const env = samEnvironment({
    template,
    fn: callback,
    overrides: { TABLE_NAME: 'from-file', UNDECLARED: 'ignored', FLAG: false, CALLBACK_URL: null },
    shell: { TABLE_NAME: 'from-shell', PLAIN: 'from-shell', HOME: '/home/me', LOCAL_TOKEN_KEYS: 'k' },
    credentials,
  });

  test('only the template\'s variables: the file over the shell over the template; unknown names are dropped', () => {
    expect(env).toMatchObject({ TABLE_NAME: 'from-file', PLAIN: 'from-shell', STAGE: 'dev', FLAG: 'false', CALLBACK_URL: '' });
    expect(env).not.toHaveProperty('UNDECLARED');
    expect(env).not.toHaveProperty('HOME');
    expect(env).not.toHaveProperty('LOCAL_TOKEN_KEYS');
  });

  test('SAM\'s AWS_* variables are always there, AWS_LAMBDA_FUNCTION_NAME the logical id', () => {
    expect(env).toMatchObject({
      AWS_SAM_LOCAL: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'FunctionsCallbackCallbackFunctionAB12',
      AWS_LAMBDA_FUNCTION_TIMEOUT: '20',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(env).not.toHaveProperty('AWS_SESSION_TOKEN');
    expect(samEnvironment({ template, fn: shallow, overrides: {}, shell: {}, credentials: SAM_DEFAULT_CREDENTIALS })).toMatchObject({ AWS_ACCESS_KEY_ID: 'defaultkey', AWS_REGION: 'us-east-1' });
  });
});
