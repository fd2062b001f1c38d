// `npm run bench`: bundle size, cold import, warm overhead, round trips and load, as ratios against
// a floor measured in the same run. Prints a table and writes bench/results.json. See BENCHMARKS.md.
//   --flows N         concurrent connect flows in the load part (default 200)
//   --runs N          cold imports per bundle, interleaved (default 15, at least 15)
//   --iterations N    warm invocations per route (default 5000), after --warmup N (default 200)
//   --only a,b        only these functions (names from lib/routes.ts)
//   --skip x,y        leave out parts: cold, what-ifs (their cold imports), profile, warm, stack (round trips,
//                     events and load need it), events
//   --scenario events only the events latency on the local stack (bench/events-latency.ts)
//   --event-connections N  connections connected and disconnected one at a time in it (default 10)
//   --out FILE        where the results go (default bench/results.json; bench/results-scale.json for --scenario scale)
//   --scenario scale  only the simulation at scale (bench/scale.ts): --customers N (1000), --minutes N (15),
//                     --visits-per-hour X (1.5), --merges-per-hour X (0.5), --seed N (17), --speed N (10 simulated
//                     seconds a real one at most; 0: unbounded); see BENCHMARKS.md
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type BuiltBundle, type WhatIfBundle, buildAll, buildWhatIfs } from './bundling.js';
import { type ColdResult, type ProfileBucket, NODE_FLAGS, measureColdImports, profileColdImport } from './cold.js';
import { type EventReceiver, type EventsLatencyResult, measureEventsLatency, startEventReceiver } from './events-latency.js';
import { type LoadResult, type StartedStack, runLoad, startLocalStack } from './load.js';
import { REPO_ROOT } from './paths.js';
import { printReport } from './report.js';
import { DEFAULT_SCALE, type ScaleRequest, type ScaleResult, measureScale, printScale } from './scale.js';
import { measureRoundTrips } from './roundtrips.js';
import type { RoundTripsResult } from './roundtrips-child.js';
import { measureWarm } from './warm.js';
import type { WarmResult } from './warm-child.js';

export interface BenchOptions {
  flows: number;
  runs: number;
  iterations: number;
  warmup: number;
  only?: string[];
  skip: Set<string>;
  out: string;
  eventConnections: number;
  /** Set by `--scenario scale`: that simulation alone. */
  scale?: ScaleRequest;
}

export interface BenchResults {
  when: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; os: string; loadAvgBefore: number[]; loadAvgAfter: number[] };
  /** The code measured: HEAD, and whether functions/ or lib/ had changes not committed yet. */
  code: { commit: string; uncommittedChanges: boolean };
  settings: { bundling: string; nodeFlags: string[]; coldRuns: number; warmIterations: number; warmup: number; flows: number };
  bundles: Array<Omit<BuiltBundle, 'file'> & { ratio: number }>;
  /** A function bundled again with a package replaced by stand-ins: what that package costs (bench/bundling.ts WHAT_IFS). */
  whatIfs: Array<Omit<WhatIfBundle, 'file'> & { ratio: number }>;
  cold: Array<ColdResult & { ratio: number; cpuRatio: number }>;
  profiles: Record<string, ProfileBucket[]>;
  warm: WarmResult[];
  roundTrips?: RoundTripsResult;
  start?: { readyMs: number };
  load?: LoadResult;
  events?: EventsLatencyResult;
  failures: string[];
  /** Seconds each part took, to keep the whole under five minutes. */
  partSeconds: Record<string, number>;
  durationMs: number;
}

const USAGE = 'usage: npm run bench [-- --flows 200] [--runs 15] [--iterations 5000] [--warmup 200] [--only a,b] [--skip cold,what-ifs,profile,warm,stack,events] [--scenario events|scale] [--event-connections 10] [--out FILE]'
  + '\n       npm run bench -- --scenario scale [--customers 1000] [--minutes 15] [--visits-per-hour 1.5] [--merges-per-hour 0.5] [--seed 17] [--speed 10] [--out FILE]';

/** The parts --skip can leave out; `stack` carries npm start, the round trips, the events and the load. */
const PARTS = ['cold', 'what-ifs', 'profile', 'warm', 'stack', 'events'];
/** `--scenario events`: npm start and the events part (and the bundles, a few seconds). */
const EVENTS_ONLY = new Set(['cold', 'profile', 'warm', 'roundTrips', 'load']);

