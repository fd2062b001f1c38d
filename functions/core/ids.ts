import { createHash, randomBytes } from 'node:crypto';

/**
 * Finch's limit for a Connect session's `customer_id` and `customer_name`: "Required string length:
 * 1 - 255" (https://developer.tryfinch.com/api-reference/connect/new-session).
 */
export const FINCH_NAME_MAX_LENGTH = 255;
/** 1 to 255 characters, as Finch's customer_id (with an entity, `customer_id~entity` must fit too). */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$/;
export const ENTITY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** 256 bits in base64url without padding: exactly 43 characters. */
export const STATE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Finch connection ids are UUIDs in practice; accept any safe opaque id rather than guess their format. */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Finch's company and entity ids (UUIDs in its token response and `/introspect`); anything else is not stored nor asked for. */
export const FINCH_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Finch needs a distinct Finch-side customer id per connection of one customer; the entity makes it
 * unique. `~` can appear in neither pattern, so the split is unambiguous.
 */
export function finchCustomerId(customerId: string, entity: string | null): string {
  return entity ? `${customerId}~${entity}` : customerId;
}

export function newState(): string {
  return randomBytes(32).toString('base64url');
}

/** Names one callback invocation's claim on a session; not a secret. */
export function newClaimId(): string {
  return randomBytes(12).toString('base64url');
}

/** Sessions are keyed by this hash; the raw state is stored nowhere. */
export function hashState(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}
