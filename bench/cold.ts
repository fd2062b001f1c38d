// Cold import: each bundle imported by a fresh `node` process (bench/import-probe.mjs), rounds
// interleaved with the floor so the machine's noise falls on all of them alike; and a CPU profile
// of the import, its samples mapped through the bundle's source map to the packages they ran in.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ownerOf } from './bundling.js';
import { median } from './counting.js';
import { REPO_ROOT } from './paths.js';

const run = promisify(execFile);
const PROBE = join(REPO_ROOT, 'bench', 'import-probe.mjs');

/** What the CDK stack gives every function (lib/finch-connections-stack.ts), with placeholder ARNs: nothing is called at import. */
export const AWS_LIKE_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  TABLE_NAME: 'finch-connections-bench',
  FINCH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:finch-bench-AbCdEf',
  KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000',
  CALLBACK_URL: 'https://api.example.com/connect/callback',
  FINCH_API_BASE_URL: 'https://api.tryfinch.com',
  ALLOWED_RETURN_ORIGINS: 'https://app.example.com',
  POWERTOOLS_SERVICE_NAME: 'finch-connections',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_NAMESPACE: 'FinchConnections',
  // The stream's function and the queue's (lib/constructs/functions.ts, company-enrichment.ts).
  EVENT_BUS_NAME: 'finch-connections-bench',
  ENRICHMENT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/finch-connections-bench-enrichment',
};

/** Lambda runs the functions with source maps on (lib/constructs/service-function.ts sets NODE_OPTIONS). */
export const NODE_FLAGS = ['--enable-source-maps'];

export interface ImportTarget {
  name: string;
  file: string;
}

export interface ColdResult {
  name: string;
  /** Wall time of each import. */
  samplesMs: number[];
  medianMs: number;
  /** CPU time (all the process's threads) of each import. */
  cpuSamplesMs: number[];
  cpuMedianMs: number;
}

function probeEnv(name: string): NodeJS.ProcessEnv {
  // Nothing from the bench's own process (tsx's loader, NODE_OPTIONS, a compile cache) may leak in.
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...AWS_LIKE_ENV, AWS_LAMBDA_FUNCTION_NAME: `bench-${name}` };
}

interface ProbeOutput { importMs: number; cpuMs: number; startUs: number; endUs: number }

