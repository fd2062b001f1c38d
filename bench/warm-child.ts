// One function's warm runs, in a process of its own (bench/warm.ts starts it with stdout going
// nowhere, so the handlers' log lines cost what writing them costs and nothing more). Imports the
// function's production bundle, whose container gets the in-memory fakes of test/support/fakes.ts
// in place of every I/O port of the same name (bench/install-fakes.ts), then invokes the handler.
import type { CoreDeps } from '#core/deps.js';
import type { HttpEvent, HttpResult } from '#http/stack.js';
import { fakeDeps } from '../test/support/fakes.js';
import { servePhase } from './child.js';
import { median, percentile } from './counting.js';
import { lambdaContext } from './events.js';
import type { BenchFakes } from './install-fakes.js';
import { WARM_SCENARIOS, containerFakes } from './scenarios.js';

export interface WarmRequest {
  fn: string;
  /** The bench entry bundle: exports `handler` and `app` from one module graph. */
  bundle: string;
  iterations: number;
  warmup: number;
}

export interface WarmRouteResult {
  fn: string;
  route: string;
  iterations: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
  firstError?: string;
}

export interface WarmResult {
  fn: string;
  routes: WarmRouteResult[];
  /** Ports of app.deps with no fake of the same name (left real). */
  unfaked: string[];
  note?: string;
}

type Handler = (event: HttpEvent, context: unknown) => Promise<HttpResult>;

async function runWarm(request: WarmRequest): Promise<WarmResult> {
  const scenarios = WARM_SCENARIOS[request.fn];
  if (!scenarios) return { fn: request.fn, routes: [], unfaked: [], note: 'no warm scenario in bench/scenarios.ts' };
  // One set of fakes for the function's routes, installed as the bundle loads (bench/install-fakes.ts).
  const { deps: fakes, store, finch } = fakeDeps();
  const installed: BenchFakes = { deps: fakes as unknown as Record<string, unknown>, container: containerFakes(), unfaked: [] };
  globalThis.__finchConnectionsBenchFakes = installed;
  const module = await import(request.bundle) as { handler: Handler; app: { deps: CoreDeps } };
  const count = request.warmup + request.iterations;
  const kit = { deps: { ...fakes, settings: module.app.deps.settings, clock: module.app.deps.clock }, store, finch, count };
  const context = lambdaContext(`bench-${request.fn}`);
  const routes: WarmRouteResult[] = [];
  for (const scenario of scenarios) {
    const prepared = await scenario.prepare(kit);
    const times: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    for (let i = 0; i < count; i++) {
      const event = prepared.event(i);
      const started = process.hrtime.bigint();
      const result = await module.handler(event, context);
      const ns = process.hrtime.bigint() - started;
      const problem = prepared.check(result);
      if (problem) {
        errors++;
        firstError ??= problem;
      }
      if (i >= request.warmup) times.push(Number(ns) / 1e6);
    }
    routes.push({
      fn: request.fn,
      route: scenario.route,
      iterations: times.length,
      p50Ms: median(times),
      p99Ms: percentile(times, 99),
      meanMs: times.reduce((sum, ms) => sum + ms, 0) / times.length,
      errors,
      firstError,
    });
  }
  return { fn: request.fn, routes, unfaked: installed.unfaked };
}

servePhase(runWarm);
