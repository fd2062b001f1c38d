// Routes that exist only in the local gateway, never in the CDK app: dev tokens
// (`POST /_local/token`), the dev key's public JWKS, the demo connections page (`GET /`) and, with
// the emulator, a pass-through to its status control so the demo can break a connection, and a
// run of the reconciler on demand (`POST /_local/reconcile`, local/reconcile.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import * as z from '#core/zod.js';
import { isLoopbackHost } from '../loopback-host.js';
import type { IncomingRequest } from './event.js';
import { referenceRoute } from './reference.js';
import { type HttpAnswer, jsonAnswer } from './response.js';
import type { LocalRoutes } from './server.js';

export interface TokenRequest {
  customer_id?: string;
  customer_name?: string;
  scope?: string;
  expires_in?: number;
}

export interface LocalRoutesOptions {
  mintToken: (request: TokenRequest) => Promise<string>;
  jwks: JSONWebKeySet;
  /** Folder of the demo page (index.html and its assets). */
  demoDir: string;
  /** The Finch emulator, when the stack runs one (known once it listens). */
  emulatorUrl: () => string | undefined;
  /** Ports the gateway answers on, for the Host check. */
  port: () => number;
  /** The API's route keys, so the demo shows only what exists (Disconnect once DELETE is routed). */
  routeKeys: readonly string[];
  /** The local bus's events, newest last (all, or one connection's): GET /_local/events. */
  events?: (connectionId?: string) => unknown[];
  /** One run of the reconciler now, answered with what it did: POST /_local/reconcile. */
  reconcile?: () => Promise<unknown>;
}

const DAY = 86_400;
const TokenBody = z.strictObject({
  customer_id: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  customer_name: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  scope: z.optional(z.string().check(z.maxLength(1024))),
  expires_in: z.optional(z.number().check(z.int(), z.gte(-365 * DAY), z.lte(30 * DAY))),
});
const EmulatorStatusBody = z.strictObject({ status: z.string().check(z.regex(/^[a-z_]{1,40}$/)) });

const DEMO_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};
const ASSET_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

export function createLocalRoutes(options: LocalRoutesOptions): LocalRoutes {
  return async (request) => {
    const { method, path } = request;
    if (path !== '/' && path !== '/openapi.json' && !path.startsWith('/_local/')) return undefined;
    // Loopback names only: a page on another site that rebinds its DNS to 127.0.0.1 gets nothing.
    if (!isLoopbackHost(request.headers.host?.[0], options.port())) return jsonAnswer(403, { message: 'Forbidden' });

    if (method === 'GET' && path === '/') return demoFile(options.demoDir, 'index.html', 'text/html; charset=utf-8');
    const asset = /^\/_local\/demo\/([a-z0-9-]+)\.(js|css|svg)$/.exec(path);
    if (method === 'GET' && asset) return demoFile(options.demoDir, `${asset[1]}.${asset[2]}`, ASSET_TYPES[asset[2]]);
    const reference = await referenceRoute(method, path);
    if (reference) return reference;
    if (method === 'GET' && path === '/_local/jwks.json') return jsonAnswer(200, options.jwks);
    if (method === 'GET' && path === '/_local/config') return jsonAnswer(200, { finch: options.emulatorUrl() ? 'emulator' : 'sandbox', routes: options.routeKeys });
    if (method === 'POST' && path === '/_local/token') return token(request, options);
    if (method === 'GET' && path === '/_local/events' && options.events) return localEvents(request, options.events);
    if (method === 'POST' && path === '/_local/reconcile' && options.reconcile) return jsonAnswer(200, await options.reconcile(), { 'cache-control': 'no-store' });
    const flip = /^\/_local\/emulator\/connections\/([A-Za-z0-9_-]{1,128})$/.exec(path);
    if (method === 'POST' && flip) return setEmulatorStatus(request, flip[1], options);
    return jsonAnswer(404, { message: 'Not Found' });
  };
}

async function token(request: IncomingRequest, options: LocalRoutesOptions): Promise<HttpAnswer> {
  const body = parseJson(request);
  if (body === INVALID) return localError(400, 'The body must be a JSON object.');
  const parsed = TokenBody.safeParse(body);
  if (!parsed.success) {
    return localError(400, 'Invalid token request.', parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  }
  return jsonAnswer(200, { token: await options.mintToken(parsed.data) }, { 'cache-control': 'no-store' });
}

/** `GET /_local/events[?connection_id=]` → `{events: [detail…]}`, newest last. */
function localEvents(request: IncomingRequest, events: NonNullable<LocalRoutesOptions['events']>): HttpAnswer {
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  const connectionId = query.get('connection_id') ?? undefined;
  if (connectionId !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(connectionId)) return localError(400, 'connection_id is not a connection id.');
  return jsonAnswer(200, { events: events(connectionId) }, { 'cache-control': 'no-store' });
}

async function setEmulatorStatus(request: IncomingRequest, connectionId: string, options: LocalRoutesOptions): Promise<HttpAnswer> {
  const emulatorUrl = options.emulatorUrl();
  if (!emulatorUrl) return localError(404, 'The stack runs against the real Finch API: there is no emulator to control.');
  const parsed = EmulatorStatusBody.safeParse(parseJson(request));
  if (!parsed.success) return localError(400, 'The body must be {"status": "<finch status>"}.');
  const response = await fetch(`${emulatorUrl}/_emulator/connections/${encodeURIComponent(connectionId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(parsed.data),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' }, body: Buffer.from(await response.arrayBuffer()) };
}

async function demoFile(dir: string, name: string, contentType: string): Promise<HttpAnswer> {
  try {
    // Read on every request: edit the page, reload the browser.
    return { status: 200, headers: { 'content-type': contentType, ...DEMO_HEADERS }, body: await readFile(join(dir, name)) };
  } catch {
    return jsonAnswer(404, { message: 'Not Found' });
  }
}

const INVALID = Symbol('invalid');

function parseJson(request: IncomingRequest): unknown {
  if (request.body.length === 0) return {};
  const type = (request.headers['content-type']?.[0] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') return INVALID;
  try {
    const value: unknown = JSON.parse(request.body.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : INVALID;
  } catch {
    return INVALID;
  }
}

function localError(status: number, message: string, details?: Array<{ path: string; message: string }>): HttpAnswer {
  return jsonAnswer(status, { error: { code: status === 404 ? 'not_found' : 'invalid_request', message, ...(details ? { details } : {}) } });
}
