// The scale scenario's demand (bench/scale-child.ts): what 1,000 customers of an HR/payroll app ask
// of their connections over some simulated minutes, drawn from a seeded generator so two runs ask
// the same. A customer opens a page now and then (a Poisson process): each such visit reads one to
// four products of one of its connections at once (a burst), and now and then it asks for the
// people across all its connections (GET /directory). A few customers are heavy (a sync job, a big
// account): the same visits, `heavyFactor` times as often. The statistics of the report are here
// too (percentiles are bench/counting.ts's).

/** The products a visit reads, as the proxy's routes read them (functions/core/proxy.ts PROXY_ROUTES), and how often. */
export const READ_MIX = [
  { product: 'company', weight: 2, method: 'GET', path: '/employer/company' },
  { product: 'directory', weight: 2, method: 'GET', path: '/employer/directory?limit=100' },
  { product: 'individual', weight: 1.5, method: 'POST', path: '/employer/individual', body: { requests: [{ individual_id: 'scale-individual' }] } },
  { product: 'employment', weight: 1.5, method: 'POST', path: '/employer/employment', body: { requests: [{ individual_id: 'scale-individual' }] } },
  { product: 'payment', weight: 1.5, method: 'GET', path: '/employer/payment?start_date=2026-01-01&end_date=2026-03-31' },
  { product: 'pay_statement', weight: 1.5, method: 'POST', path: '/employer/pay-statement', body: { requests: [{ payment_id: 'scale-payment' }] } },
] as const;
export type ReadProduct = (typeof READ_MIX)[number]['product'];

export interface WorkloadSettings {
  customers: number;
  connectionsPerCustomer: number;
  /** Simulated minutes of demand. */
  minutes: number;
  /** Visits an hour of an ordinary customer (each 1–4 reads at once). */
  visitsPerHour: number;
  /** GET /directory an hour of an ordinary customer. */
  mergesPerHour: number;
  /** The share of customers that are heavy, and how many times as often they ask. */
  heavyShare: number;
  heavyFactor: number;
  seed: number;
}

export type Demand =
  | { at: number; customer: number; kind: 'read'; product: ReadProduct; connection: number }
  | { at: number; customer: number; kind: 'merge' };

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The heavy customers: the first `heavyShare` of them (customer numbers are arbitrary). */
export const isHeavy = (settings: WorkloadSettings, customer: number) => customer < Math.round(settings.customers * settings.heavyShare);

/** Every request the customers make, in time order (`at`: ms from the start). */
export function generateDemand(settings: WorkloadSettings): Demand[] {
  const random = seeded(settings.seed);
  const span = settings.minutes * 60_000;
  const out: Demand[] = [];
  const totalWeight = READ_MIX.reduce((sum, read) => sum + read.weight, 0);
  const pickProduct = (taken: Set<ReadProduct>): ReadProduct => {
    for (;;) {
      let x = random() * totalWeight;
      const read = READ_MIX.find((entry) => (x -= entry.weight) < 0) ?? READ_MIX[READ_MIX.length - 1];
      if (!taken.has(read.product)) return read.product;
    }
  };
  /** Arrival times of a Poisson process of `perHour` over the span. */
  const arrivals = (perHour: number) => {
    const times: number[] = [];
    if (perHour <= 0) return times;
    const meanGap = 3_600_000 / perHour;
    for (let at = -Math.log(1 - random()) * meanGap; at < span; at += -Math.log(1 - random()) * meanGap) times.push(Math.floor(at));
    return times;
  };
  for (let customer = 0; customer < settings.customers; customer++) {
    const factor = isHeavy(settings, customer) ? settings.heavyFactor : 1;
    for (const at of arrivals(settings.visitsPerHour * factor)) {
      const connection = Math.floor(random() * settings.connectionsPerCustomer);
      const taken = new Set<ReadProduct>();
      const reads = 1 + Math.floor(random() * 4);
      for (let i = 0; i < reads; i++) {
        const product = pickProduct(taken);
        taken.add(product);
        out.push({ at, customer, kind: 'read', product, connection });
      }
    }
    for (const at of arrivals(settings.mergesPerHour * factor)) out.push({ at, customer, kind: 'merge' });
  }
  return out.sort((a, b) => a.at - b.at || a.customer - b.customer);
}

/**
 * Jain's fairness index of the shares: (Σx)² / (n·Σx²), 1 when every customer got the same, 1/n
 * when one got everything. NaN for none.
 */
export function jainIndex(shares: number[]): number {
  if (shares.length === 0) return Number.NaN;
  const sum = shares.reduce((a, b) => a + b, 0);
  const squares = shares.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (shares.length * squares);
}
