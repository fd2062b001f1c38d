// `npm run bench -- --scenario scale`: 1,000 customers × 3 connections reading through the proxy
// and GET /directory for some simulated minutes, with Finch's documented limits enforced by the
// emulator and the reconciler in the background (bench/scale-child.ts runs it; BENCHMARKS.md "Issue
// 17, part L"). This file: the request, what is collected, the summary and the printed report.
import type { HttpResult } from '#http/stack.js';
import { FINCH_RATE_PRODUCTS, IP_LIMIT } from '#local/finch-emulator/rate-limits.js';
import { runPhase } from './child.js';
import { type Counts, percentile } from './counting.js';
import { table } from './report.js';
import { type Demand, type WorkloadSettings, isHeavy, jainIndex } from './scale-workload.js';

export interface ScaleRequest {
  workload: WorkloadSettings;
  /** People in each connection's data (the emulator's employee_size): a directory is one page of 100 up to 100. */
  employees: number;
  /** Simulated ms per step: each step's requests go at once, and the clock moves after they are answered. */
  tickMs: number;
  /**
   * At most this many simulated seconds a real second (0: as fast as the machine goes). Requests
   * never see the clock jump (it moves between steps), but the reconciler runs beside the steps:
   * a check here is ~50–100 ms of real work, so at 10× it lasts 0.5–1 simulated s, near a
   * Lambda's (Finch's /introspect latency dominates there); unbounded, the reconciler would look far slower than it is.
   */
  speed: number;
  /** How many times an application comes back after a 429's Retry-After (0: never). */
  retries: number;
  /** The reconciler's interval (its RECONCILE_INTERVAL_MINUTES), its first run's minute, and its connections a run. */
  reconcileMinutes: number;
  reconcileOffsetMinutes: number;
  reconcileMaxConnections: number;
  /** Customers connected at once while seeding. */
  connectConcurrency: number;
}

/** The defaults: 1,000 customers × 3 connections for 15 simulated minutes. */
export const DEFAULT_SCALE: ScaleRequest = {
  workload: {
    customers: 1000, connectionsPerCustomer: 3, minutes: 15, visitsPerHour: 1.5, mergesPerHour: 0.5, heavyShare: 0.02, heavyFactor: 10, seed: 17,
  },
  employees: 50, tickMs: 1000, speed: 10, retries: 1, reconcileMinutes: 5, reconcileOffsetMinutes: 1, reconcileMaxConnections: 200, connectConcurrency: 16,
};

type Outcome = 'served' | 'budget_429' | 'finch_block_429' | 'finch_429' | 'unhandled_429' | 'partial' | 'empty' | 'other';

interface Answer {
  kind: 'read' | 'merge';
  product: string;
  customer: number;
  attempt: number;
  status: number;
  outcome: Outcome;
  ms: number;
  skipped: string[];
}

export interface FlowTrip {
  operation: string;
  ms: number;
  finch: Counts;
  dynamodb: Counts;
  budgetTakes: number;
  kms: Counts;
}

export interface ReconcileRun { at: number; checked: number; stopped: string; outcomes: Record<string, number>; ms: number }

export interface Collector {
  answers: Answer[];
  /** "kind bucket" → the budget's refusals, from the functions' log lines. */
  throttles: Record<string, number>;
  /** Per simulated minute, the emulator's counts: requests arrived per product, 429s per finch_code. */
  minutes: Array<{ seen: Counts; refused: Counts }>;
  maxInWindow: Counts;
  ipBlocked: boolean;
  flows: FlowTrip[];
  reconcileRuns: ReconcileRun[];
  /** Records one answer; the Retry-After (seconds) of a 429 that has one, else null. */
  record(demand: Demand & { attempt: number }, result: HttpResult, ms: number): number | null;
  sampleWindows(inWindow: Counts, ipBlocked: boolean): void;
  reset(): void;
}

