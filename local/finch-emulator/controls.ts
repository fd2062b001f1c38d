// Test controls under /_emulator/*: no credentials, never counted, never faulted. They do what
// Finch's dashboard, its sandbox and bad luck do to a real connection.
import { invalidRequest, notFound } from './errors.js';
import { json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { CONNECTION_STATUSES } from './store.js';
import { expectBody, optionalBoolean, optionalEnum, optionalString } from './validate.js';
import { sendStatusEvents } from './webhooks.js';

export const readState = (_input: RequestInput, deps: EmulatorDeps): Reply =>
  json(200, deps.store.snapshot(deps.faults.pending()));

/**
 * `POST /_emulator/connections/{connection_id} {status, message?, notify?, reported_status?}`, like
 * the sandbox control but by id and silent: `notify: true` sends account.updated (and a first sync)
 * as the sandbox control does. `reported_status` (a snake_case word, or null to stop) is what
 * /introspect then reports in place of `status`, everywhere it reports one: Finch's `disconnected`
 * or its jobs' `reauth_error`, which the SDK's union misses, or a value nobody documents yet.
 */
export function setConnectionStatus(input: RequestInput, deps: EmulatorDeps): Reply {
  const fields = expectBody(input.body, ['status', 'message', 'notify', 'reported_status']);
  const status = optionalEnum(fields, 'status', CONNECTION_STATUSES);
  if (!status) throw invalidRequest('status is required.');
  const reported = fields.reported_status;
  if (reported !== undefined && reported !== null && !(typeof reported === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(reported))) {
    throw invalidRequest('reported_status must be a snake_case word or null.');
  }
  const connection = deps.store.connections.get(input.params.connection_id);
  if (!connection) throw notFound(`Connection ${input.params.connection_id} not found.`, 'connection_not_found');
  const notify = optionalBoolean(fields, 'notify') ?? false;
  connection.status = status;
  connection.status_message = optionalString(fields, 'message');
  if (reported === null) delete connection.reported_status;
  else if (reported !== undefined) connection.reported_status = reported;
  if (notify) sendStatusEvents(connection, deps);
  const view = deps.store.snapshot([]).connections.find((item) => item.connection_id === connection.connection_id);
  return json(200, view);
}

export function addFault(input: RequestInput, deps: EmulatorDeps): Reply {
  return json(201, { fault: deps.faults.add(input.body), pending: deps.faults.pending() });
}

export function clearFaults(_input: RequestInput, deps: EmulatorDeps): Reply {
  deps.faults.clear();
  return json(200, { pending: [] });
}

/** `GET /_emulator/rate-limits`: what each product saw, and the limits' windows (rate-limits.ts). */
export const readRateLimits = (_input: RequestInput, deps: EmulatorDeps): Reply => json(200, deps.rateLimits.view());

/** `POST /_emulator/rate-limits {enforce?, advance_ms?, reset?}`: Finch's limits on or off, and their clock moved on. */
export const configureRateLimits = (input: RequestInput, deps: EmulatorDeps): Reply => json(200, deps.rateLimits.configure(input.body));

export function resetEmulator(_input: RequestInput, deps: EmulatorDeps): Reply {
  deps.store.reset();
  deps.rateLimits.reset();
  deps.faults.clear();
  deps.events.reset();
  return json(200, { reset: true });
}
