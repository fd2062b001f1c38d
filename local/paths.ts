// Where the local stack keeps its state: `.local/` at the repository root (git-ignored), or
// LOCAL_STATE_DIR.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.local');

export const stateDirFrom = (env: Record<string, string | undefined>) => resolve(env.LOCAL_STATE_DIR || DEFAULT_STATE_DIR);
