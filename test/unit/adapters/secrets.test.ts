import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, SecretsManagerClient } from '#adapters/aws-json/secrets-manager.js';
import { SecretsManagerCredentials } from '#adapters/secrets.js';
import { TransientSecretsError } from '#core/errors.js';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const secret = (client_secret: string) => ({ SecretString: JSON.stringify({ client_id: 'id', client_secret, webhook_secret: 'd2g=' }) });

describe('Finch credentials from Secrets Manager', () => {
  test('fetched once per container and reused while fresh; concurrent callers share one fetch', async () => {
    sm.on(GetSecretValueCommand).resolves(secret('s1'));
    const source = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:secret', 60_000);
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).toBe(b);
    expect(await source.get()).toBe(a);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(a).toEqual({ client_id: 'id', client_secret: 's1', webhook_secret: 'd2g=' });
  });

  test('refetched after the TTL, and at once when asked to refresh (Finch said invalid_client)', async () => {
    sm.on(GetSecretValueCommand).resolvesOnce(secret('s1')).resolves(secret('s2'));
    const source = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:secret', 0);
    expect((await source.get()).client_secret).toBe('s1');
    expect((await source.get()).client_secret).toBe('s2');
    const cached = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:secret', 60_000);
    await cached.get();
    const calls = sm.commandCalls(GetSecretValueCommand).length;
    await cached.get(true);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(calls + 1);
  });

  test('a throttled or failing Secrets Manager is a TransientSecretsError; a refusal passes through; neither is cached', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    sm.on(GetSecretValueCommand).rejectsOnce(throttled).rejectsOnce(denied).resolves(secret('s1'));
    const source = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }), 'arn:secret', 60_000);
    const first = await source.get().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TransientSecretsError);
    expect((first as TransientSecretsError).cause).toBe(throttled);
    await expect(source.get()).rejects.toBe(denied);
    expect((await source.get()).client_secret).toBe('s1');
  });

  test('a malformed secret fails without quoting its content', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"client_id":"id","client_secret":' + '"leaky-value"' });
    const source = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:secret');
    const error = (await source.get().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/FINCH_SECRET_ARN/);
    expect(error.message).not.toContain('leaky-value');
  });
});
