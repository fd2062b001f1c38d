// Every request to Finch takes the shared budget (functions/core/finch-budget.ts), by construction:
// the budget is taken in the fetch the SDK is given, so whatever a function sends — a Connect
// session, the code exchange, /introspect (the reconciler's too), /disconnect, a proxied or directory read, an SDK retry —
// has taken its product's bucket and the IP address's first. Checked by counting both sides over a
// run of every flow that calls Finch: the emulator counts the requests it got by product, the table
// the takes of each bucket (`taken`), and they must agree exactly. A code path that called Finch
// around the budget would leave Finch's count higher.
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRateBuckets } from '#adapters/dynamo/rate-buckets.js';
import { keys } from '#adapters/table.js';
import { BUCKET_NAMES } from '#core/finch-budget.js';
import { invokeAs, recordCallsOf } from '../support/aws-calls.js';
import { connectCustomer, customerIds, deliverWebhook, emulatorFault, harnessForFile } from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });
const customer = customerIds();
const claims = (customer_id: string) => ({ customer_id });

/** The emulator's count of API requests by product, in the budget's bucket names (`pay-statement` → `pay_statement`; `ip` is every request). */
async function finchSaw(): Promise<Record<string, number>> {
  const view = await (await fetch(`${h.emulator.url}/_emulator/rate-limits`)).json() as { seen: Record<string, number> };
  return Object.fromEntries(Object.entries(view.seen).map(([product, count]) => [product.replace(/-/g, '_'), count]));
}

/** The takes each bucket recorded. */
async function budgetTook(): Promise<Record<string, number>> {
  const took: Record<string, number> = {};
  for (const bucket of BUCKET_NAMES) {
    const { Item } = await h.table.doc.send(new GetCommand({ TableName: h.table.tableName, Key: keys.rateBucket(bucket), ConsistentRead: true }));
    if (Item?.taken) took[bucket] = Number(Item.taken);
  }
  return took;
}

async function accountUpdated(connection_id: string) {
  return deliverWebhook(h, {
    event_type: 'account.updated', connection_id, company_id: randomUUID(), account_id: randomUUID(),
    data: { status: 'connected', authentication_method: { type: 'credential' } },
  });
}

test('every flow that calls Finch: Finch\'s count of requests by product equals the budget\'s takes, bucket by bucket', async () => {
  const who = customer('budget');
  // Connect: POST /connect/sessions, the code exchange, /introspect (and what else the callback asks).
  const connection_id = await connectCustomer(h, claims(who));
  const other = await connectCustomer(h, claims(who), { entity: 'second' });
  // Refresh: /introspect and the company.
  expect((await h.invoke(`GET /connections/${connection_id}`, { claims: claims(who), query: { refresh: 'true' } })).statusCode).toBe(200);
  // The proxy, over several products, and a read Finch answers 5xx once (the SDK sends no retry there).
  const through = (method: string, path: string, body?: unknown) =>
    h.invoke(`${method} /finch${path}`, { claims: claims(who), headers: { 'finch-connection-id': connection_id }, ...(body ? { body } : {}) });
  for (const path of ['/employer/company', '/employer/directory', '/employer/benefits', '/employer/documents', '/employer/pay-groups', '/employer/pay-statement-item']) {
    expect((await through('GET', path)).statusCode).toBeLessThan(500);
  }
  expect((await through('POST', '/employer/individual', { requests: [{ individual_id: 'nobody' }] })).statusCode).toBeLessThan(500);
  await emulatorFault(h, { method: 'GET', path: '/employer/company', status: 503 });
  expect((await through('GET', '/employer/company')).statusCode).toBe(503);
  // The merged directory over both connections.
  expect((await h.invoke('GET /directory', { claims: claims(who), query: { limit: '50' } })).statusCode).toBe(200);
  // A webhook whose account.updated asks /introspect.
  expect((await accountUpdated(connection_id)).statusCode).toBe(200);
  // The reconciler (a background caller): /introspect for each live connection.
  const reconcile = await import('../../functions/reconcile/handler.js');
  recordCallsOf(reconcile.reconciler, 'reconcile');
  const run = await invokeAs('reconcile', () => reconcile.handler({}, { getRemainingTimeInMillis: () => 50_000 }));
  expect(run).toMatchObject({ stopped: 'done', checked: 2 });
  // Reauthentication: a Connect session, with an SDK retry of a 502 (the client-credentials client retries once).
  await emulatorFault(h, { method: 'POST', path: '/connect/sessions/reauthenticate', status: 502 });
  expect((await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(who), body: { connection_id } })).statusCode).toBe(201);
  // Disconnect: /disconnect.
  expect((await h.invoke(`DELETE /connections/${other}`, { claims: claims(who) })).statusCode).toBe(204);

  const saw = await finchSaw();
  const took = await budgetTook();
  // The run reached every kind of call: sessions, the exchange, introspect, disconnect, six products.
  const calls = h.emulator.state().calls;
  for (const key of ['POST /connect/sessions', 'POST /auth/token', 'GET /introspect', 'POST /disconnect', 'POST /connect/sessions/reauthenticate']) {
    expect(calls[key]).toBeGreaterThan(0);
  }
  expect(Object.keys(saw).sort()).toEqual(expect.arrayContaining(['benefits', 'company', 'directory', 'documents', 'individual', 'ip', 'pay_groups', 'pay_statement_item']));
  expect(took).toEqual(saw);
});

test('a bucket blocked by Finch\'s application limit: 429 finch_rate_limited before Finch, nothing sent', async () => {
  const who = customer('blocked');
  const connection_id = await connectCustomer(h, claims(who));
  const before = await finchSaw();
  // Block the directory's bucket as Finch's application limit would, then read it through the proxy.
  await new DynamoRateBuckets(h.table.doc, h.table.tableName).block('directory', Date.now() + 60_000, 'finch_application_rl');
  const res = await h.invoke('GET /finch/employer/directory', { claims: claims(who), headers: { 'finch-connection-id': connection_id } });
  expect(res.statusCode).toBe(429);
  expect(res.json.error).toMatchObject({ code: 'finch_rate_limited', finch_code: 'finch_application_rl' });
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(55);
  expect((await finchSaw()).directory ?? 0).toBe(before.directory ?? 0);
  // The IP bucket was taken beside the refused one (a place used, never a request sent): Finch saw fewer than the budget took, never more.
  const took = await budgetTook();
  const saw = await finchSaw();
  for (const bucket of Object.keys(saw)) expect(took[bucket]).toBeGreaterThanOrEqual(saw[bucket]);
});
