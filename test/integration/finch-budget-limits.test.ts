// The shared budget at Finch's documented limits (functions/core/finch-budget.ts defaults, no
// override), against the emulator enforcing those limits exactly (local/finch-emulator/rate-limits.ts,
// DOCS.rateLimits): our 429 comes before Finch's, and after Finch's IP 429 (which the budget could
// not prevent: another application behind the same address) every function answers 429 for the
// penalty without calling Finch.
import { randomUUID } from 'node:crypto';
import { DOCS } from '../fidelity/support.js';
import {
  RETURN_ORIGIN, clearFinchBudget, connectCustomer, customerIds, deliverWebhook, emulatorFault, harnessForFile,
} from '../support/harness.js';

// '' keeps Finch's documented numbers (the harness's default is a budget no test reaches).
const h = harnessForFile({ env: { FINCH_RATE_LIMITS: '' }, clearFaults: true });
const customer = customerIds();
const claims = (customer_id: string) => ({ customer_id });

async function rateLimits(body?: unknown): Promise<{ seen: Record<string, number>; refused: Record<string, number> }> {
  const res = await fetch(`${h.emulator.url}/_emulator/rate-limits`, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return res.json() as Promise<{ seen: Record<string, number>; refused: Record<string, number> }>;
}

beforeAll(() => rateLimits({ enforce: true }));
afterEach(() => clearFinchBudget(h));

describe(`at Finch's limits (${DOCS.rateLimits})`, () => {
  test('30 directory reads at once through the proxy: the burst reaches Finch, the rest get our 429 with the bucket\'s Retry-After, and Finch refuses none', async () => {
    const who = customer('busy');
    const connection_id = await connectCustomer(h, claims(who));
    const before = await rateLimits();
    const sent = Date.now();
    const answers = await Promise.all(Array.from({ length: 30 }, () =>
      h.invoke('GET /finch/employer/directory', { claims: claims(who), headers: { 'finch-connection-id': connection_id } })));
    const answered = Date.now();
    const ok = answers.filter((res) => res.statusCode === 200);
    const limited = answers.filter((res) => res.statusCode === 429);
    expect(ok).toHaveLength(5);
    expect(limited).toHaveLength(25);
    for (const res of limited) {
      expect(res.json.error).toMatchObject({ code: 'finch_rate_limited', finch_code: null });
      // The next place opens one interval (61 s / 16 = 3.8 s) after the burst's first take, and
      // Retry-After counts from the refusal: 4 when refused at once, one less for every second a
      // loaded machine took to answer (never later than `answered`, never earlier than `sent`).
      const interval = 61_000 / 16;
      const latest = Math.max(1, Math.ceil((interval - (answered - sent)) / 1000));
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(latest);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(interval / 1000));
    }
    const after = await rateLimits();
    expect(after.seen.directory - (before.seen.directory ?? 0)).toBe(5);
    expect(after.refused).toEqual({});
  });

  test('36 company reads in a row over three connections: what the budget lets through, Finch accepts', async () => {
    // Three connections of one customer, read in turn: the budget refuses past its burst, Finch refuses nothing.
    const who = customer('steady');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await connectCustomer(h, claims(who), { entity: `e${i}` }));
    let served = 0;
    for (let round = 0; round < 12; round++) {
      for (const connection_id of ids) {
        const res = await h.invoke('GET /finch/employer/company', { claims: claims(who), headers: { 'finch-connection-id': connection_id } });
        expect([200, 429]).toContain(res.statusCode);
        if (res.statusCode === 200) served++;
      }
    }
    expect(served).toBeGreaterThanOrEqual(5);
    expect((await rateLimits()).refused).toEqual({});
  });
});

describe(`after Finch's IP 429 (finch_api_ip_rl: a 60-minute penalty, ${DOCS.rateLimits})`, () => {
  test('every function answers 429 finch_rate_limited with about an hour\'s Retry-After, and none calls Finch', async () => {
    const who = customer('penalized');
    const connection_id = await connectCustomer(h, claims(who));
    // Finch refuses a proxied read with the IP limit: passed on as Finch answered it.
    await emulatorFault(h, { method: 'GET', path: '/employer/company', error: 'rate_limit_exceeded_error', finch_code: 'finch_api_ip_rl' });
    const first = await h.invoke('GET /finch/employer/company', { claims: claims(who), headers: { 'finch-connection-id': connection_id } });
    expect(first.statusCode).toBe(429);
    expect(first.json).toMatchObject({ finch_code: 'finch_api_ip_rl' });

    const before = (await rateLimits()).seen.ip;
    const answers = {
      session: await h.invoke('POST /connect/sessions', { claims: claims(customer('new')), body: { return_to: `${RETURN_ORIGIN}/` } }),
      reauth: await h.invoke('POST /connect/sessions/reauthenticate', { claims: claims(who), body: { connection_id } }),
      refresh: await h.invoke(`GET /connections/${connection_id}`, { claims: claims(who), query: { refresh: 'true' } }),
      proxy: await h.invoke('GET /finch/employer/directory', { claims: claims(who), headers: { 'finch-connection-id': connection_id } }),
      webhook: await deliverWebhook(h, {
        event_type: 'account.updated', connection_id, company_id: randomUUID(), account_id: randomUUID(), data: { status: 'connected', authentication_method: { type: 'credential' } },
      }),
      disconnect: await h.invoke(`DELETE /connections/${connection_id}`, { claims: claims(who) }),
    };
    for (const [name, res] of Object.entries(answers)) {
      expect([name, res.statusCode]).toEqual([name, 429]);
      expect([name, res.json.error]).toEqual([name, expect.objectContaining({ code: 'finch_rate_limited', finch_code: 'finch_api_ip_rl' })]);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(3500);
    }
    const directory = await h.invoke('GET /directory', { claims: claims(who), query: { limit: '10' } });
    expect(directory.json.skipped).toEqual([{ connection_id, reason: 'finch_rate_limited' }]);
    expect((await rateLimits()).seen.ip).toBe(before);
  });
});
