// Records every AWS call each function makes while the integration and e2e tests run, as IAM will
// see it: the action, the resource (table, index, token key, Finch secret), the partition key
// values (`dynamodb:LeadingKeys`) and the KMS encryption context. test/infra/check-recorded-calls.ts
// then asks the synthesized stack's policies whether each one is allowed (deploy truth: DynamoDB
// Local checks no IAM).
//
// Where: SDK middleware on the container's own DynamoDB client (a document client shares its
// client's stack; bench/counting.ts counts round trips the same way). Locally there is no KMS or
// Secrets Manager client, so the calls the real adapters would make are recorded where they would
// be made: the container's ContextCipher (its context is the KMS encryption context KmsCipher
// sends) and the Finch credentials source's get() (one GetSecretValue). With real clients
// (KMS_KEY_ARN, FINCH_SECRET_ARN) their middleware records too: the recorder makes them (the
// containers make them at their first call), and the container's adapters use the same ones.
//
// Which function: create-session, callback, connections and webhook share the `app` container,
// and the harness runs them side by side in one process, so each invocation runs inside
// `invokeAs(function, …)` (AsyncLocalStorage); reauthenticate (`sessionApp`) and finch-proxy
// (`dataApp`) have containers of their own. A call outside any invocation (a test calling the store itself) is recorded
// with `function: null`; the check counts those and evaluates none.
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AwsClients } from '#adapters/container.js';
import type { FinchCredentialsSource } from '#adapters/secrets.js';
import { LIST_INDEX, RECONCILE_INDEX, TABLE_KEYS } from '#adapters/table.js';
import type { ContextCipher } from '#adapters/token-cipher.js';
import type { FunctionName, LambdaName } from '../../lib/routes.js';

/** Set by global-setup.ts: the run's folder of records, one JSON line a call. Unset: nothing is recorded. */
export const CALLS_DIR_VARIABLE = 'AWS_CALLS_DIR';
/** Names the test file that started a local stack (test/e2e/stack-process.ts), for the records the stack writes. */
export const CALLS_SOURCE_VARIABLE = 'AWS_CALLS_SOURCE';

export type RecordedResource =
  /** `own`: the function's configured table (TABLE_NAME), which is the stack's table once deployed. */
  | { kind: 'table'; name: string; own: boolean; index?: string }
  | { kind: 'key'; id: string; own: boolean }
  | { kind: 'secret'; id: string; own: boolean }
  /** `own`: the function's configured bus (EVENT_BUS_NAME), which is the stack's bus once deployed. */
  | { kind: 'bus'; name: string; own: boolean }
  /** `own`: enrich-company's configured queue (ENRICHMENT_QUEUE_URL), the stack's enrichment queue once deployed. */
  | { kind: 'queue'; url: string; own: boolean };

export interface RecordedCall {
  /** Any Lambda of the stack: the route table's, `events`, `enrich-company` or `reconcile`. */
  function: LambdaName | null;
  /** The IAM action: `dynamodb:PutItem`, `kms:Decrypt`, `secretsmanager:GetSecretValue`. */
  action: string;
  resource: RecordedResource;
  /** The partition key values the request names (`dynamodb:LeadingKeys`); absent for a Scan, null when unreadable. */
  leadingKeys?: string[] | null;
  encryptionContext?: Record<string, string>;
  /** The call an item action was part of (`dynamodb:EnclosingOperation`), e.g. TransactWriteItems. */
  enclosingOperation?: string;
  /** The test file (or local stack) that made the call. */
  source: string;
}

const invocations = new AsyncLocalStorage<{ function: LambdaName }>();

/** Runs one invocation of `name`: every AWS call it makes is attributed to it. */
export function invokeAs<T>(name: LambdaName, invoke: () => T): T {
  return invocations.run({ function: name }, invoke);
}

const REPO_ROOT = new URL('../..', import.meta.url).pathname;
const written = new Set<string>();