export function parseArgs(argv: string[]): BenchOptions {
  const options: BenchOptions = { flows: 200, runs: 15, iterations: 5000, warmup: 200, skip: new Set(), out: join(REPO_ROOT, 'bench', 'results.json'), eventConnections: 10 };
  let out: string | undefined;
  const workload = { ...DEFAULT_SCALE.workload };
  let speed = DEFAULT_SCALE.speed;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i] ?? '';
    const count = (min: number) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min}\n${USAGE}`);
      return n;
    };
    const rate = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0 || n > 3600) throw new Error(`${flag} needs a number from 0 to 3600\n${USAGE}`);
      return n;
    };
    if (flag === '--flows') options.flows = count(1);
    else if (flag === '--runs') options.runs = count(15);
    else if (flag === '--iterations') options.iterations = count(1);
    else if (flag === '--warmup') options.warmup = count(0);
    else if (flag === '--only') options.only = value().split(',').filter(Boolean);
    else if (flag === '--skip') {
      options.skip = new Set(value().split(',').filter(Boolean));
      const unknown = [...options.skip].filter((name) => !PARTS.includes(name));
      if (unknown.length) throw new Error(`--skip: no part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})\n${USAGE}`);
    }
    else if (flag === '--out') out = value();
    else if (flag === '--scenario') {
      const scenario = value();
      if (scenario === 'events') options.skip = EVENTS_ONLY;
      else if (scenario === 'scale') options.scale = { ...DEFAULT_SCALE };
      else throw new Error(`--scenario: \`events\` or \`scale\`\n${USAGE}`);
    }
    else if (flag === '--customers') workload.customers = count(2);
    else if (flag === '--minutes') workload.minutes = count(1);
    else if (flag === '--visits-per-hour') workload.visitsPerHour = rate();
    else if (flag === '--merges-per-hour') workload.mergesPerHour = rate();
    else if (flag === '--seed') workload.seed = count(0);
    else if (flag === '--speed') speed = count(0);
    else if (flag === '--event-connections') options.eventConnections = count(1);
    else if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
  }
  if (options.scale) options.scale = { ...options.scale, workload, speed };
  options.out = out ?? join(REPO_ROOT, 'bench', options.scale ? 'results-scale.json' : 'results.json');
  return options;
}

function codeVersion(): BenchResults['code'] {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return { commit: git('rev-parse', '--short', 'HEAD') || 'unknown', uncommittedChanges: git('status', '--porcelain', '--', 'functions', 'lib') !== '' };
}

const ratio = (value: number, floor: number) => (floor > 0 ? value / floor : Number.NaN);
const partSeconds: Record<string, number> = {};

