import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Finch's ids are UUIDs; so are the emulator's, so code that validates their format keeps working. */
export const newId = (): string => randomUUID();

/**
 * Access tokens are opaque to clients. A UUID, like Finch's, but made from 16 fresh random bytes
 * separately from other ids so a test can search for a token anywhere without false hits.
 */
export const newAccessToken = (): string => formatUuid(randomBytes(16));

/** Authorization codes: single-use, short-lived, unguessable. */
export const newAuthorizationCode = (): string => randomBytes(20).toString('hex');

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Webhook event ids look like Finch's (Svix-style): `msg_` and 27 base62 characters. */
export function newEventId(): string {
  const bytes = randomBytes(27);
  let id = 'msg_';
  for (const byte of bytes) id += BASE62[byte % 62];
  return id;
}

/** Bytes derived from a seed: fake data stays the same for the same connection across runs. */
export const seedBytes = (seed: string): Buffer => createHash('sha256').update(seed).digest();

/** A stable UUID for a seed (company ids, individual ids). */
export const uuidFromSeed = (seed: string): string => formatUuid(seedBytes(seed).subarray(0, 16));

function formatUuid(source: Buffer): string {
  const bytes = Buffer.from(source);
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
