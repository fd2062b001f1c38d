// The proxy's allowlist: method and path template, each raw segment decoded exactly once, and only
// a template's own query parameters forwarded. Pure functions: no Finch, no store.
import fc from 'fast-check';
import { InvalidRequest, PathNotAllowed } from '#core/errors.js';
import { PROXY_ROUTES, WRITE_ROUTE_KEYS, parseProxyQuery, resolveProxyPath } from '#core/proxy-routes.js';

const route = (method: string, template: string) => PROXY_ROUTES.find((r) => r.method === method && r.template === template)!;
const ID = '0b9a3c62-5c3f-4a0e-9d7e-4f1e0c2b7a11';

describe('allowed paths resolve to their template and a canonical path', () => {
  test.each([
    ['GET', '/employer/company', '/employer/company', '/employer/company'],
    ['GET', '/employer/directory', '/employer/directory', '/employer/directory'],
    ['POST', '/employer/individual', '/employer/individual', '/employer/individual'],
    ['POST', '/employer/employment', '/employer/employment', '/employer/employment'],
    ['POST', '/employer/pay-statement', '/employer/pay-statement', '/employer/pay-statement'],
    ['GET', '/employer/payment', '/employer/payment', '/employer/payment'],
    ['GET', `/employer/benefits/${ID}`, '/employer/benefits/{benefit_id}', `/employer/benefits/${ID}`],
    ['GET', `/employer/benefits/${ID}/enrolled`, '/employer/benefits/{benefit_id}/enrolled', `/employer/benefits/${ID}/enrolled`],
    ['GET', '/employer/benefits/meta', '/employer/benefits/meta', '/employer/benefits/meta'],
    ['GET', `/employer/documents/${ID}`, '/employer/documents/{document_id}', `/employer/documents/${ID}`],
    ['GET', `/employer/pay-groups/${ID}`, '/employer/pay-groups/{pay_group_id}', `/employer/pay-groups/${ID}`],
    // An escape of an unreserved character decodes (once) to the same plain segment.
    ['GET', '/employer/%63ompany', '/employer/company', '/employer/company'],
  ])('%s %s → %s', (method, raw, template, path) => {
    const resolved = resolveProxyPath(method, raw);
    expect(resolved.route.template).toBe(template);
    expect(resolved.path).toBe(path);
  });

  test('the write routes are exactly the benefits writes', () => {
    expect(WRITE_ROUTE_KEYS).toEqual([
      'POST /employer/benefits', 'POST /employer/benefits/register', 'POST /employer/benefits/{benefit_id}',
      'POST /employer/benefits/{benefit_id}/individuals', 'DELETE /employer/benefits/{benefit_id}/individuals',
    ]);
  });
});

describe('anything else is path_not_allowed', () => {
  const nasty: Array<[string, string]> = [
    ['GET', ''],
    ['GET', '/'],
    ['GET', 'employer/company'],
    ['GET', '/employer/company/'],
    ['GET', '//employer/company'],
    ['GET', '/employer//company'],
    ['GET', '/employer%2Fcompany'],
    ['GET', '/employer%2fcompany'],
    ['GET', '/employer/%2F%2Fevil.example/company'],
    ['GET', '/employer/benefits/%2e%2e'],
    ['GET', '/employer/benefits/%2E%2E/individuals'],
    ['GET', '/employer/benefits/../company'],
    ['GET', '/employer/benefits/./x'],
    ['GET', '/employer/benefits/..'],
    ['GET', '/employer/../introspect'],
    ['GET', '/employer/%2e%2e/introspect'],
    ['GET', '/employer/benefits/a\\b'],
    ['GET', '/employer/benefits/a%5Cb'],
    ['GET', '/employer/benefits/a%5cb'],
    ['GET', '/employer\\company'],
    ['GET', '/employer/benefits/user@evil.example'],
    ['GET', '/employer/benefits/user%40evil.example'],
    ['GET', '/https://evil.example/employer/company'],
    ['GET', '/https:%2F%2Fevil.example'],
    ['GET', '/http%3A%2F%2Fevil.example%2Femployer%2Fcompany'],
    ['GET', '//evil.example/employer/company'],
    ['GET', '/employer/benefits/%252e%252e'],
    ['GET', '/employer/benefits/%25'],
    ['GET', '/employer%252Fcompany'],
    ['GET', '/employer/benefits/%'],
    ['GET', '/employer/benefits/%zz'],
    ['GET', '/employer/benefits/%E0%A4%A'],
    ['GET', '/employer/benefits/%00'],
    ['GET', '/employer/benefits/a%0Ab'],
    ['GET', '/employer/benefits/a%0d%0aX-Injected:1'],
    ['GET', '/employer/benefits/a\nb'],
    ['GET', '/employer/benefits/a\tb'],
    ['GET', '/employer/benefits/a b'],
    ['GET', '/employer/benefits/a%20b'],
    ['GET', '/employer/benefits/%C3%A9'],
    ['GET', '/employer/benefits/é'],
    ['GET', '/employer/company?x=1'],
    ['GET', '/employer/company#x'],
    ['GET', '/employer/company;x=1'],
    ['GET', '/employer/benefits/a:b'],
    ['GET', `/employer/${'a'.repeat(129)}`],
    ['GET', `/employer/company${'/x'.repeat(300)}`],
    ['GET', '/introspect'],
    ['POST', '/disconnect'],
    ['POST', '/auth/token'],
    ['POST', '/connect/sessions'],
    ['PUT', '/sandbox/connections/accounts'],
    ['POST', '/forward'],
    ['GET', '/providers'],
    ['GET', '/jobs/automated'],
    ['GET', '/employer'],
    ['GET', '/employer/benefits/x/y/z'],
    // Right path, wrong method.
    ['POST', '/employer/company'],
    ['GET', '/employer/individual'],
    ['DELETE', '/employer/company'],
    ['PUT', `/employer/benefits/${ID}`],
    ['PATCH', '/employer/directory'],
    ['get', '/employer/company'],
  ];

  test.each(nasty)('%s %j', (method, raw) => {
    expect(() => resolveProxyPath(method, raw)).toThrow(PathNotAllowed);
  });

  test('property: any path with a dot, backslash, @, %-escaped slash or percent, empty segment or control char is refused', () => {
    const bad = fc.constantFrom('.', '..', '%2e', '%2E%2E', '\\', '%5C', '@', '%40', '%2F', '%2f', '%25', '%252F', '', '%00', '%0A', '\u0000', ':', '%3A');
    const segment = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    fc.assert(fc.property(fc.array(segment, { maxLength: 3 }), bad, fc.array(segment, { maxLength: 3 }), fc.constantFrom('GET', 'POST', 'DELETE'),
      (before, poison, after, method) => {
        const raw = `/${['employer', ...before, poison, ...after].join('/')}`;
        expect(() => resolveProxyPath(method, raw)).toThrow(PathNotAllowed);
      }));
  });

  test('property: whatever resolves is an allowlisted template with plain segments', () => {
    const piece = fc.oneof(
      fc.constantFrom('company', 'directory', 'individual', 'benefits', 'meta', 'individuals', 'enrolled', ID, '', '.', '..', '%2F', '%2e', '%25', '@', '\\'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 4 }), fc.constantFrom('GET', 'POST', 'DELETE'), (pieces, method) => {
      let resolved;
      try {
        resolved = resolveProxyPath(method, `/employer/${pieces.join('/')}`);
      } catch (error) {
        expect(error).toBeInstanceOf(PathNotAllowed);
        return;
      }
      expect(resolved.path).toMatch(/^(\/[A-Za-z0-9_-]+)+$/);
      expect(PROXY_ROUTES).toContain(resolved.route);
    }));
  });
});

