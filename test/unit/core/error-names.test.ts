// Error names survive the deployed bundles' minification. The stack bundles without keepNames
// (lib/constructs/service-function.ts), so a class's own name is a letter or two there; logs name
// errors (`error_name`) by what each class sets explicitly. This bundles the modules that define
// the errors the functions throw, minified as deployed, and reads every error's name back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const REPO_ROOT = new URL('../../..', import.meta.url).pathname;
const MODULES = [
  'functions/core/errors.ts', 'functions/http/errors.ts',
  'functions/adapters/token-cipher.ts', 'functions/adapters/finch-data.ts', 'functions/adapters/config.ts',
];
/** Never thrown as such: only its subclasses are. */
const ABSTRACT = new Set(['DomainError', 'TransientFault']);

// In a fresh process: every exported Error subclass, constructed with one harmless argument.
const READ_NAMES = `
  const names = {};
  for (const module of Object.values(await import(process.argv[1]))) {
    for (const [exported, value] of Object.entries(module)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
      names[exported] = new value('invalid_state').name;
    }
  }
  process.stdout.write(JSON.stringify(names));`;

describe('error names in a minified bundle (no keepNames, as deployed)', () => {
  let dir: string;
  let names: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'error-names-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, MODULES.map((path, i) => `export * as m${i} from ${JSON.stringify(join(REPO_ROOT, path))};`).join('\n'));
    await build({
      entryPoints: [entry], outfile: join(dir, 'bundle.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node22',
      mainFields: ['module', 'main'], minify: true, keepNames: false, logLevel: 'error',
      tsconfig: join(REPO_ROOT, 'tsconfig.json'), absWorkingDir: REPO_ROOT,
      banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
    });
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', READ_NAMES, join(dir, 'bundle.mjs')], { encoding: 'utf8', timeout: 20_000 });
    names = JSON.parse(out) as Record<string, string>;
  }, 30_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('every error class the functions throw is named as it is called in the source', () => {
    const thrown = Object.keys(names).filter((name) => !ABSTRACT.has(name));
    expect(thrown.length).toBeGreaterThan(25);
    expect(Object.fromEntries(thrown.map((name) => [name, names[name]]))).toEqual(Object.fromEntries(thrown.map((name) => [name, name])));
  });
});
