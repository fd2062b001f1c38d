// Run by bench/cold.ts in a fresh `node` process, as Lambda's runtime loads a function: import one
// bundle (module-scope work included: configuration, clients) and print the time it took as JSON.
// Plain JavaScript on purpose, so no loader (tsx) is part of what is measured.
/* global performance, process */
const bootMs = performance.now();
// Microseconds on the monotonic clock V8's CPU profiles use, to cut a profile to the import.
const startUs = Number(process.hrtime.bigint() / 1000n);
// CPU time too: on a shared machine it moves less than wall time when others take the cores.
const cpuBefore = process.cpuUsage();
const module = await import(process.argv[2]);
const importMs = performance.now() - bootMs;
const cpu = process.cpuUsage(cpuBefore);
const endUs = Number(process.hrtime.bigint() / 1000n);
if (typeof module.handler !== 'function') throw new Error(`${process.argv[2]} exports no handler`);
process.stdout.write(JSON.stringify({ importMs, cpuMs: (cpu.user + cpu.system) / 1000, bootMs, startUs, endUs }));
