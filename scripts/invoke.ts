// `npm run invoke -- <function> <event.json> [--env-vars env.json]`: runs one function's synthesized
// bundle (the asset in cdk.out, as `sam local invoke` runs it) once, in a fresh Node process, and
// prints its response on stdout (the function's logs go to stderr).
//
// The environment is the one `sam local invoke` would give it (scripts/sam-environment.ts: the
// template's variables with intrinsics resolved as SAM resolves them, then the shell, then the
// env-vars file; SAM's AWS_* variables). When `npm start` runs (its `.local/stack.json`), two
// things are added that point the function at that stack:
//   - env-vars generated from it (TABLE_NAME, CALLBACK_URL, FINCH_API_BASE_URL and the stack's
//     origins in ALLOWED_RETURN_ORIGINS), under any --env-vars file given; `--print-env-vars`
//     prints them, a valid SAM env-vars file (events/env.json is this for the default ports);
//   - the local stack's connection, which the template does not declare and SAM therefore never
//     passes: DYNAMODB_ENDPOINT, LOCAL_TOKEN_KEYS, the emulator's client credentials, DynamoDB
//     Local's dummy AWS credentials, the same values `npm start` gives its handlers
//     (local/stack.ts handlerEnvironment). KMS_KEY_ARN, FINCH_SECRET_ARN and
//     AWS_LAMBDA_FUNCTION_NAME are left out, as functions/adapters/config.ts refuses local keys
//     where AWS_LAMBDA_FUNCTION_NAME says it runs in Lambda.
// `--sam` skips both: exactly SAM's environment, your AWS credentials, for a deployed stack.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stateDirFrom } from '../local/paths.js';
import { type LocalSecrets, readSecrets } from '../local/secrets.js';
import {
  type AwsCredentials, type CfnTemplate, SAM_DEFAULT_CREDENTIALS, type TemplateFunction, envVarsOverrides, findFunction,
  samEnvironment, templateDefaults, templateFunctions,
} from './sam-environment.js';
import { isAlive } from '../local/processes.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./lambda-runner.mjs', import.meta.url));
export const DEFAULT_TEMPLATE = join(REPO_ROOT, 'cdk.out', 'FinchConnections.template.json');

const USAGE = `usage: npm run invoke -- <function> <event.json | -> [--env-vars <env.json>] [--sam] [--template <file>] [--region <region>]
       npm run invoke -- --list | --print-env-vars
  <function>        its logical id (what sam local invoke takes), or its construct id (CallbackFunction, Callback)
  <event.json>      an event file (events/*.json), or - for stdin
  --env-vars        a SAM env-vars file: {"Parameters": {...}} for every function, {"<logical id>": {...}} for one
  --sam             the environment sam local invoke would give, nothing more (no local stack)
  --template        the synthesized template (default cdk.out/FinchConnections.template.json: npm run synth:local)
  --region          AWS::Region for the template's intrinsics, as sam's --region
  --list            the template's functions and the names they answer to
  --print-env-vars  the env-vars the running local stack gives every function (a SAM env-vars file)
The response is printed on stdout, the function's logs on stderr. Exit status 1 when the function fails.`;

export class InvokeError extends Error {
  constructor(message: string) { super(message); this.name = 'InvokeError'; }
}

/** A running `npm start`: what its `.local/stack.json` and `secrets.json` say. */
export interface LocalStack {
  apiUrl: string;
  finchUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  secrets: LocalSecrets;
}

/** The local stack whose state is in `stateDir`, if it is running. */
export function findLocalStack(stateDir: string): LocalStack | undefined {
  const file = join(stateDir, 'stack.json');
  if (!existsSync(file)) return undefined;
  const stack = JSON.parse(readFileSync(file, 'utf8')) as Omit<LocalStack, 'secrets'> & { pid?: number };
  // npm start removes the file when it stops; one left by a killed stack points at nothing.
  if (stack.pid !== undefined && !isAlive(stack.pid)) return undefined;
  const secrets = readSecrets(stateDir);
  if (!secrets) throw new InvokeError(`${file} names a running stack, but ${join(stateDir, 'secrets.json')} is missing or incomplete`);
  return { ...stack, secrets };
}

export function loadTemplate(file: string): CfnTemplate {
  if (!existsSync(file)) throw new InvokeError(`no template at ${file}: run \`npm run synth:local\` first (or pass --template)`);
  return JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
}

const declaredNames = (functions: TemplateFunction[]) => new Set(functions.flatMap((fn) => Object.keys(fn.variables)));

/**
 * What points a function at the local stack: the values `npm start` gives its own handlers, split
 * by SAM's rule. Those the template declares form a SAM env-vars file (`Parameters`); the rest is
 * the connection, which only `npm run invoke` can add.
 */
