// Integration harness: the real handlers, invoked with API Gateway HTTP API v2 events, over a real
// DynamoDB Local table and the Finch emulator over HTTP. Every log line the handlers write is
// captured so tests can prove no secret reaches a log.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { DeleteCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Container } from '#adapters/container.js';
import { BUCKET_NAMES } from '#core/finch-budget.js';
import { type RunningEmulator, signWebhook, startFinchEmulator } from '#local/finch-emulator/index.js';
import type { FaultSpec } from '#local/finch-emulator/faults.js';
import { ROUTES, type FunctionName } from '../../lib/routes.js';
import { invokeAs, recordCallsOf } from './aws-calls.js';
import { createTestTable, type TestTable } from './dynamo.js';
import { checkAnswer } from './openapi-check.js';

export const CLIENT_ID = 'client-harness';
export const CLIENT_SECRET = `secret-${randomBytes(16).toString('hex')}`;
export const RETURN_ORIGIN = 'https://app.example';
export const CALLBACK_URL = 'https://api.example/connect/callback';
export const TOKEN_KEY = randomBytes(32);
/** Base64, as Finch's webhook secrets are. */
export const WEBHOOK_SECRET = randomBytes(24).toString('base64');

/** A million requests a minute a bucket. */
export const ROOMY_RATE_LIMITS = BUCKET_NAMES.map((name) => `${name}=1000000/60`).join(',');

type Handler = (event: unknown, context: Context) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;

export interface InvokeOptions {
  claims?: Record<string, unknown>;
  body?: unknown;
  /** A body sent as is (malformed JSON, oversized). */
  rawBody?: string;
  query?: Record<string, string>;
  /** A query string sent as is (repeated keys, odd encodings); `query` then only fills queryStringParameters. */
  rawQuery?: string;
  headers?: Record<string, string>;
  /** The body is base64 (as API Gateway sends binary bodies). */
  base64?: boolean;
  /** What the Lambda context's getRemainingTimeInMillis() answers at the start (default 28 s). */
  remainingTimeMs?: number;
}

