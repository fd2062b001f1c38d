// Production bundles for the benchmark: every function of lib/routes.ts FUNCTION_ENTRIES, the floor
// handler, and per function a "bench entry" (the same handler plus its container, for the warm
// runs), all built with the CDK stack's own NodejsFunction settings.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, type Metafile, type Plugin, build as esbuild } from 'esbuild';
import { BUNDLING } from '../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES } from '../lib/routes.js';
import { REPO_ROOT } from './paths.js';

export const FLOOR = 'floor';
export const FLOOR_ENTRY = 'bench/floor/handler.ts';

export interface BundlingSettings {
  options: BuildOptions;
  /** Where the settings came from, for the report. */
  source: string;
}

/** The CDK stack's own NodejsFunction settings (lib/constructs/service-function.ts), as esbuild options. */
export function loadBundlingSettings(): BundlingSettings {
  return { options: toEsbuild(BUNDLING), source: 'lib/constructs/service-function.ts BUNDLING' };
}

/** The part of aws-lambda-nodejs BundlingOptions that lib sets (its enums are plain strings). */
export interface CdkBundling {
  format?: string;
  target?: string;
  mainFields?: readonly string[];
  minify?: boolean;
  keepNames?: boolean;
  sourceMap?: boolean;
  sourceMapMode?: string;
  sourcesContent?: boolean;
  externalModules?: readonly string[];
  banner?: string;
  logLevel?: string;
}

/** What aws-lambda-nodejs turns its BundlingOptions into (its esbuild command line). */
export function toEsbuild(cdk: CdkBundling): BuildOptions {
  const sourcemap = !cdk.sourceMap ? false
    : cdk.sourceMapMode === 'inline' ? 'inline'
      : cdk.sourceMapMode === 'both' ? 'both'
        : cdk.sourceMapMode === 'external' ? 'external' : 'linked';
  return {
    bundle: true,
    platform: 'node',
    format: cdk.format === 'esm' ? 'esm' : 'cjs',
    target: cdk.target ?? 'node22',
    mainFields: cdk.mainFields ? [...cdk.mainFields] : undefined,
    minify: cdk.minify ?? false,
    keepNames: cdk.keepNames ?? false,
    sourcemap,
    sourcesContent: cdk.sourcesContent ?? true,
    external: [...(cdk.externalModules ?? ['@aws-sdk/*'])],
    banner: cdk.banner ? { js: cdk.banner } : undefined,
    logLevel: (cdk.logLevel ?? 'warning') as BuildOptions['logLevel'],
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    absWorkingDir: REPO_ROOT,
  };
}

export interface Contributor {
  /** A package (`zod`, `@aws-sdk/client-kms`) or a source folder of this repository (`functions/core`). */
  name: string;
  bytes: number;
  share: number;
}

export interface BuiltBundle {
  name: string;
  entry: string;
  file: string;
  bytes: number;
  mapBytes: number;
  contributors: Contributor[];
}

export interface BuiltBundles {
  floor: BuiltBundle;
  functions: BuiltBundle[];
  /** Per function: a bundle exporting `handler` and its container `app`, with bench/install-fakes.ts first. */
  benchEntries: Record<string, string>;
  settingsSource: string;
}

/**
 * What a package costs a function, measured rather than guessed: the function bundled again (same
 * settings) with the package replaced by empty stand-ins for the names it imports. Never deployed.
 */
export interface WhatIf {
  name: string;
  fn: string;
  /** The import paths replaced. */
  packages: RegExp;
  /** The stand-in module: every name the function imports from those packages. */
  stub: string;
}

export const WHAT_IFS: WhatIf[] = [{
  // BENCHMARKS.md "What is left": create-session's one goal not met, and what blocks it.
  name: 'create-session without Powertools idempotency',
  fn: 'create-session',
  packages: /^@aws-lambda-powertools\/idempotency(\/.*)?$/,
  stub: ['IdempotencyAlreadyInProgressError', 'IdempotencyPersistenceLayerError', 'IdempotencyValidationError']
    .map((name) => `export class ${name} extends Error {}`)
    .concat('export class IdempotencyConfig {}', 'export class DynamoDBPersistenceLayer {}', 'export const makeIdempotent = (fn) => fn;')
    .join('\n'),
}, {
  // BENCHMARKS.md "Issue 16, part I": what Powertools Metrics (the EMF writer) costs every function.
  name: 'callback without Powertools Metrics',
  fn: 'callback',
  packages: /^@aws-lambda-powertools\/metrics$/,
  stub: 'export class Metrics { addDimensions() {} addMetadata() {} addMetric() {} publishStoredMetrics() {} clearMetrics() {} clearDimensions() {} clearMetadata() {} }',
}];

export interface WhatIfBundle { name: string; fn: string; bytes: number }

