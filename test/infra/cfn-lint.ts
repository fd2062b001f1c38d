// Runs the Python cfn-lint (1.x, AWS's CloudFormation linter with current resource specs; not the
// 2019-era npm package of the same name) over a template and returns its findings by level.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../support/find-on-path.js';

export interface CfnLintFinding {
  rule: string;
  level: 'Error' | 'Warning' | 'Informational';
  message: string;
  /** Where in the template, e.g. `Resources/Fn/Properties/Runtime`. */
  path: string;
}

export interface CfnLintResult {
  errors: CfnLintFinding[];
  warnings: CfnLintFinding[];
  informational: CfnLintFinding[];
}

/** The cfn-lint to use, or why there is none (absent, or not the 1.x Python tool). */
export function findCfnLint(): { executable: string } | { missing: string } {
  const executable = findOnPath('cfn-lint');
  if (!executable) return { missing: 'cfn-lint is not on PATH (install it with `pip install cfn-lint`)' };
  const version = spawnSync(executable, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  const match = /cfn-lint (\d+)\./.exec(`${version.stdout}${version.stderr}`);
  if (!match || Number(match[1]) < 1) {
    return { missing: `${executable} is not the Python cfn-lint 1.x (${(version.stdout || version.stderr || 'no version').trim()})` };
  }
  return { executable };
}

interface RawFinding {
  Level: string;
  Message: string;
  Rule: { Id: string };
  Location?: { Path?: Array<string | number> };
}

/** Lints `template` for `regions` (cfn-lint checks resource types and properties per region). */
export function runCfnLint(executable: string, template: unknown, regions: string[] = ['us-east-1']): CfnLintResult {
  const dir = mkdtempSync(join(tmpdir(), 'finch-connections-cfn-lint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template, null, 1));
    const run = spawnSync(executable, ['--format', 'json', '--regions', ...regions, '--', file], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    // Exit status: bit flags 2 (errors), 4 (warnings), 8 (informational); anything else means
    // cfn-lint itself failed, and its findings (if any) cannot be trusted to be complete.
    if (run.error || run.status === null || (run.status & ~(2 | 4 | 8)) !== 0) {
      throw new Error(`cfn-lint failed (status ${run.status}, ${run.error?.message ?? run.signal ?? 'no signal'}): ${run.stderr.slice(-2000)}`);
    }
    const findings = (JSON.parse(run.stdout || '[]') as RawFinding[]).map((raw): CfnLintFinding => ({
      rule: raw.Rule.Id,
      level: raw.Level as CfnLintFinding['level'],
      message: raw.Message,
      path: (raw.Location?.Path ?? []).join('/'),
    }));
    return {
      errors: findings.filter((finding) => finding.level === 'Error'),
      warnings: findings.filter((finding) => finding.level === 'Warning'),
      informational: findings.filter((finding) => finding.level === 'Informational'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const formatFinding = (finding: CfnLintFinding) => `${finding.rule} ${finding.path}: ${finding.message}`;
