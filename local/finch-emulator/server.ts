// The Finch emulator's HTTP server: routing, Finch's credential and version checks, faults, and
// the lifecycle other code depends on (startFinchEmulator → RunningEmulator).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { isLoopbackHost } from '../loopback-host.js';
import { addFault, clearFaults, configureRateLimits, readRateLimits, readState, resetEmulator, setConnectionStatus } from './controls.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { disconnect, introspect, updateSandboxAccount } from './account.js';
import { company, directory, employments, individuals } from './data.js';
import {
  createBenefit, enrollIndividuals, enrolledIds, getBenefit, individualBenefits, listBenefits, listSupportedBenefits,
  registerBenefit, unenrollIndividuals, updateBenefit,
} from './benefits.js';
import { configureDataset } from './dataset.js';
import { getDocument, listDocuments } from './documents.js';
import { listPayStatementItems } from './pay-statement-items.js';
import { getPayGroup, listPayGroups, listPayments, payStatements } from './payroll.js';
import { listProviders } from './providers.js';
import { createRule, deleteRule, listRules, updateRule } from './rules.js';
import {
  FinchApiError, errorForStatus, invalidClient, invalidRequest, invalidToken, missingApiVersion, unauthorizedRequest,
} from './errors.js';
import { FaultBook, answersError, faultAnswer, withFaultHeaders } from './faults.js';
import { RateLimiter } from './rate-limits.js';
import { isObject } from './validate.js';
import { authorize, showHostedPage } from './hosted-page.js';
import { createReauthSession, createSession } from './sessions.js';
import { EmulatorStore, type EmulatorState } from './store.js';
import { exchangeCode } from './tokens.js';
import { WebhookSender, listWebhooks, sendWebhook, type WebhookDelivery, type WebhookSettings } from './webhooks.js';

export type { EmulatorState } from './store.js';

export interface EmulatorOptions {
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  clientId: string;
  clientSecret: string;
  /** Base64, like Finch's (the SDK decodes it). */
  webhookSecret?: string;
  webhookUrl?: string;
  /** Deliveries of one event (default 5) and the wait before the first retry, doubled each time (default 1000 ms). */
  webhookRetry?: { attempts?: number; baseDelayMs?: number };
  /** Whether the emulator sends the events Finch sends by itself (default true) and how long after the change (default 1000 ms). */
  autoEvents?: boolean;
  eventDelayMs?: number;
  /** Milliseconds; default Date.now. Drives session, code and webhook timestamps. */
  now?: () => number;
  /** Enforce Finch's rate limits from the start (default false; `POST /_emulator/rate-limits` switches them). */
  enforceRateLimits?: boolean;
}

export interface RunningEmulator {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
  state(): EmulatorState;
  reset(): void;
  /** Changes the webhook receiver, secret, retries or automatic events of a running emulator. */
  configureWebhooks(settings: WebhookSettings): void;
  /** Every webhook delivery with its attempts, as `GET /_emulator/webhooks` lists them. */
  webhooks(): WebhookDelivery[];
}

/** The version every Finch SDK sends; Finch has had no other. */
const FINCH_API_VERSION = '2020-09-17';
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * - `basic`: Finch API with client credentials in a Basic Authorization header.
 * - `client`: `/auth/token`, credentials in the body (what the SDK sends) or Basic.
 * - `bearer`: Finch API with an access token.
 * - `public`: Finch API without credentials (`GET /providers`): only the version header.
 * - `hosted`: the Connect page, as a browser reaches it: no credentials, no version header.
 * - `control`: /_emulator/*: no credentials, not counted, not faultable; a loopback Host and, on a
 *   POST, an application/json body (refuseControl).
 */
type Access = 'basic' | 'client' | 'bearer' | 'public' | 'hosted' | 'control';

interface Route {
  method: string;
  template: string;
  access: Access;
  handle(input: RequestInput, deps: EmulatorDeps): Reply | Promise<Reply>;
}

