import type { IncomingHttpHeaders } from 'node:http';
import type { FaultBook } from './faults.js';
import type { RateLimiter } from './rate-limits.js';
import type { EmulatedConnection, EmulatorStore, IssuedToken } from './store.js';
import type { WebhookSender } from './webhooks.js';

/** What a handler answers; the server writes it (and applies faults to it). */
export interface Reply {
  status: number;
  json?: unknown;
  html?: string;
  headers?: Record<string, string>;
}

export interface EmulatorDeps {
  store: EmulatorStore;
  faults: FaultBook;
  now(): number;
  /** The emulator's own origin, for connect_url. Known only once the server listens. */
  baseUrl(): string;
  clientId: string;
  clientSecret: string;
  /** Webhook deliveries: the receiver, the secret, retries and the events Finch sends by itself. */
  events: WebhookSender;
  /** Finch's rate limits: counted always, enforced when switched on (rate-limits.ts). */
  rateLimits: RateLimiter;
}

/** The holder of a valid access token, resolved before a bearer route's handler runs. */
export interface Caller {
  connection: EmulatedConnection;
  token: IssuedToken;
}

export interface RequestInput {
  query: URLSearchParams;
  params: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
  caller?: Caller;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, json: body, headers });

export function requireCaller(input: RequestInput): Caller {
  if (!input.caller) throw new Error('bearer route without a resolved caller');
  return input.caller;
}