export function newCollector(): Collector {
  const collector: Collector = {
    answers: [], throttles: {}, minutes: [], maxInWindow: {}, ipBlocked: false, flows: [], reconcileRuns: [],
    record(demand, result, ms) {
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
      let body: any;
      try { body = JSON.parse(String(result.body ?? '')); } catch { body = undefined; }
      const status = result.statusCode ?? 0;
      const retryAfter = status === 429 && /^\d+$/.test(headers['retry-after'] ?? '') ? Number(headers['retry-after']) : null;
      const skipped: string[] = demand.kind === 'merge' && status === 200 ? (body?.skipped ?? []).map((s: { reason: string }) => s.reason) : [];
      let outcome: Outcome;
      if (status === 429) {
        // Ours (functions/http/errors.ts): error.code finch_rate_limited, with the finch_code of a block Finch's 429 set, if any; else Finch's own body passed on.
        const ours = body?.error?.code === 'finch_rate_limited' ? body.error as { finch_code?: string | null } : null;
        outcome = retryAfter === null ? 'unhandled_429' : ours ? (ours.finch_code ? 'finch_block_429' : 'budget_429') : 'finch_429';
      } else if (status === 200 && demand.kind === 'merge') {
        outcome = skipped.length === 0 ? 'served' : (body?.people?.length ?? 0) === 0 ? 'empty' : 'partial';
      } else outcome = status >= 200 && status < 300 ? 'served' : 'other';
      collector.answers.push({
        kind: demand.kind, product: demand.kind === 'read' ? demand.product : 'directory merge', customer: demand.customer,
        attempt: demand.attempt, status, outcome, ms, skipped,
      });
      return retryAfter;
    },
    sampleWindows(inWindow, ipBlocked) {
      for (const [name, n] of Object.entries(inWindow)) collector.maxInWindow[name] = Math.max(collector.maxInWindow[name] ?? 0, n);
      collector.ipBlocked ||= ipBlocked;
    },
    reset() {
      collector.answers = [];
      collector.throttles = {};
      collector.minutes = [];
      collector.maxInWindow = {};
      collector.ipBlocked = false;
    },
  };
  return collector;
}

const stats = (values: number[]) => ({ count: values.length, p50Ms: percentile(values, 50), p95Ms: percentile(values, 95) });
const count = <T>(items: T[], test: (item: T) => boolean) => items.reduce((n, item) => n + (test(item) ? 1 : 0), 0);

/** The table's items and their bytes by kind (CUSTOMER: connections, CONNECTION: owners, AUDIT, SESSION, RATE…). */
export interface Storage {
  kinds: Record<string, { items: number; bytes: number }>;
  /** The reconciler's drift entries by the fields Finch said differently. */
  reconcilerChanged: Record<string, number>;
}

export interface ScaleResult {
  settings: ScaleRequest;
  connections: number;
  connectSeconds: number;
  simulateSeconds: number;
  reconciler: boolean;
  /** Finch's 429s by finch_code (the emulator's count), and whether the IP penalty ever ran. */
  finch429: Counts;
  ipBlocked: boolean;
  /** Answers that were a 429 without Retry-After, or a 5xx: a Finch 429 not handled. */
  unhandled: number;
  /** By product (reads) and for the merge: requests, outcomes, latency of every answer and of those served. */
  answers: Array<{ product: string; first: number; attempts: number; outcomes: Counts; statuses: Counts; all: ReturnType<typeof stats>; served: ReturnType<typeof stats> }>;
  all: ReturnType<typeof stats>;
  skippedReasons: Counts;
  throttles: Counts;
  /** Per Finch product: arrivals per simulated minute (mean, busiest), the most accepted in a rolling window (sampled each step), the limit. */
  perProduct: Array<{ product: string; meanPerMinute: number; maxPerMinute: number; maxInWindow: number; limit: number; windowSeconds: number }>;
  fairness: {
    /** Ordinary customers with some reads: Jain's index of their served shares, the lowest and highest share, the mean. */
    ordinary: { customers: number; jain: number; minShare: number; maxShare: number; meanShare: number };
    /** Ordinary customers with the commonest number of reads: Jain's index of their served reads, fewest and most. */
    equalDemand: { reads: number; customers: number; jain: number; min: number; max: number };
    heavy: { customers: number; meanShare: number; jain: number };
  };
  reconcileRuns: ReconcileRun[];
  flows: FlowTrip[];
  totals: { proxy: { dynamodb: Counts; budgetTakes: number; kms: Counts }; reconcile: { dynamodb: Counts; budgetTakes: number; kms: Counts }; finch: { seen: Counts; refused: Counts } };
  storage: { afterConnect: Storage; afterSimulation: Storage };
}

