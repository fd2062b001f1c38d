// The scale scenario (bench/scale.ts, `npm run bench -- --scenario scale`) with tiny numbers: it
// runs, every request is answered, and its simulated clock is one clock for the Finch budget and
// the emulator's enforcement of Finch's limits. No timing is asserted: the scenario's numbers live
// in BENCHMARKS.md.
import { DEFAULT_SCALE, type ScaleResult, measureScale } from '../../bench/scale.js';
import { localEndpoint } from '../support/dynamo.js';

describe('the scale scenario, tiny', () => {
  let result: ScaleResult;

  beforeAll(async () => {
    // 12 customers, one connection each, ~10 visits a minute each for 2 simulated minutes: about 40
    // reads a minute of every product, twice Finch's limit of 20 (12 for payment, pay statements).
    result = await measureScale(localEndpoint(), {
      ...DEFAULT_SCALE,
      workload: { ...DEFAULT_SCALE.workload, customers: 12, connectionsPerCustomer: 1, minutes: 2, visitsPerHour: 600, mergesPerHour: 0, heavyShare: 0 },
      employees: 5, reconcileMinutes: 1, reconcileOffsetMinutes: 0, connectConcurrency: 4, speed: 0,
    });
  }, 180_000);

  it('connects every customer and measures one request of each kind alone first', () => {
    expect(result.connections).toBe(12);
    const read = result.flows.find((flow) => flow.operation === 'proxied read: company')!;
    // One Finch call, its two buckets taken first, the token decrypted once (functions/core/proxy.ts).
    expect(read.finch).toEqual({ 'GET /employer/company': 1 });
    expect(read.budgetTakes).toBeGreaterThanOrEqual(2);
    expect(read.kms).toEqual({ DecryptCommand: 1 });
  });

  it('answers every request, each 429 with a Retry-After, and Finch never refuses: the budget paces first', () => {
    expect(result.all.count).toBeGreaterThan(100);
    expect(result.unhandled).toBe(0);
    expect(result.finch429).toEqual({});
    expect(result.ipBlocked).toBe(false);
    const refused = result.answers.reduce((n, a) => n + (a.outcomes.budget_429 ?? 0), 0);
    expect(refused).toBeGreaterThan(0);
    expect(Object.keys(result.throttles).some((key) => key.startsWith('interactive '))).toBe(true);
  });

  it('lets through more than a minute of Finch\'s limit over two simulated minutes: the budget and the emulator move on one clock', () => {
    // On the real clock the budget would give a burst of 5 and then one every 3.9 s of the few real
    // seconds the run takes; an emulator on the real clock would see all of it within one window and refuse.
    const company = result.answers.find((a) => a.product === 'company')!;
    expect(company.outcomes.served).toBeGreaterThan(20);
    const window = result.perProduct.find((p) => p.product === 'company')!;
    expect(window.maxInWindow).toBeLessThanOrEqual(window.limit);
  });

  it('runs the reconciler in the background share of the budget', () => {
    expect(result.reconciler).toBe(true);
    expect(result.reconcileRuns.length).toBeGreaterThan(0);
    expect(result.reconcileRuns[0].checked).toBeGreaterThan(0);
  });
});
