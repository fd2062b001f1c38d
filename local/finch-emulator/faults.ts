// Injected faults, so tests can drive the failure paths the real Finch produces only by bad luck:
// an outage, rate limiting, a slow answer, a timeout after the token was already issued, or an
// answer missing a field. Faults queue per route and are consumed one per request, in order.
import type { Reply } from './context.js';
import {
  DEFAULT_REFUSAL, ERROR_TABLE, type FinchApiError, connectionAlreadyExists, documentedError, errorForStatus, invalidRequest,
  legacyRateLimit, tableError,
} from './errors.js';
import type { EmulatorStore } from './store.js';
import { isObject } from './validate.js';

/** The undocumented refusal of `POST /connect/sessions` for a customer id with a live connection. */
const REFUSAL = 'connection_already_exists';
/** The emulator's answer to a 429 before it followed Finch's table; kept for tests that need it. */
const LEGACY_RATE_LIMIT = 'rate_limit_error';

export interface FaultSpec {
  method: string;
  /** A route template as the state's call counters name it, e.g. `/auth/token`. */
  path: string;
  /** Answer this status with Finch's error for it (or `body`) instead of the real answer. */
  status?: number;
  /**
   * Answer a named error instead: a `name` of Finch's table (errors.ts, its status implied), the
   * old `rate_limit_error`, or `connection_already_exists` (POST /connect/sessions only).
   */
  error?: string;
  /** With `error`: one of the finch_codes Finch documents for the name (any for the refusal); null omits it. */
  finch_code?: string | null;
  /** With `error: 'connection_already_exists'`: whether `context.connection_id` is sent (default true). */
  context?: boolean;
  /** Headers set on the answer (a string) or taken off it (null), e.g. `{"Retry-After": "1"}`. */
  headers?: Record<string, string | null>;
  body?: unknown;
  /** Wait this long: before doing the work, or after it when `after_response` is set. */
  delay_ms?: number;
  /** Do the real work (issue the token, consume the code) before the delay or the error status. */
  after_response?: boolean;
  /** Top-level fields deleted from the real (successful) answer. */
  omit_fields?: string[];
  /** Top-level fields set on the real (successful) answer, e.g. one of another type than Finch's. */
  set_fields?: Record<string, unknown>;
  times?: number;
}

interface QueuedFault extends FaultSpec {
  remaining: number;
}

export class FaultBook {
  private readonly queues = new Map<string, QueuedFault[]>();

  /** `routes` are the "METHOD /template" keys a fault may target; anything else is a typo in a test. */
  constructor(private readonly routes: ReadonlySet<string>) {}

  add(input: unknown): FaultSpec {
    const spec = parseFaultSpec(input);
    const key = `${spec.method} ${spec.path}`;
    if (!this.routes.has(key)) {
      throw invalidRequest(`No faultable route ${key}; known: ${[...this.routes].join(', ')}.`);
    }
    const queue = this.queues.get(key) ?? [];
    queue.push({ ...spec, remaining: spec.times ?? 1 });
    this.queues.set(key, queue);
    return spec;
  }

  /** The fault for this request, if any; consumes one of its `times`. */
  take(routeKey: string): FaultSpec | undefined {
    const queue = this.queues.get(routeKey);
    const fault = queue?.[0];
    if (!queue || !fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) queue.shift();
    return fault;
  }

  clear(): void {
    this.queues.clear();
  }

  pending(): Array<{ method: string; path: string; remaining: number }> {
    return [...this.queues.values()].flat().map(({ method, path, remaining }) => ({ method, path, remaining }));
  }
}

/** Whether the fault replaces the answer with an error (as opposed to only delaying or trimming it). */
export const answersError = (fault: FaultSpec): boolean => fault.status !== undefined || fault.error !== undefined;

/**
 * The error answer of a fault. `requestBody` is the request's parsed body: the refusal names the
 * live connection of its `customer_id`, as the real refusal would.
 */
export function faultAnswer(fault: FaultSpec, requestBody: unknown, store: EmulatorStore): Reply {
  const error = faultError(fault, requestBody, store);
  const reply: Reply = { status: error.status, json: fault.body ?? error.body, headers: error.headers };
  return withFaultHeaders(reply, fault);
}

/** The fault's `headers` applied to an answer (also to a real one the fault only delayed or trimmed). */
export function withFaultHeaders(reply: Reply, fault: FaultSpec | undefined): Reply {
  if (!fault?.headers) return reply;
  const headers = { ...reply.headers };
  for (const [name, value] of Object.entries(fault.headers)) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    if (value !== null) headers[name] = value;
  }
  return { ...reply, headers };
}

function faultError(fault: FaultSpec, requestBody: unknown, store: EmulatorStore): FinchApiError {
  if (fault.error === undefined) return errorForStatus(fault.status as number);
  if (fault.error === LEGACY_RATE_LIMIT) return legacyRateLimit();
  if (fault.error === REFUSAL) {
    const customer_id = isObject(requestBody) && typeof requestBody.customer_id === 'string' ? requestBody.customer_id : null;
    const live = customer_id === null ? undefined : store.liveConnectionOf(customer_id);
    return connectionAlreadyExists(live?.connection_id ?? null, {
      status: (fault.status ?? DEFAULT_REFUSAL.status) as 400 | 409,
      finch_code: fault.finch_code === undefined ? DEFAULT_REFUSAL.finch_code : fault.finch_code,
      context: fault.context ?? DEFAULT_REFUSAL.context,
    });
  }
  return tableError(documentedError(fault.error)!, fault.finch_code);
}