export function summarize(
  request: ScaleRequest, c: Collector,
  run: { connectMs: number; simulateMs: number; connections: number; reconciler: boolean; totals: ScaleResult['totals']; storage: ScaleResult['storage'] },
): ScaleResult {
  const products = [...new Set(c.answers.map((a) => a.product))].sort();
  const answers = products.map((product) => {
    const mine = c.answers.filter((a) => a.product === product);
    const outcomes: Counts = {};
    const statuses: Counts = {};
    for (const a of mine) {
      outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    }
    return {
      product, first: count(mine, (a) => a.attempt === 0), attempts: mine.length, outcomes, statuses,
      all: stats(mine.map((a) => a.ms)), served: stats(mine.filter((a) => a.outcome === 'served').map((a) => a.ms)),
    };
  });
  const skippedReasons: Counts = {};
  for (const reason of c.answers.flatMap((a) => a.skipped)) skippedReasons[reason] = (skippedReasons[reason] ?? 0) + 1;

  // Fairness over reads: each customer's served reads over the reads it asked for.
  const demanded = new Map<number, number>();
  const served = new Map<number, number>();
  for (const a of c.answers.filter((x) => x.kind === 'read')) {
    if (a.attempt === 0) demanded.set(a.customer, (demanded.get(a.customer) ?? 0) + 1);
    if (a.outcome === 'served') served.set(a.customer, (served.get(a.customer) ?? 0) + 1);
  }
  const share = (customer: number) => (served.get(customer) ?? 0) / demanded.get(customer)!;
  const ordinary = [...demanded.keys()].filter((customer) => !isHeavy(request.workload, customer));
  const heavy = [...demanded.keys()].filter((customer) => isHeavy(request.workload, customer));
  const shares = ordinary.map(share);
  const byDemand = new Map<number, number[]>();
  for (const customer of ordinary) byDemand.set(demanded.get(customer)!, [...(byDemand.get(demanded.get(customer)!) ?? []), customer]);
  const [reads, group] = [...byDemand.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [0, []];
  const servedInGroup = group.map((customer) => served.get(customer) ?? 0);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);

  const perProduct = [...FINCH_RATE_PRODUCTS.map((p) => ({ product: p.product, limit: p.limit, windowSeconds: 60 })), { product: 'ip', limit: IP_LIMIT.limit, windowSeconds: IP_LIMIT.windowMs / 1000 }]
    .map(({ product, limit, windowSeconds }) => {
      const perMinute = c.minutes.map((m) => m.seen[product] ?? 0);
      return { product, meanPerMinute: mean(perMinute), maxPerMinute: Math.max(0, ...perMinute), maxInWindow: c.maxInWindow[product] ?? 0, limit, windowSeconds };
    })
    .filter((row) => row.maxPerMinute > 0 || row.product === 'ip');

  return {
    settings: request,
    connections: run.connections,
    connectSeconds: run.connectMs / 1000,
    simulateSeconds: run.simulateMs / 1000,
    reconciler: run.reconciler,
    finch429: run.totals.finch.refused,
    ipBlocked: c.ipBlocked || (run.totals.finch.refused.finch_api_ip_rl ?? 0) > 0,
    unhandled: count(c.answers, (a) => a.outcome === 'unhandled_429' || a.status >= 500),
    answers,
    all: stats(c.answers.map((a) => a.ms)),
    skippedReasons,
    throttles: c.throttles,
    perProduct,
    fairness: {
      ordinary: { customers: ordinary.length, jain: jainIndex(shares), minShare: Math.min(...shares), maxShare: Math.max(...shares), meanShare: mean(shares) },
      equalDemand: { reads, customers: group.length, jain: jainIndex(servedInGroup), min: Math.min(...servedInGroup), max: Math.max(...servedInGroup) },
      heavy: { customers: heavy.length, meanShare: mean(heavy.map(share)), jain: jainIndex(heavy.map(share)) },
    },
    reconcileRuns: c.reconcileRuns,
    flows: c.flows,
    totals: run.totals,
    storage: run.storage,
  };
}

/** Runs the scenario in a process of its own against DynamoDB Local at `dynamodbEndpoint`. */
export const measureScale = (dynamodbEndpoint: string, request: ScaleRequest) => runPhase<ScaleResult>('scale-child.ts', {
  DYNAMODB_ENDPOINT: dynamodbEndpoint,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
}, request);

const n1 = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const n3 = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : '–');
const list = (counts: Counts) => Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(', ') || 'none';

