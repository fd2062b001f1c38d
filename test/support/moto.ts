// The moto server global-setup.ts started (test/support/moto-server.ts), for tests that run the
// real KMS and Secrets Manager adapters against AWS's own protocols and answers. Where moto is not
// installed those tests skip with a one-line reason; under REQUIRE_MOTO=1 (CI) they fail instead,
// and a moto that is installed but did not start always fails them.
// Each test file makes its own keys and secrets (named after the file), so files run side by side.
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KmsClient } from '#adapters/aws-json/kms.js';
import { SecretsManagerClient as DeployedSecretsManagerClient } from '#adapters/aws-json/secrets-manager.js';

const REGION = 'us-east-1';
/** moto accepts any credentials. */
const CREDENTIALS = { accessKeyId: 'moto', secretAccessKey: 'moto' };

/** Why the moto tests are skipped here, or null when they run (or must fail). */
function skipReason(): string | null {
  if (process.env.MOTO_ENDPOINT || process.env.MOTO_START_ERROR || process.env.REQUIRE_MOTO === '1') return null;
  return process.env.MOTO_UNAVAILABLE ?? 'MOTO_ENDPOINT is not set (run the tests through Jest, whose globalSetup starts moto)';
}

/** `describe`, or `describe.skip` with the reason printed on one line. */
export function describeWithMoto(name: string, body: () => void): void {
  const reason = skipReason();
  if (reason) {
    process.stderr.write(`skipped "${name}": ${reason}; set REQUIRE_MOTO=1 to fail instead\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/** moto's endpoint; throws (failing the tests that ask) when it is not running. */
export function motoEndpoint(): string {
  const endpoint = process.env.MOTO_ENDPOINT;
  if (endpoint) return endpoint;
  if (process.env.MOTO_START_ERROR) throw new Error(process.env.MOTO_START_ERROR);
  throw new Error(`REQUIRE_MOTO=1 but moto is not available: ${process.env.MOTO_UNAVAILABLE ?? 'MOTO_ENDPOINT is not set'}`);
}

/** What an SDK client needs to talk to moto. */
export function motoClientConfig(options: { maxAttempts?: number } = {}) {
  return { endpoint: motoEndpoint(), region: REGION, credentials: CREDENTIALS, ...options };
}

/**
 * The environment that makes the handlers' own clients (`new KmsClient({})`,
 * `new SecretsManagerClient({})` of functions/adapters/aws-json) talk to moto: the SDK's
 * service-specific endpoint variables, which those clients read as the generated ones do.
 */
export function motoEnvironment(): Record<string, string> {
  return { AWS_ENDPOINT_URL_KMS: motoEndpoint(), AWS_ENDPOINT_URL_SECRETS_MANAGER: motoEndpoint() };
}

/** The generated clients, for what the tests set up and check (keys, secrets, rotation). */
export const motoKms = (options?: { maxAttempts?: number }) => new KMSClient(motoClientConfig(options));
export const motoSecrets = (options?: { maxAttempts?: number }) => new SecretsManagerClient(motoClientConfig(options));
/** The clients the functions deploy with (functions/adapters/aws-json), for the adapters under test. */
export const deployedKms = (options?: { maxAttempts?: number }) => new KmsClient(motoClientConfig(options));
export const deployedSecrets = (options?: { maxAttempts?: number }) => new DeployedSecretsManagerClient(motoClientConfig(options));

/** A fresh symmetric key, described after the test file that made it. Returns its ARN and id. */
export async function createTestKey(kms: KMSClient, label: string): Promise<{ arn: string; keyId: string }> {
  const out = await kms.send(new CreateKeyCommand({ Description: `finch-connections test: ${label}` }));
  return { arn: out.KeyMetadata!.Arn!, keyId: out.KeyMetadata!.KeyId! };
}

/** A fresh secret named after the test file (a random suffix keeps reruns apart). Returns its ARN. */
export async function createTestSecret(secrets: SecretsManagerClient, label: string, value: unknown): Promise<string> {
  const out = await secrets.send(new CreateSecretCommand({
    Name: `finch-connections-test/${label}/${randomBytes(4).toString('hex')}`,
    SecretString: typeof value === 'string' ? value : JSON.stringify(value),
  }));
  return out.ARN!;
}
