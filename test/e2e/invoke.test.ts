// `npm run invoke` end to end: `npm run synth:local` once (the guide's first command: esbuild
// bundles of every function into a cdk.out of this file's own), `npm start`'s stack as a child
// process, then every sample event in events/ through its function's synthesized bundle, each in
// a fresh Node 22 process with the environment `sam local invoke` would give plus the local
// stack's (scripts/invoke.ts). A made-up state or connection id gets its documented 4xx; a real
// one, made through the bundles and the emulator, gets the connection.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { VERSION as FINCH_SDK_VERSION } from '@tryfinch/finch-api/version';
import { type Outcome, localStackEnvironment, prepareInvocation, runInvocation } from '../../scripts/invoke.js';
import { type CfnTemplate, templateFunctions } from '../../scripts/sam-environment.js';
import { checkAnswer } from '../support/openapi-check.js';
import { REPO_ROOT, type StackProcess, http, killStack, parseConnectForm, startStackProcess } from './stack-process.js';

jest.setTimeout(60_000);

const EVENTS_DIR = join(REPO_ROOT, 'events');
const SAMPLE_CONNECTION_ID = '7e6d4a62-5b0e-4c3a-9b1f-2f1d8c0a9e11';

/** Each sample event: its function (construct id, as events/README.md names it) and its answer from a fresh local stack. */
const EXPECTED: Record<string, { fn: string; status: number; code?: string }> = {
  'create-session.json': { fn: 'CreateSessionFunction', status: 201 },
  'create-session-admin.json': { fn: 'CreateSessionFunction', status: 201 },
  'reauthenticate.json': { fn: 'ReauthenticateFunction', status: 404, code: 'connection_not_found' },
  'callback-redirect.json': { fn: 'CallbackFunction', status: 400, code: 'invalid_state' },
  'callback-embedded.json': { fn: 'CallbackFunction', status: 400, code: 'invalid_request' },
  'callback-result.json': { fn: 'CallbackFunction', status: 200 },
  'connections-list.json': { fn: 'ConnectionsFunction', status: 200 },
  'connection-get.json': { fn: 'ConnectionsFunction', status: 404, code: 'connection_not_found' },
  'connection-delete.json': { fn: 'ConnectionsFunction', status: 404, code: 'connection_not_found' },
  'connection-audit.json': { fn: 'ConnectionsFunction', status: 404, code: 'connection_not_found' },
  'webhook.json': { fn: 'WebhookFunction', status: 401, code: 'invalid_signature' },
  'finch-proxy-company.json': { fn: 'FinchProxyFunction', status: 404, code: 'connection_not_found' },
  'finch-proxy-directory.json': { fn: 'FinchProxyFunction', status: 200 },
};
const EVENT_FILES = readdirSync(EVENTS_DIR).filter((file) => file.endsWith('.json') && file !== 'env.json').sort();
const loadEvent = (file: string) => JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8'));

interface Response { statusCode: number; headers?: Record<string, string>; body?: string }

let stack: StackProcess;
let outdir: string;
let templateFile: string;
let synthMs = 0;
/** The answers to the sample events as they are, from beforeAll. */
const answers = new Map<string, Outcome>();

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk; });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The shell a developer invokes from: only what it needs, so nothing of Jest's environment leaks in. */
const shell = () => ({ PATH: process.env.PATH ?? '', LOCAL_STATE_DIR: stack.stateDir });
let logs = '';
const collectLogs = (chunk: Buffer) => { logs += chunk.toString('utf8'); };