const KNOWN_FIELDS = new Set([
  'method', 'path', 'status', 'error', 'finch_code', 'context', 'headers', 'body', 'delay_ms', 'after_response', 'omit_fields', 'set_fields', 'times',
]);

function parseFaultSpec(input: unknown): FaultSpec {
  if (!isObject(input)) throw invalidRequest('A fault is a JSON object.');
  const unknown = Object.keys(input).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length) throw invalidRequest(`Unknown fault fields: ${unknown.join(', ')}.`);

  const { method, path, status, body, delay_ms, after_response, omit_fields, set_fields, times, headers } = input;
  if (typeof method !== 'string' || !/^[a-z]+$/i.test(method)) throw invalidRequest('fault.method must be an HTTP method.');
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidRequest('fault.path must be a route path such as /auth/token.');
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 400 && (status as number) <= 599)) {
    throw invalidRequest('fault.status must be an integer from 400 to 599.');
  }
  if (delay_ms !== undefined && !(Number.isInteger(delay_ms) && (delay_ms as number) >= 0 && (delay_ms as number) <= 600_000)) {
    throw invalidRequest('fault.delay_ms must be an integer from 0 to 600000.');
  }
  if (after_response !== undefined && typeof after_response !== 'boolean') throw invalidRequest('fault.after_response must be a boolean.');
  if (omit_fields !== undefined && !(Array.isArray(omit_fields) && omit_fields.every((field) => typeof field === 'string'))) {
    throw invalidRequest('fault.omit_fields must be an array of field names.');
  }
  if (set_fields !== undefined && !isObject(set_fields)) throw invalidRequest('fault.set_fields must be an object of field names to values.');
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1)) throw invalidRequest('fault.times must be a positive integer.');
  if (headers !== undefined && !(isObject(headers) && Object.entries(headers).every(([name, value]) =>
    /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && (value === null || (typeof value === 'string' && !/[\r\n]/.test(value)))))) {
    throw invalidRequest('fault.headers must map header names to a string (send it) or null (leave it out).');
  }
  const named = parseNamedError(input, method.toUpperCase(), path, status as number | undefined);
  if (status === undefined && named.error === undefined && delay_ms === undefined && omit_fields === undefined && set_fields === undefined && headers === undefined) {
    throw invalidRequest('A fault needs at least one of status, error, delay_ms, omit_fields, set_fields or headers.');
  }
  return {
    method: method.toUpperCase(), path,
    ...(status !== undefined ? { status: status as number } : {}),
    ...named,
    ...(headers !== undefined ? { headers: headers as Record<string, string | null> } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(delay_ms !== undefined ? { delay_ms: delay_ms as number } : {}),
    ...(after_response !== undefined ? { after_response } : {}),
    ...(omit_fields !== undefined ? { omit_fields: omit_fields as string[] } : {}),
    ...(set_fields !== undefined ? { set_fields: set_fields as Record<string, unknown> } : {}),
    ...(times !== undefined ? { times: times as number } : {}),
  };
}

/** `error`, `finch_code` and `context`, checked against Finch's table so a typo fails the test that made it. */
function parseNamedError(input: Record<string, unknown>, method: string, path: string, status: number | undefined):
  Pick<FaultSpec, 'error' | 'finch_code' | 'context'> {
  const { error, finch_code, context } = input;
  if (error === undefined) {
    if (finch_code !== undefined || context !== undefined) throw invalidRequest('fault.finch_code and fault.context go with fault.error.');
    return {};
  }
  if (typeof error !== 'string') throw invalidRequest('fault.error must be an error name.');
  if (finch_code !== undefined && finch_code !== null && (typeof finch_code !== 'string' || finch_code === '')) {
    throw invalidRequest('fault.finch_code must be a non-empty string or null.');
  }
  if (context !== undefined && error !== REFUSAL) throw invalidRequest(`fault.context goes only with error ${REFUSAL}.`);
  if (context !== undefined && typeof context !== 'boolean') throw invalidRequest('fault.context must be a boolean.');
  const named = {
    error,
    ...(finch_code !== undefined ? { finch_code: finch_code as string | null } : {}),
    ...(context !== undefined ? { context: context as boolean } : {}),
  };

  if (error === REFUSAL) {
    if (`${method} ${path}` !== 'POST /connect/sessions') throw invalidRequest(`fault.error ${REFUSAL} is an answer of POST /connect/sessions only.`);
    if (status !== undefined && status !== 400 && status !== 409) throw invalidRequest(`fault.status with ${REFUSAL} is 400 or 409.`);
    return named;
  }
  if (error === LEGACY_RATE_LIMIT) {
    if ((status !== undefined && status !== 429) || finch_code !== undefined) throw invalidRequest(`fault.error ${LEGACY_RATE_LIMIT} is a 429 without finch_code.`);
    return named;
  }
  const row = documentedError(error);
  if (!row) {
    const names = [...ERROR_TABLE.map((entry) => entry.name), LEGACY_RATE_LIMIT, REFUSAL];
    throw invalidRequest(`fault.error ${error} is not in Finch's error table; known: ${names.join(', ')}.`);
  }
  if (status !== undefined && status !== row.status) throw invalidRequest(`fault.error ${error} is a ${row.status}, not a ${status}.`);
  if (typeof finch_code === 'string' && !row.finch_codes.includes(finch_code)) {
    const codes = row.finch_codes.length ? row.finch_codes.join(', ') : 'none';
    throw invalidRequest(`Finch documents no finch_code ${finch_code} for ${error} (documented: ${codes}).`);
  }
  return named;
}