async function importOnce(target: ImportTarget, extraFlags: string[] = []): Promise<ProbeOutput> {
  const { stdout } = await run(process.execPath, [...NODE_FLAGS, ...extraFlags, PROBE, pathToFileURL(target.file).href], {
    env: probeEnv(target.name), cwd: dirname(target.file), timeout: 60_000, maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as ProbeOutput;
}

/** V8 without background threads and with a fixed GC schedule: the same import does the same work. */
export const DETERMINISTIC_FLAGS = ['--single-threaded', '--predictable'];

/**
 * Instructions one fresh import executes, counted by valgrind (cachegrind, no cache simulation)
 * with V8 made deterministic: repeatable to ~0.01%, whatever else runs on the machine, so a change
 * of 1% shows. Not wall time (the goal): compile, page faults and GC threads weigh differently in
 * it. Includes Node's start-up; subtract an empty module's count for the import's own.
 */
export async function countImportInstructions(target: ImportTarget): Promise<number> {
  const { stderr } = await run('valgrind', [
    '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
    process.execPath, ...NODE_FLAGS, ...DETERMINISTIC_FLAGS, PROBE, pathToFileURL(target.file).href,
  ], { env: probeEnv(target.name), cwd: dirname(target.file), timeout: 600_000, maxBuffer: 1 << 24 });
  const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (!refs) throw new Error(`valgrind printed no instruction count for ${target.name}:\n${stderr.slice(-2000)}`);
  return Number(refs[1].replace(/,/g, ''));
}

/**
 * `runs` rounds; in each, every target once, the order rotated from round to round. One unmeasured
 * round first fills the page cache. Sequential on purpose: two at once would share two cores.
 */
export async function measureColdImports(targets: ImportTarget[], runs: number): Promise<ColdResult[]> {
  const samples = new Map<string, { wall: number[]; cpu: number[] }>(targets.map((target) => [target.name, { wall: [], cpu: [] }]));
  for (let round = -1; round < runs; round++) {
    const offset = ((round % targets.length) + targets.length) % targets.length;
    const order = [...targets.slice(offset), ...targets.slice(0, offset)];
    for (const target of order) {
      const { importMs, cpuMs } = await importOnce(target);
      if (round < 0) continue;
      samples.get(target.name)!.wall.push(importMs);
      samples.get(target.name)!.cpu.push(cpuMs);
    }
  }
  const round2 = (ms: number) => Math.round(ms * 100) / 100;
  return targets.map((target) => {
    const { wall, cpu } = samples.get(target.name)!;
    return { name: target.name, samplesMs: wall.map(round2), medianMs: median(wall), cpuSamplesMs: cpu.map(round2), cpuMedianMs: median(cpu) };
  });
}

export interface ProfileBucket {
  /** A package, a folder of this repository, a part of Node's work, or V8's own `(garbage collector)`, `(program)`. */
  name: string;
  ms: number;
  share: number;
}

interface CpuProfile {
  startTime: number;
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time of the import by where the code came from: `runs` fresh processes with `--cpu-prof`,
 * each sample's frame mapped through the bundle's source map to its original file.
 */
export async function profileColdImport(target: ImportTarget, runs = 2, intervalUs = 100): Promise<ProfileBucket[]> {
  const dir = mkdtempSync(join(tmpdir(), 'finch-bench-prof-'));
  try {
    const windows = new Map<string, ProbeOutput>();
    for (let i = 0; i < runs; i++) {
      const name = `import-${i}.cpuprofile`;
      windows.set(name, await importOnce(target, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`, `--cpu-prof-interval=${intervalUs}`]));
    }
    const mapFile = `${target.file}.map`;
    const map = existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined;
    const mapDir = dirname(target.file);
    const bundleUrl = pathToFileURL(target.file).href;
    const totals = new Map<string, number>();
    let all = 0;
    for (const [file, window] of windows) {
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
      const bucketOf = new Map(profile.nodes.map((node) => [node.id, bucket(node.callFrame, bundleUrl, map, mapDir)]));
      let at = profile.startTime;
      profile.samples.forEach((id, i) => {
        at += profile.timeDeltas[i] ?? 0;
        const name = bucketOf.get(id);
        const us = profile.timeDeltas[i + 1] ?? 0;
        // Only the import itself: not Node's bootstrap before it, nor the profile being written after.
        if (!name || us <= 0 || at < window.startUs || at > window.endUs) return;
        totals.set(name, (totals.get(name) ?? 0) + us);
        all += us;
      });
    }
    return [...totals.entries()]
      .map(([name, us]) => ({ name, ms: us / 1000 / runs, share: all ? us / all : 0 }))
      .sort((a, b) => b.ms - a.ms);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function bucket(frame: CpuProfile['nodes'][number]['callFrame'], bundleUrl: string, map: SourceMap | undefined, mapDir: string): string | undefined {
  if (frame.functionName === '(idle)' || frame.functionName === '(root)') return undefined;
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : 'native';
  // The bundle's own code first: its URL is not a `node:` one either.
  if (frame.url === bundleUrl) {
    if (!map) return 'bundle (no source map)';
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
    // The module's own top-level function and esbuild's helpers have no mapping.
    if (!entry.originalSource) return 'bundle top level (unmapped)';
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(mapDir, entry.originalSource);
    return ownerOf(relative(REPO_ROOT, source));
  }
  if (frame.url.includes('import-probe.mjs')) return 'probe';
  if (frame.url.startsWith('node:internal/source_map')) return 'source maps (--enable-source-maps)';
  // V8 compiles the whole module here: this one grows with the bundle's bytes.
  if (frame.url.startsWith('node:internal/modules')) return 'compile + link the bundle';
  // Node's own modules the bundle pulls in (http, crypto, undici for fetch, …), compiled on first use.
  if (frame.url.startsWith('node:internal/bootstrap/realm') || frame.url.startsWith('node:internal/deps/')
    || !frame.url.startsWith('node:internal/')) return 'Node built-ins the bundle loads';
  if (frame.url.startsWith('node:')) return 'node: other internals';
  return 'other';
}
