// Production bundles for the benchmark: every Lambda of lib/routes.ts LAMBDA_ENTRIES, the floor
// handler, and per routed function a "bench entry" (the same handler plus its container, for the warm
// runs), all built with the CDK stack's own NodejsFunction settings.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, type Metafile, type Plugin, build as esbuild } from 'esbuild';
import { BUNDLING } from '../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES, LAMBDA_ENTRIES } from '../lib/routes.js';
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
  /** Only `--alias` (`name=path`, paths from the repository root) is read. */
  esbuildArgs?: { readonly '--alias'?: readonly string[] };
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
    alias: Object.fromEntries((cdk.esbuildArgs?.['--alias'] ?? []).map((pair) => {
      const [name, path] = pair.split('=');
      return [name, join(REPO_ROOT, path)];
    })),
    logLevel: (cdk.logLevel ?? 'warning') as BuildOptions['logLevel'],
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    absWorkingDir: REPO_ROOT,
  };
}

export interface Contributor {
  /** A package (`zod`, `@aws-sdk/client-dynamodb`) or a source folder of this repository (`functions/core`). */
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
 * Empty stand-ins for a package: every name the functions import from it, enough for their modules
 * to load (nothing is called at import). What the package costs a function is then measured rather
 * than guessed: bytes, and the cold import of the function bundled again without it. Never deployed.
 */
interface StandIn {
  /** The import paths replaced. */
  packages: RegExp;
  /** The stand-in module. */
  stub: string;
}

const STAND_INS = {
  'Powertools idempotency': {
    packages: /^@aws-lambda-powertools\/idempotency(\/.*)?$/,
    stub: ['IdempotencyAlreadyInProgressError', 'IdempotencyPersistenceLayerError', 'IdempotencyValidationError']
      .map((name) => `export class ${name} extends Error {}`)
      .concat('export class IdempotencyConfig {}', 'export class DynamoDBPersistenceLayer {}', 'export const makeIdempotent = (fn) => fn;')
      .join('\n'),
  },
  'Powertools Metrics': {
    packages: /^@aws-lambda-powertools\/metrics$/,
    stub: 'export class Metrics { addDimensions() {} addMetadata() {} addMetric() {} publishStoredMetrics() {} clearMetrics() {} clearDimensions() {} clearMetadata() {} }',
  },
  // Our own clients (functions/adapters/aws-json), as the adapters import them.
  'the KMS client': {
    packages: /^\.\/aws-json\/kms\.js$/,
    stub: 'export class KmsClient { send() {} } export class EncryptCommand {} export class DecryptCommand {}',
  },
  'the Secrets Manager client': {
    packages: /^\.\/aws-json\/secrets-manager\.js$/,
    stub: 'export class SecretsManagerClient { send() {} } export class GetSecretValueCommand {}',
  },
  'the Finch SDK': {
    packages: /^@tryfinch\/finch-api(\/version)?$/,
    stub: 'export default class Finch { withOptions() { return this; } } export class APIError extends Error {} '
      + 'export class APIConnectionError extends APIError {} export class APIConnectionTimeoutError extends APIConnectionError {} export const VERSION = "0.0.0";',
  },
} satisfies Record<string, StandIn>;

type StandInName = keyof typeof STAND_INS;

/** A function bundled again with some packages replaced by their stand-ins. */
export interface WhatIf {
  fn: string;
  without: StandInName[];
}

const AWS_CLIENTS: StandInName[] = ['the KMS client', 'the Secrets Manager client'];
const SHARED: StandInName[] = [...AWS_CLIENTS, 'the Finch SDK', 'Powertools Metrics'];

export const WHAT_IFS: WhatIf[] = [
  // BENCHMARKS.md "What is left": create-session's one goal not met, and what blocks it.
  { fn: 'create-session', without: ['Powertools idempotency'] },
  // BENCHMARKS.md "Issue 16, part I": what Powertools Metrics (the EMF writer) costs every function.
  { fn: 'callback', without: ['Powertools Metrics'] },
  // BENCHMARKS.md "Issue 18: the 1.35× goal against the libraries": how far removing whole libraries goes.
  { fn: 'callback', without: AWS_CLIENTS },
  { fn: 'callback', without: SHARED },
  { fn: 'create-session', without: SHARED },
  { fn: 'create-session', without: [...SHARED, 'Powertools idempotency'] },
];

export const whatIfName = (whatIf: WhatIf) => `${whatIf.fn} without ${whatIf.without.join(', ')}`;

export interface WhatIfBundle { name: string; fn: string; file: string; bytes: number; mapBytes: number }

/** Builds each what-if whose function is among `names`; one that no longer builds is reported, not fatal. */
export async function buildWhatIfs(outDir: string, names: string[]): Promise<{ bundles: WhatIfBundle[]; failures: string[] }> {
  const settings = loadBundlingSettings();
  const bundles: WhatIfBundle[] = [];
  const failures: string[] = [];
  for (const whatIf of WHAT_IFS.filter((candidate) => names.includes(candidate.fn))) {
    const name = whatIfName(whatIf);
    const standIns: Plugin = {
      name: 'what-if-stand-ins',
      setup(build) {
        for (const replaced of whatIf.without) {
          build.onResolve({ filter: STAND_INS[replaced].packages }, () => ({ path: replaced, namespace: 'what-if' }));
        }
        build.onLoad({ filter: /.*/, namespace: 'what-if' }, (args) => ({ contents: STAND_INS[args.path as StandInName].stub, loader: 'js' }));
      },
    };
    const folder = `what-if-${bundles.length + failures.length}`;
    const file = join(outDir, folder, 'index.mjs');
    try {
      await esbuild({
        ...settings.options, plugins: [standIns], logLevel: 'silent',
        entryPoints: { [`${folder}/index`]: (LAMBDA_ENTRIES as Record<string, string>)[whatIf.fn] },
        outdir: outDir, outExtension: { '.js': '.mjs' },
      });
      bundles.push({ name, fn: whatIf.fn, file, ...sizesOf(file) });
    } catch (error) {
      failures.push(`what-if "${name}" did not build (does bench/bundling.ts STAND_INS stub every imported name?): ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { bundles, failures };
}

/**
 * Every Lambda of the stack (lib/routes.ts LAMBDA_ENTRIES: the routed functions, then the stream's,
 * the queue's and the schedule's), in its order: new functions are picked up with no change here.
 */
export const functionNames = () => Object.keys(LAMBDA_ENTRIES);
/** The functions behind a route: the warm part invokes them with API Gateway's events. */
const isRouted = (name: string) => Object.hasOwn(FUNCTION_ENTRIES, name);

/**
 * Two esbuild runs, many entry points each (without code splitting every output holds its whole
 * graph, exactly as one NodejsFunction build would): the functions with the floor, then the bench
 * entries. NodejsFunction's layout: `<outDir>/<name>/index.mjs`.
 */
export async function buildAll(outDir: string, only?: string[]): Promise<BuiltBundles> {
  const settings = loadBundlingSettings();
  const names = functionNames().filter((name) => !only || only.includes(name));
  const entryOf = (name: string) => (LAMBDA_ENTRIES as Record<string, string>)[name];
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
  for (const name of names.filter(isRouted)) {
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
  if (Object.keys(benchPoints).length) await build(benchPoints, false);
  return { floor: bundles[0], functions: bundles.slice(1), benchEntries, settingsSource: settings.source };
}

function describe(name: string, entry: string, file: string, metafile: Metafile): BuiltBundle {
  const output = Object.entries(metafile.outputs).find(([path]) => resolve(REPO_ROOT, path) === file)?.[1];
  return {
    name,
    entry,
    file,
    ...sizesOf(file),
    contributors: output ? contributors(output) : [],
  };
}

/** A bundle's bytes and its source map's (0 without one). */
function sizesOf(file: string): { bytes: number; mapBytes: number } {
  return { bytes: statSync(file).size, mapBytes: existsSync(`${file}.map`) ? statSync(`${file}.map`).size : 0 };
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
