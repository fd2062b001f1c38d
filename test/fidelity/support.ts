// Shared by the fidelity tests: the installed official SDK pointed at a fresh emulator, a connection
// made through the hosted page, and checks of a raw answer against the SDK's types at run time
// (the SDK does not validate what it receives; these tests do).
import { randomBytes } from 'node:crypto';
import Finch, { type APIError } from '@tryfinch/finch-api';
import { type EmulatorOptions, type RunningEmulator, startFinchEmulator } from '#local/finch-emulator/index.js';

/** Finch's documentation pages the tests cite, by what they say. */
export const DOCS = {
  errorTypes: 'https://developer.tryfinch.com/api-reference/development-guides/errors/Error-Types',
  rateLimits: 'https://developer.tryfinch.com/api-reference/development-guides/Rate-Limits',
  newSession: 'https://developer.tryfinch.com/api-reference/connect/new-session',
  createAccessToken: 'https://developer.tryfinch.com/api-reference/management/create-access-token',
  introspect: 'https://developer.tryfinch.com/api-reference/management/introspect',
  reauthSession: 'https://developer.tryfinch.com/api-reference/connect/reauthenticate-session',
  manageConnections: 'https://developer.tryfinch.com/implementation-guide/Connect/Manage-Connections',
  disconnectTokens: 'https://developer.tryfinch.com/implementation-guide/Backend-Application/Disconnect-Tokens',
  webhooks: 'https://developer.tryfinch.com/developer-resources/Webhooks',
} as const;

export const REDIRECT_URI = 'https://app.example/connect/callback';

export interface Fidelity {
  emulator: RunningEmulator;
  /** The SDK with the emulator's client credentials; no retries, so each call is one request. */
  finch: Finch;
  webhookSecret: string;
}

export async function startFidelity(options: Partial<EmulatorOptions> = {}): Promise<Fidelity> {
  const clientId = `fidelity-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(16).toString('hex');
  const webhookSecret = randomBytes(24).toString('base64');
  const emulator = await startFinchEmulator({ port: 0, clientId, clientSecret, webhookSecret, ...options });
  const finch = new Finch({ clientID: clientId, clientSecret, baseURL: emulator.url, maxRetries: 0, accessToken: null, webhookSecret });
  return { emulator, finch, webhookSecret };
}

let customers = 0;
export const newCustomer = (name = 'fidelity') => `${name}-${++customers}-${process.pid}`;

/** Walks the hosted page's form (with `login`, the employer's credentials) and answers the code. */
export async function authorize(connectUrl: string, fields: { provider_id?: string; login?: string } = {}): Promise<string> {
  const html = await (await fetch(connectUrl)).text();
  const session_id = /name="session_id" value="([^"]*)"/.exec(html)?.[1] ?? '';
  const response = await fetch(new URL('/connect/authorize', connectUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      session_id, state: 's', provider_id: fields.provider_id ?? 'gusto', ...(fields.login !== undefined ? { login: fields.login } : {}),
    }).toString(),
    redirect: 'manual',
  });
  const code = new URL(response.headers.get('location') ?? 'x:').searchParams.get('code');
  if (!code) throw new Error(`the hosted page answered ${response.status} without a code`);
  return code;
}

/** A customer connected through a new session: the session, the code exchange's answer and its token. */
export async function connect(f: Fidelity, options: {
  customer_id?: string; products?: Finch.Connect.SessionNewParams['products']; sandbox?: 'finch' | 'provider';
  provider_id?: string; login?: string;
} = {}) {
  const customer_id = options.customer_id ?? newCustomer();
  const session = await f.finch.connect.sessions.new({
    customer_id, customer_name: `${customer_id} Inc`, products: options.products ?? ['company', 'directory', 'individual', 'employment'],
    redirect_uri: REDIRECT_URI, ...(options.sandbox ? { sandbox: options.sandbox } : {}),
  });
  const code = await authorize(session.connect_url, { provider_id: options.provider_id, login: options.login });
  const grant = await f.finch.accessTokens.create({ code, redirect_uri: REDIRECT_URI });
  return { customer_id, session, grant, token: grant.access_token, connection_id: grant.connection_id };
}

/** The SDK's error of a call expected to fail. */
export async function rejection(promise: Promise<unknown>): Promise<APIError> {
  try {
    await promise;
  } catch (error) {
    return error as APIError;
  }
  throw new Error('expected the call to fail');
}

export async function control(emulator: RunningEmulator, method: string, path: string, body?: unknown) {
  const response = await fetch(`${emulator.url}${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() as Record<string, any> };
}

/** The keys a type requires (not optional), for lists that must name every one of them. */
export type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** `true` only when `Listed` names every member of `All`: a list the SDK outgrows fails to compile. */
export type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : false;

/**
 * What a raw answer lacks against a type: each required key present and of its JSON kind, each
 * enum-valued key one of its values. Returns the problems (an empty list passes).
 */
export function shapeProblems(value: unknown, shape: Record<string, 'string' | 'number' | 'boolean' | 'object' | 'array' | readonly string[]>): string[] {
  if (typeof value !== 'object' || value === null) return [`not an object: ${JSON.stringify(value)}`];
  const record = value as Record<string, unknown>;
  return Object.entries(shape).flatMap(([key, kind]) => {
    const found = record[key];
    if (Array.isArray(kind)) return kind.includes(found as string) ? [] : [`${key}: ${JSON.stringify(found)} is not one of ${kind.join(', ')}`];
    const actual = Array.isArray(found) ? 'array' : found === null ? 'null' : typeof found;
    return actual === kind ? [] : [`${key}: ${actual}, expected ${kind}`];
  });
}
