// The deployed token cipher (KmsCipher: KMS Encrypt/Decrypt with the item's encryption context)
// against moto's KMS, which checks the context as KMS does. A ciphertext that does not belong to
// the item is TokenDecryptFailed (a 500, never retried); only an unreachable or failing KMS is a
// TransientCipherError (tested with injected faults in test/unit/adapters/token-cipher.test.ts: under Jest, a
// refused connection reaches the SDK from another realm and loses its `code`). Also: key rotation, and the Idempotency-Key records sealed with purpose
// `idempotency`. Skipped (one line) where moto_server is not installed; REQUIRE_MOTO=1 fails instead.
import type { Context } from 'aws-lambda';
import {
  DecryptCommand, EnableKeyRotationCommand, GetKeyRotationStatusCommand, type KMSClient, ListKeyRotationsCommand, RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { IdempotentRequests } from '#adapters/idempotency.js';
import { AccessTokenCipher, KmsCipher, TokenDecryptFailed, accessTokenContext } from '#adapters/token-cipher.js';
import { isTransientFault } from '#core/retry.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { createTestKey, deployedKms, describeWithMoto, motoKms } from '../support/moto.js';

const LABEL = 'kms-cipher.test.ts';
const item = { customer_id: 'kms-co', connection_id: 'conn-kms-1' };
const TOKEN = 'tok_live_6f1c0a9e2b7d4c3a';

/** What a failed call threw, to assert on its type. */
const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (error: unknown) => error);

