// Injected faults, so tests can drive the failure paths the real Finch produces only by bad luck:
// an outage, rate limiting, a slow answer, a timeout after the token was already issued, or an
// answer missing a field. Faults queue per route and are consumed one per request, in order.
import { invalidRequest } from './errors.js';
import { isObject } from './validate.js';

export interface FaultSpec {
  method: string;
  /** A route template as the state's call counters name it, e.g. `/auth/token`. */
  path: string;
  /** Answer this status with a Finch-shaped error (or `body`) instead of the real answer. */
  status?: number;
  body?: unknown;
  /** Wait this long: before doing the work, or after it when `after_response` is set. */
  delay_ms?: number;
  /** Do the real work (issue the token, consume the code) before the delay or the error status. */
  after_response?: boolean;
  /** Top-level fields deleted from the real (successful) answer. */
  omit_fields?: string[];
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

function parseFaultSpec(input: unknown): FaultSpec {
  if (!isObject(input)) throw invalidRequest('A fault is a JSON object.');
  const known = new Set(['method', 'path', 'status', 'body', 'delay_ms', 'after_response', 'omit_fields', 'times']);
  const unknown = Object.keys(input).filter((key) => !known.has(key));
  if (unknown.length) throw invalidRequest(`Unknown fault fields: ${unknown.join(', ')}.`);

  const { method, path, status, body, delay_ms, after_response, omit_fields, times } = input;
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
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1)) throw invalidRequest('fault.times must be a positive integer.');
  if (status === undefined && delay_ms === undefined && omit_fields === undefined) {
    throw invalidRequest('A fault needs at least one of status, delay_ms or omit_fields.');
  }
  return {
    method: method.toUpperCase(), path,
    ...(status !== undefined ? { status: status as number } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(delay_ms !== undefined ? { delay_ms: delay_ms as number } : {}),
    ...(after_response !== undefined ? { after_response } : {}),
    ...(omit_fields !== undefined ? { omit_fields: omit_fields as string[] } : {}),
    ...(times !== undefined ? { times: times as number } : {}),
  };
}