describe('query parameters: only the template\'s own, validated', () => {
  const directory = route('GET', '/employer/directory');

  test('allowed parameters pass; lists take name[] or repeated names', () => {
    expect(parseProxyQuery(directory, 'limit=10&offset=20')).toEqual({ limit: '10', offset: '20' });
    expect(parseProxyQuery(directory, `entity_ids[]=${ID}&entity_ids[]=abc`)).toEqual({ entity_ids: [ID, 'abc'] });
    expect(parseProxyQuery(directory, `entity_ids=${ID}&entity_ids=abc`)).toEqual({ entity_ids: [ID, 'abc'] });
    expect(parseProxyQuery(route('GET', '/employer/payment'), 'start_date=2024-01-01&end_date=2024-12-31'))
      .toEqual({ start_date: '2024-01-01', end_date: '2024-12-31' });
    expect(parseProxyQuery(route('GET', '/employer/benefits/{benefit_id}/individuals'), `individual_ids=${ID},abc`))
      .toEqual({ individual_ids: `${ID},abc` });
  });

  test('the admin\'s customer_id is ours and never forwarded', () => {
    expect(parseProxyQuery(directory, 'customer_id=acme&limit=5')).toEqual({ limit: '5' });
  });

  test.each([
    ['unknown parameter', 'access_token=x', 'query.access_token'],
    ['another template\'s parameter', 'start_date=2024-01-01', 'query.start_date'],
    ['not a count', 'limit=-1', 'query.limit'],
    ['not a count', 'limit=1e3', 'query.limit'],
    ['repeated scalar', 'limit=1&limit=2', 'query.limit'],
    ['scalar as list', 'limit[]=1', 'query.limit'],
    ['bad id in a list', 'entity_ids[]=../x', 'query.entity_ids'],
    ['odd name not echoed', '%0Aevil=1', 'query'],
  ])('%s: %s', (_what, raw, path) => {
    let error: unknown;
    try { parseProxyQuery(directory, raw); } catch (caught) { error = caught; }
    expect(error).toBeInstanceOf(InvalidRequest);
    expect((error as InvalidRequest).details?.map((d) => d.path)).toContain(path);
    expect(JSON.stringify((error as InvalidRequest).details)).not.toContain('../x');
  });

  test('dates must be dates', () => {
    expect(() => parseProxyQuery(route('GET', '/employer/payment'), 'start_date=2024-13-01')).toThrow(InvalidRequest);
    expect(() => parseProxyQuery(route('GET', '/employer/payment'), 'start_date=yesterday')).toThrow(InvalidRequest);
  });

  test('a list holds at most 100 values', () => {
    const raw = Array.from({ length: 101 }, (_, i) => `entity_ids[]=e${i}`).join('&');
    expect(() => parseProxyQuery(directory, raw)).toThrow(InvalidRequest);
  });
});
