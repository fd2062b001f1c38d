// Key management locally (invariant 5): tokens written by the real handlers under key k1 are
// re-encrypted under the newest key by `npm run rotate-keys` (functions/adapters/key-rotation.ts)
// with nothing lost — every ciphertext then names the new key and decrypts, with its own item's
// context, to the very token Finch issued; a second run rotates nothing; a reauthentication written
// during a run is never overwritten; a ciphertext copied to another item does not decrypt there.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { rotateTokenKeys } from '#adapters/key-rotation.js';
import { keys } from '#adapters/table.js';
import { AccessTokenCipher, LocalAesCipher, TokenDecryptFailed, accessTokenContext, type EncryptionContext } from '#adapters/token-cipher.js';
import { loadOrCreateSecrets, secretsFile } from '#local/secrets.js';
import { faults, injectFaults, storeClient } from '../support/dynamo-faults.js';
import { type Item, isConnectionItem, isSessionItem, scanAll, tableViolations } from '../support/invariants.js';
import { RETURN_ORIGIN, TOKEN_KEY, authorizeAtFinch, getItem, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
const K2 = randomBytes(32);
const k1Only = new LocalAesCipher([['k1', TOKEN_KEY]]);
const k1k2 = new LocalAesCipher([['k1', TOKEN_KEY], ['k2', K2]]);
const k2Only = new AccessTokenCipher(new LocalAesCipher([['k2', K2]]));
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
/** The token each connection should hold: Finch's newest for it. */
const finchToken = (connectionId: string) => h.emulator.state().connections.find((c) => c.connection_id === connectionId)!.tokens.at(-1)!;

beforeAll(async () => { h = await startHarness({ STORE_BUDGET_MS: '500' }); });
afterAll(async () => { await h?.close(); });

async function authorized(customer: string, reauthOf?: string) {
  const session = reauthOf
    ? await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(customer), body: { connection_id: reauthOf, return_to: `${RETURN_ORIGIN}/` } })
    : await h.invoke('POST /connect/sessions', { claims: claims(customer), body: { return_to: `${RETURN_ORIGIN}/` } });
  const back = await authorizeAtFinch(session.json.connect_url);
  return { code: back.code!, state: back.state };
}

async function connect(customer: string): Promise<string> {
  const res = await h.invoke('GET /connect/callback', { query: await authorized(customer) });
  return new URL(res.headers.location).searchParams.get('connection_id')!;
}

/** Every stored token ciphertext with the context it is bound to. */
function storedTokens(items: Item[]) {
  return items.flatMap((item) => {
    if (isConnectionItem(item) && typeof item.token_ciphertext === 'string') {
      return [{ item, ciphertext: item.token_ciphertext as string, context: { customer_id: item.customer_id, connection_id: item.connection_id } }];
    }
    if (isSessionItem(item) && item.stash) {
      return [{ item, ciphertext: item.stash.token.ciphertext as string, context: { customer_id: item.customer_id, connection_id: item.stash.connection_id } }];
    }
    return [];
  });
}