export interface Invoked {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

export interface Harness {
  emulator: RunningEmulator;
  /** The container create-session, callback, connections and webhook build at import (#http/app.js). */
  app: Container;
  table: TestTable;
  /** Everything a handler answered or logged, for the no-secret checks. */
  transcript: Array<{ routeKey: string; text: string }>;
  invoke(routeKey: string, options?: InvokeOptions): Promise<Invoked>;
  close(): Promise<void>;
}

const captured: string[] = [];
let capturing = false;

/** Captures stdout/stderr writes (Powertools writes its JSON lines there). */
function captureLogs() {
  if (capturing) return;
  capturing = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  captureLogs();
  const table = await createTestTable('it');
  const emulator = await startFinchEmulator({ port: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    FINCH_API_BASE_URL: emulator.url,
    CALLBACK_URL,
    ALLOWED_RETURN_ORIGINS: RETURN_ORIGIN,
    LOCAL_TOKEN_KEYS: `k1=${TOKEN_KEY.toString('base64')}`,
    FINCH_CLIENT_ID: CLIENT_ID,
    FINCH_CLIENT_SECRET: CLIENT_SECRET,
    FINCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    STORE_BUDGET_MS: '1500',
    // Every Finch call takes the shared budget (functions/core/finch-budget.ts), with limits no test
    // file reaches: tests of Finch's real numbers set their own (test/integration/finch-budget.test.ts).
    FINCH_RATE_LIMITS: ROOMY_RATE_LIMITS,
    ...env,
  });
  // Handlers read their configuration at import, as a Lambda does at cold start.
  const handlers: Record<FunctionName, Handler> = {
    'create-session': (await import('../../functions/create-session/handler.js')).handler as Handler,
    reauthenticate: (await import('../../functions/reauthenticate/handler.js')).handler as Handler,
    callback: (await import('../../functions/callback/handler.js')).handler as Handler,
    connections: (await import('../../functions/connections/handler.js')).handler as Handler,
    webhook: (await import('../../functions/webhook/handler.js')).handler as Handler,
    'finch-proxy': (await import('../../functions/finch-proxy/handler.js')).handler as Handler,
  };
  // Each function's AWS calls, recorded for the deploy-truth IAM check (test/support/aws-calls.ts).
  const { app } = await import('#http/app.js');
  recordCallsOf(app);
  recordCallsOf((await import('#http/session-app.js')).sessionApp, 'reauthenticate');
  recordCallsOf((await import('#http/data-app.js')).dataApp, 'finch-proxy');
  const transcript: Harness['transcript'] = [];

  async function invoke(routeKey: string, options: InvokeOptions = {}): Promise<Invoked> {
    const [method, rawPath] = routeKey.split(' ');
    const route = ROUTES.find((r) => r.method === method && matchPath(r.path, rawPath));
    if (!route) throw new Error(`no route for ${routeKey}`);
    const event = buildEvent(route.method, route.path, rawPath, options, route.auth === 'jwt');
    const result = await invokeAs(route.function, () => handlers[route.function](event, lambdaContext(options.remainingTimeMs ?? 28_000)));
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const body = result.body ?? '';
    transcript.push({ routeKey: event.routeKey, text: `${JSON.stringify(headers)}\n${body}` });
    // Every answer is one openapi.json documents: status, content type, headers, every field.
    checkAnswer({ method, path: rawPath, status: result.statusCode, headers, body });
    let json: unknown;
    try { json = JSON.parse(body); } catch { json = undefined; }
    return { statusCode: result.statusCode, headers, body, json };
  }

  return {
    emulator,
    app,
    table,
    transcript,
    invoke,
    close: async () => { await emulator.close(); table.client.destroy(); },
  };
}

/**
 * The harness of one test file: started before its tests (with `env`, as startHarness takes it),
 * closed after them and, with `clearFaults`, the emulator's faults cleared after each test. What it
 * answers is the running harness from the file's first beforeAll on; used before, it throws.
 */
export function harnessForFile(options: { env?: Record<string, string>; clearFaults?: boolean } = {}): Harness {
  let running: Harness | undefined;
  beforeAll(async () => { running = await startHarness(options.env); });
  afterAll(async () => { await running?.close(); });
  if (options.clearFaults) afterEach(async () => { if (running) await clearEmulatorFaults(running); });
  const current = () => {
    if (!running) throw new Error('the harness is not running yet: use it in a test or hook');
    return running;
  };
  return {
    get emulator() { return current().emulator; },
    get app() { return current().app; },
    get table() { return current().table; },
    get transcript() { return current().transcript; },
    invoke: (routeKey, invokeOptions) => current().invoke(routeKey, invokeOptions),
    close: () => current().close(),
  };
}

/** Customer ids unique within a test file: `name-1`, `name-2`, … */
export function customerIds(): (name: string) => string {
  let count = 0;
  return (name) => `${name}-${++count}`;
}

export function capturedLogs(): string {
  return captured.join('');
}

function matchPath(template: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  // `{name}` is one segment, `{name+}` the rest (API Gateway's greedy parameter).
  const pattern = new RegExp(`^${template.replace(/\{(\w+)(\+?)\}/g, (_, name, greedy) => { names.push(name); return greedy ? '(.+)' : '([^/]+)'; })}$`);
  const match = pattern.exec(path);
  return match ? Object.fromEntries(names.map((name, i) => [name, safeDecode(match[i + 1])])) : null;
}

/** A path a test sends malformed on purpose stays as it is: the handler must refuse it, not the harness. */
function safeDecode(text: string): string {
  try { return decodeURIComponent(text); } catch { return text; }
}

function buildEvent(method: string, template: string, rawPath: string, options: InvokeOptions, jwt: boolean) {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const query = options.query;
  return {
    version: '2.0',
    routeKey: `${method} ${template}`,
    rawPath,
    rawQueryString: options.rawQuery ?? (query ? new URLSearchParams(query).toString() : ''),
    headers,
    queryStringParameters: query,
    pathParameters: matchPath(template, rawPath) ?? undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: randomUUID(),
      routeKey: `${method} ${template}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(jwt && options.claims ? { authorizer: { jwt: { claims: options.claims, scopes: null } } } : {}),
    },
    body,
    isBase64Encoded: options.base64 ?? false,
  };
}

function lambdaContext(remainingTimeMs: number): Context {
  const deadline = Date.now() + remainingTimeMs;
  return {
    awsRequestId: randomUUID(),
    functionName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as unknown as Context;
}

/** Every authorization code and state this run handed to a browser: none may reach a log. */
export const handedOut = { codes: [] as string[], states: [] as string[] };

/** Walks the emulator's hosted page as an employer's browser would; returns where Finch sends it. */
export async function authorizeAtFinch(connectUrl: string, options: { provider?: string; outcome?: 'success' | 'error'; login?: string } = {}) {
  const page = await fetch(connectUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`hosted page answered ${page.status}`);
  const input = (name: string) => new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1] ?? '';
  const form = new URLSearchParams({
    session_id: input('session_id'),
    state: input('state').replace(/&amp;/g, '&'),
    provider_id: options.provider ?? 'gusto',
    outcome: options.outcome ?? 'success',
    // The employer's credentials (`user@company`); the page's default is the session's own.
    ...(options.login !== undefined ? { login: options.login } : {}),
  });
  const res = await fetch(new URL('/connect/authorize', connectUrl), {
    method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const back = res.status === 302 || res.status === 303
    ? Object.fromEntries(new URL(res.headers.get('location')!).searchParams) as { code?: string; state: string; error?: string }
    : (await res.json()) as { code?: string; state: string; error?: string };
  if (back.code) handedOut.codes.push(back.code);
  handedOut.states.push(back.state);
  return back;
}

/**
 * All stored items of the table (to assert nothing was written, or what was), but the Finch
 * budget's buckets (`RATE#…`), which every Finch call updates.
 */
export async function scanTable(harness: Harness) {
  const out = await harness.table.doc.send(new ScanCommand({ TableName: harness.table.tableName }));
  return (out.Items ?? []).filter((item) => !String(item.pk).startsWith('RATE#'));
}

/**
 * Empties the Finch budget (deletes every `RATE#…` bucket), for a test file whose every test starts
 * from a fresh budget: after Finch's IP 429 the budget refuses every call for an hour, by design.
 */
export async function clearFinchBudget(harness: Harness) {
  const out = await harness.table.doc.send(new ScanCommand({ TableName: harness.table.tableName, FilterExpression: 'begins_with(pk, :rate)', ExpressionAttributeValues: { ':rate': 'RATE#' } }));
  await Promise.all((out.Items ?? []).map((item) => harness.table.doc.send(new DeleteCommand({ TableName: harness.table.tableName, Key: { pk: item.pk, sk: item.sk } }))));
}

export async function getItem(harness: Harness, key: { pk: string; sk: string }) {
  return (await harness.table.doc.send(new GetCommand({ TableName: harness.table.tableName, Key: key }))).Item;
}

/** Arms one of the emulator's faults (`POST /_emulator/faults`, local/finch-emulator/controls.ts); fails the test if it is refused. */
export async function emulatorFault(harness: Harness, spec: FaultSpec) {
  const res = await fetch(`${harness.emulator.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  expect(res.status).toBeLessThan(300);
}

/** Removes every fault still armed at the emulator (an afterEach, so none outlives its test). */
export async function clearEmulatorFaults(harness: Harness) {
  await fetch(`${harness.emulator.url}/_emulator/faults`, { method: 'DELETE' });
}

/**
 * A webhook as Finch delivers one (local/finch-emulator/webhooks.ts signWebhook): the JSON body,
 * signed with the harness's webhook secret (or `secret`) under a fresh event id (or `eventId`, for a
 * redelivery) and the current time.
 */
export function deliverWebhook(harness: Harness, body: Record<string, unknown>, options: { secret?: string; eventId?: string } = {}): Promise<Invoked> {
  const raw = JSON.stringify(body);
  const eventId = options.eventId ?? `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return harness.invoke('POST /webhooks/finch', {
    rawBody: raw,
    headers: {
      'content-type': 'application/json', 'finch-event-id': eventId, 'finch-timestamp': String(timestamp),
      'finch-signature': signWebhook(options.secret ?? WEBHOOK_SECRET, eventId, timestamp, raw),
    },
  });
}

/**
 * A connection made and stored as an application makes one: POST /connect/sessions with these
 * claims (`return_to` the allowed origin unless `body` says otherwise), the employer's login on
 * Finch's hosted page (`options`), then the callback. Answers the connection id the callback
 * redirected with.
 */
export async function connectCustomer(
  harness: Harness,
  claims: Record<string, unknown>,
  body: Record<string, unknown> = {},
  options: { provider?: string; login?: string } = {},
): Promise<string> {
  const session = await harness.invoke('POST /connect/sessions', { claims, body: { return_to: `${RETURN_ORIGIN}/`, ...body } });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url, options);
  const res = await harness.invoke('GET /connect/callback', { query: { code: code!, state } });
  return new URL(res.headers.location).searchParams.get('connection_id')!;
}
