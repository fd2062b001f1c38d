#!/usr/bin/env node
// Adds lock entries for optional platform packages that the registry here does not serve, so
// `npm ci` validates; npm skips them on platforms they are not for (os/cpu from their names).
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const platform = (name) => {
  const os = ['android', 'darwin', 'freebsd', 'linux', 'openharmony', 'win32'].find((o) => name.includes(`-${o}-`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x'].find((c) => new RegExp(`-${c}(-|$)`).test(name.split(`-${os}-`)[1] ?? ''));
  return { os, cpu };
};
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const { os, cpu } = platform(dep);
    lock.packages[key] = { version, dev: pkg.dev, optional: true, ...(os ? { os: [os] } : {}), ...(cpu ? { cpu: [cpu] } : {}) };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} entries`);
