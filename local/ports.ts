// Port handling for the local stack: a port given by the user must be free (one-line error naming
// its variable otherwise); 0 means any free port.
export { PortInUse, isPortFree, freePort } from './dynamodb-local.js';

/** Parses a port variable: an integer 0..65535, with a default when unset or empty. */
export function parsePort(variable: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${variable} must be a port number (0-65535, 0 = any free port), got "${raw}"`);
  return port;
}
