import { checkReturnTo, parseOrigins } from '#core/return-to.js';

const allowed = parseOrigins(['https://app.example', 'http://localhost:3000']);

describe('return_to allowlist', () => {
  test.each([
    'https://app.example/done',
    'https://app.example/connections?tab=1',
    'https://APP.example/x',
    'http://localhost:3000/',
    'https://%61pp.example/', // WHATWG decodes the host to app.example: the same origin
  ])('accepts %s', (url) => expect(() => checkReturnTo(url, allowed)).not.toThrow());

  test.each([
    '//evil.example', 'https:evil.example', 'https:/evil.example', 'javascript:alert(1)', 'https://app.example@evil.example/',
    'https://user:pw@app.example/', 'https://evil.example/', 'https://app.example.evil.example/', 'http://app.example/',
    'https://app.example:8443/', 'https://evil.example\\@app.example/', 'https://evil.example%2f@app.example', 'data:text/html,x',
    'http://localhost:3001/', ' https://app.example/', 'https://app.example/\n',
  ])('refuses %s', (url) => {
    expect(() => checkReturnTo(url, allowed)).toThrow('return_to is not allowed.');
  });
});

describe('return_to never carries a protocol-relative path', () => {
  // The page at return_to may send the browser on to its own path: a path beginning with `//` would
  // then name another host (`//evil.example`).
  test.each([
    ['https://app.example/..//evil.example', 'https://app.example/evil.example'],
    ['https://app.example//evil.example', 'https://app.example/evil.example'],
    ['https://app.example///evil.example/x?y=1#z', 'https://app.example/evil.example/x?y=1#z'],
    ['https://app.example/.//evil.example', 'https://app.example/evil.example'],
    ['https://app.example/a/..//evil.example', 'https://app.example/evil.example'],
    ['https://app.example/%2e%2e//evil.example', 'https://app.example/evil.example'],
    ['http://localhost:3000//evil.example', 'http://localhost:3000/evil.example'],
  ])('%s is accepted as %s', (raw, expected) => {
    const accepted = checkReturnTo(raw, allowed);
    expect(new URL(accepted).pathname.startsWith('//')).toBe(false);
    expect(accepted).toBe(expected);
  });

  test('a // later in the path is kept', () => {
    expect(checkReturnTo('https://app.example/a//b', allowed)).toBe('https://app.example/a//b');
  });
});
