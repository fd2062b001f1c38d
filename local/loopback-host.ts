// The Host check of the local servers' own routes (the gateway's /_local/* and demo page, the
// emulator's /_emulator/* controls): a page on another site that rebinds its DNS name to 127.0.0.1
// reaches our port, but its requests carry its own name as Host, so loopback names only.
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}