const ROUTES: Route[] = [
  { method: 'POST', template: '/connect/sessions', access: 'basic', handle: createSession },
  { method: 'POST', template: '/connect/sessions/reauthenticate', access: 'basic', handle: createReauthSession },
  { method: 'POST', template: '/auth/token', access: 'client', handle: exchangeCode },
  { method: 'GET', template: '/introspect', access: 'bearer', handle: introspect },
  { method: 'POST', template: '/disconnect', access: 'bearer', handle: disconnect },
  { method: 'GET', template: '/employer/company', access: 'bearer', handle: company },
  { method: 'GET', template: '/employer/directory', access: 'bearer', handle: directory },
  { method: 'POST', template: '/employer/individual', access: 'bearer', handle: individuals },
  { method: 'POST', template: '/employer/employment', access: 'bearer', handle: employments },
  { method: 'GET', template: '/employer/payment', access: 'bearer', handle: listPayments },
  { method: 'POST', template: '/employer/pay-statement', access: 'bearer', handle: payStatements },
  { method: 'GET', template: '/employer/pay-statement-item', access: 'bearer', handle: listPayStatementItems },
  { method: 'GET', template: '/employer/pay-statement-item/rule', access: 'bearer', handle: listRules },
  { method: 'POST', template: '/employer/pay-statement-item/rule', access: 'bearer', handle: createRule },
  { method: 'PUT', template: '/employer/pay-statement-item/rule/:rule_id', access: 'bearer', handle: updateRule },
  { method: 'DELETE', template: '/employer/pay-statement-item/rule/:rule_id', access: 'bearer', handle: deleteRule },
  { method: 'GET', template: '/employer/pay-groups', access: 'bearer', handle: listPayGroups },
  { method: 'GET', template: '/employer/pay-groups/:pay_group_id', access: 'bearer', handle: getPayGroup },
  // The literal benefit routes come before the ones with a benefit id, which would match them too.
  { method: 'GET', template: '/employer/benefits', access: 'bearer', handle: listBenefits },
  { method: 'POST', template: '/employer/benefits', access: 'bearer', handle: createBenefit },
  { method: 'GET', template: '/employer/benefits/meta', access: 'bearer', handle: listSupportedBenefits },
  { method: 'POST', template: '/employer/benefits/register', access: 'bearer', handle: registerBenefit },
  { method: 'GET', template: '/employer/benefits/:benefit_id', access: 'bearer', handle: getBenefit },
  { method: 'POST', template: '/employer/benefits/:benefit_id', access: 'bearer', handle: updateBenefit },
  { method: 'GET', template: '/employer/benefits/:benefit_id/enrolled', access: 'bearer', handle: enrolledIds },
  { method: 'GET', template: '/employer/benefits/:benefit_id/individuals', access: 'bearer', handle: individualBenefits },
  { method: 'POST', template: '/employer/benefits/:benefit_id/individuals', access: 'bearer', handle: enrollIndividuals },
  { method: 'DELETE', template: '/employer/benefits/:benefit_id/individuals', access: 'bearer', handle: unenrollIndividuals },
  { method: 'GET', template: '/employer/documents', access: 'bearer', handle: listDocuments },
  { method: 'GET', template: '/employer/documents/:document_id', access: 'bearer', handle: getDocument },
  { method: 'GET', template: '/providers', access: 'public', handle: listProviders },
  { method: 'PUT', template: '/sandbox/connections/accounts', access: 'bearer', handle: updateSandboxAccount },
  { method: 'GET', template: '/connect', access: 'hosted', handle: showHostedPage },
  { method: 'POST', template: '/connect/authorize', access: 'hosted', handle: authorize },
  { method: 'GET', template: '/_emulator/state', access: 'control', handle: readState },
  { method: 'POST', template: '/_emulator/connections/:connection_id', access: 'control', handle: setConnectionStatus },
  { method: 'POST', template: '/_emulator/connections/:connection_id/data', access: 'control', handle: configureDataset },
  { method: 'POST', template: '/_emulator/faults', access: 'control', handle: addFault },
  { method: 'DELETE', template: '/_emulator/faults', access: 'control', handle: clearFaults },
  { method: 'POST', template: '/_emulator/reset', access: 'control', handle: resetEmulator },
  { method: 'POST', template: '/_emulator/webhooks', access: 'control', handle: sendWebhook },
  { method: 'GET', template: '/_emulator/webhooks', access: 'control', handle: listWebhooks },
  { method: 'GET', template: '/_emulator/rate-limits', access: 'control', handle: readRateLimits },
  { method: 'POST', template: '/_emulator/rate-limits', access: 'control', handle: configureRateLimits },
];

const routeKey = (route: Route) => `${route.method} ${route.template}`;