export function printScale(r: ScaleResult): void {
  const w = r.settings.workload;
  console.log(`\nScale: ${w.customers} customers × ${w.connectionsPerCustomer} connections (${r.connections} connected through the core's connect flow in ${r.connectSeconds.toFixed(0)} s), `
    + `${w.minutes} simulated minutes in ${r.simulateSeconds.toFixed(0)} s; per ordinary customer ${w.visitsPerHour} visits an hour (1–4 reads at once) `
    + `and ${w.mergesPerHour} GET /directory an hour, ${(w.heavyShare * 100).toFixed(0)}% of customers ${w.heavyFactor}× that; `
    + `${r.settings.employees} people a connection; a 429 retried ${r.settings.retries}× after its Retry-After; at most ${r.settings.speed}× real time`);
  console.log(`  Finch 429s: ${list(r.finch429)}; IP penalty: ${r.ipBlocked ? 'YES' : 'never'}; unhandled (429 without Retry-After, or 5xx): ${r.unhandled}`);
  console.log(table(['request', 'first', 'attempts', 'served', 'our 429', '429 of a block', 'Finch 429 passed on', 'partial/empty', 'other', 'p50 ms', 'p95 ms', 'served p50', 'p95'],
    [...r.answers, { product: 'all', first: Number.NaN, attempts: r.all.count, outcomes: {}, statuses: {}, all: r.all, served: { count: 0, p50Ms: Number.NaN, p95Ms: Number.NaN } }].map((a) => [
      a.product, Number.isNaN(a.first) ? '' : String(a.first), String(a.attempts), String(a.outcomes.served ?? ''), String(a.outcomes.budget_429 ?? ''),
      String(a.outcomes.finch_block_429 ?? ''), String(a.outcomes.finch_429 ?? ''), `${a.outcomes.partial ?? 0}/${a.outcomes.empty ?? 0}`,
      Object.entries(a.statuses).filter(([s]) => !['200', '429'].includes(s)).map(([s, k]) => `${s}×${k}`).join(' '),
      n1(a.all.p50Ms), n1(a.all.p95Ms), n1(a.served.p50Ms), n1(a.served.p95Ms),
    ])));
  console.log(`  GET /directory's skipped connections by reason: ${list(r.skippedReasons)}`);
  console.log(`  the budget's refusals by caller kind and bucket: ${list(r.throttles)}`);
  console.log(table(['Finch product', 'arrived/min mean', 'busiest min', 'max accepted in window', 'limit'], r.perProduct.map((p) => [
    p.product, n1(p.meanPerMinute), String(p.maxPerMinute), String(p.maxInWindow), `${p.limit}/${p.windowSeconds} s`,
  ])));
  const f = r.fairness;
  console.log(`  fairness (served share of reads): ordinary customers (${f.ordinary.customers}) Jain ${n3(f.ordinary.jain)}, share min ${n3(f.ordinary.minShare)} `
    + `mean ${n3(f.ordinary.meanShare)} max ${n3(f.ordinary.maxShare)}; the ${f.equalDemand.customers} with exactly ${f.equalDemand.reads} reads: Jain ${n3(f.equalDemand.jain)}, `
    + `served ${f.equalDemand.min}–${f.equalDemand.max}; heavy (${f.heavy.customers}) mean share ${n3(f.heavy.meanShare)}`);
  if (!r.reconciler) console.log('  reconciler: not in this tree, not run');
  for (const run of r.reconcileRuns) {
    console.log(`  reconciler run at minute ${(run.at / 60_000).toFixed(0)}: ${run.checked} checked (${list(run.outcomes)}), stopped: ${run.stopped}, ${(run.ms / 1000).toFixed(1)} s real`);
  }
  console.log('  round trips of one request alone (before the simulation):');
  for (const flow of r.flows) {
    console.log(`    ${flow.operation}: Finch ${list(flow.finch)}; DynamoDB ${list(flow.dynamodb)} (budget takes ${flow.budgetTakes} of them); KMS ${list(flow.kms)}; ${flow.ms.toFixed(0)} ms`);
  }
  for (const [when, storage] of Object.entries(r.storage ?? {})) {
    console.log(`  table ${when}: ${Object.entries(storage.kinds).map(([kind, k]) => `${kind} ${k.items} items ${(k.bytes / k.items).toFixed(0)} B each`).join(', ')}`
      + `${Object.keys(storage.reconcilerChanged).length ? `; the reconciler's drift by fields: ${list(storage.reconcilerChanged)}` : ''}`);
  }
  const t = r.totals;
  console.log(`  totals: proxy DynamoDB ${list(t.proxy.dynamodb)} (budget ${t.proxy.budgetTakes}), KMS ${list(t.proxy.kms)}; `
    + `reconciler DynamoDB ${list(t.reconcile.dynamodb)} (budget ${t.reconcile.budgetTakes}), KMS ${list(t.reconcile.kms)}`);
}
