// `npm run bench:compare -- <ref> <ref> …`: the cold imports of several commits side by side, in one
// interleaved run, so what a change bought is measured under the same noise (across two `npm run
// bench` runs on a shared machine the floor itself moves by half). Each ref is checked out in a
// temporary git worktree that shares this checkout's node_modules (`.` is this working tree as it
// is), bundled by its own bench/bundling.ts (so with its own BUNDLING), and imported as
// bench/cold.ts does. Every ratio is against the first ref's floor, as the median of the ratios
// within a round (paired: the floor ran in the same round). See BENCHMARKS.md.
//   --runs N         rounds (default 21)
//   --only a,b       only these functions
//   --instructions   also count the instructions of one import of each bundle (valgrind; deterministic)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltBundles } from './bundling.js';
import { countImportInstructions, measureColdImports } from './cold.js';
import { median } from './counting.js';
import { REPO_ROOT } from './paths.js';

interface Target { name: string; file: string; bytes: number }

function parseArgs(argv: string[]): { refs: string[]; runs: number; only?: string[]; instructions: boolean } {
  const refs: string[] = [];
  let runs = 21;
  let only: string[] | undefined;
  let instructions = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--only') only = argv[++i].split(',');
    else if (argv[i] === '--instructions') instructions = true;
    else refs.push(argv[i]);
  }
  if (!refs.length || !(runs >= 5)) throw new Error('usage: npm run bench:compare -- <ref|.> [<ref|.> …] [--runs 21] [--only a,b] [--instructions]');
  return { refs, runs, only, instructions };
}

/**
 * Each bundle's import instructions (its count less an empty module's: Node's own start-up) and
 * their ratio to the floor's. Two valgrind processes at a time: the counts do not depend on timing.
 */
async function countInstructions(targets: Target[], work: string): Promise<Map<string, number>> {
  const empty = join(work, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => undefined;\n');
  const queue = [{ name: 'empty module', file: empty }, ...targets];
  const counts = new Map<string, number>();
  await Promise.all([0, 1].map(async () => {
    for (let target = queue.shift(); target; target = queue.shift()) counts.set(target.name, await countImportInstructions(target));
  }));
  const startUp = counts.get('empty module')!;
  return new Map(targets.map((target) => [target.name, counts.get(target.name)! - startUp]));
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

async function main() {
  const { refs, runs, only, instructions } = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'finch-bench-compare-'));
  const worktrees: string[] = [];
  try {
    const targets: Target[] = [];
    for (const [i, ref] of refs.entries()) {
      let root = REPO_ROOT;
      const label = ref === '.' ? 'working tree' : `${git('rev-parse', '--short', ref)}`;
      if (ref !== '.') {
        root = join(work, `tree-${i}`);
        git('worktree', 'add', '--detach', root, ref);
        worktrees.push(root);
        symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
      }
      const { buildAll } = await import(join(root, 'bench', 'bundling.ts')) as { buildAll(outDir: string, only?: string[]): Promise<BuiltBundles> };
      const built = await buildAll(join(work, `out-${i}`), only);
      if (i === 0) targets.push({ name: 'floor', file: built.floor.file, bytes: built.floor.bytes });
      for (const fn of built.functions) targets.push({ name: `${label} ${fn.name}`, file: fn.file, bytes: fn.bytes });
      console.log(`· ${label}: ${built.functions.length} functions bundled`);
    }
    const counted = instructions ? await countInstructions(targets, work) : undefined;
    const before = loadavg();
    const results = await measureColdImports(targets, runs);
    const floor = results[0];
    const paired = (samples: number[], floorSamples: number[]) => median(samples.map((ms, round) => ms / floorSamples[round]));
    console.log(`\n${runs} rounds; load average ${before.map((n) => n.toFixed(1)).join('/')} before, ${loadavg().map((n) => n.toFixed(1)).join('/')} after; ratios against the first ref's floor`);
    const instructionColumns = counted ? `  ${'M instr'.padStart(7)}  ×floor` : '';
    console.log(`${'bundle'.padEnd(34)}  ${'KiB'.padStart(5)}  ×floor  ${'wall ms'.padStart(7)}  ×floor  ${'CPU ms'.padStart(7)}  ×floor${instructionColumns}`);
    for (const result of results) {
      const target = targets.find((candidate) => candidate.name === result.name)!;
      const count = counted?.get(result.name);
      console.log(`${result.name.padEnd(34)}  ${(target.bytes / 1024).toFixed(0).padStart(5)}  ${(target.bytes / targets[0].bytes).toFixed(2)}×  `
        + `${result.medianMs.toFixed(1).padStart(7)}  ${paired(result.samplesMs, floor.samplesMs).toFixed(2)}×  `
        + `${result.cpuMedianMs.toFixed(1).padStart(7)}  ${paired(result.cpuSamplesMs, floor.cpuSamplesMs).toFixed(2)}×`
        + (count === undefined ? '' : `  ${(count / 1e6).toFixed(1).padStart(7)}  ${(count / counted!.get('floor')!).toFixed(3)}×`));
    }
  } finally {
    for (const root of worktrees) {
      try { git('worktree', 'remove', '--force', root); } catch { /* reported by git worktree prune later */ }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
