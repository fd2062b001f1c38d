// Our KMS and Secrets Manager clients (functions/adapters/aws-json) against the generated
// @aws-sdk/client-kms and @aws-sdk/client-secrets-manager they were copied from, installed as
// devDependencies for this: the same operation schemas, the same endpoint for every partition and
// option, the same bytes on the wire (SigV4 signature included), and the same answers and errors,
// retries counted, for each kind of reply KMS and Secrets Manager document
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
import { CREDENTIALS, type Call, explicitConfig, INVOCATION_ID, outcome, revive } from '../support/aws-json-probe.js';

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

/** Answers by the call's KeyId / SecretId (`answer:<name>`); remembers every request it got. */
const ANSWERS: Record<string, { status: number; body: object; headers?: Record<string, string> }> = {
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
        const answer = ANSWERS[(id.KeyId ?? id.SecretId ?? '').replace('answer:', '')] ?? ANSWERS['unknown-type'];
        response.sendDate = false; // no Date header: the SDK would correct its clock by it
        response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1', ...answer.headers });
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

  /** The generated clients, in this process: configured in code, or (`lambda`) by `env` alone. */
  async function sendGenerated(calls: Call[], env?: Record<string, string>): Promise<unknown[]> {
    const saved = { ...process.env };
    if (env) {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') || name.startsWith('_X_AMZN')) delete process.env[name];
      Object.assign(process.env, env);
    }
    const config = env ? {} : explicitConfig(endpoint);
    // The generated packages' CommonJS build (what jest loads) carries the version it was built
    // as, one behind its package.json (3.1163.0 in 3.1164.0); their ES build, which a bundle takes,
    // reads package.json. So their user agent is given the installed version, as in a bundle.
    const userAgent = (serviceId: string, pkg: string) => createDefaultUserAgentProvider({ serviceId, clientVersion: installedVersion(pkg) });
    const kmsClient = new kms.KMSClient({ ...config, defaultUserAgentProvider: userAgent('KMS', '@aws-sdk/client-kms') });
    const secrets = new secretsManager.SecretsManagerClient({ ...config, defaultUserAgentProvider: userAgent('Secrets Manager', '@aws-sdk/client-secrets-manager') });
    const clock = jest.spyOn(Date, 'now').mockReturnValue(NOW);
    const uuid = jest.spyOn(globalThis.crypto, 'randomUUID').mockReturnValue(INVOCATION_ID);
    try {
      const results = [];
      for (const { operation, input } of calls) {
        const revived = revive(input) as never;
        results.push(await outcome(() => operation === 'Encrypt' ? kmsClient.send(new kms.EncryptCommand(revived))
          : operation === 'Decrypt' ? kmsClient.send(new kms.DecryptCommand(revived))
            : secrets.send(new secretsManager.GetSecretValueCommand(revived))));
      }
      return results;
    } finally {
      clock.mockRestore();
      uuid.mockRestore();
      process.env = saved;
    }
  }

  // Asynchronously: the capture server answering it runs in this process.
  const sendOurs = async (calls: Call[], env?: Record<string, string>): Promise<unknown[]> => JSON.parse((await promisify(execFile)(
    process.execPath, [join(dir, 'probe.mjs'), env ? 'lambda' : endpoint, String(NOW), JSON.stringify(calls)], {
      encoding: 'utf8', timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), ...env },
    })).stdout) as unknown[];

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
    // What Lambda sets (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
    // and the SDK's service-specific endpoint and attempts variables
    // (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html, feature-retry-behavior.html).
    const env = {
      AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'finch-connections-callback',
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE', AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: 'session-token-example',
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      AWS_ENDPOINT_URL_KMS: endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_MAX_ATTEMPTS: '2',
    };
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
});
