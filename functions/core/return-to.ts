import { InvalidRequest } from './errors.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

/**
 * A `return_to` is accepted only when its origin is exactly one of the allowed origins, it is https
 * (or http on loopback), and it carries no userinfo. Parsing with WHATWG URL and comparing the
 * normalized origin defeats `//evil`, `https:evil`, backslashes, encoded hosts and `user@host` tricks.
 * The accepted URL's path never begins with `//`.
 */
export function checkReturnTo(raw: string, allowedOrigins: ReadonlySet<string>): string {
  const refuse = (why: string) => new InvalidRequest('return_to is not allowed.', [{ path: 'return_to', message: why }]);
  if (raw.length > 2048) throw refuse('must be at most 2048 characters');
  if (!/^https?:\/\/[^/\\]/i.test(raw) || /[\s\\]/.test(raw)) throw refuse('must be an absolute http(s) URL');
  let url: URL;
  try { url = new URL(raw); } catch { throw refuse('must be an absolute URL'); }
  if (url.username || url.password) throw refuse('must not carry credentials');
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw refuse('must use https');
  if (!allowedOrigins.has(url.origin)) throw refuse('origin is not on the allowlist');
  // The page at return_to may send the browser on to its own path, where a leading `//` names
  // another host (`/..//evil` normalizes to `//evil`): collapse it to one slash.
  url.pathname = url.pathname.replace(/^\/{2,}/, '/');
  return url.href;
}

/** Normalizes configured origins the same way so comparison is exact. */
export function parseOrigins(list: string[]): Set<string> {
  return new Set(list.map((o) => new URL(o).origin));
}