describe('rotating the local token key (npm run rotate-keys)', () => {
  const connections: string[] = [];
  let stashedConnection: string;

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) connections.push(await connect(`rot-${i}`));
    // A tombstone holds no ciphertext: nothing to rotate there.
    const gone = await connect('rot-gone');
    expect((await h.invoke(`DELETE /connections/${gone}`, { claims: claims('rot-gone') })).statusCode).toBe(204);
    // A token stashed on its claimed session (the final store failed): rotated too.
    const injector = injectFaults(storeClient(h.app.deps));
    injector.add({ step: 'transaction', error: faults.throttling, times: Number.POSITIVE_INFINITY });
    const stashed = await h.invoke('GET /connect/callback', { query: await authorized('rot-stash') });
    injector.remove();
    expect(new URL(stashed.headers.location).searchParams.get('error')).toBe('store_unavailable');
    stashedConnection = h.emulator.state().connections.find((c) => c.customer_id === 'rot-stash')!.connection_id;
    // An idempotency record, sealed under k1 as well.
    const keyed = await h.invoke('POST /connect/sessions', { claims: claims('rot-idem'), body: {}, headers: { 'idempotency-key': 'rotation-1' } });
    expect(keyed.statusCode).toBe(201);
  });

  test('every token written under k1 is re-encrypted under k2 and decrypts, in its own item\'s context, to the same token', async () => {
    const before = storedTokens(await scanAll(h.table.doc, h.table.tableName));
    expect(before).toHaveLength(6);
    expect(before.every(({ ciphertext }) => ciphertext.startsWith('aes:k1:'))).toBe(true);

    // Small pages, so the scan really pages.
    const counts = await rotateTokenKeys(h.table.doc, h.table.tableName, k1k2, { pageSize: 3 });
    expect(counts).toMatchObject({ scanned: 6, rotated: 6, current: 0, skipped: 0, skippedBecause: { changed: 0, undecryptable: 0 } });
    expect(counts.idempotencyUnderOldKeys).toBe(1);

    const items = await scanAll(h.table.doc, h.table.tableName);
    const after = storedTokens(items);
    expect(after).toHaveLength(6);
    for (const { ciphertext, context } of after) {
      expect(ciphertext).toMatch(/^aes:k2:/);
      // k2 alone reads it: nothing depends on k1 any more.
      await expect(k2Only.decrypt(ciphertext, context)).resolves.toBe(finchToken(context.connection_id));
    }
    expect(after.map(({ context }) => context.connection_id).sort()).toEqual([...connections, stashedConnection].sort());
    // Only the ciphertexts changed: versions, statuses and everything else stay.
    for (const id of connections) expect(await getItem(h, keys.connection(`rot-${connections.indexOf(id)}`, id))).toMatchObject({ status: 'connected', token_version: 1 });
    expect(tableViolations(items)).toEqual([]);
  });

  test('a second run rotates nothing', async () => {
    const counts = await rotateTokenKeys(h.table.doc, h.table.tableName, k1k2, { pageSize: 3 });
    expect(counts).toMatchObject({ scanned: 6, rotated: 0, current: 6, skipped: 0 });
  });

  test('a reauthentication written during a run is never overwritten; the next run rotates it', async () => {
    const target = connections[0];
    // Written by the handlers, which still encrypt with k1, while the rotation holds this item.
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.connection('rot-0', target),
      UpdateExpression: 'SET token_ciphertext = :k1', ExpressionAttributeValues: { ':k1': await k1Only.encrypt(finchToken(target), accessTokenContext({ customer_id: 'rot-0', connection_id: target })) },
    }));
    const reauth = await authorized('rot-0', target);
    class ReauthMidway extends LocalAesCipher {
      override async decrypt(ciphertext: string, context: EncryptionContext) {
        const token = await super.decrypt(ciphertext, context);
        // Between the rotation's read and its write, the employer reauthenticates this connection.
        if (context.connection_id === target) {
          const res = await h.invoke('GET /connect/callback', { query: reauth });
          expect(new URL(res.headers.location).searchParams.get('reauthenticated')).toBe('true');
        }
        return token;
      }
    }
    const counts = await rotateTokenKeys(h.table.doc, h.table.tableName, new ReauthMidway([['k1', TOKEN_KEY], ['k2', K2]]));
    expect(counts).toMatchObject({ rotated: 0, current: 5, skipped: 1, skippedBecause: { changed: 1, undecryptable: 0 } });
    const item = await getItem(h, keys.connection('rot-0', target));
    // The reauth's token (version 2) is what is stored, under the key the handlers used.
    expect(item).toMatchObject({ token_version: 2 });
    expect(item!.token_ciphertext).toMatch(/^aes:k1:/);
    const cipher = new AccessTokenCipher(k1k2);
    await expect(cipher.decrypt(item!.token_ciphertext, { customer_id: 'rot-0', connection_id: target })).resolves.toBe(finchToken(target));

    const next = await rotateTokenKeys(h.table.doc, h.table.tableName, k1k2);
    expect(next).toMatchObject({ rotated: 1, current: 5, skipped: 0 });
    const rotated = await getItem(h, keys.connection('rot-0', target));
    expect(rotated).toMatchObject({ token_version: 2 });
    await expect(k2Only.decrypt(rotated!.token_ciphertext, { customer_id: 'rot-0', connection_id: target })).resolves.toBe(finchToken(target));
  });

  test('a ciphertext copied to another item does not decrypt there (context binding), and rotation leaves it as it is', async () => {
    const [from, to] = [connections[1], connections[2]];
    const source = await getItem(h, keys.connection('rot-1', from));
    // Under k2 (rotated) and under k1 (as an attacker with write access might restore an old one).
    const copies = [source!.token_ciphertext as string, await k1Only.encrypt(finchToken(from), accessTokenContext({ customer_id: 'rot-1', connection_id: from }))];
    for (const copy of copies) {
      await expect(new AccessTokenCipher(k1k2).decrypt(copy, { customer_id: 'rot-2', connection_id: to })).rejects.toBeInstanceOf(TokenDecryptFailed);
      await expect(new AccessTokenCipher(k1k2).decrypt(copy, { customer_id: 'rot-1', connection_id: to })).rejects.toBeInstanceOf(TokenDecryptFailed);
      await expect(new AccessTokenCipher(k1k2).decrypt(copy, { customer_id: 'rot-2', connection_id: from })).rejects.toBeInstanceOf(TokenDecryptFailed);
    }
    const original = (await getItem(h, keys.connection('rot-2', to)))!.token_ciphertext;
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.connection('rot-2', to), UpdateExpression: 'SET token_ciphertext = :moved', ExpressionAttributeValues: { ':moved': copies[1] },
    }));
    const skipped: string[] = [];
    const counts = await rotateTokenKeys(h.table.doc, h.table.tableName, k1k2, { onSkip: (key, reason) => skipped.push(`${key.sk} ${reason}`) });
    expect(counts).toMatchObject({ rotated: 0, skipped: 1, skippedBecause: { undecryptable: 1, changed: 0 } });
    expect(skipped).toEqual([`CONNECTION#${to} undecryptable`]);
    expect((await getItem(h, keys.connection('rot-2', to)))!.token_ciphertext).toBe(copies[1]);
    await h.table.doc.send(new UpdateCommand({
      TableName: h.table.tableName, Key: keys.connection('rot-2', to), UpdateExpression: 'SET token_ciphertext = :original', ExpressionAttributeValues: { ':original': original },
    }));
  });

  test('the script: --add-key adds a key to the local stack\'s secrets, and a run rotates to it and prints its counts', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rotate-keys-'));
    try {
      const secrets = await loadOrCreateSecrets(stateDir);
      writeFileSync(secretsFile(stateDir), JSON.stringify({ ...secrets, token_keys: `k1=${TOKEN_KEY.toString('base64')},k2=${K2.toString('base64')}` }));
      // As `npm start` leaves it: the running stack's endpoint and table in stack.json.
      writeFileSync(join(stateDir, 'stack.json'), JSON.stringify({ dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT, tableName: h.table.tableName }));
      // Nothing in the environment: everything comes from the local stack's state.
      const run = (...args: string[]) => promisify(execFile)(join(process.cwd(), 'node_modules/.bin/tsx'), ['scripts/rotate-keys.ts', ...args], {
        env: { ...process.env, LOCAL_STATE_DIR: stateDir, TABLE_NAME: '', DYNAMODB_ENDPOINT: '', LOCAL_TOKEN_KEYS: '' }, timeout: 30_000,
      });
      const added = await run('--add-key');
      expect(added.stdout).toContain('added key local-1');
      const tokenKeys = (JSON.parse(readFileSync(secretsFile(stateDir), 'utf8')) as { token_keys: string }).token_keys;
      expect(tokenKeys.split(',').map((pair) => pair.split('=')[0])).toEqual(['k1', 'k2', 'local-1']);

      const dry = await run('--dry-run');
      expect(dry.stdout).toMatch(/would rotate 6, already current 0, skipped 0/);
      const rotated = await run();
      expect(rotated.stdout).toMatch(/rotated 6, already current 0, skipped 0 \(changed 0, undecryptable 0\) of 6 stored tokens/);
      expect(rotated.stdout).toMatch(/1 idempotency record\(s\) still sealed under an older key/);
      // The script prints counts and keys' ids, never a key, a ciphertext or a token.
      const printed = added.stdout + dry.stdout + rotated.stdout;
      for (const secret of [TOKEN_KEY.toString('base64'), K2.toString('base64'), ...connections.map(finchToken)]) expect(printed).not.toContain(secret);
      expect(printed).not.toMatch(/aes:/);

      const newest = new AccessTokenCipher(new LocalAesCipher([['local-1', Buffer.from(tokenKeys.split(',')[2].split('=').slice(1).join('='), 'base64')]]));
      for (const { ciphertext, context } of storedTokens(await scanAll(h.table.doc, h.table.tableName))) {
        expect(ciphertext).toMatch(/^aes:local-1:/);
        await expect(newest.decrypt(ciphertext, context)).resolves.toBe(finchToken(context.connection_id));
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});
