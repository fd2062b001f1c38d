// Finch's response bodies read defensively for the FinchGateway (finch-gateway.ts): the token
// response's and /introspect's identity fields and statuses. Finch documents more values than the
// SDK's types name and may add more, so every field is checked here and an odd one becomes null or
// is left out: it only describes a connection, and never fails the exchange, refresh, webhook or
// reconciler that read it.
import { connectionStatusOf, reportedStatusText } from '#core/finch-status.js';
import { FINCH_ID_PATTERN } from '#core/ids.js';
import { CONNECTION_TYPES, type ConnectionType } from '#core/model.js';
import type { Introspection, TokenGrant } from '#core/ports/finch.js';

type IntrospectedStatuses = Pick<
  Introspection, 'status' | 'finch_status' | 'status_message' | 'authentication_methods' | 'authentication_method_statuses' | 'entity_statuses'
>;

/**
 * `/introspect`'s statuses, overall, per authentication method and per entity, read defensively:
 * Finch documents values the SDK's `ConnectionStatusType` misses (`disconnected`; its jobs'
 * `reauth_error`, `permissions_error`) and may add more, so each value goes through
 * FINCH_STATUS_MEANINGS (functions/core/finch-status.ts) and anything else (an unknown value, a
 * wrong type, a missing object) is null or left out: never a failed refresh, webhook or reconciler.
 */
export function introspectedStatuses(found: unknown): IntrospectedStatuses {
  const fields = objectOf(found);
  const overall = objectOf(fields.connection_status);
  const methods = Array.isArray(fields.authentication_methods) ? fields.authentication_methods.map(objectOf).filter((method) => isWord(method.type)) : [];
  const entities = Array.isArray(fields.entities) ? fields.entities.map(objectOf).filter((entity) => finchId(entity.id) !== null) : [];
  return {
    status: connectionStatusOf(overall.status),
    finch_status: reportedStatusText(overall.status),
    status_message: typeof overall.message === 'string' ? overall.message.slice(0, MAX_MESSAGE) : null,
    authentication_methods: methods.map((method) => method.type as string),
    authentication_method_statuses: methods.map((method) => ({ type: method.type as string, status: connectionStatusOf(objectOf(method.connection_status).status) })),
    entity_statuses: entities.slice(0, MAX_ENTITIES).map((entity) => ({ entity_id: entity.id as string, status: connectionStatusOf(entity.status) })),
  };
}

const objectOf = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {});
/** Finch's names (`credential`, `api_token`, …) are snake_case words. */
const isWord = (value: unknown): value is string => typeof value === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(value);
/** A status message is Finch's prose for a person; a runaway one is cut, never stored whole. */
const MAX_MESSAGE = 1024;

/**
 * The token response's identity fields (SDK CreateAccessTokenResponse: `company_id?`, `entity_ids`,
 * `connection_type: 'provider' | 'finch'`). Read defensively: they only describe the connection,
 * so an absent or odd-typed field becomes null/[] and never fails the exchange that holds the token.
 */
export function grantIdentity(grant: unknown): Pick<TokenGrant, 'company_id' | 'entity_ids' | 'connection_type'> {
  const fields = grant as { company_id?: unknown; entity_ids?: unknown; connection_type?: unknown };
  return {
    company_id: finchId(fields.company_id),
    entity_ids: Array.isArray(fields.entity_ids) ? [...new Set(fields.entity_ids.filter((id) => finchId(id) !== null) as string[])].slice(0, MAX_ENTITIES) : [],
    connection_type: (CONNECTION_TYPES as readonly unknown[]).includes(fields.connection_type) ? fields.connection_type as ConnectionType : null,
  };
}

/** `/introspect`'s identity fields (SDK Introspection: `company_id?`, `manual?`, `connection_status.last_successful_sync?`), read as grantIdentity reads its. */
export function introspectedIdentity(found: unknown): Pick<Introspection, 'company_id' | 'manual' | 'last_successful_sync'> {
  const fields = found as { company_id?: unknown; manual?: unknown; connection_status?: { last_successful_sync?: unknown } | null };
  const synced = fields.connection_status?.last_successful_sync;
  return {
    company_id: finchId(fields.company_id),
    manual: typeof fields.manual === 'boolean' ? fields.manual : null,
    last_successful_sync: typeof synced === 'string' && synced.length <= 64 && !Number.isNaN(Date.parse(synced)) ? new Date(synced).toISOString() : null,
  };
}

/** Finch's multi-entity connections cover a handful of entities; a runaway list is cut, never stored whole. */
const MAX_ENTITIES = 100;

function finchId(value: unknown): string | null {
  return typeof value === 'string' && FINCH_ID_PATTERN.test(value) ? value : null;
}
