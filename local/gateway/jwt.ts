// JWTs for the local gateway: a dev signing key (ES256) to mint tokens, and a verifier that does
// what API Gateway's HTTP API JWT authorizer does before a Lambda ever runs: a `kid` found in the
// issuer's key set, a valid signature, `iss` equal to the configured issuer, `aud` (or, without
// `aud`, `client_id`) among the configured audiences, `exp` in the future and `nbf`/`iat` in the
// past. Whatever fails, the answer is API Gateway's: 401 `{"message":"Unauthorized"}`.
import { randomUUID } from 'node:crypto';
import {
  type JSONWebKeySet, type JWK, type JWTPayload, SignJWT, calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader,
  exportJWK, generateKeyPair, importJWK, jwtVerify,
} from 'jose';

/** Local only: the CDK stack refuses these (docs/ARCHITECTURE.md, "Who may call what": no dev key, no placeholder issuer). */
export const LOCAL_JWT_ISSUER = 'https://finch-connections.local/dev-issuer';
export const LOCAL_JWT_AUDIENCE = 'finch-connections-local';
const ALG = 'ES256';

export interface DevSigningKey {
  /** Private JWK with `kid` and `alg`; kept under `.local/`, never committed. */
  privateJwk: JWK;
}

export async function generateDevSigningKey(): Promise<DevSigningKey> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  return { privateJwk: { ...privateJwk, kid, alg: ALG, use: 'sig' } };
}

export function publicJwks(key: DevSigningKey): JSONWebKeySet {
  const { d: _private, ...publicJwk } = key.privateJwk;
  return { keys: [publicJwk] };
}

export interface MintOptions {
  claims: Record<string, unknown>;
  /** Seconds from now; 0 or less gives a token that has already expired. */
  expiresIn: number;
  issuer?: string;
  audience?: string;
}

export async function mintToken(key: DevSigningKey, options: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  // An expired token must also have been valid once, so iat/nbf move back with it.
  const issuedAt = options.expiresIn > 0 ? now : now + options.expiresIn - 60;
  return new SignJWT(options.claims as JWTPayload)
    .setProtectedHeader({ alg: ALG, kid: key.privateJwk.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? LOCAL_JWT_ISSUER)
    .setAudience(options.audience ?? LOCAL_JWT_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(now + options.expiresIn)
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, ALG));
}

export interface JwtAuthorizerSettings {
  issuer: string;
  audience: readonly string[];
  jwks: JSONWebKeySet;
}

/** What API Gateway puts in `requestContext.authorizer.jwt`. */
export interface JwtAuthorizerContext {
  claims: Record<string, string>;
  scopes: string[] | null;
}

export type Authorization = { ok: true; jwt: JwtAuthorizerContext } | { ok: false; reason: string };

export type JwtAuthorizer = (authorizationHeader: string | undefined) => Promise<Authorization>;

export function createJwtAuthorizer(settings: JwtAuthorizerSettings): JwtAuthorizer {
  const keySet = createLocalJWKSet(settings.jwks);
  return async (header) => {
    // API Gateway takes the identity source as is, with or without a "Bearer " prefix.
    const token = header?.trim().replace(/^Bearer\s+/i, '');
    if (!token) return { ok: false, reason: 'missing token' };
    let payload: JWTPayload;
    try {
      if (!decodeProtectedHeader(token).kid) return { ok: false, reason: 'the token has no kid' };
      ({ payload } = await jwtVerify(token, keySet, { issuer: settings.issuer, algorithms: ['ES256', 'RS256'] }));
    } catch (error) {
      return { ok: false, reason: describe(error) };
    }
    const audiences = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const audienceOk = payload.aud !== undefined
      ? audiences.some((aud) => settings.audience.includes(aud))
      : typeof payload.client_id === 'string' && settings.audience.includes(payload.client_id);
    if (!audienceOk) return { ok: false, reason: 'the token does not have a valid audience' };
    if (typeof payload.exp !== 'number') return { ok: false, reason: 'the token has no exp' };
    if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) return { ok: false, reason: 'the token was issued in the future' };
    return { ok: true, jwt: { claims: stringifyClaims(payload), scopes: null } };
  };
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'the token has expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'the signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'no key matches the token kid';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return `invalid claim ${(error as { claim?: string }).claim ?? ''}`.trim();
    default: return 'the token is malformed';
  }
}

/**
 * HTTP APIs hand claims to the Lambda as strings: numbers and booleans stringified, arrays
 * flattened to "[a b]", objects as JSON.
 */
export function stringifyClaims(payload: JWTPayload): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') claims[name] = value;
    else if (Array.isArray(value)) claims[name] = `[${value.map((item) => (typeof item === 'object' ? JSON.stringify(item) : String(item))).join(' ')}]`;
    else if (typeof value === 'object') claims[name] = JSON.stringify(value);
    else claims[name] = String(value);
  }
  return claims;
}
