// The real handlers wired as in AWS: KMS_KEY_ARN and FINCH_SECRET_ARN set, so the containers build
// their own KMSClient and SecretsManagerClient (pointed at moto through the SDK's
// AWS_ENDPOINT_URL_<SERVICE> variables), over DynamoDB Local and the Finch emulator. The local
// variables the harness also sets are wrong on purpose here, so a pass means the deployed path ran.
// Skipped (one line) where moto_server is not installed; REQUIRE_MOTO=1 fails instead.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import { keys } from '#adapters/table.js';
import { AccessTokenCipher, KmsCipher } from '#adapters/token-cipher.js';
import { CLIENT_ID, CLIENT_SECRET, RETURN_ORIGIN, WEBHOOK_SECRET, authorizeAtFinch, getItem, scanTable, startHarness, type Harness } from '../support/harness.js';
import { createTestKey, createTestSecret, deployedKms, describeWithMoto, motoEnvironment, motoKms, motoSecrets } from '../support/moto.js';

const LABEL = 'aws-wiring.test.ts';

describeWithMoto('the handlers with KMS and Secrets Manager (moto), as deployed', () => {
  let h: Harness;
  let kms: KMSClient;
  let keyArn: string;
  beforeAll(async () => {
    kms = motoKms();
    keyArn = (await createTestKey(kms, LABEL)).arn;
    const secrets = motoSecrets();
    const secretArn = await createTestSecret(secrets, LABEL, { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, webhook_secret: WEBHOOK_SECRET });
    secrets.destroy();
    h = await startHarness({
      ...motoEnvironment(),
      KMS_KEY_ARN: keyArn,
      FINCH_SECRET_ARN: secretArn,
      // Finch refuses this one: only the secret's client secret makes a session.
      FINCH_CLIENT_SECRET: 'not-the-client-secret',
    });
  });
  afterAll(async () => {
    await h?.close();
    kms?.destroy();
  });

  const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
  const finchReads = () => h.emulator.state().calls['GET /employer/directory'] ?? 0;

  async function connect(customer: string): Promise<string> {
    const session = await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/` } });
    expect(session.statusCode).toBe(201);
    const { code, state } = await authorizeAtFinch(session.json.connect_url);
    const back = await h.invoke('GET /connect/callback', { query: { code: code!, state } });
    const location = new URL(back.headers.location);
    expect(location.searchParams.get('status')).toBe('connected');
    return location.searchParams.get('connection_id')!;
  }

  test('a connection stores a KMS ciphertext bound to its item, and the proxy decrypts it to call Finch', async () => {
    const connectionId = await connect('wire-co');
    const item = await getItem(h, keys.connection('wire-co', connectionId));
    expect(item!.token_ciphertext).toMatch(/^kms:/);
    const token = await new AccessTokenCipher(new KmsCipher(deployedKms(), keyArn)).decrypt(item!.token_ciphertext, { customer_id: 'wire-co', connection_id: connectionId });
    expect(h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens).toContain(token);

    const before = finchReads();
    const directory = await h.invoke('GET /finch/employer/directory', { claims: claims('wire-co'), headers: { 'finch-connection-id': connectionId } });
    expect(directory.statusCode).toBe(200);
    expect(finchReads()).toBe(before + 1);
  });

  test('an Idempotency-Key record is sealed by KMS: the live state is not in the table', async () => {
    const request = { claims: claims('wire-idem-co'), body: { flow: 'embedded' }, headers: { 'idempotency-key': 'wire-key-1' } };
    const first = await h.invoke('POST /connect/sessions', request);
    expect(first.statusCode).toBe(201);
    expect((await h.invoke('POST /connect/sessions', request)).json).toEqual(first.json);
    const records = (await scanTable(h)).filter((item) => item.pk === 'IDEMPOTENCY');
    expect(records).toHaveLength(1);
    expect(JSON.stringify(records[0])).toMatch(/kms:/);
    expect(JSON.stringify(records[0])).not.toContain(first.json.state);
  });

  test('a ciphertext moved onto another customer\'s connection is a 500 internal_error, not a retryable 503, and Finch is not called', async () => {
    const [from, to] = [await connect('wire-from-co'), await connect('wire-to-co')];
    const moved = (await getItem(h, keys.connection('wire-from-co', from)))!.token_ciphertext;
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.connection('wire-to-co', to),
      UpdateExpression: 'SET token_ciphertext = :moved', ExpressionAttributeValues: { ':moved': moved },
    }));
    const before = finchReads();
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims('wire-to-co'), headers: { 'finch-connection-id': to } });
    expect(res.statusCode).toBe(500);
    expect(res.json.error.code).toBe('internal_error');
    expect(res.headers['retry-after']).toBeUndefined();
    expect(finchReads()).toBe(before);
  });
});
