// Bundled first into each warm-run entry (bench/bundling.ts): evaluated after the container is
// built and before the handler's module, it swaps the container's I/O ports for the fakes the warm
// run put on `globalThis`, so a handler that copies `app.deps` at module scope gets the fakes too.
import { app } from '#http/app.js';
import { dataApp } from '#http/data-app.js';
import { sessionApp } from '#http/session-app.js';

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
// Every container: reauthenticate and the data proxy have their own (functions/http/session-app.ts, data-app.ts).
if (fakes) for (const built of [app, sessionApp, dataApp]) install(built as unknown as Record<string, unknown>, fakes);

function install(container: Record<string, unknown>, fakes: BenchFakes) {
  const deps = container.deps as Record<string, unknown>;
  for (const port of Object.keys(deps).filter((name) => !KEPT_DEPS.has(name))) {
    if (port in fakes.deps) deps[port] = fakes.deps[port];
    else if (!fakes.unfaked.includes(`deps.${port}`)) fakes.unfaked.push(`deps.${port}`);
  }
  for (const field of Object.keys(container).filter((name) => !KEPT_CONTAINER.has(name))) {
    if (field in fakes.container) container[field] = fakes.container[field];
    else if (!fakes.unfaked.includes(field)) fakes.unfaked.push(field);
  }
}