function source(): string {
  const testPath = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.().testPath;
  if (testPath) return relative(REPO_ROOT, testPath);
  return process.env[CALLS_SOURCE_VARIABLE] ?? 'local stack';
}

function record(call: Omit<RecordedCall, 'function' | 'source'>, fallback: LambdaName | null): void {
  const dir = process.env[CALLS_DIR_VARIABLE];
  if (!dir) return;
  const line = JSON.stringify({ function: invocations.getStore()?.function ?? fallback, ...call, source: source() });
  // The same call again adds nothing to check.
  if (written.has(line)) return;
  written.add(line);
  appendFileSync(join(dir, `calls-${process.pid}.jsonl`), `${line}\n`);
}

/** The slice of a container (functions/adapters/container.ts) the recorder hooks into. */
export interface RecordableContainer {
  config: { TABLE_NAME: string; KMS_KEY_ARN?: string; FINCH_SECRET_ARN?: string };
  clients: AwsClients;
  /** Absent in reauthenticate's container, which holds no cipher. */
  contextCipher?: ContextCipher;
  deps: object;
}

const recording = new WeakSet<object>();

/**
 * Records the calls of one container's clients. `only`: the one function this container serves
 * (sessionApp serves reauthenticate alone, dataApp finch-proxy), so its calls are attributed even
 * outside an invocation.
 */
export function recordCallsOf(container: RecordableContainer, only: LambdaName | null = null): void {
  if (recording.has(container)) return;
  recording.add(container);
  const { config, clients } = container;
  const onCall = (call: Omit<RecordedCall, 'function' | 'source'>) => record(call, only);

  clients.dynamo.middlewareStack.add((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: any }) => {
    for (const call of dynamoCalls(String(context.commandName), args.input, config.TABLE_NAME)) onCall(call);
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'deployTruthRecorder' });

  const kms = clients.kms?.();
  if (kms) {
    kms.middlewareStack.add((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: any }) => {
      const action = `kms:${String(context.commandName).replace(/Command$/, '')}`;
      const id = String(args.input.KeyId ?? '');
      onCall({ action, resource: { kind: 'key', id, own: id === config.KMS_KEY_ARN }, encryptionContext: { ...args.input.EncryptionContext } });
      return next(args);
    }, { step: 'initialize', priority: 'high', name: 'deployTruthRecorder' });
  } else if (container.contextCipher) {
    // LocalAesCipher stands in for KmsCipher: each encrypt/decrypt is one KMS call on the token key.
    const cipher = container.contextCipher;
    const resource = { kind: 'key', id: 'token key', own: true } as const;
    const { encrypt, decrypt } = cipher;
    cipher.encrypt = (plaintext, context) => {
      onCall({ action: 'kms:Encrypt', resource, encryptionContext: { ...context } });
      return encrypt.call(cipher, plaintext, context);
    };
    cipher.decrypt = (ciphertext, context) => {
      onCall({ action: 'kms:Decrypt', resource, encryptionContext: { ...context } });
      return decrypt.call(cipher, ciphertext, context);
    };
  }

  const secretsManager = clients.secretsManager?.();
  if (secretsManager) {
    secretsManager.middlewareStack.add((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: any }) => {
      const id = String(args.input.SecretId ?? '');
      onCall({ action: `secretsmanager:${String(context.commandName).replace(/Command$/, '')}`, resource: { kind: 'secret', id, own: id === config.FINCH_SECRET_ARN } });
      return next(args);
    }, { step: 'initialize', priority: 'high', name: 'deployTruthRecorder' });
  }
  // Each get() of the credentials is where a function may fetch the secret: StaticCredentials
  // stands in for SecretsManagerCredentials locally, and with the real one the functions sharing
  // this container here also share its 5-minute cache, which in AWS each function has of its own.
  const credentials = credentialsSourceOf(container.deps);
  if (credentials) {
    const { get } = credentials;
    credentials.get = (refresh) => {
      onCall({ action: 'secretsmanager:GetSecretValue', resource: { kind: 'secret', id: 'Finch secret', own: true } });
      return get.call(credentials, refresh);
    };
  }
}

