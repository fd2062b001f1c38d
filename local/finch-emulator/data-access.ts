// What every employer data endpoint checks before it answers, in Finch's order: the connection's
// status (reauth and unfinished setups 401, missing permissions 403, an assisted connection still
// being set up 202), then the product the token was granted (403 `insufficient_scope_error`, per
// Finch's Permissions page), then the entity the request names. Plus the query parameters the SDK
// sends, as it encodes them (`name[]=a&name[]=b` for lists).
import {
  FinchApiError, accountSetupRequired, insufficientPermissions, insufficientScope, invalidRequest, reauthenticateUser,
} from './errors.js';
import { requireCaller, json, type EmulatorDeps, type Reply, type RequestInput } from './context.js';
import { entitiesOf, isMultiEntity } from './dataset.js';
import type { EmulatedConnection } from './store.js';
import { isObject } from './validate.js';

/**
 * The product each endpoint needs, from Finch's Permissions page
 * (https://developer.tryfinch.com/api-reference/development-guides/Permissions): pay groups come
 * with `payment`; pay statement items and their rules with `pay_statement`; `deduction` is the
 * deprecated name of `benefits`.
 */
export const PRODUCT_OF = {
  company: ['company'],
  directory: ['directory'],
  individual: ['individual'],
  employment: ['employment'],
  payment: ['payment'],
  pay_statement: ['pay_statement'],
  benefits: ['benefits', 'deduction'],
  documents: ['documents'],
} as const satisfies Record<string, readonly string[]>;

export type DataProduct = keyof typeof PRODUCT_OF;

export interface DataScope {
  connection: EmulatedConnection;
  /** The index of the entity the request reads (0 on a single-entity connection). */
  entity: number;
  deps: EmulatorDeps;
}

/** Runs `build` when the token may use `product` now, on the entity the request names. */
export function serveData(input: RequestInput, deps: EmulatorDeps, product: DataProduct, build: (scope: DataScope) => Reply): Reply {
  const { connection } = requireCaller(input);
  switch (connection.status) {
    case 'reauth': throw reauthenticateUser();
    case 'error_no_account_setup': throw accountSetupRequired();
    case 'error_permissions': throw insufficientPermissions();
    case 'pending':
    case 'processing':
      // Finch's "accepted, data not ready yet" ("Handling API Responses"); the message is the emulator's.
      return json(202, { code: 202, name: 'accepted', finch_code: 'data_sync_in_progress', message: 'Finch is still retrieving data for this connection.' });
    case 'connected':
      break;
  }
  const granted = PRODUCT_OF[product] as readonly string[];
  if (!connection.products.some((name) => granted.includes(name))) throw insufficientScope(granted[0]);
  const reply = build({ connection, entity: entityOf(input, connection), deps });
  return reply.status === 200 ? { ...reply, headers: { ...freshnessHeaders(connection, deps), ...reply.headers } } : reply;
}

/**
 * Finch's freshness headers ("Headers": https://developer.tryfinch.com/api-reference/development-guides/Headers):
 * when the data was retrieved from the provider and when Finch last tried to update it, with the
 * result. Here the data is the last successful sync's, or read live now when the connection has
 * none yet ("Data Syncs": before the initial sync Finch fetches live); the last attempt succeeded.
 */
function freshnessHeaders(connection: EmulatedConnection, deps: EmulatorDeps): Record<string, string> {
  const retrieved = new Date(connection.last_successful_sync ?? deps.now()).toISOString();
  return {
    'Finch-Data-Retrieved': retrieved,
    'Finch-Last-Attempted-Update-Date': retrieved,
    'Finch-Last-Attempted-Update-Result': 'success',
  };
}

/**
 * `entity_ids`: "Provide exactly one entity ID per request; a maximum of one is accepted" (the
 * SDK's doc of the parameter). A multi-entity connection must name one of its entities ("pass one
 * of them on every API request", Finch's multi-entity guide); a single-entity connection may name
 * its own. Anything else is a 400 the emulator words itself.
 */
function entityOf(input: RequestInput, connection: EmulatedConnection): number {
  const named = listParam(input.query, 'entity_ids');
  if (named.length > 1) throw invalidRequest('entity_ids accepts exactly one entity id per request.');
  const entities = entitiesOf(connection);
  if (named.length === 0) {
    if (isMultiEntity(connection)) throw invalidRequest('This connection covers several entities: name one in entity_ids.');
    return 0;
  }
  const index = entities.findIndex((entity) => entity.id === named[0]);
  if (index < 0) throw invalidRequest('entity_ids names no entity of this connection.');
  return index;
}

/** A list parameter as the SDK sends it (`name[]=a&name[]=b`), or repeated, or comma-separated. */
export function listParam(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(`${name}[]`), ...query.getAll(name)].flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}

export function countParam(query: URLSearchParams, name: string): number | null {
  const raw = query.get(name);
  if (raw === null) return null;
  if (!/^\d{1,9}$/.test(raw)) throw invalidRequest(`${name} must be a non-negative integer.`);
  return Number(raw);
}

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function dateParam(query: URLSearchParams, name: string, required: boolean): string | null {
  const raw = query.get(name);
  if (raw === null) {
    if (required) throw invalidRequest(`${name} is required (YYYY-MM-DD).`);
    return null;
  }
  if (!DATE.test(raw)) throw invalidRequest(`${name} must be a date (YYYY-MM-DD).`);
  return raw;
}

export const isDate = (value: unknown): value is string => typeof value === 'string' && DATE.test(value);

/** Finch's batch bodies: `requests` of 1 to 10000 items (the SDK's doc), each naming one id. */
export function batchIds(requests: unknown, key: string, max = 10_000): string[] {
  if (!Array.isArray(requests) || requests.length === 0) throw invalidRequest('requests must be a non-empty array.');
  if (requests.length > max) throw invalidRequest(`requests takes at most ${max} items.`);
  return requests.map((request, index) => {
    if (!isObject(request) || typeof request[key] !== 'string' || request[key] === '') throw invalidRequest(`requests.${index}.${key} is required.`);
    return request[key] as string;
  });
}

/** An item a batch answers with its own error, as Finch's "Batch Requests" guide shows it. */
export function batchError(code: number, name: string, finch_code: string, message: string) {
  return { code, name, finch_code, message };
}

/** Finch's 404 for a benefit, payment, individual or other item the connection does not have. */
export const missing = (finch_code: string, message: string) => new FinchApiError(404, 'not_found_error', message, { finch_code });
