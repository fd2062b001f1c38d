// Redirect safety (RFC 9700 §4.11, open redirectors): `return_to` is accepted only when its origin
// is exactly one on the allowlist. Property-tested with generated URLs built from the known tricks —
// `//evil`, `https:evil`, `javascript:`, userinfo, backslashes, percent-encoding, unicode and IDN
// lookalikes, ports, trailing dots, whitespace — and with random mutations of allowed URLs: whatever
// is accepted redirects to exactly an allowed origin, and what the browser is sent is what was checked.
import fc from 'fast-check';
import { InvalidRequest } from '#core/errors.js';
import { checkReturnTo, parseOrigins } from '#core/return-to.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const ALLOWED = ['https://app.example', 'http://localhost:3000'];
const allowed = parseOrigins(ALLOWED);

const schemes = ['https:', 'http:', 'HTTPS:', 'hTtPs:', 'javascript:', 'JaVaScRiPt:', 'data:', 'vbscript:', 'ftp:', 'file:', 'blob:https:', 'https', '', ' https:', 'https:\t', '\u0000https:'];
const slashes = ['//', '/', '', '///', '\\\\', '/\\', '\\/', '%2F%2F', '/%2F', '\t//', '//\u200b'];
const userinfo = ['', '', '', 'user@', 'user:pw@', 'app.example@', 'evil.example@', ':@', '@', 'app.example%40', 'evil.example%40', 'evil.example\\@', 'evil.example%2F@', 'evil.example#@', 'evil.example?@'];
const hosts = [
  'app.example', 'APP.EXAMPLE', 'localhost', 'LOCALHOST', '127.0.0.1', '[::1]', 'evil.example', 'app.example.evil.example', 'evil.example.app.example',
  'app.example.', 'app.example..', 'appexample', 'app-example', 'app.example%00.evil.example', 'app.example%2eevil.example', '%61pp.example', 'app%2Eexample',
  'аpp.example' /* Cyrillic а */, 'app.exаmple', 'ａｐｐ.ｅｘａｍｐｌｅ' /* fullwidth */, 'app。example' /* ideographic full stop */, 'xn--pp-7ed.example',
  'app.example\u200b', '\u202eelpmaxe.ppa', 'app.example\\evil.example', 'evil.example\\.app.example', '0x7f.0.0.1', '2130706433', 'localhost.', 'localhost.evil.example',
  'app.example%23', 'app.example%2F', 'app.example%3A443', '',
];
const ports = ['', '', '', ':443', ':0443', ':8443', ':3000', ':80', ':', ':65536', ':3000@evil.example', ':x'];
const paths = ['', '/', '/done', '/a/b?c=d', '/..//evil.example', '//evil.example', '/%2F%2Fevil.example', '/\\evil.example', '/@evil.example', '/\t/evil.example', '/%0d%0aLocation:%20https://evil.example', '?next=https://evil.example', '#@evil.example', '/;@evil.example'];

const tricky = fc.tuple(
  fc.constantFrom(...schemes), fc.constantFrom(...slashes), fc.constantFrom(...userinfo),
  fc.constantFrom(...hosts), fc.constantFrom(...ports), fc.constantFrom(...paths),
).map((parts) => parts.join(''));

/**
 * Allowed origins as a browser may spell them, before the same paths: a tenth of the trick URLs,
 * so every run checks accepted URLs too (the tricks alone reach an allowed origin about once in
 * 1,600, and a seed could miss it).
 */
const nearlyAllowed = fc.tuple(
  fc.constantFrom('https://app.example', 'HTTPS://APP.EXAMPLE', 'https://app.example:443', 'http://localhost:3000', 'http://LOCALHOST:3000'),
  fc.constantFrom(...paths),
).map((parts) => parts.join(''));
const trickyOrAllowed = fc.oneof({ arbitrary: tricky, weight: 9 }, { arbitrary: nearlyAllowed, weight: 1 });

/** An allowed URL with random characters inserted, removed or replaced somewhere. */
const mutated = fc.tuple(
  fc.constantFrom('https://app.example/done', 'http://localhost:3000/cb?x=1', 'https://app.example'),
  fc.nat(), fc.nat({ max: 3 }),
  fc.oneof(fc.string({ maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 3 }), fc.constantFrom('@', '\\', '/', '.', '%', '#', '?', ':', '%40', '%2e', '\t', ' ', '\u3002')),
).map(([url, at, remove, insert]) => {
  const i = at % (url.length + 1);
  return url.slice(0, i) + insert + url.slice(i + remove);
});