/** The slice of an EventBridge client (the events function's) the recorder hooks into. */
export interface RecordableEventBridgeClient {
  middlewareStack: { add: (middleware: any, options: any) => void };
}

/**
 * Records the events:PutEvents calls of the events function's EventBridge client: one per bus its
 * entries name (IAM authorizes PutEvents on each bus), `own` when it is `busName` (EVENT_BUS_NAME).
 * Locally the client talks to the local bus (EVENTBRIDGE_ENDPOINT) with the same requests.
 */
export function recordEventsCalls(client: RecordableEventBridgeClient, busName: string, only: LambdaName | null = 'events'): void {
  if (recording.has(client)) return;
  recording.add(client);
  client.middlewareStack.add((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: any }) => {
    const action = `events:${String(context.commandName).replace(/Command$/, '')}`;
    // An entry without EventBusName goes to the account's default bus.
    const buses = action === 'events:PutEvents'
      ? [...new Set(((args.input.Entries ?? []) as Input[]).map((entry) => String(entry.EventBusName ?? 'default')))]
      : [String(args.input.EventBusName ?? args.input.Name ?? 'default')];
    // A bus may be named by its name or its ARN (…:event-bus/<name>).
    const own = (name: string) => name === busName || name.endsWith(`:event-bus/${busName}`);
    for (const name of buses) record({ action, resource: { kind: 'bus', name, own: own(name) } }, only);
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'deployTruthRecorder' });
}

/** The slice of an SQS client (enrich-company's) the recorder hooks into. */
export type RecordableSqsClient = RecordableEventBridgeClient;

/**
 * Records the sqs:* calls of enrich-company's SQS client (ChangeMessageVisibility of a throttled
 * message), `own` when the QueueUrl is `queueUrl` (ENRICHMENT_QUEUE_URL). Locally the client talks
 * to the local queue's endpoint (local/events/queue-endpoint.ts) with the same requests.
 */
export function recordQueueCalls(client: RecordableSqsClient, queueUrl: string, only: LambdaName | null = 'enrich-company'): void {
  if (recording.has(client)) return;
  recording.add(client);
  client.middlewareStack.add((next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: any }) => {
    const url = String(args.input.QueueUrl ?? '');
    record({ action: `sqs:${String(context.commandName).replace(/Command$/, '')}`, resource: { kind: 'queue', url, own: url === queueUrl } }, only);
    return next(args);
  }, { step: 'initialize', priority: 'high', name: 'deployTruthRecorder' });
}

/**
 * The Finch credentials source inside the container's Finch gateway (SdkFinchGateway keeps it as
 * `credentials`); none for the data proxy, which holds no client credentials, nor for
 * enrich-company, whose gateway is made without them (`credentials` null).
 */
function credentialsSourceOf(deps: object): FinchCredentialsSource | undefined {
  const finch = (deps as { finch?: object }).finch;
  if (!finch) return undefined;
  const source = Reflect.get(finch, 'credentials') as FinchCredentialsSource | null | undefined;
  if (source === null) return undefined;
  if (typeof source?.get !== 'function') {
    throw new Error('test/support/aws-calls.ts: the Finch gateway no longer keeps its credentials source as `credentials`; update credentialsSourceOf');
  }
  return source;
}

type Input = Record<string, any>;

/** A string attribute from a document client's request (`'x'`) or a plain client's marshalled one (`{S: 'x'}`). */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { S?: unknown }).S === 'string') return (value as { S: string }).S;
  return null;
}

const INDEX_PARTITION_KEYS: Record<string, string> = { [LIST_INDEX.name]: LIST_INDEX.partitionKey, [RECONCILE_INDEX.name]: RECONCILE_INDEX.partitionKey };

function tableOf(op: Input, ownTable: string, index?: string): RecordedResource {
  const name = String(op.TableName ?? '');
  return { kind: 'table', name, own: name === ownTable, ...(index ? { index } : {}) };
}

