// The caller, from the claims API Gateway's JWT authorizer already verified (issuer, audience,
// expiry, signature). Here: whose customer the request acts for, and whether it is an admin.
import type { Caller } from '#core/deps.js';
import { Forbidden, InvalidRequest, Unauthorized } from '#core/errors.js';
import { CUSTOMER_ID_PATTERN } from '#core/ids.js';

export interface CallerSettings {
  customerIdClaim: string;
  customerNameClaim: string;
  adminScope: string;
}

export const DEFAULT_CALLER_SETTINGS: CallerSettings = {
  customerIdClaim: 'customer_id',
  customerNameClaim: 'customer_name',
  adminScope: 'connections:admin',
};

interface JwtContext { claims?: Record<string, unknown>; scopes?: string[] | null }

export function resolveCaller(jwt: JwtContext | undefined, requestedCustomer: string | undefined, settings = DEFAULT_CALLER_SETTINGS): Caller {
  const claims = jwt?.claims;
  if (!claims) throw new Unauthorized();
  if (hasScope(claims.scope, jwt?.scopes, settings.adminScope)) {
    // A server-to-server caller names the customer on every route.
    if (!requestedCustomer) throw new InvalidRequest('Admin callers must name the customer.', [{ path: 'customer_id', message: 'required for admin callers' }]);
    return { customer_id: requestedCustomer, admin: true, actor: actorOf(claims, 'admin') };
  }
  const customer = claims[settings.customerIdClaim];
  if (typeof customer !== 'string' || !CUSTOMER_ID_PATTERN.test(customer)) {
    throw new Forbidden(`The token's ${settings.customerIdClaim} claim is missing or not a valid customer id.`);
  }
  // A non-admin may repeat its own customer id (redundant); naming another one is refused.
  if (requestedCustomer !== undefined && requestedCustomer !== customer) throw new Forbidden();
  const name = claims[settings.customerNameClaim];
  return { customer_id: customer, admin: false, actor: actorOf(claims, customer), customer_name: typeof name === 'string' && name ? name : undefined };
}

function actorOf(claims: Record<string, unknown>, fallback: string): string {
  return typeof claims.sub === 'string' && claims.sub.length <= 256 ? claims.sub : fallback;
}

/**
 * HTTP APIs pass `scope` as a space-separated string (or an array flattened to "[a b]");
 * the admin scope must appear as a whole word, so `connections:admin2` is not `connections:admin`.
 */
export function hasScope(scopeClaim: unknown, scopes: string[] | null | undefined, wanted: string): boolean {
  const words = [
    ...(typeof scopeClaim === 'string' ? scopeClaim.split(/[\s,[\]]+/) : Array.isArray(scopeClaim) ? scopeClaim.map(String) : []),
    ...(scopes ?? []),
  ];
  return words.includes(wanted);
}