export async function localStackEnvironment(template: CfnTemplate, functions: TemplateFunction[], stack: LocalStack, shell: NodeJS.ProcessEnv) {
  // Imported here: it brings the whole local stack with it (a second), which --sam does not need.
  const { handlerEnvironment } = await import('../local/stack.js');
  const finchMode = /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(`${stack.finchUrl}/`) ? 'emulator' : 'sandbox';
  const local = handlerEnvironment({
    env: shell, apiUrl: stack.apiUrl, finchUrl: stack.finchUrl, finchMode, tableName: stack.tableName, secrets: stack.secrets, dynamodbEndpoint: stack.dynamodbEndpoint,
  });
  const declared = declaredNames(functions);
  const parameters: Record<string, string> = {};
  const connection: Record<string, string> = {};
  for (const [name, value] of Object.entries(local)) (declared.has(name) ? parameters : connection)[name] = value;
  if (parameters.ALLOWED_RETURN_ORIGINS !== undefined && functions.length > 0) {
    // The deployed origins (the template's) stay allowed; the local stack's own are added.
    const deployed = templateDefaults(template, functions[0]).ALLOWED_RETURN_ORIGINS ?? '';
    const origins = [...deployed.split(','), ...parameters.ALLOWED_RETURN_ORIGINS.split(',')].map((item) => item.trim()).filter(Boolean);
    parameters.ALLOWED_RETURN_ORIGINS = [...new Set(origins)].join(',');
  }
  connection.AWS_DEFAULT_REGION = connection.AWS_REGION ?? local.AWS_REGION;
  return { envVars: { Parameters: parameters }, connection };
}

