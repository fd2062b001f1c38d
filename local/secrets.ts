// The local stack's own secrets, made on first run and kept under `.local/` (git-ignored, mode
// 0600): the emulator's client id/secret and webhook secret, the AES key that encrypts access
// tokens at rest, and the dev JWT signing key. Kept rather than made per run so that dev tokens
// from `npm run token` and data kept with `--persist` stay usable across restarts.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DevSigningKey, generateDevSigningKey } from './gateway/jwt.js';

export interface LocalSecrets {
  finch_client_id: string;
  finch_client_secret: string;
  /** Base64, like Finch's. */
  finch_webhook_secret: string;
  /** LOCAL_TOKEN_KEYS: `id=base64(32 bytes)`. */
  token_keys: string;
  jwt_signing_key: DevSigningKey;
}

export const secretsFile = (stateDir: string) => join(stateDir, 'secrets.json');

export async function loadOrCreateSecrets(stateDir: string): Promise<LocalSecrets> {
  prepareStateDir(stateDir);
  const file = secretsFile(stateDir);
  const existing = readSecrets(stateDir);
  if (existing) return existing;
  const secrets: LocalSecrets = {
    finch_client_id: `local-${randomBytes(8).toString('hex')}`,
    finch_client_secret: randomBytes(32).toString('base64url'),
    finch_webhook_secret: randomBytes(32).toString('base64'),
    token_keys: `local-1=${randomBytes(32).toString('base64')}`,
    jwt_signing_key: await generateDevSigningKey(),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/** The secrets of an earlier run, or undefined when there are none (or they are unreadable). */
export function readSecrets(stateDir: string): LocalSecrets | undefined {
  const file = secretsFile(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>;
    const complete = parsed.finch_client_id && parsed.finch_client_secret && parsed.finch_webhook_secret && parsed.token_keys
      && parsed.jwt_signing_key?.privateJwk?.kid;
    return complete ? parsed as LocalSecrets : undefined;
  } catch {
    return undefined;
  }
}

/** The state folder ignores itself, so nothing in it is committed even outside this repository's .gitignore. */
export function prepareStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const ignore = join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '*\n');
}
