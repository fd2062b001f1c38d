// `npm run rotate-keys [-- --dry-run]`: re-encrypts every stored access token (connections and the
// stashes of claimed sessions) under the newest of LOCAL_TOKEN_KEYS, each write conditional on the
// ciphertext being unchanged, and prints what it did. Idempotent: run it again and it rotates 0.
//
// Reads TABLE_NAME, DYNAMODB_ENDPOINT and LOCAL_TOKEN_KEYS from the environment; whatever is not set
// there comes from the local stack's state (`.local/stack.json` of a running `npm start`, and
// `.local/secrets.json`; LOCAL_STATE_DIR moves it).
//
// `npm run rotate-keys -- --add-key` appends a new random key to `.local/secrets.json` and stops:
// restart `npm start` so the handlers encrypt with it (old tokens still decrypt), then run
// `npm run rotate-keys`. Remove an old key only after a run reports nothing left under it.
//
// In AWS the tokens are KMS ciphertexts and KMS rotates the key material itself: nothing to do here.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rotateTokenKeys } from '../functions/adapters/key-rotation.js';
import { LocalAesCipher, parseLocalKeys } from '../functions/adapters/token-cipher.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/dynamodb-local.js';
import { stateDirFrom } from '../local/paths.js';
import { readSecrets, secretsFile } from '../local/secrets.js';

const USAGE = `usage: npm run rotate-keys [-- --dry-run | --add-key]
  (no option)  re-encrypt every stored token under the newest key of LOCAL_TOKEN_KEYS
  --dry-run    count what would be re-encrypted, write nothing
  --add-key    add a new key to .local/secrets.json (restart npm start, then rotate)
Settings: TABLE_NAME, DYNAMODB_ENDPOINT, LOCAL_TOKEN_KEYS, else the local stack's .local/ state.`;

function fail(message: string): never {
  console.error(`rotate-keys: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => !['--dry-run', '--add-key', '--help', '-h'].includes(arg));
if (unknown.length) fail(`unknown option ${unknown[0]}\n${USAGE}`);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}

const env = process.env;
const stateDir = stateDirFrom(env);

if (args.includes('--add-key')) {
  const secrets = readSecrets(stateDir) ?? fail(`no local secrets in ${stateDir} (run npm start once first)`);
  const ids = parseLocalKeys(secrets.token_keys).map(([id]) => id);
  const next = Math.max(0, ...ids.map((id) => Number(/^local-(\d+)$/.exec(id)?.[1] ?? 0))) + 1;
  const id = `local-${next}`;
  secrets.token_keys = `${secrets.token_keys},${id}=${randomBytes(32).toString('base64')}`;
  const file = secretsFile(stateDir);
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  console.log(`rotate-keys: added key ${id} (keys now ${[...ids, id].join(', ')}). Restart npm start so new tokens are encrypted with it, then run npm run rotate-keys.`);
  process.exit(0);
}

const stackFile = join(stateDir, 'stack.json');
const stack = existsSync(stackFile) ? JSON.parse(readFileSync(stackFile, 'utf8')) as { dynamodbEndpoint?: string; tableName?: string } : {};
const tableName = env.TABLE_NAME || stack.tableName || fail(`TABLE_NAME is not set and no running local stack was found (${stackFile})\n${USAGE}`);
const endpoint = env.DYNAMODB_ENDPOINT || stack.dynamodbEndpoint;
const keyList = env.LOCAL_TOKEN_KEYS || readSecrets(stateDir)?.token_keys || fail(`LOCAL_TOKEN_KEYS is not set and there are no local secrets in ${stateDir}`);

let cipher: LocalAesCipher;
try {
  cipher = new LocalAesCipher(parseLocalKeys(keyList));
} catch (error) {
  // The message names the rule broken, never a key.
  fail((error as Error).message);
}

// DynamoDB Local takes any credentials; a real endpoint uses the usual AWS configuration.
const dynamo = new DynamoDBClient(endpoint
  ? { endpoint, region: env.AWS_REGION || LOCAL_REGION, credentials: env.AWS_ACCESS_KEY_ID ? undefined : LOCAL_CREDENTIALS }
  : {});
const doc = DynamoDBDocumentClient.from(dynamo);
const dryRun = args.includes('--dry-run');
console.log(`rotate-keys: table ${tableName}${endpoint ? ` at ${endpoint}` : ''}; newest key ${cipher.currentKeyId}${dryRun ? ' (dry run)' : ''}`);
try {
  const counts = await rotateTokenKeys(doc, tableName, cipher, {
    dryRun,
    onSkip: (key, reason) => console.log(`  skipped ${key.pk} ${key.sk}: ${reason === 'changed' ? 'changed while rotating (run again)' : 'not decryptable with these keys'}`),
  });
  console.log(`${dryRun ? 'would rotate' : 'rotated'} ${counts.rotated}, already current ${counts.current}, skipped ${counts.skipped}`
    + ` (changed ${counts.skippedBecause.changed}, undecryptable ${counts.skippedBecause.undecryptable}) of ${counts.scanned} stored tokens`);
  if (counts.idempotencyUnderOldKeys > 0) {
    console.log(`${counts.idempotencyUnderOldKeys} idempotency record(s) still sealed under an older key expire within the hour: keep that key until then`);
  }
  process.exitCode = counts.skippedBecause.undecryptable > 0 ? 1 : 0;
} catch (error) {
  fail(`${(error as Error).name}: the table could not be read or written (${tableName}${endpoint ? ` at ${endpoint}` : ''})`);
} finally {
  dynamo.destroy();
}
