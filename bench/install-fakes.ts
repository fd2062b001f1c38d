// Bundled first into each warm-run entry (bench/bundling.ts): evaluated after the container is
// built and before the handler's module, it swaps the container's I/O ports for the fakes the warm
// run put on `globalThis`, so a handler that copies `app.deps` at module scope gets the fakes too.
import { app } from '#http/app.js';

export interface BenchFakes {
  /** Replacements for `app.deps` fields, by name (fakeDeps() of test/support/fakes.ts). */
  deps: Record<string, unknown>;
  /** Replacements for other container fields (`finchData`, …). */
  container: Record<string, unknown>;
  /** Written here: the I/O fields that had no fake and stayed real. */
  unfaked: string[];
}

declare global {
  var __finchConnectionsBenchFakes: BenchFakes | undefined;
}

/** Not I/O: the container's configuration, settings, clock and logger stay as built. */
const KEPT_DEPS = new Set(['settings', 'clock', 'log']);
const KEPT_CONTAINER = new Set(['config', 'deps']);

const fakes = globalThis.__finchConnectionsBenchFakes;
if (fakes) {
  const deps = app.deps as unknown as Record<string, unknown>;
  for (const port of Object.keys(deps).filter((name) => !KEPT_DEPS.has(name))) {
    if (port in fakes.deps) deps[port] = fakes.deps[port];
    else fakes.unfaked.push(`deps.${port}`);
  }
  const container = app as unknown as Record<string, unknown>;
  for (const field of Object.keys(container).filter((name) => !KEPT_CONTAINER.has(name))) {
    if (field in fakes.container) container[field] = fakes.container[field];
    else fakes.unfaked.push(field);
  }
}
