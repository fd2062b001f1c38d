// The scale scenario's demand and fairness statistic (bench/scale-workload.ts). No timing here: the
// scenario's numbers live in BENCHMARKS.md, never in assertions.
import { READ_MIX, type WorkloadSettings, generateDemand, isHeavy, jainIndex } from '../../../bench/scale-workload.js';

const settings: WorkloadSettings = {
  customers: 200, connectionsPerCustomer: 3, minutes: 60, visitsPerHour: 2, mergesPerHour: 1, heavyShare: 0.05, heavyFactor: 10, seed: 7,
};

describe("Jain's fairness index", () => {
  it('is 1 when every customer got the same share and 1/n when one got everything', () => {
    expect(jainIndex([0.5, 0.5, 0.5, 0.5])).toBe(1);
    expect(jainIndex([1, 0, 0, 0])).toBeCloseTo(0.25);
    expect(jainIndex([1, 0.5])).toBeCloseTo(0.9);
    expect(jainIndex([])).toBeNaN();
  });
});

describe('the demand of the scale scenario', () => {
  const demand = generateDemand(settings);

  it('is the same for the same seed and different for another', () => {
    expect(generateDemand(settings)).toEqual(demand);
    expect(generateDemand({ ...settings, seed: 8 })).not.toEqual(demand);
  });

  it('lies within the simulated minutes, in time order', () => {
    expect(demand.every((d) => d.at >= 0 && d.at < settings.minutes * 60_000)).toBe(true);
    expect(demand.every((d, i) => i === 0 || demand[i - 1].at <= d.at)).toBe(true);
  });

  it('reads one to four different products of one connection in a visit', () => {
    const visits = new Map<string, Array<{ product: string; connection: number }>>();
    for (const d of demand) {
      if (d.kind !== 'read') continue;
      const key = `${d.customer} ${d.at}`;
      visits.set(key, [...(visits.get(key) ?? []), { product: d.product, connection: d.connection }]);
    }
    for (const reads of visits.values()) {
      expect(reads.length).toBeGreaterThanOrEqual(1);
      expect(reads.length).toBeLessThanOrEqual(4);
      expect(new Set(reads.map((r) => r.product)).size).toBe(reads.length);
      expect(new Set(reads.map((r) => r.connection)).size).toBe(1);
      expect(reads.every((r) => r.connection >= 0 && r.connection < settings.connectionsPerCustomer)).toBe(true);
    }
    const products = new Set(demand.flatMap((d) => (d.kind === 'read' ? [d.product] : [])));
    expect([...products].sort()).toEqual(READ_MIX.map((r) => r.product).sort());
  });

  it('has about the rates asked for, and heavy customers ask heavyFactor times as often', () => {
    const heavy = Math.round(settings.customers * settings.heavyShare);
    const merges = (test: (customer: number) => boolean) => demand.filter((d) => d.kind === 'merge' && test(d.customer)).length;
    // A Poisson count of mean 190 (ordinary) and 100 (heavy) merges: well within ±40%.
    const ordinaryMerges = merges((c) => !isHeavy(settings, c));
    const heavyMerges = merges((c) => isHeavy(settings, c));
    expect(ordinaryMerges).toBeGreaterThan(0.6 * (settings.customers - heavy));
    expect(ordinaryMerges).toBeLessThan(1.4 * (settings.customers - heavy));
    expect(heavyMerges).toBeGreaterThan(0.6 * heavy * settings.heavyFactor);
    expect(heavyMerges).toBeLessThan(1.4 * heavy * settings.heavyFactor);
  });
});
