// The CloudFront-only origin (waf=true, lib/constructs/edge-protection.ts): CloudFront adds
// `x-origin-verify` to every request it forwards, and every function refuses a request without an
// accepted value, so the execute-api URL cannot be used to skip the WAF's per-IP and reputation
// rules. No ORIGIN_VERIFY (the local stack, tests, waf off): no check at all.
//
// The values come in the environment, resolved by CloudFormation from the stack's secret at deploy
// time (version ids pinned by the `originVerifyVersions` context key: lib/README.md "Rotating the
// origin header"), rather than fetched from Secrets Manager at run time. A fetch would put the
// Secrets Manager client into the data proxy, which deliberately has none, add a round trip to
// every cold start and make Secrets Manager an outage of every route; the environment costs
// nothing. What it exposes is small: the value only lets a caller skip the WAF (the JWT and the
// webhook signature still apply), and whoever may read a function's configuration may also read
// the distribution's, where CloudFront keeps the same value in plain text.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '#adapters/config.js';
import { Forbidden } from '#core/errors.js';

export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/** What Secrets Manager generates (64 letters and digits) fits; so does anything header-safe of 32+. */
const VALUE = /^[\x21-\x7e]{32,512}$/;

/** Throws 403 `forbidden` unless the request carries an accepted value. */
export type OriginCheck = (headers: Record<string, string | undefined> | undefined) => void;

/**
 * The check for this container, or undefined when ORIGIN_VERIFY is unset. ORIGIN_VERIFY is the
 * value CloudFront sends; ORIGIN_VERIFY_ROTATING, set only during a rotation, the other one
 * accepted (the next value before CloudFront switches to it, the previous one after).
 */
export function originCheck(env: Record<string, string | undefined>): OriginCheck | undefined {
  const current = env.ORIGIN_VERIFY || undefined;
  const rotating = env.ORIGIN_VERIFY_ROTATING || undefined;
  if (!current) {
    if (rotating) throw new ConfigError('Invalid configuration: ORIGIN_VERIFY_ROTATING is set without ORIGIN_VERIFY');
    return undefined;
  }
  for (const [name, value] of [['ORIGIN_VERIFY', current], ['ORIGIN_VERIFY_ROTATING', rotating]] as const) {
    // Name the variable, never echo the value.
    if (value !== undefined && !VALUE.test(value)) throw new ConfigError(`Invalid configuration: ${name} must be 32 to 512 printable ASCII characters without spaces`);
  }
  const accepted = [current, rotating].filter((value): value is string => value !== undefined).map(digest);
  return (headers) => {
    const sent = headers?.[ORIGIN_VERIFY_HEADER];
    // Fixed-length digests compared in constant time, and every accepted value compared, so the
    // time taken says neither how much of a guess matched nor which value it was.
    const sentDigest = digest(sent ?? '');
    let matched = false;
    for (const value of accepted) matched = timingSafeEqual(sentDigest, value) || matched;
    if (!matched) throw new Forbidden('This API answers only through its public URL.');
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
