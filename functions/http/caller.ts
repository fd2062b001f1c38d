// The caller, from the claims API Gateway's JWT authorizer already verified (issuer, audience,
// expiry, signature). Here: whose customer the request acts for, and whether it is an admin.
import type { Caller } from '#core/deps.js';
import { Forbidden, InvalidRequest, Unauthorized } from '#core/errors.js';
import { CUSTOMER_ID_PATTERN } from '#core/ids.js';

/** From the configuration only (CUSTOMER_ID_CLAIM, …: wiring.ts), so no route falls back to other names. */
export interface CallerSettings {
  customerIdClaim: string;
  customerNameClaim: string;
  adminScope: string;
  /**
   * ADMIN_CLIENT_IDS: when not empty, the admin scope counts only for tokens issued to one of these
   * clients (`client_id`, else `azp`). Identity providers that grant any scope an app asks for
   * (Cognito client credentials, an Auth0 tenant where any app can be granted it) would otherwise
   * make every app of the tenant an admin of every customer.
   */
  adminClientIds: ReadonlySet<string>;
}

interface JwtContext { claims?: Record<string, unknown>; scopes?: string[] | null }

export function resolveCaller(jwt: JwtContext | undefined, requestedCustomer: string | undefined, settings: CallerSettings): Caller {
  const claims = jwt?.claims;
  if (!claims) throw new Unauthorized();
  if (hasScope(claims.scope, jwt?.scopes, settings.adminScope) && isAdminClient(claims, settings.adminClientIds)) {
    // A server-to-server caller names the customer on every route.
    if (!requestedCustomer) throw new InvalidRequest('Admin callers must name the customer.', [{ path: 'customer_id', message: 'required for admin callers' }]);
    return { customer_id: requestedCustomer, admin: true, actor: actorOf(claims, 'admin'), client_id: clientOf(claims) };
  }
  const customer = claims[settings.customerIdClaim];
  if (typeof customer !== 'string' || !CUSTOMER_ID_PATTERN.test(customer)) {
    throw new Forbidden(`The token's ${settings.customerIdClaim} claim is missing or not a valid customer id.`);
  }
  // A non-admin may repeat its own customer id (redundant); naming another one is refused.
  if (requestedCustomer !== undefined && requestedCustomer !== customer) throw new Forbidden();
  const name = claims[settings.customerNameClaim];
  return {
    customer_id: customer, admin: false, actor: actorOf(claims, customer), client_id: clientOf(claims),
    customer_name: typeof name === 'string' && name ? name : undefined,
  };
}

function clientOf(claims: Record<string, unknown>): string | undefined {
  const client = typeof claims.client_id === 'string' ? claims.client_id : claims.azp;
  return typeof client === 'string' && client.length <= 256 ? client : undefined;
}

function actorOf(claims: Record<string, unknown>, fallback: string): string {
  return typeof claims.sub === 'string' && claims.sub.length <= 256 ? claims.sub : fallback;
}

/**
 * Whether the token was issued to an admin client. RFC 9068 access tokens name it in `client_id`;
 * Auth0 and Entra ID use `azp`. Every one the token has must be listed, so a token whose two claims
 * disagree is not an admin.
 */
function isAdminClient(claims: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  const named = [claims.client_id, claims.azp].filter((value) => value !== undefined);
  return named.length > 0 && named.every((value) => typeof value === 'string' && allowed.has(value));
}

/**
 * Whether the token holds `wanted` as a whole scope word. `scope` is space-delimited (RFC 6749
 * §3.3, RFC 9068), and a scope word may itself hold `,`, `[` or `]`: `connections:admin,` is another
 * scope. An array claim (`["a", "b"]`) reaches the Lambda from API Gateway HTTP APIs flattened into
 * the string "[a b]", so a string that starts with `[` and ends with `]` is read as that array (one
 * pair of brackets, nothing else); the local gateway (local/gateway/jwt.ts) flattens the same way.
 */
export function hasScope(scopeClaim: unknown, scopes: string[] | null | undefined, wanted: string): boolean {
  const words = [...scopeWords(scopeClaim), ...(Array.isArray(scopes) ? scopes : [])];
  return words.includes(wanted);
}

function scopeWords(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((word): word is string => typeof word === 'string');
  if (typeof claim !== 'string') return [];
  const flattened = claim.length >= 2 && claim.startsWith('[') && claim.endsWith(']');
  return (flattened ? claim.slice(1, -1) : claim).split(' ').filter(Boolean);
}
