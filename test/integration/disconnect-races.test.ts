// Two DELETEs of one connection while Finch is slow, through the real handler, DynamoDB Local and
// the emulator's /disconnect faults (consumed one per request, in arrival order). The invariants:
// after any 204 the item is `disconnected` and Finch disconnected the connection; a 502 from an
// unreachable Finch, when no other DELETE got through, leaves the connection usable.
import { keys } from '#adapters/table.js';
import { connectCustomer, emulatorFault, getItem, harnessForFile, type Invoked } from '../support/harness.js';

const h = harnessForFile({ clearFaults: true });

const claims = (customer_id: string) => ({ customer_id, sub: `user-of-${customer_id}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const finchSaysDisconnected = (id: string) => h.emulator.state().connections.find((c) => c.connection_id === id)!.disconnected;

const connect = (customer: string) => connectCustomer(h, claims(customer));

async function disconnectFaults(...specs: Array<{ status?: number; delay_ms: number }>) {
  for (const spec of specs) await emulatorFault(h, { method: 'POST', path: '/disconnect', ...spec });
}

/** DELETE #1 now, DELETE #2 60 ms later (so #1 reaches Finch first and takes the first fault). */
async function twoDeletes(customer: string, id: string): Promise<[Invoked, Invoked]> {
  const del = () => h.invoke(`DELETE /connections/${id}`, { claims: claims(customer) });
  return Promise.all([del(), sleep(60).then(del)]);
}

async function disconnectedAudits(customer: string, id: string) {
  const audit = await h.invoke(`GET /connections/${id}/audit`, { claims: claims(customer), query: { limit: '100' } });
  return (audit.json.entries as Array<{ action: string }>).filter((entry) => entry.action === 'disconnected').length;
}

describe('two DELETEs of one connection while Finch is slow', () => {
  test('#1 gets a 502 after 400 ms and restores; #2, answered by Finch later, still leaves the item disconnected after its 204', async () => {
    const id = await connect('double-bye-1');
    // #1: Finch fails after 400 ms; #2: Finch disconnects after 600 ms, so #1's restore lands in between.
    await disconnectFaults({ status: 502, delay_ms: 400 }, { delay_ms: 600 });
    const [first, second] = await twoDeletes('double-bye-1', id);
    expect([first.statusCode, second.statusCode]).toEqual([502, 204]);
    const item = await getItem(h, keys.connection('double-bye-1', id));
    expect(item).toMatchObject({ status: 'disconnected', revocation_confirmed: true });
    expect(item!.token_ciphertext).toBeUndefined();
    expect(item!.status_before_disconnect).toBeUndefined();
    expect(finchSaysDisconnected(id)).toBe(true);
    expect(await disconnectedAudits('double-bye-1', id)).toBe(1);
    // A later DELETE is 204 and does not call Finch again.
    const calls = h.emulator.state().calls['POST /disconnect'];
    expect((await h.invoke(`DELETE /connections/${id}`, { claims: claims('double-bye-1') })).statusCode).toBe(204);
    expect(h.emulator.state().calls['POST /disconnect']).toBe(calls);
  });

  test('#1, answered by Finch after 400 ms, gets its 204 even though #2 failed fast and restored the status meanwhile', async () => {
    const id = await connect('double-bye-2');
    await disconnectFaults({ delay_ms: 400 }, { status: 502, delay_ms: 0 });
    const [first, second] = await twoDeletes('double-bye-2', id);
    expect([first.statusCode, second.statusCode]).toEqual([204, 502]);
    expect(await getItem(h, keys.connection('double-bye-2', id))).toMatchObject({ status: 'disconnected', revocation_confirmed: true });
    expect(finchSaysDisconnected(id)).toBe(true);
    expect(await disconnectedAudits('double-bye-2', id)).toBe(1);
  });

  test('the issue\'s timing: #1 gets a 502 after 400 ms, #2 (60 ms later) is answered at once → 204 means disconnected', async () => {
    const id = await connect('double-bye-3');
    await disconnectFaults({ status: 502, delay_ms: 400 });
    const [first, second] = await twoDeletes('double-bye-3', id);
    expect([first.statusCode, second.statusCode]).toEqual([502, 204]);
    expect(await getItem(h, keys.connection('double-bye-3', id))).toMatchObject({ status: 'disconnected' });
    expect(finchSaysDisconnected(id)).toBe(true);
  });

  test('Finch fails both → two 502s, and the connection stays usable (connected, token kept, refreshable)', async () => {
    const id = await connect('double-bye-4');
    await disconnectFaults({ status: 502, delay_ms: 400 }, { status: 502, delay_ms: 100 });
    const [first, second] = await twoDeletes('double-bye-4', id);
    expect([first.statusCode, second.statusCode]).toEqual([502, 502]);
    const item = await getItem(h, keys.connection('double-bye-4', id));
    expect(item).toMatchObject({ status: 'connected' });
    expect(item!.token_ciphertext).toEqual(expect.any(String));
    expect(finchSaysDisconnected(id)).toBe(false);
    const refreshed = await h.invoke(`GET /connections/${id}`, { claims: claims('double-bye-4'), query: { refresh: 'true' } });
    expect(refreshed.json.status).toBe('connected');
  });
});
