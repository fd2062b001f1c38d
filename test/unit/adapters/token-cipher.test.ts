import { randomBytes } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { DecryptCommand, EncryptCommand, KmsClient } from '#adapters/aws-json/kms.js';
import { AccessTokenCipher, KmsCipher, LocalAesCipher, TokenDecryptFailed, TokenTooLarge, parseLocalKeys } from '#adapters/token-cipher.js';
import { TransientCipherError } from '#core/errors.js';

const ctx = { customer_id: 'acme', connection_id: 'conn-1' };

describe('AES-256-GCM token cipher (local, invariant 5)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const cipher = new AccessTokenCipher(new LocalAesCipher([['k1', k1]]));

  test('round-trips and never stores the plaintext', async () => {
    const ciphertext = await cipher.encrypt('tok_secret_value', ctx);
    expect(ciphertext).not.toContain('tok_secret_value');
    expect(ciphertext).toMatch(/^aes:k1:/);
    await expect(cipher.decrypt(ciphertext, ctx)).resolves.toBe('tok_secret_value');
  });

  test('a ciphertext copied to another item does not decrypt', async () => {
    const ciphertext = await cipher.encrypt('tok', ctx);
    await expect(cipher.decrypt(ciphertext, { ...ctx, connection_id: 'conn-2' })).rejects.toBeInstanceOf(TokenDecryptFailed);
    await expect(cipher.decrypt(ciphertext, { ...ctx, customer_id: 'globex' })).rejects.toBeInstanceOf(TokenDecryptFailed);
  });

  test('a tampered ciphertext does not decrypt', async () => {
    const ciphertext = await cipher.encrypt('tok', ctx);
    const last = ciphertext.at(-2) === 'A' ? 'B' : 'A';
    await expect(cipher.decrypt(ciphertext.slice(0, -2) + last + ciphertext.at(-1), ctx)).rejects.toBeInstanceOf(TokenDecryptFailed);
  });

  test('new writes use the newest key; old ciphertexts still decrypt', async () => {
    const old = await cipher.encrypt('tok-old', ctx);
    const rotated = new AccessTokenCipher(new LocalAesCipher([['k1', k1], ['k2', k2]]));
    expect(await rotated.encrypt('tok-new', ctx)).toMatch(/^aes:k2:/);
    await expect(rotated.decrypt(old, ctx)).resolves.toBe('tok-old');
  });

  test('a token over 4 KiB is refused', async () => {
    await expect(cipher.encrypt('x'.repeat(4097), ctx)).rejects.toBeInstanceOf(TokenTooLarge);
  });

  test('LOCAL_TOKEN_KEYS parses id=base64 pairs', () => {
    const keys = parseLocalKeys(`a=${k1.toString('base64')},b=${k2.toString('base64')}`);
    expect(keys.map(([id]) => id)).toEqual(['a', 'b']);
    expect(() => new LocalAesCipher([['short', randomBytes(16)]])).toThrow('32 bytes');
  });
});

describe('KMS token cipher', () => {
  const kms = mockClient(KmsClient);
  afterEach(() => kms.reset());

  test('every Encrypt and Decrypt carries exactly the item\'s encryption context', async () => {
    kms.on(EncryptCommand).resolves({ CiphertextBlob: Buffer.from('blob') });
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from('tok') });
    const cipher = new AccessTokenCipher(new KmsCipher(new KmsClient({ region: 'us-east-1' }), 'arn:aws:kms:us-east-1:1:key/k'));
    const ciphertext = await cipher.encrypt('tok', ctx);
    expect(ciphertext).toBe(`kms:${Buffer.from('blob').toString('base64')}`);
    await expect(cipher.decrypt(ciphertext, ctx)).resolves.toBe('tok');
    const expected = { purpose: 'access_token', customer_id: 'acme', connection_id: 'conn-1' };
    expect(kms.commandCalls(EncryptCommand)[0].args[0].input.EncryptionContext).toEqual(expected);
    expect(kms.commandCalls(DecryptCommand)[0].args[0].input.EncryptionContext).toEqual(expected);
  });

  test.each([
    ['ThrottlingException', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }],
    ['KMSInternalException (500)', { name: 'KMSInternalException', $fault: 'server', $metadata: { httpStatusCode: 500 } }],
    ['a connection reset', { name: 'Error', code: 'ECONNRESET' }],
  ])('%s is a TransientCipherError the callback can retry', async (_label, fault) => {
    const error = Object.assign(new Error('kms said no'), fault);
    kms.on(EncryptCommand).rejects(error);
    kms.on(DecryptCommand).rejects(error);
    const cipher = new KmsCipher(new KmsClient({ region: 'us-east-1', maxAttempts: 1 }), 'k');
    const encrypting = await cipher.encrypt('tok', {}).catch((e: unknown) => e);
    expect(encrypting).toBeInstanceOf(TransientCipherError);
    expect((encrypting as TransientCipherError).cause).toBe(error);
    await expect(cipher.decrypt('kms:AAAA', {})).rejects.toBeInstanceOf(TransientCipherError);
  });

  test('a refusal (access denied, disabled key) passes through as it is: retrying would not help', async () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    kms.on(EncryptCommand).rejects(denied);
    await expect(new KmsCipher(new KmsClient({ region: 'us-east-1' }), 'k').encrypt('tok', {})).rejects.toBe(denied);
  });

  test('a ciphertext KMS refuses for this context is a decrypt failure', async () => {
    kms.on(DecryptCommand).rejects(Object.assign(new Error('bad'), { name: 'InvalidCiphertextException' }));
    const cipher = new KmsCipher(new KmsClient({ region: 'us-east-1' }), 'k');
    await expect(cipher.decrypt('kms:AAAA', {})).rejects.toBeInstanceOf(TokenDecryptFailed);
  });
});