/** The partition key value of an item request (Key or Item), or null when it is not a string. */
function itemLeadingKey(op: Input): string[] | null {
  const value = text((op.Key ?? op.Item)?.[TABLE_KEYS.partitionKey]);
  return value === null ? null : [value];
}

/** The partition key value a Query names (`pk = :v` in KeyConditionExpression, or legacy KeyConditions). */
function queryLeadingKey(input: Input): string[] | null {
  const attribute = input.IndexName ? INDEX_PARTITION_KEYS[input.IndexName] : TABLE_KEYS.partitionKey;
  if (!attribute) return null;
  if (input.KeyConditions) {
    const condition = input.KeyConditions[attribute];
    const value = condition?.ComparisonOperator === 'EQ' ? text(condition.AttributeValueList?.[0]) : null;
    return value === null ? null : [value];
  }
  for (const part of String(input.KeyConditionExpression ?? '').split(/\s+AND\s+/i)) {
    const match = /^\s*\(?\s*([#\w]+)\s*=\s*(:\w+)\s*\)?\s*$/.exec(part);
    if (!match) continue;
    const name = match[1].startsWith('#') ? input.ExpressionAttributeNames?.[match[1]] : match[1];
    if (name !== attribute) continue;
    const value = text(input.ExpressionAttributeValues?.[match[2]]);
    return value === null ? null : [value];
  }
  return null;
}

/** What IAM authorizes for one DynamoDB request: one action per item of a transaction. */
export function dynamoCalls(commandName: string, input: Input, ownTable: string): Array<Omit<RecordedCall, 'function' | 'source'>> {
  const operation = commandName.replace(/Command$/, '');
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ action: `dynamodb:${operation}`, resource: tableOf(input, ownTable), leadingKeys: itemLeadingKey(input) }];
    case 'Query':
      return [{ action: 'dynamodb:Query', resource: tableOf(input, ownTable, input.IndexName), leadingKeys: queryLeadingKey(input) }];
    case 'Scan':
      return [{ action: 'dynamodb:Scan', resource: tableOf(input, ownTable, input.IndexName) }];
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      // No IAM action of its own: each item is authorized as the item action it is
      // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
      const actions: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
      return (input.TransactItems ?? []).flatMap((item: Input) => Object.entries(item).map(([kind, op]) => ({
        action: `dynamodb:${actions[kind] ?? kind}`,
        resource: tableOf(op as Input, ownTable),
        leadingKeys: itemLeadingKey(op as Input),
        enclosingOperation: operation,
      })));
    }
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems ?? {}).map(([table, request]) => {
        const items: Input[] = operation === 'BatchGetItem'
          ? ((request as Input).Keys ?? []).map((key: Input) => ({ Key: key }))
          : (request as Input[]).map((write) => write.PutRequest ?? write.DeleteRequest ?? {});
        const values = items.map(itemLeadingKey);
        return {
          action: `dynamodb:${operation}`,
          resource: tableOf({ TableName: table }, ownTable),
          leadingKeys: values.some((value) => value === null) ? null : [...new Set(values.flatMap((value) => value!))],
        };
      });
    default:
      return [{ action: `dynamodb:${operation}`, resource: tableOf(input, ownTable) }];
  }
}

type Handler = (event: any, context: any) => unknown;

/**
 * For the local stack (local/stack.ts, when AWS_CALLS_DIR asks for it): records the calls of the
 * three containers and runs each handler's invocations as its function.
 */
export async function recordStackCalls<H extends Handler>(handlers: Map<FunctionName, H>): Promise<Map<FunctionName, H>> {
  recordCallsOf((await import('#http/app.js')).app);
  recordCallsOf((await import('#http/session-app.js')).sessionApp, 'reauthenticate');
  recordCallsOf((await import('#http/data-app.js')).dataApp, 'finch-proxy');
  return new Map([...handlers].map(([name, handler]) => [name, ((event: unknown, context: unknown) => invokeAs(name, () => handler(event, context))) as H]));
}
