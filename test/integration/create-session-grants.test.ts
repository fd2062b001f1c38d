// create-session's table grants (lib/constructs/functions.ts, with dynamodb:LeadingKeys) against
// the requests its code really makes. DynamoDB Local checks no IAM, so this is what keeps the two in
// step: every path of POST /connect/sessions runs here, and each DynamoDB request it sends (each
// item of a transaction on its own, as IAM authorizes them) must fit a grant.
import { IDEMPOTENCY_PARTITION } from '#adapters/table.js';
import { FUNCTION_SPECS } from '../../lib/constructs/functions.js';
import { storeClient } from '../support/dynamo-faults.js';
import { CLIENT_SECRET, RETURN_ORIGIN, authorizeAtFinch, emulatorFault, startHarness, type Harness } from '../support/harness.js';
import { stringLike } from '../support/iam.js';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => { await h?.close(); });

type Input = Record<string, any>;
interface ItemRequest { action: string; pk: string }

const TRANSACT_ACTIONS: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };
/** An item's partition key, from a document client's request or a marshalled one (`{S: …}`). */
const pkOf = (op: Input) => {
  const pk = op.Key?.pk ?? op.Item?.pk;
  return String(typeof pk === 'object' && pk !== null ? pk.S : pk);
};

/** The IAM action and partition key of every item a DynamoDB request touches. */
function itemRequests(commandName: string, input: Input): ItemRequest[] {
  if (commandName === 'TransactWriteItemsCommand') {
    return (input.TransactItems as Input[]).flatMap((item) => Object.entries(item).map(([kind, op]) => ({ action: `dynamodb:${TRANSACT_ACTIONS[kind] ?? kind}`, pk: pkOf(op) })));
  }
  // Anything else (a Query, a batch) has no item grant: it shows as an action nobody holds.
  return [{ action: `dynamodb:${commandName.replace(/Command$/, '')}`, pk: pkOf(input) }];
}

/** The item requests create-session makes while `run` invokes it. */
async function recorded(run: () => Promise<void>): Promise<ItemRequest[]> {
  const seen: ItemRequest[] = [];
  const name = `grants-recorder-${Math.random().toString(36).slice(2)}`;
  // Powertools sends its record writes through the same client as the store (the shared container).
  const client = storeClient(h.app.deps);
  client.middlewareStack.add((next, context) => async (args) => {
    seen.push(...itemRequests((context as { commandName?: string }).commandName ?? '', args.input as Input));
    return next(args);
  }, { step: 'initialize', name });
  try {
    await run();
  } finally {
    client.middlewareStack.remove(name);
  }
  return seen;
}

const spec = FUNCTION_SPECS['create-session'];
const granted = ({ action, pk }: ItemRequest) => spec.itemActions.includes(action as never)
  && (spec.leadingKeys?.[action as keyof typeof spec.leadingKeys]?.some((pattern) => stringLike(pattern, pk)) ?? true);

const createSession = async (customer: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  h.invoke('POST /connect/sessions', { claims: { customer_id: customer, sub: `user-${customer}` }, body, headers });

test('every DynamoDB request of every create-session path fits its grants, and the grants are all used', async () => {
  const requests: ItemRequest[] = [];
  const step = async (expected: number, send: () => ReturnType<typeof createSession>) => {
    let status = 0;
    requests.push(...await recorded(async () => { status = (await send()).statusCode; }));
    expect(status).toBe(expected);
  };

  // A new session, without and with an Idempotency-Key (recorded, then answered from the record).
  await step(201, () => createSession('grants-co', { return_to: `${RETURN_ORIGIN}/done` }));
  await step(201, () => createSession('grants-co', { flow: 'embedded' }, { 'idempotency-key': 'grants-1' }));
  await step(201, () => createSession('grants-co', { flow: 'embedded' }, { 'idempotency-key': 'grants-1' }));
  await step(422, () => createSession('grants-co', { flow: 'embedded', minutes_to_expire: 5 }, { 'idempotency-key': 'grants-1' }));
  // Finch fails: the key's record is deleted so a retry can run.
  await emulatorFault(h, { method: 'POST', path: '/connect/sessions', status: 500, times: 2 });
  await step(502, () => createSession('grants-co', { flow: 'embedded' }, { 'idempotency-key': 'grants-2' }));

  // A connection Finch has and nobody here owns (its exchange answer was lost) is adopted...
  const lost = await createSession('grants-lost', { return_to: `${RETURN_ORIGIN}/done` });
  const { code } = await authorizeAtFinch(lost.json.connect_url);
  const exchange = await fetch(`${h.emulator.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'finch-api-version': '2020-09-17' },
    body: JSON.stringify({ code, client_id: 'client-harness', client_secret: CLIENT_SECRET, redirect_uri: 'https://api.example/connect/callback' }),
  });
  expect(exchange.status).toBe(200);
  let adopt: Awaited<ReturnType<typeof createSession>> | undefined;
  requests.push(...await recorded(async () => { adopt = await createSession('grants-lost', { return_to: `${RETURN_ORIGIN}/done` }); }));
  expect(adopt!.statusCode).toBe(201);
  expect(adopt!.json.adopts_connection_id).toEqual(expect.any(String));
  // ...and once it is stored (the callback, not recorded), a new session for it is 409.
  const back = await authorizeAtFinch(adopt!.json.connect_url);
  expect((await h.invoke('GET /connect/callback', { query: { code: back.code!, state: back.state } })).statusCode).toBe(302);
  await step(409, () => createSession('grants-lost', { return_to: `${RETURN_ORIGIN}/done` }));

  expect(requests.filter((request) => !granted(request))).toEqual([]);
  // Each (action, pattern) the stack grants is one a path above used: none is broader than the code.
  // GetItem on the idempotency record is Powertools' fallback when a conditional write returns no
  // old item, which DynamoDB always does here.
  const unused = Object.entries(spec.leadingKeys ?? {}).flatMap(([action, patterns]) => patterns!
    .filter((pattern) => !requests.some((request) => request.action === action && stringLike(pattern, request.pk)))
    .map((pattern) => `${action} ${pattern}`));
  expect(unused).toEqual([`dynamodb:GetItem ${IDEMPOTENCY_PARTITION}`]);
});
