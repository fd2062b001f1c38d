// The calls test/integration/aws-json.test.ts sends through both our KMS and Secrets Manager
// clients (functions/adapters/aws-json) and the generated @aws-sdk packages, and what each answer
// looks like once it is plain JSON. Our clients run from a production bundle in a child process
// (`node bundle.mjs <endpoint> <now>`), so they meet AWS's errors without the generated packages'
// classes registered, exactly as in Lambda.
import { DecryptCommand, EncryptCommand, KmsClient } from '../../functions/adapters/aws-json/kms.js';
import { GetSecretValueCommand, SecretsManagerClient } from '../../functions/adapters/aws-json/secrets-manager.js';

export type Operation = 'Encrypt' | 'Decrypt' | 'GetSecretValue';
/** What the capture server answers is chosen by the call's KeyId or SecretId (`answer:<name>`). */
export interface Call { operation: Operation; input: Record<string, unknown> }

/** The SDK's per-call `amz-sdk-invocation-id` (random, and signed), fixed so two sends sign alike. */
export const INVOCATION_ID = '00000000-0000-4000-8000-000000000000';
export const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

/** Buffers and dates as JSON can carry them; anything else as is. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return { date: value.toISOString() };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** The reverse of `plain` for inputs: `{base64}` back to bytes. */
export function revive(value: unknown): unknown {
  if (value && typeof value === 'object' && 'base64' in value) return Buffer.from((value as { base64: string }).base64, 'base64');
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  return value;
}

/** An answer or an error, reduced to what callers (our adapters, the retry strategy) can read. */
export async function outcome(send: () => Promise<unknown>): Promise<unknown> {
  try {
    return { output: plain(await send()) };
  } catch (error) {
    const e = error as Error & { $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string }; $retryable?: unknown };
    return {
      error: {
        name: e.name, message: e.message, fault: e.$fault, retryable: e.$retryable ?? null,
        status: e.$metadata?.httpStatusCode, attempts: e.$metadata?.attempts, requestId: e.$metadata?.requestId,
      },
    };
  }
}

/** The configuration given in code; `lambda` gives none, so everything comes from the environment as in Lambda. */
export const explicitConfig = (endpoint: string) => ({ region: 'us-east-1', endpoint, credentials: CREDENTIALS, maxAttempts: 3 });

/** A logger keeping, as JSON can carry it, what the SDK gives it (`log` mode; ours log nothing by default). */
export function recordingLogger(log: unknown[]) {
  const keep = (level: string) => (...args: unknown[]) => { log.push([level, ...args.map(plain)]); };
  return { trace: keep('trace'), debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** Sends each call through our clients (the child process's side), given `log` with a logger keeping into it. */
export async function sendOurs(endpoint: string, calls: Call[], log?: unknown[]): Promise<unknown[]> {
  const config = { ...(endpoint === 'lambda' ? {} : explicitConfig(endpoint)), ...(log && { logger: recordingLogger(log) }) };
  const kms = new KmsClient(config);
  const secrets = new SecretsManagerClient(config);
  return sendEach(calls, {
    Encrypt: (input) => kms.send(new EncryptCommand(input)),
    Decrypt: (input) => kms.send(new DecryptCommand(input)),
    GetSecretValue: (input) => secrets.send(new GetSecretValueCommand(input)),
  });
}

/** Each call, in order, through the sender of its operation (ours or the generated clients), as its outcome. */
export async function sendEach(calls: Call[], senders: Record<Operation, (input: never) => Promise<unknown>>): Promise<unknown[]> {
  const results = [];
  for (const { operation, input } of calls) results.push(await outcome(() => senders[operation](revive(input) as never)));
  return results;
}

// As a bundle's entry: `node bundle.mjs <endpoint|lambda> <now ms> <calls JSON> [log]`, the results on
// stdout (with `log`: the results and what the logger was given, `{ results, log }`).
if (process.argv[1]?.endsWith('probe.mjs')) {
  const [endpoint, now, calls, mode] = process.argv.slice(2);
  Date.now = () => Number(now);
  globalThis.crypto.randomUUID = () => INVOCATION_ID;
  const log = mode === 'log' ? [] : undefined;
  const results = await sendOurs(endpoint, JSON.parse(calls) as Call[], log);
  process.stdout.write(JSON.stringify(log ? { results, log } : results));
}
