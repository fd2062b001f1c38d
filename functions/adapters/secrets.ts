// Finch's client credentials and webhook secret: from Secrets Manager in AWS (fetched once per
// container, cached with a finite TTL), from the environment locally and in tests.
import { GetSecretValueCommand, SecretsManagerClient } from './aws-json/secrets-manager.js';
import type { Config } from './config.js';
import { TransientSecretsError } from '#core/errors.js';
import { once } from '#core/once.js';
import * as z from '#core/zod.js';
import { isTransient } from './aws-errors.js';

export interface FinchCredentials {
  client_id: string;
  client_secret: string;
  webhook_secret: string | null;
}

export interface FinchCredentialsSource {
  /** The same object while cached, so callers can cache what they build from it. */
  get(refresh?: boolean): Promise<FinchCredentials>;
}

const SecretShape = z.object({
  client_id: z.string().check(z.minLength(1)),
  client_secret: z.string().check(z.minLength(1)),
  webhook_secret: z.optional(z.nullable(z.string())),
});

export class SecretsManagerCredentials implements FinchCredentialsSource {
  private cached: { value: FinchCredentials; fetchedAt: number } | null = null;
  private pending: Promise<FinchCredentials> | null = null;

  private readonly client: () => SecretsManagerClient;

  /** `client` may be a function that makes it: it is called at the first fetch. */
  constructor(client: SecretsManagerClient | (() => SecretsManagerClient), private readonly secretArn: string, private readonly ttlMs = 5 * 60_000) {
    this.client = typeof client === 'function' ? client : () => client;
  }

  async get(refresh = false): Promise<FinchCredentials> {
    if (!refresh && this.cached && Date.now() - this.cached.fetchedAt < this.ttlMs) return this.cached.value;
    // Concurrent callers in one container share a single fetch.
    this.pending ??= this.fetch().finally(() => { this.pending = null; });
    return this.pending;
  }

  private async fetch(): Promise<FinchCredentials> {
    const out = await this.client().send(new GetSecretValueCommand({ SecretId: this.secretArn })).catch((error: unknown) => {
      throw isTransient(error) ? new TransientSecretsError(error) : error;
    });
    let parsed;
    try {
      parsed = SecretShape.safeParse(JSON.parse(out.SecretString ?? ''));
    } catch {
      parsed = { success: false as const };
    }
    // Never quote the secret's content in the error.
    if (!parsed.success) throw new Error('FINCH_SECRET_ARN must hold JSON {client_id, client_secret, webhook_secret}');
    const value = { client_id: parsed.data.client_id, client_secret: parsed.data.client_secret, webhook_secret: parsed.data.webhook_secret ?? null };
    this.cached = { value, fetchedAt: Date.now() };
    return value;
  }
}

export class StaticCredentials implements FinchCredentialsSource {
  constructor(private readonly value: FinchCredentials) {}
  async get(): Promise<FinchCredentials> { return this.value; }
}

/**
 * Finch's credentials as configured: Secrets Manager when FINCH_SECRET_ARN is set (always in AWS),
 * its client made at the first fetch (`client`, the same one); else the environment.
 */
export function finchCredentials(config: Config<'credentials'>): { source: FinchCredentialsSource; client?: () => SecretsManagerClient } {
  if (config.FINCH_SECRET_ARN) {
    const client = once(() => new SecretsManagerClient({}));
    return { source: new SecretsManagerCredentials(client, config.FINCH_SECRET_ARN), client };
  }
  return {
    source: new StaticCredentials({
      client_id: config.FINCH_CLIENT_ID!,
      client_secret: config.FINCH_CLIENT_SECRET!,
      webhook_secret: config.FINCH_WEBHOOK_SECRET ?? null,
    }),
  };
}
