// `npm run conformance`: the original contract's own check of a running local stack, which lives
// beside the repository (../shared/conformance/local-stack.mjs) where the team keeps it, not in it.
// Optional: a clone on its own has no ../shared, and then this says so and exits 0
// (REQUIRE_CONFORMANCE=1 makes that a failure). The project's own tests are `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = join(root, '..', 'shared', 'conformance', 'local-stack.mjs');

if (!existsSync(check)) {
  const line = `conformance: skipped, ${relative(root, check)} is not beside this clone (optional; npm test is the project's own check)`;
  if (process.env.REQUIRE_CONFORMANCE === '1') {
    console.error(`${line}; REQUIRE_CONFORMANCE=1 makes that a failure`);
    process.exit(1);
  }
  console.log(line);
  process.exit(0);
}

const args = process.argv.slice(2);
if (args.length === 0 && !existsSync(join(root, '.local', 'stack.json'))) {
  console.error('conformance: no .local/stack.json: start the local stack first (npm start), then run this beside it');
  process.exit(1);
}
const result = spawnSync(process.execPath, [check, ...(args.length > 0 ? args : ['--stack', '.local/stack.json'])], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