/** Runs one part of the bench, saying what it does and, after, how long it took. */
async function part<T>(name: string, text: string, work: () => Promise<T>): Promise<T> {
  process.stdout.write(`· ${text}`);
  const t0 = Date.now();
  try {
    return await work();
  } finally {
    partSeconds[name] = (partSeconds[name] ?? 0) + (Date.now() - t0) / 1000;
    console.log(` (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

/**
 * `--scenario scale`: the simulation alone, on a DynamoDB Local of its own (in memory); its own
 * results file, since it shares no part with the default run.
 */
async function runScale(options: BenchOptions, request: ScaleRequest): Promise<void> {
  const { startDynamoDbLocal } = await import('../local/dynamodb-local.js');
  const started = Date.now();
  const loadAvgBefore = loadavg();
  const dynamodb = await startDynamoDbLocal();
  try {
    const scale = await part('scale', `scale: ${request.workload.customers} customers × ${request.workload.connectionsPerCustomer} connections, `
      + `${request.workload.minutes} simulated minutes (connecting them first)`, () => measureScale(dynamodb.endpoint, request));
    const results: { when: string; code: BenchResults['code']; machine: { cores: number; loadAvgBefore: number[]; loadAvgAfter: number[] }; scale: ScaleResult; durationMs: number } = {
      when: new Date().toISOString(), code: codeVersion(), machine: { cores: cpus().length, loadAvgBefore, loadAvgAfter: loadavg() }, scale, durationMs: Date.now() - started,
    };
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    printScale(scale);
    console.log(`\nwrote ${options.out} (${(results.durationMs / 1000).toFixed(0)} s; load average ${loadAvgBefore.map((n) => n.toFixed(1)).join('/')} before)`);
    if (scale.unhandled > 0 || scale.ipBlocked) process.exitCode = 1;
  } finally {
    await dynamodb.stop();
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.scale) return runScale(options, options.scale);
  const started = Date.now();
  const loadAvgBefore = loadavg();
  const outDir = mkdtempSync(join(tmpdir(), 'finch-bench-'));
  const failures: string[] = [];
  const previous = existsSync(options.out) ? JSON.parse(readFileSync(options.out, 'utf8')) as BenchResults : undefined;
  let stack: StartedStack | undefined;
  let receiver: EventReceiver | undefined;
  try {
    const built = await part('bundle', 'bundling every Lambda of lib/routes.ts and the floor', () => buildAll(outDir, options.only));
    const unknown = (options.only ?? []).filter((name) => !built.functions.some((fn) => fn.name === name));
    if (unknown.length) throw new Error(`--only: no function ${unknown.join(', ')} in lib/routes.ts`);
    const targets = [built.floor, ...built.functions];
    const whatIfs = await part('bundle', 'what-if bundles (a package replaced by stand-ins, to measure what it costs)',
      () => buildWhatIfs(outDir, built.functions.map((fn) => fn.name)));
    failures.push(...whatIfs.failures);

    let cold: ColdResult[] = [];
    if (!options.skip.has('cold')) {
      // The what-ifs in the same rounds, so what a package costs an import is paired with the function's own.
      const coldTargets = [...targets, ...(options.skip.has('what-ifs') ? [] : whatIfs.bundles)];
      cold = await part('cold', `cold import: ${options.runs} interleaved rounds of ${coldTargets.length} fresh node processes`,
        () => measureColdImports(coldTargets, options.runs));
    }
    const profiles: Record<string, ProfileBucket[]> = {};
    if (!options.skip.has('profile')) {
      await part('profile', 'profiling the cold imports (--cpu-prof, mapped through the source maps)', async () => {
        for (const target of targets) profiles[target.name] = await profileColdImport(target);
      });
    }

    const warm: WarmResult[] = [];
    if (!options.skip.has('warm')) {
      // The routed functions: the stream's, the queue's and the schedule's take no API Gateway event.
      for (const fn of built.functions.filter((candidate) => built.benchEntries[candidate.name])) {
        warm.push(await part('warm', `warm: ${fn.name}, ${options.iterations} invocations a route with in-memory fakes`,
          () => measureWarm(fn.name, built.benchEntries[fn.name], options.iterations, options.warmup))
          .catch((error: Error) => {
            failures.push(error.message);
            return { fn: fn.name, routes: [], unfaked: [], note: 'failed (see failures)' };
          }));
      }
    }

    let roundTrips: RoundTripsResult | undefined;
    let load: LoadResult | undefined;
    let events: EventsLatencyResult | undefined;
    if (!options.skip.has('stack')) {
      // The events part listens where the stack forwards its events (EVENTS_FORWARD_URL).
      if (!options.skip.has('events')) receiver = await startEventReceiver();
      stack = await part('start', 'npm start (the local stack, as a child process on free ports)',
        () => startLocalStack(receiver ? { EVENTS_FORWARD_URL: receiver.url } : {}))
        .catch((error: Error) => { failures.push(`npm start: ${error.message}`); return undefined; });
      if (stack) {
        const running = stack;
        if (receiver) {
          const listening = receiver;
          events = await part('events', `events end to end: ${options.eventConnections} connections connected and disconnected one at a time`,
            () => measureEventsLatency(running.stack.stack, listening, { connections: options.eventConnections, settleMs: 30_000, enrichmentWaitMs: 2000 }))
            .catch((error: Error) => { failures.push(`events: ${error.message}`); return undefined; });
          if (events?.missing.length) failures.push(`events: ${events.missing.length} of ${events.expected} expected events not delivered`);
        }
        if (!options.skip.has('roundTrips')) roundTrips = await part('roundTrips', 'round trips per operation (handlers in process, the stack\'s DynamoDB Local, a table of their own)',
          () => measureRoundTrips(running.stack.stack.dynamodbEndpoint))
          .catch((error: Error) => { failures.push(error.message); return undefined; });
        if (!options.skip.has('load')) load = await part('load', `load: ${options.flows} concurrent connect flows through the local gateway`,
          () => runLoad(running, { flows: options.flows, doubleSubmitEvery: 4, timeoutMs: 120_000 }))
          .catch((error: Error) => { failures.push(`load: ${error.message}`); return undefined; });
      }
    }

    const floorCold = cold.find((c) => c.name === built.floor.name);
    const results: BenchResults = {
      when: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version, os: `${process.platform} ${release()}`, loadAvgBefore, loadAvgAfter: loadavg(),
      },
      code: codeVersion(),
      settings: {
        bundling: built.settingsSource, nodeFlags: NODE_FLAGS, coldRuns: options.runs,
        warmIterations: options.iterations, warmup: options.warmup, flows: options.flows,
      },
      bundles: targets.map(({ file: _file, ...bundle }) => ({ ...bundle, ratio: ratio(bundle.bytes, built.floor.bytes) })),
      whatIfs: whatIfs.bundles.map(({ file: _file, ...bundle }) => ({ ...bundle, ratio: ratio(bundle.bytes, built.floor.bytes) })),
      cold: cold.map((c) => ({ ...c, ratio: ratio(c.medianMs, floorCold?.medianMs ?? Number.NaN), cpuRatio: ratio(c.cpuMedianMs, floorCold?.cpuMedianMs ?? Number.NaN) })),
      profiles,
      warm,
      roundTrips,
      start: stack ? { readyMs: stack.readyMs } : undefined,
      load,
      events,
      failures,
      partSeconds,
      durationMs: Date.now() - started,
    };
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    printReport(results, previous);
    console.log(`\nwrote ${options.out} (${(results.durationMs / 1000).toFixed(0)} s)`);
    if (failures.length) process.exitCode = 1;
  } finally {
    if (stack) await stack.stack.stop().catch(() => undefined);
    if (stack) rmSync(stack.stack.stateDir, { recursive: true, force: true });
    await receiver?.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
