// Our KMS and Secrets Manager clients (functions/adapters/aws-json) against the generated
// @aws-sdk/client-kms and @aws-sdk/client-secrets-manager they were copied from, installed as
// devDependencies for this: the same operation schemas, the same endpoint for every partition and
// option, the same configuration resolved from Lambda's environment, the same bytes on the wire
// (SigV4 signature included, corrected for a server's clock), the same log given a logger, and the
// same answers and errors, retries counted, for each kind of reply KMS and Secrets Manager document
// (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html,
// https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html#API_Decrypt_Errors,
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Errors).
// Ours run from a production-settings bundle in a child process, where no generated error class
// is registered (as in Lambda); that bundle must not contain the generated packages.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import * as kms from '@aws-sdk/client-kms';
import { createDefaultUserAgentProvider } from '@aws-sdk/core/client';
import * as secretsManager from '@aws-sdk/client-secrets-manager';
import { jest } from '@jest/globals';
import { build } from 'esbuild';
import { loadBundlingSettings } from '../../bench/bundling.js';
import { Decrypt$, Encrypt$, KmsClient } from '../../functions/adapters/aws-json/kms.js';
import { GetSecretValue$, SecretsManagerClient } from '../../functions/adapters/aws-json/secrets-manager.js';
import { CREDENTIALS, type Call, explicitConfig, INVOCATION_ID, recordingLogger, sendEach } from '../support/aws-json-probe.js';