describeWithMoto('KMS token cipher against moto', () => {
  let kms: KMSClient;
  let key: { arn: string; keyId: string };
  let cipher: AccessTokenCipher;
  let contextCipher: KmsCipher;
  beforeAll(async () => {
    kms = motoKms();
    key = await createTestKey(kms, LABEL);
    contextCipher = new KmsCipher(deployedKms(), key.arn);
    cipher = new AccessTokenCipher(contextCipher);
  });
  afterAll(() => kms?.destroy());

  test('a token round-trips under its item\'s context; the stored form holds no plaintext and names the key', async () => {
    const ciphertext = await cipher.encrypt(TOKEN, item);
    expect(ciphertext).toMatch(/^kms:[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(ciphertext.slice(4), 'base64').toString('latin1')).not.toContain(TOKEN);
    await expect(cipher.decrypt(ciphertext, item)).resolves.toBe(TOKEN);
    const direct = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertext.slice(4), 'base64'), EncryptionContext: accessTokenContext(item) }));
    expect(direct.KeyId).toBe(key.arn);
  });

  test('KMS itself refuses the ciphertext without the context: the context is bound at Encrypt', async () => {
    const ciphertext = await cipher.encrypt(TOKEN, item);
    const refused = await failure(kms.send(new DecryptCommand({ KeyId: key.arn, CiphertextBlob: Buffer.from(ciphertext.slice(4), 'base64') })));
    expect((refused as Error).name).toBe('InvalidCiphertextException');
  });

  test.each([
    ['another connection of the same customer', { purpose: 'access_token', customer_id: item.customer_id, connection_id: 'conn-kms-2' }],
    ['another customer\'s connection', { purpose: 'access_token', customer_id: 'kms-other-co', connection_id: item.connection_id }],
    ['the same item under another purpose', { purpose: 'idempotency', ...item }],
    ['a context missing the connection', { purpose: 'access_token', customer_id: item.customer_id }],
  ])('a ciphertext read for %s is TokenDecryptFailed, never a transient fault', async (_label, context) => {
    const ciphertext = await cipher.encrypt(TOKEN, item);
    const error = await failure(contextCipher.decrypt(ciphertext, context));
    expect(error).toBeInstanceOf(TokenDecryptFailed);
    expect(isTransientFault(error)).toBe(false);
    // What the API answers for it: not a plaintext, not an SDK message.
    expect((error as Error).message).not.toContain(TOKEN);
  });

  test('a tampered ciphertext, or one that is not a KMS ciphertext at all, is TokenDecryptFailed', async () => {
    const blob = Buffer.from((await cipher.encrypt(TOKEN, item)).slice(4), 'base64');
    blob[blob.length - 1] ^= 0x01;
    expect(await failure(cipher.decrypt(`kms:${blob.toString('base64')}`, item))).toBeInstanceOf(TokenDecryptFailed);
    expect(await failure(cipher.decrypt(`kms:${Buffer.from('not a ciphertext blob').toString('base64')}`, item))).toBeInstanceOf(TokenDecryptFailed);
    expect(await failure(cipher.decrypt('aes:k1:AAAA:AAAA', item))).toBeInstanceOf(TokenDecryptFailed);
  });

  test('a ciphertext made under another key is refused, and not as a transient fault', async () => {
    const other = new AccessTokenCipher(new KmsCipher(deployedKms(), (await createTestKey(kms, `${LABEL} other key`)).arn));
    const error = await failure(cipher.decrypt(await other.encrypt(TOKEN, item), item));
    // Real KMS answers IncorrectKeyException (Decrypt names our key); moto answers AccessDeniedException.
    expect(['IncorrectKeyException', 'AccessDeniedException']).toContain((error as Error).name);
    expect(isTransientFault(error)).toBe(false);
  });

  test('after a key rotation, tokens sealed before still decrypt and new ones are under the same key ARN', async () => {
    const rotating = await createTestKey(kms, `${LABEL} rotation`);
    const rotatingCipher = new AccessTokenCipher(new KmsCipher(deployedKms(), rotating.arn));
    // As the stack configures the key (enableKeyRotation), then an on-demand rotation now.
    await kms.send(new EnableKeyRotationCommand({ KeyId: rotating.arn }));
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: rotating.arn }))).KeyRotationEnabled).toBe(true);
    const before = await rotatingCipher.encrypt('tok-before', item);
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: rotating.arn }));
    const rotations = (await kms.send(new ListKeyRotationsCommand({ KeyId: rotating.arn }))).Rotations ?? [];
    expect(rotations.map((rotation) => rotation.RotationType)).toEqual(['ON_DEMAND']);
    const after = await rotatingCipher.encrypt('tok-after', item);
    await expect(rotatingCipher.decrypt(before, item)).resolves.toBe('tok-before');
    await expect(rotatingCipher.decrypt(after, item)).resolves.toBe('tok-after');
    for (const ciphertext of [before, after]) {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(ciphertext.slice(4), 'base64'), EncryptionContext: accessTokenContext(item) }));
      expect(out.KeyId).toBe(rotating.arn);
    }
    // And the context still binds after the rotation.
    expect(await failure(rotatingCipher.decrypt(before, { ...item, connection_id: 'conn-kms-2' }))).toBeInstanceOf(TokenDecryptFailed);
  });

  describe('Idempotency-Key records (purpose idempotency)', () => {
    let table: TestTable;
    let requests: IdempotentRequests;
    beforeAll(async () => {
      table = await createTestTable('kms-idem');
      requests = new IdempotentRequests(table.client, table.tableName, contextCipher);
    });
    afterAll(() => table?.client.destroy());

    const lambdaContext = { awsRequestId: 'kms-idem', functionName: 'create-session', getRemainingTimeInMillis: () => 28_000 } as unknown as Context;

    test('the remembered response is a KMS ciphertext bound to {purpose: idempotency, customer_id}; a repeat answers it without running again', async () => {
      let runs = 0;
      const operation = async () => { runs++; return { session_id: 'sess-kms', state: 'state-live-3b9e1f' }; };
      const scope = { caller: { customer_id: 'kms-idem-co', admin: false, actor: 'user-1' }, key: 'idem-key-1', payload: { flow: 'embedded' } };
      const first = await requests.run(scope, lambdaContext, operation);
      await expect(requests.run(scope, lambdaContext, operation)).resolves.toEqual(first);
      expect(runs).toBe(1);

      const records = (await table.doc.send(new ScanCommand({ TableName: table.tableName }))).Items ?? [];
      expect(records).toHaveLength(1);
      const stored = JSON.stringify(records[0]);
      expect(stored).not.toContain('state-live-3b9e1f');
      const sealed = /kms:[A-Za-z0-9+/]+=*/.exec(stored)?.[0];
      expect(sealed).toBeDefined();
      await expect(contextCipher.decrypt(sealed!, { purpose: 'idempotency', customer_id: 'kms-idem-co' })).resolves.toBe(JSON.stringify(first));
      // Another customer's context, or the access-token purpose (the functions that may decrypt
      // tokens), cannot open it.
      expect(await failure(contextCipher.decrypt(sealed!, { purpose: 'idempotency', customer_id: 'kms-other-co' }))).toBeInstanceOf(TokenDecryptFailed);
      expect(await failure(contextCipher.decrypt(sealed!, { purpose: 'access_token', customer_id: 'kms-idem-co' }))).toBeInstanceOf(TokenDecryptFailed);
    });
  });
});