/** Whatever `checkReturnTo` accepts must send the browser to exactly an allowed origin. */
function acceptedProblems(raw: string): string | null {
  let accepted: string;
  try {
    accepted = checkReturnTo(raw, allowed);
  } catch (error) {
    if (error instanceof InvalidRequest) return null;
    return `threw ${(error as Error).name} instead of refusing`;
  }
  const url = new URL(accepted);
  if (!allowed.has(url.origin)) return `accepted ${JSON.stringify(raw)} → origin ${url.origin}`;
  // The string the callback will redirect to begins with the allowed origin and a slash: no parser
  // that reads the serialized URL can find another host in it.
  if (!accepted.startsWith(`${url.origin}/`)) return `accepted ${JSON.stringify(raw)} → ${accepted}, not "${url.origin}/…"`;
  if (url.username || url.password) return `accepted ${JSON.stringify(raw)} with credentials`;
  if (/[\s\\]/.test(accepted)) return `accepted ${JSON.stringify(raw)} → ${accepted} with whitespace or a backslash`;
  if (new URL(accepted).href !== accepted) return `accepted ${JSON.stringify(raw)} → ${accepted}, which is not stable`;
  // A page that sends the browser on to its own path must not find another host there (`//evil`).
  if (url.pathname.startsWith('//')) return `accepted ${JSON.stringify(raw)} → ${accepted}, whose path is protocol-relative`;
  return null;
}

describe('return_to: an exact-origin allowlist (redirect safety)', () => {
  test('generated trick URLs: anything accepted has exactly an allowed origin', () => {
    let accepted = 0;
    fc.assert(fc.property(trickyOrAllowed, (raw) => {
      const problem = acceptedProblems(raw);
      if (problem) throw new Error(problem);
      try { checkReturnTo(raw, allowed); accepted++; } catch { /* refused */ }
    }), { seed: SEED, numRuns: 4000 });
    // The generator reaches the allowed origins too, so the property is not vacuous.
    expect(accepted).toBeGreaterThan(0);
  });

  test('random mutations of allowed URLs: anything accepted has exactly an allowed origin', () => {
    fc.assert(fc.property(mutated, (raw) => {
      const problem = acceptedProblems(raw);
      if (problem) throw new Error(problem);
    }), { seed: SEED + 1, numRuns: 4000 });
  });

  test('paths of slashes and dot segments under an allowed origin: no accepted path starts with //', () => {
    const pieces = ['/', '//', '/.', '/..', '/%2e', '/%2e%2e', '/.%2E', '/a', 'evil.example', '/evil.example', '%2F', '?q', '#f'];
    fc.assert(fc.property(
      fc.constantFrom(...ALLOWED), fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 6 }),
      (origin, parts) => {
        const problem = acceptedProblems(`${origin}${parts.join('')}`);
        if (problem) throw new Error(problem);
      },
    ), { seed: SEED + 3, numRuns: 2000 });
  });

  test('any path, query and fragment under an allowed origin is accepted, and kept', () => {
    fc.assert(fc.property(
      fc.constantFrom(...ALLOWED), fc.webPath(), fc.option(fc.webQueryParameters(), { nil: undefined }), fc.option(fc.webFragments(), { nil: undefined }),
      (origin, path, query, fragment) => {
        const raw = `${origin}${path.startsWith('/') ? path : `/${path}`}${query !== undefined ? `?${query}` : ''}${fragment !== undefined ? `#${fragment}` : ''}`;
        const accepted = checkReturnTo(raw, allowed);
        expect(new URL(accepted).origin).toBe(origin);
      },
    ), { seed: SEED + 2, numRuns: 300 });
  });

  test.each([
    '//evil.example/', 'https:evil.example', 'https:/evil.example', 'https:\\\\evil.example', 'javascript:alert(document.domain)//https://app.example/',
    'https://app.example@evil.example/', 'https://evil.example@app.example/', 'https://app.example%40evil.example/', 'https://evil.example%2F@app.example/',
    'https://аpp.example/', 'https://app.example./', 'https://app.example:8443/', 'http://app.example/', 'https://app.example.evil.example/',
    'https://evil.example\\@app.example/', 'https://evil.example#@app.example/', 'https://evil.example?@app.example/', 'http://localhost:3001/',
    'http://localhost.:3000/', 'https://localhost:3000/', '\thttps://app.example/', 'https://app.example/\r\n', 'HTTPS://APP.EXAMPLE%2Eevil.example/',
  ])('refuses %s', (raw) => {
    expect(() => checkReturnTo(raw, allowed)).toThrow(InvalidRequest);
  });

  test.each([
    ['https://ａｐｐ.ｅｘａｍｐｌｅ/done', 'https://app.example/done'],
    ['https://app。example/done', 'https://app.example/done'],
    ['https://app.example:443/done', 'https://app.example/done'],
    ['HTTPS://APP.EXAMPLE/Done', 'https://app.example/Done'],
  ])('normalizes %s to the allowed origin it names (%s) and redirects there', (raw, expected) => {
    expect(checkReturnTo(raw, allowed)).toBe(expected);
  });
});

afterAll(() => { console.log(`return_to fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED}`); });
