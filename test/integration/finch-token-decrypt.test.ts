// When the proxy and GET /directory decrypt a connection's token: only once the shared Finch budget
// (functions/core/finch-budget.ts) granted the call, and once per request however many calls it
// makes. A read the budget refuses (429 finch_rate_limited, nothing sent to Finch) costs no KMS
// Decrypt: no money, none of the account's KMS request quota, no plaintext token in memory.
// Counted on the finch-proxy container's own cipher (the one KmsCipher would call KMS through),
// through the real handler, DynamoDB Local and the Finch emulator.
import { DynamoRateBuckets } from '#adapters/dynamo/rate-buckets.js';
import type { ContextCipher } from '#adapters/token-cipher.js';
import { DOCS } from '../fidelity/support.js';
import {
  RETURN_ORIGIN, authorizeAtFinch, clearFinchBudget, connectCustomer, customerIds, harnessForFile,
} from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
const customer = customerIds();
const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });

/** The encryption contexts of every decrypt the finch-proxy container made. */
const decrypts: Array<Record<string, string>> = [];
let cipher: ContextCipher;
let realDecrypt: ContextCipher['decrypt'];
beforeAll(async () => {
  cipher = (await import('#http/data-app.js')).dataApp.contextCipher;
  realDecrypt = cipher.decrypt;
  cipher.decrypt = (ciphertext, context) => {
    decrypts.push({ ...context });
    return realDecrypt.call(cipher, ciphertext, context);
  };
});
afterAll(() => { cipher.decrypt = realDecrypt; });
afterEach(() => clearFinchBudget(h));

const decryptsOf = (connectionId: string) => decrypts.filter((context) => Object.values(context).includes(connectionId)).length;
/** Finch's data requests the emulator got, all connections together. */
const finchDataCalls = () => Object.entries(h.emulator.state().calls)
  .filter(([key]) => / \/employer\//.test(key)).reduce((sum, [, n]) => sum + n, 0);
const block = (bucket: 'company' | 'directory' | 'individual') =>
  new DynamoRateBuckets(h.table.doc, h.table.tableName).block(bucket, Date.now() + 60_000, 'finch_application_rl');

describe(`the token is decrypted after the budget granted the call (${DOCS.rateLimits})`, () => {
  test('a proxied read the budget refuses: 429 finch_rate_limited, nothing sent to Finch, no decrypt', async () => {
    const who = customer('refused');
    const connection_id = await connectCustomer(h, claims(who));
    await block('directory');
    const before = finchDataCalls();
    const res = await h.invoke('GET /finch/employer/directory', { claims: claims(who), headers: { 'finch-connection-id': connection_id } });
    expect(res.statusCode).toBe(429);
    expect(res.json.error).toMatchObject({ code: 'finch_rate_limited', finch_code: 'finch_application_rl' });
    expect(finchDataCalls()).toBe(before);
    expect(decryptsOf(connection_id)).toBe(0);
  });

  test('a proxied read the budget grants: Finch answers it, and the token was decrypted exactly once', async () => {
    const who = customer('granted');
    const connection_id = await connectCustomer(h, claims(who));
    const before = finchDataCalls();
    const res = await h.invoke('GET /finch/employer/company', { claims: claims(who), headers: { 'finch-connection-id': connection_id } });
    expect(res.statusCode).toBe(200);
    expect(finchDataCalls()).toBe(before + 1);
    expect(decryptsOf(connection_id)).toBe(1);
  });

  test('GET /directory over a multi-entity connection: every entity\'s directory and individuals read with one decrypt', async () => {
    const who = customer('multi');
    const connection_id = await connectMultiEntity(who, 2);
    const before = finchDataCalls();
    const res = await h.invoke('GET /directory', { claims: claims(who), query: { limit: '100' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.skipped).toEqual([]);
    expect(res.json.people).toHaveLength(6);
    // Two entities, each a directory page and an individual batch: four calls to Finch.
    expect(finchDataCalls() - before).toBe(4);
    expect(decryptsOf(connection_id)).toBe(1);
  });

  test('GET /directory the budget refuses: the connection skipped as finch_rate_limited, no decrypt', async () => {
    const who = customer('directory-refused');
    const connection_id = await connectCustomer(h, claims(who));
    await block('directory');
    const res = await h.invoke('GET /directory', { claims: claims(who), query: { limit: '10' } });
    expect(res.statusCode).toBe(200);
    expect(res.json.skipped).toEqual([{ connection_id, reason: 'finch_rate_limited' }]);
    expect(decryptsOf(connection_id)).toBe(0);
  });
});

/**
 * A connection whose provider account covers `entities` entities when it connects (the emulator's
 * control, between Finch's page and the callback), so the token's entity_ids name them all.
 */
async function connectMultiEntity(who: string, entities: number): Promise<string> {
  const session = await h.invoke('POST /connect/sessions', {
    claims: claims(who), body: { return_to: `${RETURN_ORIGIN}/`, products: ['company', 'directory', 'individual'] },
  });
  expect(session.statusCode).toBe(201);
  const { code, state } = await authorizeAtFinch(session.json.connect_url);
  const pending = h.emulator.state().connections.find((c) => c.customer_id === who)!;
  const configured = await fetch(`${h.emulator.url}/_emulator/connections/${pending.connection_id}/data`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entities, employee_size: 6 }),
  });
  expect(configured.status).toBe(200);
  const back = new URL((await h.invoke('GET /connect/callback', { query: { code: code!, state } })).headers.location).searchParams;
  expect(back.get('status')).toBe('connected');
  return back.get('connection_id')!;
}
