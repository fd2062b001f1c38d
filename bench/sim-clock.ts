// The simulated clock of the scale scenario (bench/scale-child.ts), installed in that process alone
// before anything else is imported: `Date.now()` and `new Date()` answer the real time plus an
// offset the simulation moves forward between its steps. So the shared Finch budget (which the
// containers build with `Date.now`, functions/adapters/container.ts), the core's clock, the
// handlers' deadlines and the in-process Finch emulator's rate limiter all read one simulated
// time, and minutes of traffic run in seconds. Nothing under functions/ changes: production reads
// the real clock. Timers (setTimeout) and performance.now() stay real: latencies are real.
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
let offsetMs = 0;

/** Real time plus the simulation's offset, in epoch ms: never goes back. */
export function simNow(): number {
  return realNow() + offsetMs;
}

/** Moves the simulated time to `at` (epoch ms) when it is behind it; time already past stays. */
export function advanceTo(at: number): void {
  const now = simNow();
  if (at > now) offsetMs += at - now;
}

/** How far ahead of the real clock the simulation runs, in ms. */
export function offset(): number {
  return offsetMs;
}

class SimulatedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(simNow());
    else super(...(args as [string | number | Date]));
  }

  static override now(): number {
    return simNow();
  }
}

globalThis.Date = SimulatedDate as unknown as DateConstructor;
