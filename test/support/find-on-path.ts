// Where an external tool is installed, if it is: the tests that need one (moto_server, cfn-lint)
// skip where it is absent. Node loads this file itself from global-setup.ts (type stripping).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable `command` on PATH, or null. */
export function findOnPath(command: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}
