// The run's folder of recorded AWS calls (test/support/aws-calls.ts): made by global-setup.ts
// before Jest forks its workers (they and the local stacks the e2e tests start inherit it), then
// checked against the synthesized stack's IAM policies and removed by global-teardown.ts. A run
// that recorded nothing (unit or infra tests only) costs nothing; a denied call fails the run.
//
// Loaded by Node itself (type stripping), like global-setup.ts: no subpath imports here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Also CALLS_DIR_VARIABLE in aws-calls.ts. */
const CALLS_DIR_VARIABLE = 'AWS_CALLS_DIR';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function startCallRecords(): void {
  process.env[CALLS_DIR_VARIABLE] = mkdtempSync(join(tmpdir(), 'finch-connections-aws-calls-'));
}

/** Throws when a recorded call would be denied in AWS (Jest then exits non-zero). */
export function checkCallRecords(): void {
  const dir = process.env[CALLS_DIR_VARIABLE];
  delete process.env[CALLS_DIR_VARIABLE];
  if (!dir) return;
  if (!readdirSync(dir).some((file) => file.endsWith('.jsonl'))) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  // A process of its own: the check synthesizes the stack with tsx, outside Jest's module mapping.
  const check = spawnSync(process.execPath, ['--import', 'tsx', 'test/infra/check-recorded-calls.ts', dir], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (check.status !== 0) {
    // The records stay for a rerun: node --import tsx test/infra/check-recorded-calls.ts <folder>
    throw new Error(`IAM deploy truth: test/infra/check-recorded-calls.ts failed (${check.error?.message ?? `exit ${check.status ?? check.signal}`}); see its output above. The records are kept in ${dir}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