const REPO_ROOT = new URL('../..', import.meta.url).pathname;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const installedVersion = (pkg: string) => (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** A schema with its thunks called, so two copies compare as data. */
function resolved(schema: unknown, seen = 0): unknown {
  if (seen > 8) return '…';
  if (typeof schema === 'function') return resolved(schema(), seen + 1);
  if (Array.isArray(schema)) return schema.map((part) => resolved(part, seen + 1));
  return schema;
}

/**
 * Runs `body` with the process's AWS variables replaced by `env` (none: as they are), then puts
 * them back, in place: the SDK's modules keep `process.env`'s object (the user agent reads
 * AWS_EXECUTION_ENV from it), so it must not be swapped for a copy.
 */
async function withEnv<T>(env: Record<string, string> | undefined, body: () => Promise<T>): Promise<T> {
  if (!env) return body();
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') || name.startsWith('_X_AMZN')) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

describe('our AWS JSON clients are the generated ones, for what we call', () => {
  test.each([
    ['KMS Encrypt', Encrypt$, kms.Encrypt$],
    ['KMS Decrypt', Decrypt$, kms.Decrypt$],
    ['Secrets Manager GetSecretValue', GetSecretValue$, secretsManager.GetSecretValue$],
  ])('%s: the same operation schema (input, output, sensitive members)', (_name, ours, generated) => {
    expect(resolved(ours)).toEqual(resolved(generated));
  });

  test.each([
    ['KMS', new KmsClient({ region: 'us-east-1' }), new kms.KMSClient({ region: 'us-east-1' }), '@aws-sdk/client-kms'],
    ['Secrets Manager', new SecretsManagerClient({ region: 'us-east-1' }), new secretsManager.SecretsManagerClient({ region: 'us-east-1' }), '@aws-sdk/client-secrets-manager'],
  ])('%s: the same service settings, and the version they were copied from is the one installed', (_name, ours, generated, pkg) => {
    const pick = (config: any) => ({
      serviceId: config.serviceId, apiVersion: config.apiVersion, signingName: config.defaultSigningName,
      protocol: config.protocol.constructor.name,
      settings: { ...config.protocolSettings, errorTypeRegistries: undefined },
    });
    expect(pick(ours.config)).toEqual(pick(generated.config));
    expect((ours as KmsClient).service.clientVersion).toBe(installedVersion(pkg));
  });

  test.each([
    ['KMS', () => new KmsClient({}), () => new kms.KMSClient({})],
    ['Secrets Manager', () => new SecretsManagerClient({}), () => new secretsManager.SecretsManagerClient({})],
  ])('%s, configured by Lambda\'s environment alone, with or without the SDK\'s settings: the same configuration resolved (retries, endpoint options, defaults mode, HTTP timeouts), the same destroy()', async (_name, makeOurs, makeGenerated) => {
    // What can only be seen in the configuration: the HTTP handler's timeouts (defaults mode auto:
    // in-region in Lambda, https://docs.aws.amazon.com/sdkref/latest/guide/feature-smart-config-defaults.html;
    // the SDK's opt-in default socket timeout). The clock is frozen for the adaptive rate limiter's timestamps.
    const lambda = {
      AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_LAMBDA_FUNCTION_NAME: 'finch-connections-callback',
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: 'session-token-example',
      AWS_CONFIG_FILE: join(tmpdir(), 'aws-json-none'), AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'aws-json-none'),
    };
    const settings = {
      ...lambda, AWS_DEFAULTS_MODE: 'auto', AWS_RETRY_MODE: 'adaptive', AWS_MAX_ATTEMPTS: '5', AWS_USE_FIPS_ENDPOINT: 'true', AWS_USE_DUALSTACK_ENDPOINT: 'true',
      AWS_SDK_UA_APP_ID: 'finch-connections', AWS_AUTH_SCHEME_PREFERENCE: 'sigv4', AWS_ENABLE_DEFAULT_SOCKET_TIMEOUT_2026: 'true',
    };
    // Providers resolved, the HTTP handler by its resolved options, functions as such, the rest as JSON has it.
    const PROVIDERS = ['authSchemePreference', 'credentials', 'defaultsMode', 'disableClockSkewCorrection', 'maxAttempts', 'region', 'retryMode',
      'retryStrategy', 'useDualstackEndpoint', 'useFipsEndpoint', 'userAgentAppId'];
    const asJson = (value: unknown) => JSON.parse(JSON.stringify(value, (_key, part: unknown) => (typeof part === 'function' ? 'function' : part)) ?? 'null') as unknown;
    const resolvedConfig = async (config: Record<string, any>) => Object.fromEntries(await Promise.all(Object.entries(config)
      .filter(([key]) => key !== 'protocolSettings') // compared above, but for the error registries
      .map(async ([key, value]) => [key,
        PROVIDERS.includes(key) ? asJson(await value())
          : key === 'requestHandler' ? [value.constructor.name, asJson(await value.configProvider)]
            : key === 'protocol' || key === 'logger' ? value.constructor.name
              : asJson(value)])));
    const clock = jest.spyOn(Date, 'now').mockReturnValue(NOW);
    try {
      const resolved = [];
      for (const env of [lambda, settings]) {
        resolved.push(await withEnv(env, async () => {
          const clients = [makeOurs(), makeGenerated()];
          const [ours, generated] = clients.map((client) => client.config as Record<string, any>);
          expect(Object.keys(ours).sort()).toEqual(Object.keys(generated).sort());
          const [oursResolved, generatedResolved] = [await resolvedConfig(ours), await resolvedConfig(generated)];
          expect(oursResolved).toEqual(generatedResolved);
          // destroy(): the generated client's calls Client's, which destroys the HTTP handler (its sockets).
          for (const client of clients) {
            const destroy = jest.spyOn(client.config.requestHandler as { destroy(): void }, 'destroy');
            client.destroy();
            expect(destroy).toHaveBeenCalledTimes(1);
          }
          return oursResolved;
        }));
      }
      // The settings were read.
      expect(resolved.map((config) => [config.retryMode, config.useFipsEndpoint, config.requestHandler[1].connectionTimeout, config.defaultSocketTimeout]))
        .toEqual([['standard', false, undefined, null], ['adaptive', true, 1100, 300_000]]);
    } finally {
      clock.mockRestore();
    }
  });

  const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-7', 'cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'mars-north-1', undefined];
  const grid = REGIONS.flatMap((Region) => [false, true].flatMap((UseFIPS) => [false, true].flatMap((UseDualStack) =>
    [undefined, 'https://vpce-0123.kms.us-east-1.vpce.amazonaws.com'].map((Endpoint) => ({ Region, UseFIPS, UseDualStack, Endpoint })))));
  test.each([
    ['KMS', new KmsClient({ region: 'us-east-1' }), new kms.KMSClient({ region: 'us-east-1' }), 'https://kms.cn-north-1.amazonaws.com.cn/'],
    ['Secrets Manager', new SecretsManagerClient({ region: 'us-east-1' }), new secretsManager.SecretsManagerClient({ region: 'us-east-1' }), 'https://secretsmanager.cn-north-1.amazonaws.com.cn/'],
  ])(`%s: the same endpoint (or refusal) for ${grid.length} regions and options`, (_name, ours, generated, china) => {
    const resolve = (client: any, params: object) => {
      try { return String(client.config.endpointProvider(params).url); } catch (error) { return `refused: ${(error as Error).message}`; }
    };
    const differing = grid.filter((params) => resolve(ours, params) !== resolve(generated, params));
    expect(differing).toEqual([]);
    expect(resolve(ours, { Region: 'cn-north-1', UseFIPS: false, UseDualStack: false })).toBe(china);
  });
});

