// Dev tokens, shaped like the ones the deployed API expects: the customer in the configured claim
// (CUSTOMER_ID_CLAIM, default `customer_id`), an optional display name, and the admin scope for
// server-to-server callers. Used by `POST /_local/token` and `npm run token`.
import type { TokenRequest } from './gateway/local-routes.js';
import { mintToken } from './gateway/jwt.js';
import type { LocalSecrets } from './secrets.js';

export const DEFAULT_TOKEN_LIFETIME_S = 3600;

export interface ClaimNames {
  customerIdClaim: string;
  customerNameClaim: string;
  adminScope: string;
  /** The first of ADMIN_CLIENT_IDS: admin dev tokens name it, as the deployed API then requires. */
  adminClientId?: string;
}

export function claimNames(env: Record<string, string | undefined>): ClaimNames {
  return {
    customerIdClaim: env.CUSTOMER_ID_CLAIM || 'customer_id',
    customerNameClaim: env.CUSTOMER_NAME_CLAIM || 'customer_name',
    adminScope: env.ADMIN_SCOPE || 'connections:admin',
    adminClientId: env.ADMIN_CLIENT_IDS?.split(',').map((id) => id.trim()).find(Boolean),
  };
}

export function mintDevToken(secrets: LocalSecrets, names: ClaimNames, request: TokenRequest): Promise<string> {
  const claims: Record<string, unknown> = { sub: `dev|${request.customer_id ?? 'service'}` };
  if (request.customer_id !== undefined) claims[names.customerIdClaim] = request.customer_id;
  if (request.customer_name !== undefined) claims[names.customerNameClaim] = request.customer_name;
  if (request.scope) claims.scope = request.scope;
  // With ADMIN_CLIENT_IDS set the admin scope counts only for a listed client (functions/http/caller.ts).
  if (names.adminClientId && request.scope?.split(' ').includes(names.adminScope)) claims.client_id = names.adminClientId;
  return mintToken(secrets.jwt_signing_key, { claims, expiresIn: request.expires_in ?? DEFAULT_TOKEN_LIFETIME_S });
}
