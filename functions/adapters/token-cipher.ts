// Token encryption bound to its item (invariant 5, docs/ARCHITECTURE.md). KMS Encrypt/Decrypt directly in AWS;
// AES-256-GCM locally. Both bind `{purpose, customer_id, connection_id}`, so a ciphertext copied
// to another item fails to decrypt. (Not the AWS Encryption SDK: it doubles a function's cold import.)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, KmsClient } from './aws-json/kms.js';
import { TransientCipherError } from '#core/errors.js';
import { once } from '#core/once.js';
import type { TokenCipher, TokenContext } from '#core/ports/token-cipher.js';
import { isTransient } from './aws-errors.js';
import type { Config } from './config.js';

/** Finch tokens are far smaller; KMS Encrypt takes at most 4 KiB of plaintext. */
const MAX_TOKEN_BYTES = 4096;

export class TokenTooLarge extends Error {
  constructor() { super('The access token is larger than 4 KiB.'); this.name = 'TokenTooLarge'; }
}
export class TokenDecryptFailed extends Error {
  constructor() { super('The stored token could not be decrypted for this item.'); this.name = 'TokenDecryptFailed'; }
}

export type EncryptionContext = Record<string, string>;

export function accessTokenContext(context: TokenContext): EncryptionContext {
  return { purpose: 'access_token', customer_id: context.customer_id, connection_id: context.connection_id };
}

/** Encrypts and decrypts small secrets under a named purpose and context. */
export interface ContextCipher {
  encrypt(plaintext: string, context: EncryptionContext): Promise<string>;
  decrypt(ciphertext: string, context: EncryptionContext): Promise<string>;
}

export class AccessTokenCipher implements TokenCipher {
  constructor(private readonly cipher: ContextCipher) {}
  encrypt(accessToken: string, context: TokenContext) { return this.cipher.encrypt(accessToken, accessTokenContext(context)); }
  decrypt(ciphertext: string, context: TokenContext) { return this.cipher.decrypt(ciphertext, accessTokenContext(context)); }
}

function checkSize(plaintext: string): Buffer {
  const bytes = Buffer.from(plaintext, 'utf8');
  if (bytes.length > MAX_TOKEN_BYTES) throw new TokenTooLarge();
  return bytes;
}

/**
 * A KMS call whose retryable faults (throttling, KMSInternalException and other 5xx, network) are
 * TransientCipherError once the SDK's own retries are spent: the same classification as the
 * DynamoDB store's, so the callback can keep a freshly issued token alive within its budget.
 */
async function kmsCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isTransient(error) ? new TransientCipherError(error) : error;
  }
}

/** Stored as `kms:<base64 CiphertextBlob>`; the blob names its key, so rotation needs nothing here. */
export class KmsCipher implements ContextCipher {
  private readonly kms: () => KmsClient;

  /** `kms` may be a function that makes the client: it is called at the first encrypt or decrypt. */
  constructor(kms: KmsClient | (() => KmsClient), private readonly keyId: string) {
    this.kms = typeof kms === 'function' ? kms : () => kms;
  }

  async encrypt(plaintext: string, context: EncryptionContext): Promise<string> {
    const out = await kmsCall(() => this.kms().send(new EncryptCommand({ KeyId: this.keyId, Plaintext: checkSize(plaintext), EncryptionContext: context })));
    return `kms:${Buffer.from(out.CiphertextBlob!).toString('base64')}`;
  }

  async decrypt(ciphertext: string, context: EncryptionContext): Promise<string> {
    if (!ciphertext.startsWith('kms:')) throw new TokenDecryptFailed();
    try {
      const out = await kmsCall(() => this.kms().send(new DecryptCommand({
        KeyId: this.keyId, CiphertextBlob: Buffer.from(ciphertext.slice(4), 'base64'), EncryptionContext: context,
      })));
      return Buffer.from(out.Plaintext!).toString('utf8');
    } catch (error) {
      if ((error as Error).name === 'InvalidCiphertextException') throw new TokenDecryptFailed();
      throw error;
    }
  }
}

/**
 * AES-256-GCM with a random 96-bit IV and the context as additional authenticated data. Keys are
 * named by id so several can be live: new ciphertexts use the newest, old ones still decrypt.
 * Format: `aes:<key id>:<iv b64url>:<ciphertext+tag b64url>`.
 */
export class LocalAesCipher implements ContextCipher {
  private readonly keys: Map<string, Buffer>;

  /** `keys` in order, the newest last. Each key is 32 bytes. */
  constructor(keys: Array<[string, Buffer]>) {
    if (keys.length === 0) throw new Error('LocalAesCipher needs at least one key');
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new Error(`token key ${id} must be 32 bytes`);
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`token key id ${id} must be [A-Za-z0-9_-]`);
    }
    this.keys = new Map(keys);
    this.currentKeyId = keys[keys.length - 1][0];
  }

  readonly currentKeyId: string;

  async encrypt(plaintext: string, context: EncryptionContext): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(checkSize(plaintext)), cipher.final(), cipher.getAuthTag()]);
    return `aes:${this.currentKeyId}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  async decrypt(ciphertext: string, context: EncryptionContext): Promise<string> {
    const [scheme, keyId, iv, body, ...rest] = ciphertext.split(':');
    const key = this.keys.get(keyId);
    if (scheme !== 'aes' || !key || !iv || !body || rest.length) throw new TokenDecryptFailed();
    const bytes = Buffer.from(body, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenDecryptFailed();
    }
  }

  /** The key id a ciphertext was made with (for key rotation). */
  static keyIdOf(ciphertext: string): string | null {
    const [scheme, keyId] = ciphertext.split(':');
    return scheme === 'aes' ? keyId : null;
  }
}

/** Canonical, order-independent AAD: KMS treats the encryption context as an unordered map too. */
function aad(context: EncryptionContext): Buffer {
  return Buffer.from(JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]])), 'utf8');
}

/**
 * The cipher as configured: KMS when KMS_KEY_ARN is set (always in AWS), its client made at the
 * first encrypt or decrypt (`client`, the same one); else AES-256-GCM with LOCAL_TOKEN_KEYS. The
 * functions that read or write tokens pass it to their container; the others never bundle KMS.
 */
export function configuredCipher(config: Config<'cipher'>): { cipher: ContextCipher; client?: () => KmsClient } {
  if (config.KMS_KEY_ARN) {
    const client = once(() => new KmsClient({}));
    return { cipher: new KmsCipher(client, config.KMS_KEY_ARN), client };
  }
  return { cipher: new LocalAesCipher(parseLocalKeys(config.LOCAL_TOKEN_KEYS!)) };
}

/** Parses `LOCAL_TOKEN_KEYS`: `id=base64key,id2=base64key`, the newest last. */
export function parseLocalKeys(raw: string): Array<[string, Buffer]> {
  return raw.split(',').map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error('LOCAL_TOKEN_KEYS must be "id=base64key[,id=base64key…]"');
    return [pair.slice(0, at).trim(), Buffer.from(pair.slice(at + 1).trim(), 'base64')];
  });
}