export async function startFinchEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  if (!options.clientId || !options.clientSecret) throw new Error('startFinchEmulator needs clientId and clientSecret.');

  const host = options.host ?? '127.0.0.1';
  const store = new EmulatorStore();
  const now = options.now ?? Date.now;
  // Checks the webhook secret's base64 before anything listens.
  const events = new WebhookSender({
    url: options.webhookUrl, secret: options.webhookSecret, attempts: options.webhookRetry?.attempts,
    baseDelayMs: options.webhookRetry?.baseDelayMs, autoEvents: options.autoEvents, eventDelayMs: options.eventDelayMs,
  }, store, now);
  const faults = new FaultBook(new Set(ROUTES.filter((route) => route.access !== 'control').map(routeKey)));
  const sleeper = new Sleeper();
  let baseUrl = '';
  const deps: EmulatorDeps = {
    store,
    faults,
    now,
    baseUrl: () => baseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    events,
    rateLimits: new RateLimiter(now, options.enforceRateLimits ?? false),
  };

  const server = createServer((req, res) => {
    serve(req, res, deps, sleeper).catch((error: unknown) => {
      // A bug in the emulator: answer a 500 without the exception text, log it for the developer.
      console.error('finch emulator: unexpected error', error);
      send(res, json(500, errorForStatus(500).body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${urlHost(host)}:${port}`;

  return {
    url: baseUrl,
    port,
    state: () => store.snapshot(faults.pending()),
    reset: () => {
      store.reset();
      faults.clear();
      events.reset();
      deps.rateLimits.reset();
    },
    configureWebhooks: (settings) => events.configure(settings),
    webhooks: () => events.list(),
    close: () => new Promise<void>((resolve, reject) => {
      // Delayed (faulted) requests would hold the server open: wake them, then drop the sockets.
      sleeper.wakeAll();
      events.stop();
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, deps: EmulatorDeps, sleeper: Sleeper): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(method, url.pathname);
  if (!match.route) {
    const error = match.pathKnown
      ? new FinchApiError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}.`)
      : new FinchApiError(404, 'not_found_error', `No route ${method} ${url.pathname}.`, { finch_code: 'route_not_found' });
    await readBody(req).catch(() => undefined);
    send(res, errorReply(error));
    return;
  }
  const { route, params } = match;
  const key = routeKey(route);
  const isFinch = route.access !== 'control';
  const refused = isFinch ? null : refuseControl(req, method);
  if (refused) {
    await readBody(req).catch(() => undefined);
    send(res, errorReply(refused));
    return;
  }
  // Finch stamps every answer with a request id; the controls are not Finch.
  const answer = (reply: Reply) =>
    send(res, isFinch ? { ...reply, headers: { 'Finch-Request-Id': randomUUID(), ...reply.headers } } : reply);
  // The hosted page's User-Agent is a browser's: only API calls say which client made them.
  if (isFinch) deps.store.countCall(key, route.access === 'hosted' ? undefined : headerValue(req.headers['user-agent']));
  const fault = isFinch ? deps.faults.take(key) : undefined;

  let rawBody: Buffer;
  try {
    rawBody = await readBody(req);
  } catch (error) {
    // Too large: answer. Anything else is the client hanging up mid-body: nobody to answer.
    if (error instanceof FinchApiError) answer(errorReply(error));
    return;
  }

  // The IP address's limit comes before anything else Finch does; the hosted page is the browser's address.
  const limited = isFinch && route.access !== 'hosted' ? deps.rateLimits.admitAddress(url.pathname) : null;
  if (limited) {
    answer(errorReply(limited));
    return;
  }

  if (fault && !fault.after_response) {
    if (fault.delay_ms) {
      await sleeper.sleep(fault.delay_ms);
      // The client gave up while the request was "in flight": Finch never saw it, so do nothing.
      if (clientGone(req, res)) return;
    }
    if (answersError(fault)) {
      answer(faultAnswer(fault, bodyOrNothing(req, rawBody), deps.store));
      return;
    }
  }

  let reply: Reply;
  try {
    const input: RequestInput = { query: url.searchParams, params, headers: req.headers, body: parseBody(req, rawBody) };
    checkAccess(route.access, input, deps);
    // The application's limits count the requests of its tokens.
    const limitedProduct = deps.rateLimits.admitProduct(url.pathname);
    if (limitedProduct) throw limitedProduct;
    reply = await route.handle(input, deps);
  } catch (error) {
    reply = errorReply(error);
  }

  if (fault?.after_response) {
    // The work is done (a token issued, a code consumed); now the answer is late or lost.
    if (fault.delay_ms) await sleeper.sleep(fault.delay_ms);
    if (answersError(fault)) reply = faultAnswer(fault, bodyOrNothing(req, rawBody), deps.store);
  }
  if ((fault?.omit_fields || fault?.set_fields) && reply.status < 300 && isObject(reply.json)) {
    const trimmed = { ...reply.json, ...fault.set_fields };
    for (const field of fault.omit_fields ?? []) delete trimmed[field];
    reply = { ...reply, json: trimmed };
  }
  answer(withFaultHeaders(reply, fault));
}

/**
 * The controls hand out every issued token (`/_emulator/state`) and change connections, so only
 * this machine's own scripts may use them: a loopback Host (no DNS-rebound page), and JSON on a
 * POST (a cross-site form or a text/plain fetch cannot send it without a preflight, which the
 * emulator never grants; other methods need one anyway).
 */
function refuseControl(req: IncomingMessage, method: string): FinchApiError | null {
  if (!isLoopbackHost(headerValue(req.headers.host), req.socket.localPort ?? 0)) {
    return new FinchApiError(403, 'forbidden', 'The emulator controls answer only on a loopback Host (127.0.0.1, localhost, [::1]) with their port.');
  }
  const type = (headerValue(req.headers['content-type']) ?? '').split(';')[0].trim().toLowerCase();
  if (method === 'POST' && type !== 'application/json') {
    return new FinchApiError(415, 'unsupported_media_type', 'The emulator controls take POST bodies as application/json.');
  }
  return null;
}

/** Finch's checks, in Finch's order: who is calling (401), then the API version (400). */
function checkAccess(access: Access, input: RequestInput, deps: EmulatorDeps): void {
  if (access === 'hosted' || access === 'control') return;
  const authorization = headerValue(input.headers.authorization);

  if (access === 'basic') {
    const credentials = basicCredentials(authorization);
    if (!credentials || !sameClient(credentials, deps)) throw invalidClient();
  } else if (access === 'client') {
    const body = isObject(input.body) ? input.body : {};
    // The SDK sends client_id and client_secret in the JSON body and omits Authorization.
    const credentials = body.client_id !== undefined || body.client_secret !== undefined
      ? { id: body.client_id, secret: body.client_secret }
      : basicCredentials(authorization);
    if (!credentials || !sameClient(credentials, deps)) throw invalidClient();
  } else if (access === 'bearer') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorizedRequest();
    const holder = deps.store.tokenHolder(match[1]);
    if (!holder) throw invalidToken();
    input.caller = holder;
  }

  const version = headerValue(input.headers['finch-api-version']);
  if (!version) throw missingApiVersion();
  if (version !== FINCH_API_VERSION) throw invalidRequest(`Unsupported Finch-API-Version ${version}; use ${FINCH_API_VERSION}.`);
}

function sameClient(credentials: { id: unknown; secret: unknown }, deps: EmulatorDeps): boolean {
  return credentials.id === deps.clientId && credentials.secret === deps.clientSecret;
}

function basicCredentials(authorization: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

function parseBody(req: IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const type = headerValue(req.headers['content-type']) ?? '';
  const text = raw.toString('utf8');
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest('The request body is not valid JSON.');
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new FinchApiError(413, 'payload_too_large', 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function matchRoute(method: string, pathname: string):
  { route: Route; params: Record<string, string>; pathKnown: true } | { route: null; params: null; pathKnown: boolean } {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const segments = path.split('/');
  let pathKnown = false;
  for (const route of ROUTES) {
    const parts = route.template.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const fits = parts.every((part, index) => {
      if (!part.startsWith(':')) return part === segments[index];
      if (!segments[index]) return false;
      params[part.slice(1)] = decodeURIComponent(segments[index]);
      return true;
    });
    if (!fits) continue;
    pathKnown = true;
    if (route.method === method) return { route, params, pathKnown: true };
  }
  return { route: null, params: null, pathKnown };
}

/** The request body for a fault's answer, which may not need one: unparseable is nothing. */
function bodyOrNothing(req: IncomingMessage, raw: Buffer): unknown {
  try {
    return parseBody(req, raw);
  } catch {
    return undefined;
  }
}

function errorReply(error: unknown): Reply {
  if (error instanceof FinchApiError) return { status: error.status, json: error.body, headers: error.headers };
  throw error;
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload = '';
  if (reply.html !== undefined) {
    headers['Content-Type'] = 'text/html; charset=utf-8';
    payload = reply.html;
  } else if (reply.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(reply.json);
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

const clientGone = (req: IncomingMessage, res: ServerResponse) => res.destroyed || req.socket.destroyed;

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const urlHost = (host: string) => {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
};

/** Timers for faulted delays that close() can cut short, so the emulator always stops promptly. */
class Sleeper {
  private readonly pending = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.pending.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pending.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.pending]) wake();
  }
}