/** Builds each what-if whose function is among `names`; one that no longer builds is reported, not fatal. */
export async function buildWhatIfs(outDir: string, names: string[]): Promise<{ bundles: WhatIfBundle[]; failures: string[] }> {
  const settings = loadBundlingSettings();
  const bundles: WhatIfBundle[] = [];
  const failures: string[] = [];
  for (const whatIf of WHAT_IFS.filter((candidate) => names.includes(candidate.fn))) {
    const stubbed: Plugin = {
      name: 'what-if-stub',
      setup(build) {
        build.onResolve({ filter: whatIf.packages }, (args) => ({ path: args.path, namespace: 'what-if' }));
        build.onLoad({ filter: /.*/, namespace: 'what-if' }, () => ({ contents: whatIf.stub, loader: 'js' }));
      },
    };
    try {
      const { metafile } = await esbuild({
        ...settings.options, metafile: true, plugins: [stubbed], logLevel: 'silent',
        entryPoints: { [`what-if-${bundles.length}/index`]: (FUNCTION_ENTRIES as Record<string, string>)[whatIf.fn] },
        outdir: outDir, outExtension: { '.js': '.mjs' },
      });
      const [output] = Object.values(metafile.outputs).filter((out) => out.entryPoint);
      bundles.push({ name: whatIf.name, fn: whatIf.fn, bytes: output.bytes });
    } catch (error) {
      failures.push(`what-if "${whatIf.name}" did not build (does bench/bundling.ts WHAT_IFS stub every imported name?): ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { bundles, failures };
}

/** The function names of lib/routes.ts, in its order: new functions are picked up with no change here. */
export const functionNames = () => Object.keys(FUNCTION_ENTRIES);

/**
 * Two esbuild runs, many entry points each (without code splitting every output holds its whole
 * graph, exactly as one NodejsFunction build would): the functions with the floor, then the bench
 * entries. NodejsFunction's layout: `<outDir>/<name>/index.mjs`.
 */
export async function buildAll(outDir: string, only?: string[]): Promise<BuiltBundles> {
  const settings = loadBundlingSettings();
  const names = functionNames().filter((name) => !only || only.includes(name));
  const entryOf = (name: string) => (FUNCTION_ENTRIES as Record<string, string>)[name];
  const entries: Record<string, string> = { [FLOOR]: FLOOR_ENTRY, ...Object.fromEntries(names.map((name) => [name, entryOf(name)])) };
  const build = (points: Record<string, string>, sourcemap = settings.options.sourcemap) => esbuild({
    ...settings.options,
    sourcemap,
    entryPoints: Object.fromEntries(Object.entries(points).map(([name, entry]) => [`${name}/index`, entry])),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    metafile: true,
  });
  const { metafile } = await build(entries);
  const bundles = Object.keys(entries).map((name) => describe(name, entries[name], join(outDir, name, 'index.mjs'), metafile));

  // The handler and its container from one module graph, fakes installed before the handler runs.
  const entriesDir = join(outDir, 'bench-entries');
  mkdirSync(entriesDir, { recursive: true });
  const benchEntries: Record<string, string> = {};
  const benchPoints: Record<string, string> = {};
  for (const name of names) {
    const file = join(entriesDir, `${name}.ts`);
    const path = (relative: string) => JSON.stringify(join(REPO_ROOT, relative));
    // Import order is evaluation order: container, then the fakes, then the handler's module.
    writeFileSync(file, `import ${path('bench/install-fakes.ts')};\n`
      + `export { handler } from ${path(entryOf(name))};\n`
      + `export { app } from ${path('functions/http/app.ts')};\n`);
    benchPoints[`${name}.bench`] = file;
    benchEntries[name] = join(outDir, `${name}.bench`, 'index.mjs');
  }
  // No source maps: the warm runs do not load them, and writing them is most of the build's time.
  if (names.length) await build(benchPoints, false);
  return { floor: bundles[0], functions: bundles.slice(1), benchEntries, settingsSource: settings.source };
}

function describe(name: string, entry: string, file: string, metafile: Metafile): BuiltBundle {
  const output = Object.entries(metafile.outputs).find(([path]) => resolve(REPO_ROOT, path) === file)?.[1];
  return {
    name,
    entry,
    file,
    bytes: statSync(file).size,
    mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0,
    contributors: output ? contributors(output) : [],
  };
}

/** Bytes in the output per package or source folder, largest first. */
export function contributors(output: Metafile['outputs'][string]): Contributor[] {
  const totals = new Map<string, number>();
  let all = 0;
  for (const [path, input] of Object.entries(output.inputs)) {
    const owner = ownerOf(path);
    totals.set(owner, (totals.get(owner) ?? 0) + input.bytesInOutput);
    all += input.bytesInOutput;
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes, share: all ? bytes / all : 0 }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** `node_modules/@scope/pkg/…` → `@scope/pkg`; `functions/core/x.ts` → `functions/core`. */
export function ownerOf(path: string): string {
  const normalized = path.replace(/\\/g, '/');
  const at = normalized.lastIndexOf('node_modules/');
  if (at >= 0) {
    const [first, second] = normalized.slice(at + 'node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  const parts = normalized.replace(/^(\.\.\/)+/, '').split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.slice(0, -1).join('/') || parts[0];
}