async function invoke(fn: string, event: unknown, options: { sam?: boolean; envVarsFile?: string } = {}): Promise<Outcome> {
  const prepared = await prepareInvocation({ functionName: fn, templateFile, shell: shell(), ...options });
  const outcome = await runInvocation(prepared, event, collectLogs);
  // A bundle's answer is one openapi.json documents, as every answer over HTTP is (test/support/openapi-check.ts).
  const response = outcome.response as Response | undefined;
  const request = event as { rawPath?: string; requestContext?: { http?: { method?: string } } };
  if (response && request.rawPath && request.requestContext?.http?.method) {
    checkAnswer({ method: request.requestContext.http.method, path: request.rawPath, status: response.statusCode, headers: response.headers ?? {}, body: response.body ?? '' });
  }
  return outcome;
}
const responseOf = (outcome: Outcome): Response => {
  if (outcome.error) throw new Error(`the function failed: ${JSON.stringify(outcome.error)}\n${logs.slice(-2000)}`);
  return outcome.response as Response;
};
const bodyOf = (response: Response) => JSON.parse(response.body ?? 'null');

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'finch-connections-invoke-'));
  templateFile = join(outdir, 'FinchConnections.template.json');
  const t0 = Date.now();
  // Java's start and esbuild's bundling overlap: the two slow parts of this file.
  const [synth, started] = await Promise.all([
    run('npm', ['run', '-s', 'synth:local', '--', '-o', outdir]).then((result) => { synthMs = Date.now() - t0; return result; }),
    startStackProcess(),
  ]);
  stack = started;
  if (synth.code !== 0) throw new Error(`npm run synth:local failed (${synth.code}):\n${synth.stderr}`);
  console.log(`npm run synth:local with bundling: ${(synthMs / 1000).toFixed(1)} s (reported, not asserted)`);

  // Two at a time (two cores): each is a process of its own.
  const queue = [...EVENT_FILES];
  const t1 = Date.now();
  await Promise.all([0, 1].map(async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      answers.set(file, await invoke(EXPECTED[file]?.fn ?? 'unknown', loadEvent(file)));
    }
  }));
  console.log(`${EVENT_FILES.length} sample events invoked in ${((Date.now() - t1) / 1000).toFixed(1)} s (reported, not asserted)`);
}, 150_000);

