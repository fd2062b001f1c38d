// Finch's client credentials from Secrets Manager (SecretsManagerCredentials, as deployed) against
// moto's Secrets Manager, with the Finch gateway over the Finch emulator: cached while fresh, and
// refetched once when Finch rejects the client, which picks up a value put since (a rotated
// client secret or webhook secret). Skipped (one line) where moto_server is not installed;
// REQUIRE_MOTO=1 fails instead.
import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SdkFinchGateway } from '#adapters/finch-gateway.js';
import { SecretsManagerCredentials } from '#adapters/secrets.js';
import { isTransientFault } from '#core/retry.js';
import { statusOf } from '#http/errors.js';
import { type RunningEmulator, startFinchEmulator } from '#local/finch-emulator/index.js';
import { signWebhook } from '#local/finch-emulator/webhooks.js';
import { testBudget } from '../support/budget.js';
import { createTestSecret, deployedSecrets, describeWithMoto, motoSecrets } from '../support/moto.js';

const LABEL = 'secrets-manager.test.ts';
const CLIENT_ID = 'client-sm';
const STALE = `stale-${randomBytes(8).toString('hex')}`;
const CURRENT = `current-${randomBytes(8).toString('hex')}`;
const OLD_WEBHOOK_SECRET = randomBytes(24).toString('base64');
const NEW_WEBHOOK_SECRET = randomBytes(24).toString('base64');

const secretValue = (client_secret: string, webhook_secret = OLD_WEBHOOK_SECRET) => ({ client_id: CLIENT_ID, client_secret, webhook_secret });
const session = { customer_id: 'sm-co', customer_name: 'SM Co', products: ['company'], minutes_to_expire: 10 };

describeWithMoto('Finch credentials from Secrets Manager (moto)', () => {
  let secrets: SecretsManagerClient;
  /** The client SecretsManagerCredentials is deployed with; `secrets` sets the secrets up. */
  let deployed: ReturnType<typeof deployedSecrets>;
  let emulator: RunningEmulator;
  /** GetSecretValue calls this file made, counted on the wire side of the SDK client. */
  let fetches = 0;
  beforeAll(async () => {
    secrets = motoSecrets();
    deployed = deployedSecrets();
    deployed.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') fetches++;
      return next(args);
    }, { step: 'finalizeRequest', name: 'countFetches' });
    // Finch knows only the current client secret: a source holding the stale one is rejected.
    emulator = await startFinchEmulator({ port: 0, clientId: CLIENT_ID, clientSecret: CURRENT });
  });
  afterAll(async () => {
    await emulator?.close();
    secrets?.destroy();
    deployed?.destroy();
  });

  const sessionCalls = () => emulator.state().calls['POST /connect/sessions'] ?? 0;
  const putSecret = (arn: string, value: unknown) => secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));

  test('the secret is read by its ARN, cached while fresh, and read again when asked to refresh', async () => {
    const arn = await createTestSecret(secrets, `${LABEL}/cache`, secretValue(CURRENT));
    const source = new SecretsManagerCredentials(deployed, arn, 60_000);
    const before = fetches;
    const first = await source.get();
    expect(first).toEqual(secretValue(CURRENT));
    await putSecret(arn, secretValue('rotated'));
    expect(await source.get()).toBe(first);
    expect(fetches - before).toBe(1);
    expect((await source.get(true)).client_secret).toBe('rotated');
    expect(fetches - before).toBe(2);
  });

  test('Finch rejecting the cached client secret refetches the secret once, picks up the value put since, and goes on', async () => {
    const arn = await createTestSecret(secrets, `${LABEL}/rotated`, secretValue(STALE));
    const source = new SecretsManagerCredentials(deployed, arn, 60_000);
    const gateway = new SdkFinchGateway(source, { baseURL: emulator.url, budget: testBudget() });
    await gateway.prepare();
    // The secret is rotated in Secrets Manager (and at Finch) while the container holds the old value.
    await putSecret(arn, secretValue(CURRENT));
    const [fetchesBefore, callsBefore] = [fetches, sessionCalls()];
    const created = await gateway.createConnectSession(session);
    expect(created.connect_url).toContain(emulator.url);
    expect(fetches - fetchesBefore).toBe(1);
    expect(sessionCalls() - callsBefore).toBe(2);
    // The refetched value is cached: the next call neither fetches nor is rejected.
    await gateway.createConnectSession({ ...session, customer_id: 'sm-co-2' });
    expect(fetches - fetchesBefore).toBe(1);
    expect(sessionCalls() - callsBefore).toBe(3);
  });

  test('a secret still stale after the refetch fails the call after one retry, without a loop', async () => {
    const arn = await createTestSecret(secrets, `${LABEL}/still-stale`, secretValue(STALE));
    const gateway = new SdkFinchGateway(new SecretsManagerCredentials(deployed, arn, 60_000), { baseURL: emulator.url, budget: testBudget() });
    await gateway.prepare();
    const [fetchesBefore, callsBefore] = [fetches, sessionCalls()];
    // A client Finch keeps refusing is Finch failing us (502), not a fault worth retrying.
    const error = await gateway.createConnectSession(session).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(502);
    expect(isTransientFault(error)).toBe(false);
    expect(fetches - fetchesBefore).toBe(1);
    expect(sessionCalls() - callsBefore).toBe(2);
  });

  test('a webhook signed with a rotated webhook secret is accepted after one refetch', async () => {
    const arn = await createTestSecret(secrets, `${LABEL}/webhook`, secretValue(CURRENT, OLD_WEBHOOK_SECRET));
    const gateway = new SdkFinchGateway(new SecretsManagerCredentials(deployed, arn, 60_000), { baseURL: emulator.url, budget: testBudget() });
    await gateway.prepare();
    await putSecret(arn, secretValue(CURRENT, NEW_WEBHOOK_SECRET));
    const body = JSON.stringify({ type: 'account.updated', connection_id: 'conn-sm' });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'finch-event-id': 'evt-sm-1', 'finch-timestamp': String(timestamp), 'finch-signature': signWebhook(NEW_WEBHOOK_SECRET, 'evt-sm-1', timestamp, body) };
    const before = fetches;
    await expect(gateway.verify(body, headers)).resolves.toBeUndefined();
    expect(fetches - before).toBe(1);
    // A signature under neither secret is still refused.
    const forged = { ...headers, 'finch-signature': signWebhook(randomBytes(24).toString('base64'), 'evt-sm-1', timestamp, body) };
    await expect(gateway.verify(body, forged)).rejects.toMatchObject({ name: 'WebhookSignatureInvalid' });
  });

  test('a secret that does not exist is refused as it is (ResourceNotFoundException), not as a transient fault', async () => {
    const missing = `arn:aws:secretsmanager:us-east-1:123456789012:secret:finch-connections-test/${LABEL}/missing-AbCdEf`;
    const error = await new SecretsManagerCredentials(deployed, missing).get().catch((e: unknown) => e);
    expect((error as Error).name).toBe('ResourceNotFoundException');
    expect(isTransientFault(error)).toBe(false);
  });

  test('a secret that is not the expected JSON fails naming FINCH_SECRET_ARN, never quoting the value', async () => {
    const arn = await createTestSecret(secrets, `${LABEL}/malformed`, { client_id: CLIENT_ID, clientSecret: 'leaky-value-7d1e' });
    const error = (await new SecretsManagerCredentials(deployed, arn).get().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/FINCH_SECRET_ARN/);
    expect(error.message).not.toContain('leaky-value-7d1e');
  });
});
