import { fileURLToPath } from 'node:url';

/** The repository root (bench/ is one level below it). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