/** Variables a local invoke must not carry (see the top of this file). */
const NOT_WITH_LOCAL_STACK = ['KMS_KEY_ARN', 'FINCH_SECRET_ARN', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_SESSION_TOKEN'];

/** SAM passes the credentials of your session; the SDK in the function resolves a profile itself here. */
function shellCredentials(shell: NodeJS.ProcessEnv): { credentials: AwsCredentials; profile?: Record<string, string> } {
  const region = shell.AWS_REGION || shell.AWS_DEFAULT_REGION || SAM_DEFAULT_CREDENTIALS.region;
  if (shell.AWS_ACCESS_KEY_ID && shell.AWS_SECRET_ACCESS_KEY) {
    return { credentials: { accessKeyId: shell.AWS_ACCESS_KEY_ID, secretAccessKey: shell.AWS_SECRET_ACCESS_KEY, sessionToken: shell.AWS_SESSION_TOKEN, region } };
  }
  if (shell.AWS_PROFILE) {
    const profile = Object.fromEntries(['AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'HOME']
      .filter((name) => shell[name]).map((name) => [name, shell[name]!]));
    return { credentials: { ...SAM_DEFAULT_CREDENTIALS, region }, profile };
  }
  return { credentials: { ...SAM_DEFAULT_CREDENTIALS, region } };
}

export interface PrepareOptions {
  functionName: string;
  templateFile?: string;
  /** A SAM env-vars file's path. */
  envVarsFile?: string;
  /** Exactly SAM's environment: no local stack. */
  sam?: boolean;
  region?: string;
  /** The invoking shell (default process.env). */
  shell?: NodeJS.ProcessEnv;
}

export interface Prepared {
  fn: TemplateFunction;
  /** Whether `sam local invoke` takes the name given. */
  samAccepts: boolean;
  /** Whether the local stack's env-vars and connection were added. */
  localStack: boolean;
  env: Record<string, string>;
}

export async function prepareInvocation(options: PrepareOptions): Promise<Prepared> {
  const shell = options.shell ?? process.env;
  const templateFile = resolve(options.templateFile ?? DEFAULT_TEMPLATE);
  const template = loadTemplate(templateFile);
  const functions = templateFunctions(template, templateFile);
  const found = findFunction(functions, options.functionName);
  if (!found) {
    throw new InvokeError(`no function ${options.functionName} in ${templateFile}; its functions:\n${functions.map(describeFunction).join('\n')}`);
  }
  const { fn } = found;
  if (!fn.codeDir || !existsSync(fn.codeDir)) throw new InvokeError(`${fn.logicalId} has no bundle (aws:asset:path) next to ${templateFile}: synthesize with npm run synth:local`);

  let fileOverrides: Record<string, unknown> = {};
  if (options.envVarsFile) {
    if (!existsSync(options.envVarsFile)) throw new InvokeError(`no env-vars file at ${options.envVarsFile}`);
    fileOverrides = envVarsOverrides(JSON.parse(readFileSync(options.envVarsFile, 'utf8')), fn);
  }
  const stack = options.sam ? undefined : findLocalStack(stateDirFrom(shell));
  const local = stack ? await localStackEnvironment(template, functions, stack, shell) : undefined;
  const { credentials, profile } = shellCredentials(shell);
  // SAM's --region sets both the session's region and AWS::Region.
  if (options.region) credentials.region = options.region;

  const env = samEnvironment({
    template,
    fn,
    // The local stack's env-vars sit under the file's, as if they were its first lines.
    overrides: { ...local?.envVars.Parameters, ...fileOverrides },
    shell,
    credentials,
    resolve: { region: options.region },
  });
  if (local) {
    for (const name of NOT_WITH_LOCAL_STACK) delete env[name];
    Object.assign(env, local.connection);
  } else if (profile) {
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    Object.assign(env, profile);
  }
  // What the Lambda image itself sets for the Node.js runtime.
  Object.assign(env, {
    LAMBDA_TASK_ROOT: fn.codeDir,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: shell.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  });
  return { fn, samAccepts: found.samAccepts, localStack: Boolean(local), env };
}

export interface LambdaError { errorType: string; errorMessage: string; trace?: string[] }
export type Outcome = { phase: 'init' | 'invoke'; response?: unknown; error?: LambdaError };

/** Runs the bundle once in a fresh process with `prepared.env`; resolves with its response or error. */
export function runInvocation(prepared: Prepared, event: unknown, output: (chunk: Buffer) => void = (chunk) => process.stderr.write(chunk)): Promise<Outcome> {
  const { fn } = prepared;
  const runtimeMajor = /^nodejs(\d+)\.x$/.exec(fn.runtime)?.[1];
  if (runtimeMajor && process.versions.node.split('.')[0] !== runtimeMajor) {
    output(Buffer.from(`invoke: ${fn.logicalId} runs on ${fn.runtime} in Lambda, this is Node ${process.versions.node} (npm run invoke uses the project's Node 22)\n`));
  }
  return new Promise((resolvePromise, reject) => {
    const child: ChildProcess = fork(RUNNER, [fn.codeDir!, fn.handler, prepared.env.AWS_LAMBDA_FUNCTION_NAME ?? fn.logicalId, String(fn.memoryMb), String(fn.timeoutSeconds)], {
      cwd: fn.codeDir,
      env: prepared.env,
      execPath: process.execPath,
      // Not the parent's loaders (tsx): the bundle runs on plain Node, as in Lambda.
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout!.on('data', output);
    child.stderr!.on('data', output);
    let outcome: Outcome | undefined;
    child.on('message', (message) => { outcome = message as Outcome; });
    const timer = setTimeout(() => {
      outcome = { phase: 'invoke', error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds` } };
      child.kill('SIGKILL');
    }, fn.timeoutSeconds * 1000);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise(outcome ?? { phase: 'invoke', error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: exited before answering (${signal ?? `exit status ${code}`})` } });
    });
    child.send(event as object);
  });
}

function describeFunction(fn: TemplateFunction): string {
  const constructs = fn.cdkPath ? fn.cdkPath.split('/').slice(-2).reverse().join(', ') : '';
  return `  ${fn.logicalId}  (${constructs})  ${fn.handler}  ${fn.timeoutSeconds}s`;
}

async function main(args: string[]): Promise<number> {
  const positional: string[] = [];
  const options: PrepareOptions & { list?: boolean; printEnvVars?: boolean } = { functionName: '' };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].startsWith('--') ? args[i].split(/=(.*)/s, 2) : [args[i]];
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    if (flag === '--env-vars' || flag === '-n') options.envVarsFile = value();
    else if (flag === '--template' || flag === '-t') options.templateFile = value();
    else if (flag === '--region') options.region = value();
    else if (flag === '--sam') options.sam = true;
    else if (flag === '--list') options.list = true;
    else if (flag === '--print-env-vars') options.printEnvVars = true;
    else if (flag === '--help' || flag === '-h') { console.log(USAGE); return 0; } else if (flag.startsWith('-') && flag !== '-') fail(`unknown option ${flag}`);
    else positional.push(flag);
  }
  const templateFile = resolve(options.templateFile ?? DEFAULT_TEMPLATE);
  if (options.list) {
    console.log(templateFunctions(loadTemplate(templateFile), templateFile).map(describeFunction).join('\n'));
    return 0;
  }
  if (options.printEnvVars) {
    const stateDir = stateDirFrom(process.env);
    const stack = findLocalStack(stateDir) ?? fail(`no running local stack (${join(stateDir, 'stack.json')}): start it with npm start`);
    const template = loadTemplate(templateFile);
    const { envVars } = await localStackEnvironment(template, templateFunctions(template, templateFile), stack, process.env);
    console.log(JSON.stringify(envVars, null, 2));
    return 0;
  }
  if (positional.length !== 2) fail('a function and an event file are needed');
  const [functionName, eventFile] = positional;
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(eventFile === '-' ? 0 : eventFile, 'utf8'));
  } catch (error) {
    fail(`the event ${eventFile} is not readable JSON (${(error as Error).message})`);
  }
  const prepared = await prepareInvocation({ ...options, functionName });
  if (!prepared.samAccepts) console.error(`invoke: sam local invoke names this function ${prepared.fn.logicalId}`);
  if (!prepared.localStack && !options.sam) console.error(`invoke: no running local stack (${join(stateDirFrom(process.env), 'stack.json')}): the environment is sam local invoke's (--sam)`);
  const outcome = await runInvocation(prepared, event);
  console.log(JSON.stringify(outcome.error ?? outcome.response));
  return outcome.error ? 1 : 0;
}

function fail(message: string): never {
  throw new InvokeError(`${message}\n${USAGE}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof InvokeError) && (error as Error).name !== 'EnvVarsFileError') throw error;
    console.error(`invoke: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
