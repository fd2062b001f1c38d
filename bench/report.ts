// The printed report: one table per part, each number beside its goal; and what changed since the
// previous bench/results.json.
import type { Counts } from './counting.js';
import { printEventsLatency } from './events-latency.js';
import type { BenchResults } from './run.js';

const GOALS = { bundleRatio: 1.6, coldRatio: 1.5, warmP50Ms: 1, startMs: 20_000 };

const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'ok' : 'MISSED');
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits));
const times = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(2)}×`);
const counts = (c: Counts) => Object.entries(c).map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`).join(', ') || '0';

/** Left-aligned text, right-aligned numbers, two spaces between columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => /^[-–+\d.,×% ]*(KiB|ms|MiB|s)?$/.test(row[i] ?? '')));
  const line = (cells: string[]) => cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function printReport(results: BenchResults, previous?: BenchResults): void {
  const { machine, settings } = results;
  console.log(`\nfinch-connections bench, ${results.when}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; `
    + `load average ${machine.loadAvgBefore.map((n) => n.toFixed(1)).join('/')} before, ${machine.loadAvgAfter.map((n) => n.toFixed(1)).join('/')} after`);
  console.log(`code: ${results.code.commit}${results.code.uncommittedChanges ? ' with uncommitted changes in functions/ or lib/' : ''}`);
  console.log(`bundles: ${settings.bundling}; cold imports with node ${settings.nodeFlags.join(' ')} (as deployed)`);

  const coldOf = new Map(results.cold.map((c) => [c.name, c]));
  console.log(`\nBundle size and cold import (median of ${settings.coldRuns} fresh processes per bundle, interleaved with the floor;`
    + ' the goal is on wall time, CPU time is the steadier companion on a shared machine)');
  console.log(table(
    ['function', 'bundle', '×floor', `≤${GOALS.bundleRatio}×`, 'source map', 'import ms', '×floor', `≤${GOALS.coldRatio}×`, 'CPU ms', '×floor'],
    results.bundles.map((bundle) => {
      const cold = coldOf.get(bundle.name);
      const isFloor = bundle.name === 'floor';
      return [
        bundle.name, kib(bundle.bytes), times(bundle.ratio), isFloor ? '' : mark(bundle.ratio <= GOALS.bundleRatio), kib(bundle.mapBytes),
        ms(cold?.medianMs), times(cold?.ratio), isFloor || !cold ? '' : mark(cold.ratio <= GOALS.coldRatio),
        ms(cold?.cpuMedianMs), times(cold?.cpuRatio),
      ];
    }),
  ));

  const floorBytes = results.bundles.find((bundle) => bundle.name === 'floor')?.bytes ?? Number.NaN;
  for (const whatIf of results.whatIfs ?? []) {
    const real = results.bundles.find((bundle) => bundle.name === whatIf.fn);
    if (!real) continue;
    const cost = real.bytes - whatIf.bytes;
    const cold = coldOf.get(whatIf.name);
    const realCold = coldOf.get(whatIf.fn);
    const imported = cold && realCold ? `; import ${ms(cold.medianMs)} ms, ${times(cold.ratio)} the floor (${times(realCold.ratio)} with them)` : '';
    console.log(`  what if: ${whatIf.name}: ${kib(whatIf.bytes)}, ${times(whatIf.ratio)} the floor `
      + `(they cost ${kib(cost)}, ${times(cost / floorBytes)})${imported}; bundled again with stand-ins, never deployed`);
  }

  console.log('\nWhat each bundle holds (esbuild metafile, largest five) and where its import spends CPU (--cpu-prof, largest five)');
  for (const bundle of results.bundles) {
    console.log(`  ${bundle.name}`);
    console.log(`    bytes: ${bundle.contributors.slice(0, 5).map((c) => `${c.name} ${kib(c.bytes)} (${(c.share * 100).toFixed(0)}%)`).join(', ')}`);
    const profile = results.profiles[bundle.name];
    if (profile?.length) console.log(`    cpu:   ${profile.slice(0, 5).map((b) => `${b.name} ${ms(b.ms)} ms (${(b.share * 100).toFixed(0)}%)`).join(', ')}`);
  }

  if (results.warm.length) {
    console.log(`\nWarm overhead (in process, I/O ports answered by in-memory fakes; ${settings.warmIterations} invocations after ${settings.warmup} warm-up)`);
    const rows = results.warm.flatMap((w) => (w.routes.length
      ? w.routes.map((r) => [w.fn, r.route, ms(r.p50Ms, 3), ms(r.p99Ms, 3), ms(r.meanMs, 3), String(r.errors), mark(r.errors === 0 && r.p50Ms <= GOALS.warmP50Ms)])
      : [[w.fn, w.note ?? '', '', '', '', '', '']]));
    console.log(table(['function', 'route', 'p50 ms', 'p99 ms', 'mean ms', 'errors', `p50≤${GOALS.warmP50Ms} ms`], rows));
    // Grouped: every function shares one container, so the list is usually the same for all.
    const unfaked = new Map<string, string[]>();
    for (const w of results.warm.filter((run) => run.unfaked.length)) {
      const key = w.unfaked.join(', ');
      unfaked.set(key, [...(unfaked.get(key) ?? []), w.fn]);
    }
    for (const [fields, fns] of unfaked) console.log(`  left real, no fake of that name (${fns.join(', ')}): ${fields}`);
    for (const r of results.warm.flatMap((w) => w.routes).filter((r) => r.firstError)) console.log(`  ${r.route}: ${r.firstError}`);
  }

  if (results.roundTrips) {
    console.log('\nRound trips per operation (SDK middleware on the container\'s clients; Finch emulator counters)');
    console.log(table(
      ['operation', 'Finch', 'DynamoDB', 'budget', 'Secrets Mgr', 'KMS', 'answered', 'goal', ''],
      results.roundTrips.operations.map((op) => [
        op.operation, counts(op.finch), counts(op.dynamodb) + (op.dynamodbRetries ? ` (+${op.dynamodbRetries} retries)` : ''), String(op.finchBudget ?? 0),
        String(op.secretsManager), counts(op.kms), op.answered.length > 48 ? `${op.answered.slice(0, 45)}…` : op.answered, op.goal, mark(op.met),
      ]),
    ));
    console.log(`  Secrets Manager calls on warm invocations: ${results.roundTrips.warmSecretsManagerCalls} (goal 0) ${mark(results.roundTrips.warmSecretsManagerCalls === 0)}`);
    const take = results.roundTrips.budgetTakeMs;
    if (take) console.log(`  Finch budget take on DynamoDB Local (${take.takes} each): a product's path (2 buckets) p50 ${take.product.p50} ms, p95 ${take.product.p95} ms; the IP's alone p50 ${take.ipOnly.p50} ms, p95 ${take.ipOnly.p95} ms`);
  }

  if (results.start) {
    console.log(`\nnpm start: ready ${ms(results.start.readyMs / 1000)} s after the process was spawned (goal < ${GOALS.startMs / 1000} s) ${mark(results.start.readyMs < GOALS.startMs)}`);
  }

  if (results.load) {
    const load = results.load;
    console.log(`\nLoad: ${load.flows} concurrent connect flows on the local stack (every ${load.doubleSubmitEvery}th flow double-submits its callback)`);
    console.log(table(['route', 'requests', 'errors', 'p50 ms', 'p95 ms', 'p99 ms'],
      load.routes.map((r) => [r.route, String(r.count), String(r.errors), ms(r.p50Ms, 0), ms(r.p95Ms, 0), ms(r.p99Ms, 0)])));
    console.log(`  ${load.completedFlows}/${load.flows} flows in ${ms(load.wallMs / 1000)} s: ${ms(load.flowsPerSecond)} flows/s, ${ms(load.requestsPerSecond, 0)} requests/s`);
    console.log(`  errors ${load.errors} (goal 0) ${mark(load.errors === 0)}; duplicate owners ${load.duplicateOwners} (goal 0) ${mark(load.duplicateOwners === 0)}; `
      + `connections stored ${load.connectionsStored}; code exchanges at Finch ${load.codeExchanges}`);
    console.log(`  double submits whose second callback waited out the first (answered callback_in_progress, by design): ${load.doubleSubmitsThatWaitedOut}`);
    console.log(`  peak RSS: gateway + handlers + emulator ${ms(load.peakRssMb.gateway, 0)} MiB, DynamoDB Local (Java) ${ms(load.peakRssMb.dynamodbLocal, 0)} MiB`);
    console.log(`  CPU during the load: gateway + handlers + emulator ${ms(load.cpuSeconds.gateway)} s, DynamoDB Local ${ms(load.cpuSeconds.dynamodbLocal)} s (of ${ms(load.wallMs / 1000)} s wall on ${results.machine.cores} cores)`);
    for (const sample of load.errorSamples) console.log(`  error: ${sample}`);
  }

  if (results.events) printEventsLatency(results.events);
  if (previous) printChanges(results, previous);
  console.log(`\nparts (s): ${Object.entries(results.partSeconds).map(([name, s]) => `${name} ${s.toFixed(0)}`).join(', ')}`);
  for (const failure of results.failures) console.log(`\nFAILED: ${failure}`);
}

function printChanges(results: BenchResults, previous: BenchResults): void {
  const rows: string[][] = [];
  const before = new Map((previous.bundles ?? []).map((b) => [b.name, b]));
  const coldBefore = new Map((previous.cold ?? []).map((c) => [c.name, c]));
  for (const bundle of results.bundles) {
    const old = before.get(bundle.name);
    const cold = results.cold.find((c) => c.name === bundle.name);
    const oldCold = coldBefore.get(bundle.name);
    rows.push([bundle.name, old ? times(old.ratio) : 'new', times(bundle.ratio), oldCold ? times(oldCold.ratio) : '–', cold ? times(cold.ratio) : '–']);
  }
  console.log(`\nSince the previous run (${previous.when})`);
  console.log(table(['function', 'bundle ×floor was', 'now', 'import ×floor was', 'now'], rows));
}