afterAll(() => {
  killStack(stack);
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('npm run invoke, every sample event in events/ against the running local stack', () => {
  test('every event file has an expected answer here', () => {
    expect(EVENT_FILES).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(EVENT_FILES)('%s gets its documented answer from the real bundle', (file) => {
    const expected = EXPECTED[file];
    const response = responseOf(answers.get(file)!);
    expect(response.statusCode).toBe(expected.status);
    if (expected.code === 'invalid_state') expect(response.body).toContain('Error: invalid_state.');
    else if (expected.code) expect(bodyOf(response).error.code).toBe(expected.code);
    // Nothing the function sent back carries a secret of the stack.
    const secrets = JSON.parse(readFileSync(join(stack.stateDir, 'secrets.json'), 'utf8'));
    for (const secret of [secrets.finch_client_secret, secrets.token_keys.split('=')[1]]) expect(JSON.stringify(response)).not.toContain(secret);
  });

  test('the environment is the template\'s as SAM resolves it, plus the local stack\'s env-vars and connection', async () => {
    const { env, fn, localStack } = await prepareInvocation({ functionName: 'Callback', templateFile, shell: shell() });
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
    const declared = Object.keys(template.Resources[fn.logicalId].Properties!.Environment.Variables);
    expect(localStack).toBe(true);
    expect(env).toMatchObject({
      // The template's own values...
      POWERTOOLS_SERVICE_NAME: 'finch-connections',
      NODE_OPTIONS: '--enable-source-maps',
      FINCH_TIMEOUT_MS: '8000',
      // ...the stack's env-vars over the intrinsics...
      TABLE_NAME: stack.stack.tableName,
      CALLBACK_URL: `${stack.stack.apiUrl}/connect/callback`,
      FINCH_API_BASE_URL: stack.stack.finchUrl,
      // ...and its connection, which SAM cannot pass.
      DYNAMODB_ENDPOINT: stack.stack.dynamodbEndpoint,
      LOCAL_TOKEN_KEYS: expect.any(String),
      AWS_SAM_LOCAL: 'true',
      LAMBDA_TASK_ROOT: fn.codeDir,
    });
    for (const name of ['KMS_KEY_ARN', 'FINCH_SECRET_ARN', 'AWS_LAMBDA_FUNCTION_NAME', 'LOCAL_STATE_DIR']) expect(env).not.toHaveProperty(name);
    const added = ['DYNAMODB_ENDPOINT', 'LOCAL_TOKEN_KEYS', 'FINCH_CLIENT_ID', 'FINCH_CLIENT_SECRET', 'FINCH_WEBHOOK_SECRET'];
    expect(Object.keys(env).filter((name) => !name.startsWith('AWS_') && !declared.includes(name)).sort())
      .toEqual([...added, 'LAMBDA_TASK_ROOT', '_HANDLER', 'TZ', 'LANG', 'PATH'].sort());
  });
});

describe('a connection made through the bundles is the local stack\'s connection', () => {
  test('create-session, Finch Connect on the emulator, the redirect callback, then get, proxy, audit and delete by its id', async () => {
    const sessionEvent = loadEvent('create-session.json');
    sessionEvent.headers['idempotency-key'] = randomUUID();
    const session = responseOf(await invoke('CreateSessionFunction', sessionEvent));
    expect(session.statusCode).toBe(201);
    const { connect_url } = bodyOf(session);
    // Powertools idempotency as bundled: its JMESPath is the field-path one (functions/adapters/jmespath),
    // which the synthesized bundle carries instead of the interpreter.
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
    const sessionAssets = Object.entries(template.Resources)
      .filter(([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.includes('CreateSessionFunction'))
      .map(([, resource]) => readFileSync(join(outdir, resource.Metadata!['aws:asset:path'], 'index.mjs'), 'utf8'));
    expect(sessionAssets).toHaveLength(1);
    expect(sessionAssets[0]).toContain('is not a field path');
    // The same key and body answer the same session from the record; another body under the key is refused.
    const replay = responseOf(await invoke('CreateSessionFunction', sessionEvent));
    expect(replay.statusCode).toBe(201);
    expect(bodyOf(replay)).toEqual(bodyOf(session));
    const otherBody = { ...sessionEvent, body: JSON.stringify({ ...JSON.parse(sessionEvent.body), products: ['company'] }) };
    const reused = responseOf(await invoke('CreateSessionFunction', otherBody));
    expect(reused.statusCode).toBe(422);
    expect(bodyOf(reused).error.code).toBe('idempotency_key_reused');

    // The employer's browser on Finch's hosted page (the emulator), back to the stack's CALLBACK_URL.
    const page = await http('GET', connect_url);
    const { action, fields } = parseConnectForm(page.text);
    const authorized = await http('POST', new URL(action, connect_url).href, { form: { ...fields, provider_id: 'gusto', outcome: 'success' } });
    const back = new URL(authorized.location!);
    expect(`${back.origin}${back.pathname}`).toBe(`${stack.stack.apiUrl}/connect/callback`);

    const callbackEvent = loadEvent('callback-redirect.json');
    callbackEvent.rawQueryString = back.search.slice(1);
    callbackEvent.queryStringParameters = Object.fromEntries(back.searchParams);
    const callback = responseOf(await invoke('Callback', callbackEvent));
    expect(callback.statusCode).toBe(302);
    const returned = new URL(callback.headers!.location);
    expect(returned.origin).toBe('https://app.acme-payroll.io');
    expect(returned.searchParams.get('status')).toBe('connected');
    const id = returned.searchParams.get('connection_id')!;
    const withId = (file: string) => JSON.parse(JSON.stringify(loadEvent(file)).replaceAll(SAMPLE_CONNECTION_ID, id));

    // The gateway's own handlers (npm start) see it: same table, same token key.
    const token = (await http('POST', `${stack.stack.apiUrl}/_local/token`, { body: { customer_id: 'acme' } })).json.token;
    const listed = await http('GET', `${stack.stack.apiUrl}/connections`, { token });
    expect(listed.json.connections.map((row: { connection_id: string }) => row.connection_id)).toContain(id);

    // Refresh asks the emulator with the token the callback bundle encrypted: it decrypts.
    const got = responseOf(await invoke('ConnectionsFunction', withId('connection-get.json')));
    expect(got.statusCode).toBe(200);
    expect(bodyOf(got)).toMatchObject({ connection_id: id, customer_id: 'acme', status: 'connected' });
    const company = responseOf(await invoke('FinchProxyFunction', withId('finch-proxy-company.json')));
    expect(company.statusCode).toBe(200);
    expect(bodyOf(company).legal_name).toEqual(expect.any(String));
    const gone = responseOf(await invoke('ConnectionsFunction', withId('connection-delete.json')));
    expect(gone.statusCode).toBe(204);
    const trail = responseOf(await invoke('ConnectionsFunction', withId('connection-audit.json')));
    expect(trail.statusCode).toBe(200);
    expect(bodyOf(trail).entries.map((entry: { action: string }) => entry.action)).toEqual(expect.arrayContaining(['code_exchanged', 'connection_stored', 'refreshed', 'disconnected']));

    // Every Finch call of this file came from a minified bundle (no keepNames), where the SDK's
    // class-name-derived User-Agent would be a letter or two: the one set explicitly arrived.
    const emulator = (await http('GET', `${stack.stack.finchUrl}/_emulator/state`)).json;
    expect(emulator.user_agents).toEqual([`Finch/JS ${FINCH_SDK_VERSION}`]);
  });
});

describe('what sam local invoke would do with the same template', () => {
  test('without --env-vars CALLBACK_URL resolves empty (an API endpoint attribute SAM cannot resolve) and the function refuses to start', async () => {
    const prepared = await prepareInvocation({ functionName: 'CallbackFunction', templateFile, shell: shell(), sam: true });
    expect(prepared.env.CALLBACK_URL).toBe('');
    expect(prepared.env.TABLE_NAME).toMatch(/^ConnectionsTable[0-9A-F]{8}$/);
    expect(prepared.env.KMS_KEY_ARN).toMatch(/^arn:aws:lambda:us-east-1:123456789012:function:TokenKey/);
    expect(prepared.env.AWS_LAMBDA_FUNCTION_NAME).toBe(prepared.fn.logicalId);
    expect(prepared.env).not.toHaveProperty('DYNAMODB_ENDPOINT');
    const outcome = await runInvocation(prepared, loadEvent('callback-result.json'), collectLogs);
    expect(outcome.phase).toBe('init');
    expect(outcome.error).toMatchObject({ errorType: 'ConfigError', errorMessage: expect.stringContaining('CALLBACK_URL') });
  });

  test('with events/env.json the result page renders (it touches no AWS service)', async () => {
    const outcome = await invoke('CallbackFunction', loadEvent('callback-result.json'), { sam: true, envVarsFile: join(EVENTS_DIR, 'env.json') });
    expect(responseOf(outcome).statusCode).toBe(200);
  });

  test('events/env.json is what --print-env-vars gives for npm start on its default ports', async () => {
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
    const secrets = JSON.parse(readFileSync(join(stack.stateDir, 'secrets.json'), 'utf8'));
    const defaults = { apiUrl: 'http://127.0.0.1:3000', finchUrl: 'http://127.0.0.1:4010', dynamodbEndpoint: 'http://127.0.0.1:8000', tableName: 'finch-connections-local', secrets };
    const { envVars } = await localStackEnvironment(template, templateFunctions(template, templateFile), defaults, {});
    expect(JSON.parse(readFileSync(join(EVENTS_DIR, 'env.json'), 'utf8'))).toEqual(envVars);
  });
});

describe('the command line', () => {
  test('npm run invoke -- Callback events/callback-redirect.json prints the response on stdout, the logical id SAM needs on stderr', async () => {
    const result = await run('npm', ['run', '-s', 'invoke', '--', 'Callback', 'events/callback-redirect.json', '--template', templateFile], { ...shell(), HOME: process.env.HOME });
    expect(result.code).toBe(0);
    const response = JSON.parse(result.stdout) as Response;
    expect(response.statusCode).toBe(400);
    expect(result.stderr).toMatch(/sam local invoke names this function FunctionsCallbackCallbackFunction[0-9A-F]{8}/);
  });

  test('an unknown function lists the template\'s functions, exit status 2', async () => {
    const result = await run('npm', ['run', '-s', 'invoke', '--', 'NoSuchFunction', 'events/webhook.json', '--template', templateFile], { ...shell(), HOME: process.env.HOME });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no function NoSuchFunction/);
    expect(result.stderr).toMatch(/FunctionsWebhookWebhookFunction[0-9A-F]{8} {2}\(WebhookFunction, Webhook\)/);
  });
});