/**
 * What the capture server answers. `serverTime`: the server's clock, sent as its Date header (the
 * others send none, since the SDK corrects its clock by it); `inTime`: the answer given instead to
 * a request signed at that time, as AWS accepts a signature within 5 minutes of its own clock.
 */
interface Answer { status: number; body: object; headers?: Record<string, string>; serverTime?: number; inTime?: string }
const HOUR = 3_600_000;
/** SigV4's X-Amz-Date for a time. */
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

/** Answers by the call's KeyId / SecretId (`answer:<name>`); remembers every request it got. */
const ANSWERS: Record<string, Answer> = {
  encrypted: { status: 200, body: { CiphertextBlob: Buffer.from('blob').toString('base64'), KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } },
  decrypted: { status: 200, body: { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', Plaintext: Buffer.from('token').toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } },
  secret: { status: 200, body: { ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:finch-AbCdEf', Name: 'finch', VersionId: 'v1', SecretString: '{"client_id":"c"}', VersionStages: ['AWSCURRENT'], CreatedDate: 1.764e9 } },
  // Modelled errors, as JSON 1.1 services send them: __type, sometimes with its namespace.
  'invalid-ciphertext': { status: 400, body: { __type: 'InvalidCiphertextException', message: 'The ciphertext is invalid.' } },
  'incorrect-key': { status: 400, body: { __type: 'com.amazonaws.kms#IncorrectKeyException', message: 'The key is not the one the ciphertext was made with.' } },
  'kms-internal': { status: 500, body: { __type: 'KMSInternalException', message: 'internal' } },
  'not-found': { status: 400, body: { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." } },
  // Common errors no operation models: throttling (retried with backoff), access denied, and a
  // reply without a body at all; then an error type neither package knows.
  throttled: { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } },
  denied: { status: 400, body: { __type: 'AccessDeniedException', Message: 'not authorized to perform kms:Decrypt' } },
  'service-unavailable': { status: 503, body: {} },
  'header-only': { status: 400, body: {}, headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/' } },
  'unknown-type': { status: 400, body: { __type: 'com.amazonaws.kms#SomethingNewException', message: 'new' } },
  // A clock off by more than 5 minutes, as AWS refuses it (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html,
  // InvalidSignatureException): KMS an hour ahead, then an hour behind; any error (here access
  // denied) or answer whose Date is far off corrects the SDK's clock too.
  'skewed-ahead': {
    status: 400, serverTime: NOW + HOUR, inTime: 'decrypted',
    body: { __type: 'InvalidSignatureException', message: `Signature expired: ${amzDate(NOW)} is now earlier than ${amzDate(NOW + HOUR - 300_000)} (${amzDate(NOW + HOUR)} - 5 min.)` },
  },
  'skewed-behind': {
    status: 400, serverTime: NOW - HOUR, inTime: 'decrypted',
    body: { __type: 'InvalidSignatureException', message: `Signature not yet current: ${amzDate(NOW + HOUR)} is still later than ${amzDate(NOW - HOUR + 300_000)} (${amzDate(NOW - HOUR)} + 5 min.)` },
  },
  'denied-skewed': { status: 400, serverTime: NOW + 2 * HOUR, body: { __type: 'AccessDeniedException', Message: 'not authorized to perform kms:Decrypt' } },
  'decrypted-dated': { status: 200, serverTime: NOW + HOUR / 2, body: { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k', Plaintext: Buffer.from('token').toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } },
};

interface Captured { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }

async function capture(request: IncomingMessage): Promise<Captured> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return { method: request.method!, url: request.url!, headers: { ...request.headers }, body: Buffer.concat(chunks).toString('utf8') };
}

const CALLS: Call[] = [
  { operation: 'Encrypt', input: { KeyId: 'answer:encrypted', Plaintext: { base64: Buffer.from('token').toString('base64') }, EncryptionContext: { purpose: 'access_token', customer_id: 'c', connection_id: 'n' } } },
  { operation: 'Decrypt', input: { KeyId: 'answer:decrypted', CiphertextBlob: { base64: Buffer.from('blob').toString('base64') }, EncryptionContext: { purpose: 'access_token' } } },
  { operation: 'GetSecretValue', input: { SecretId: 'answer:secret' } },
  ...['invalid-ciphertext', 'incorrect-key', 'kms-internal', 'throttled', 'denied', 'service-unavailable', 'header-only', 'unknown-type'].map((answer): Call => ({
    operation: 'Decrypt', input: { KeyId: `answer:${answer}`, CiphertextBlob: { base64: 'AAAA' }, EncryptionContext: { purpose: 'access_token' } },
  })),
  ...['not-found', 'throttled', 'service-unavailable'].map((answer): Call => ({ operation: 'GetSecretValue', input: { SecretId: `answer:${answer}` } })),
];

describe('our AWS JSON clients on the wire, against the generated ones', () => {
  let server: Server;
  let endpoint: string;
  let dir: string;
  const requests: Captured[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      void capture(request).then((captured) => {
        requests.push(captured);
        const id = (JSON.parse(captured.body || '{}') as { KeyId?: string; SecretId?: string });
        let answer = ANSWERS[(id.KeyId ?? id.SecretId ?? '').replace('answer:', '')] ?? ANSWERS['unknown-type'];
        const date = answer.serverTime === undefined ? {} : { date: new Date(answer.serverTime).toUTCString() };
        if (answer.inTime && captured.headers['x-amz-date'] === amzDate(answer.serverTime!)) answer = ANSWERS[answer.inTime];
        response.sendDate = false; // no Date header but the answer's own: the SDK corrects its clock by it
        response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1', ...date, ...answer.headers });
        response.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'aws-json-'));
    await build({
      ...loadBundlingSettings().options, entryPoints: [join(REPO_ROOT, 'test/support/aws-json-probe.ts')],
      outfile: join(dir, 'probe.mjs'), metafile: true, sourcemap: false, logLevel: 'error',
    }).then(({ metafile }) => {
      // The point of our clients: the generated packages are not in a bundle that uses them.
      expect(Object.keys(metafile!.inputs).filter((path) => /client-(kms|secrets-manager)\//.test(path))).toEqual([]);
    });
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The generated clients, in this process: configured in code, or (`lambda`) by `env` alone; given `log`, with a logger keeping into it. */
  async function sendGenerated(calls: Call[], env?: Record<string, string>, log?: unknown[]): Promise<unknown[]> {
    return withEnv(env, () => sendGeneratedHere(calls, env ? {} : explicitConfig(endpoint), log));
  }

  /** The generated clients, in this process as it is, with the configuration `given`. */
  async function sendGeneratedHere(calls: Call[], given: object, log?: unknown[]): Promise<unknown[]> {
    const config = { ...given, ...(log && { logger: recordingLogger(log) }) };
    // The generated packages' CommonJS build (what jest loads) carries the version it was built
    // as, one behind its package.json (3.1163.0 in 3.1164.0); their ES build, which a bundle takes,
    // reads package.json. So their user agent is given the installed version, as in a bundle.
    const userAgent = (serviceId: string, pkg: string) => createDefaultUserAgentProvider({ serviceId, clientVersion: installedVersion(pkg) });
    const kmsClient = new kms.KMSClient({ ...config, defaultUserAgentProvider: userAgent('KMS', '@aws-sdk/client-kms') });
    const secrets = new secretsManager.SecretsManagerClient({ ...config, defaultUserAgentProvider: userAgent('Secrets Manager', '@aws-sdk/client-secrets-manager') });
    const clock = jest.spyOn(Date, 'now').mockReturnValue(NOW);
    const uuid = jest.spyOn(globalThis.crypto, 'randomUUID').mockReturnValue(INVOCATION_ID);
    try {
      return await sendEach(calls, {
        Encrypt: (input) => kmsClient.send(new kms.EncryptCommand(input)),
        Decrypt: (input) => kmsClient.send(new kms.DecryptCommand(input)),
        GetSecretValue: (input) => secrets.send(new secretsManager.GetSecretValueCommand(input)),
      });
    } finally {
      clock.mockRestore();
      uuid.mockRestore();
    }
  }

  // Asynchronously: the capture server answering it runs in this process.
  const sendOurs = async (calls: Call[], env?: Record<string, string>, log?: unknown[]): Promise<unknown[]> => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath, [join(dir, 'probe.mjs'), env ? 'lambda' : endpoint, String(NOW), JSON.stringify(calls), ...(log ? ['log'] : [])], {
        encoding: 'utf8', timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), ...env },
      });
    // Nothing but the results: no logger but the SDK's NoOpLogger (which writes nothing) unless given one, no warning.
    expect(stderr).toBe('');
    if (!log) return JSON.parse(stdout) as unknown[];
    const parsed = JSON.parse(stdout) as { results: unknown[]; log: unknown[] };
    log.push(...parsed.log);
    return parsed.results;
  };

  /** What Lambda sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
   * and the SDK's service-specific endpoint and attempts variables
   * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html, feature-retry-behavior.html). */
  const lambdaEnv = (): Record<string, string> => ({
    AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'finch-connections-callback',
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: 'session-token-example',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_ENDPOINT_URL_KMS: endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_MAX_ATTEMPTS: '2',
  });

  /** What may differ between two sends of one call: the retry delays' jitter. */
  const withoutJitter = (result: any) => (result.output?.$metadata ? { output: { ...result.output, $metadata: { ...result.output.$metadata, totalRetryDelay: undefined } } } : result);

  test('every call sends the same request (headers, signature, body) and gets the same answer or error, after the same retries', async () => {
    requests.length = 0;
    const generated = (await sendGenerated(CALLS)).map(withoutJitter);
    const generatedRequests = requests.splice(0);
    const ours = (await sendOurs(CALLS)).map(withoutJitter);
    const ourRequests = requests.splice(0);

    expect(ourRequests.length).toBeGreaterThan(CALLS.length); // the throttled and 5xx answers were retried
    expect(ourRequests).toEqual(generatedRequests);
    expect(ours).toEqual(generated);
    // What the adapters and the retry strategy read (functions/adapters/aws-errors.ts): the error's
    // name, fault and status; throttling and 5xx retried to maxAttempts, the rest not.
    expect(ours.map((result: any) => (result.error ? [result.error.name, result.error.fault, result.error.status, result.error.attempts] : 'ok'))).toEqual([
      'ok', 'ok', 'ok',
      ['InvalidCiphertextException', 'client', 400, 1], ['IncorrectKeyException', 'client', 400, 1], ['KMSInternalException', 'server', 500, 3],
      ['ThrottlingException', 'client', 400, 3], ['AccessDeniedException', 'client', 400, 1], ['Unknown', 'server', 503, 3],
      ['ValidationException', 'client', 400, 1], ['SomethingNewException', 'client', 400, 1],
      ['ResourceNotFoundException', 'client', 400, 1], ['ThrottlingException', 'client', 400, 3], ['Unknown', 'server', 503, 3],
    ]);
  }, 60_000);

  test('configured by Lambda\'s environment alone (region, credentials with a session token, endpoint, attempts, trace id), the same requests and answers', async () => {
    const env = lambdaEnv();
    const calls = [CALLS[0], CALLS[1], CALLS[2], CALLS.find((call) => call.input.KeyId === 'answer:throttled')!];
    requests.length = 0;
    const generated = (await sendGenerated(calls, env)).map(withoutJitter);
    const generatedRequests = requests.splice(0);
    const ours = (await sendOurs(calls, env)).map(withoutJitter);
    const ourRequests = requests.splice(0);

    expect(ourRequests).toEqual(generatedRequests);
    expect(ours).toEqual(generated);
    // The environment was read: the region signed, the session token sent, the trace id passed on, two attempts.
    expect(ourRequests[0].headers.authorization).toContain('/eu-west-1/kms/aws4_request');
    expect(ourRequests[0].headers['x-amz-security-token']).toBe('session-token-example');
    expect(ourRequests[0].headers['x-amzn-trace-id']).toBe(env._X_AMZN_TRACE_ID);
    expect((ours[3] as any).error).toMatchObject({ name: 'ThrottlingException', attempts: 2 });
  }, 60_000);

  const decrypt = (answer: string): Call => ({ operation: 'Decrypt', input: { KeyId: `answer:${answer}`, CiphertextBlob: { base64: 'AAAA' }, EncryptionContext: { purpose: 'access_token' } } });

  test('a server clock far off (the Date of an error or of an answer): the same corrected signing times, retries and answers', async () => {
    // On one KMS client: refused by KMS's clock an hour ahead, then an hour behind, each retried
    // signed at KMS's time; a later call signed at the corrected time; an answer's Date corrects it
    // too; an error other than a signature's, retried once at the corrected time. Then Secrets
    // Manager, whose client keeps its own clock.
    const calls = [decrypt('skewed-ahead'), CALLS[0], decrypt('skewed-behind'), decrypt('decrypted-dated'), CALLS[0], decrypt('denied-skewed'), CALLS[2]];
    requests.length = 0;
    const generated = (await sendGenerated(calls)).map(withoutJitter);
    const generatedRequests = requests.splice(0);
    const ours = (await sendOurs(calls)).map(withoutJitter);
    const ourRequests = requests.splice(0);

    expect(ourRequests).toEqual(generatedRequests);
    expect(ours).toEqual(generated);
    expect(ourRequests.map((request) => request.headers['x-amz-date'])).toEqual([
      NOW, NOW + HOUR, NOW + HOUR, NOW + HOUR, NOW - HOUR, NOW - HOUR, NOW + HOUR / 2, NOW + HOUR / 2, NOW + 2 * HOUR, NOW,
    ].map(amzDate));
    expect(ours.map((result: any) => (result.error ? [result.error.name, result.error.attempts] : result.output.$metadata.attempts)))
      .toEqual([2, 1, 2, 1, 1, ['AccessDeniedException', 2], 1]);
  }, 60_000);

  test('Lambda\'s environment with the SDK\'s other settings (execution environment, app id, adaptive retries, defaults mode auto), the same requests and answers; FIPS or dual-stack asked for, the same refusal', async () => {
    // https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html, feature-smart-config-defaults.html,
    // feature-appid.html, feature-endpoints.html (FIPS and dual-stack, which a custom endpoint excludes). Adaptive
    // retries meet no throttling here: with the clock frozen for signing, their rate limiter would wait forever.
    const settings = {
      ...lambdaEnv(), AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_SDK_UA_APP_ID: 'finch-connections', AWS_RETRY_MODE: 'adaptive', AWS_DEFAULTS_MODE: 'auto',
    };
    const fips = { ...lambdaEnv(), AWS_USE_FIPS_ENDPOINT: 'true' };
    const dualStack = { ...lambdaEnv(), AWS_USE_DUALSTACK_ENDPOINT: 'true' };
    const calls = [CALLS[0], CALLS[2], CALLS.find((call) => call.input.SecretId === 'answer:service-unavailable')!];
    requests.length = 0;
    const generated = [];
    for (const env of [settings, fips, dualStack]) generated.push((await sendGenerated(calls, env)).map(withoutJitter));
    const generatedRequests = requests.splice(0);
    const ours = await Promise.all([settings, fips, dualStack].map(async (env) => (await sendOurs(calls, env)).map(withoutJitter)));
    const ourRequests = requests.splice(0);

    expect(ourRequests).toEqual(generatedRequests);
    expect(ours).toEqual(generated);
    // The settings were read: the user agent names Lambda, the app and adaptive retries (business metric F); the 503 retried once.
    expect(ourRequests[0].headers['user-agent']).toMatch(/ exec-env\/AWS_Lambda_nodejs22\.x .*m\/[A-Za-z,]*F.* app\/finch-connections/);
    expect(ours[0].map((result: any) => result.output?.$metadata.attempts ?? result.error.attempts)).toEqual([1, 1, 2]);
    expect(ours.slice(1).map((results) => results.map((result: any) => result.error?.message))).toEqual([
      Array(3).fill('Invalid Configuration: FIPS and custom endpoint are not supported'),
      Array(3).fill('Invalid Configuration: Dualstack and custom endpoint are not supported'),
    ]);
  }, 60_000);

  test('given a logger, the same entries (the sensitive members hidden); given none, nothing written', async () => {
    // Given none, every case's child writes nothing but its results (sendOurs).
    // A region no other case uses: the generated packages cache resolved endpoints in their module
    // scope, ours per client, so each evaluates (and logs) the rules once here. The property
    // provider names what it did not find from its selector's source, which the bundle minifies.
    const env: Record<string, string> = { ...lambdaEnv(), AWS_REGION: 'eu-south-2', AWS_DEFAULT_REGION: 'eu-south-2' };
    const calls = [CALLS[0], CALLS[1], CALLS[2], decrypt('invalid-ciphertext'), decrypt('throttled')];
    const generatedLog: unknown[] = [], ourLog: unknown[] = [];
    const generated = (await sendGenerated(calls, env, generatedLog)).map(withoutJitter);
    const ours = (await sendOurs(calls, env, ourLog)).map(withoutJitter);
    const comparable = (log: unknown[]) => JSON.parse(JSON.stringify(log)
      .replace(/(Not found in [^:"]*): [^"]*/g, '$1: …').replace(/"totalRetryDelay":\d+/g, '"totalRetryDelay":0')) as unknown[];

    expect(ours).toEqual(generated);
    expect(comparable(ourLog)).toEqual(comparable(generatedLog));
    // Neither the token encrypted and decrypted, nor the secret, nor the credentials: the schemas' sensitive members are hidden.
    const written = JSON.stringify(ourLog);
    expect(written.match(/\*\*\*SensitiveInformation\*\*\*/g)).toHaveLength(3);
    for (const secret of [Buffer.from('token').toString('base64'), 'client_id', CREDENTIALS.secretAccessKey, env.AWS_SESSION_TOKEN]) expect(written).not.toContain(secret);
  }, 60_000);
});
