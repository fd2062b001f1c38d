// openapi.json, the API's OpenAPI 3.1 description: generated from the handlers' zod schemas by
// `npm run openapi` (scripts/openapi.ts), so the committed file must be what the schemas make now;
// linted with Redocly's recommended-strict rules; and the checker the suites run on every answer
// (test/support/openapi-check.ts) refuses what it does not document.
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { errorCodes } from '#http/errors.js';
import { ROUTES } from '../../../lib/routes.js';
import { OPENAPI_FILE, buildOpenApi, openApiText } from '../../../scripts/openapi.js';
import { OpenApiChecker, checkAnswer } from '../../support/openapi-check.js';

const doc = buildOpenApi();

describe('openapi.json', () => {
  test('is what npm run openapi generates from the schemas now (run it and commit the file)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiText());
  });

  test('passes Redocly\'s recommended-strict rules but one: the redirect callback answers no 2xx, by design', async () => {
    const config = await createConfig({ extends: ['recommended-strict'] });
    const problems = await lintFromString({ source: openApiText(), absoluteRef: OPENAPI_FILE, config });
    const found = problems.map((problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer}: ${problem.message}`);
    // The employer's browser is redirected (302) or shown the result page with the failure's status.
    expect(found).toEqual(['error operation-2xx-response #/paths/~1connect~1callback/get/responses: Operation must have at least one `2XX` response.']);
  });

  test('has every route of lib/routes.ts, under OpenAPI\'s path syntax', () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path.replace('{path+}', '{path}')}`).sort());
  });

  test('documents every code of the error table, each under its status', () => {
    const schemas = doc.components.schemas as Record<string, { properties: { error: { properties: { code: { enum: string[] } } } } }>;
    for (const { code, status } of errorCodes()) {
      expect([status, schemas[`Error${status}`]?.properties.error.properties.code.enum]).toEqual([status, expect.arrayContaining([code])]);
    }
  });

  test('names the JWT bearer scheme and the admin scope on every JWT route, and no security on the public ones', () => {
    expect(doc.components.securitySchemes.jwt).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const route of ROUTES) {
      const operation = doc.paths[route.path.replace('{path+}', '{path}')][route.method.toLowerCase()];
      expect([route.path, operation.security]).toEqual([route.path, route.auth === 'jwt' ? [{ jwt: [] }, { jwt: ['connections:admin'] }] : []]);
    }
  });

  test('documents the request headers: Idempotency-Key, Finch-Connection-Id and Finch\'s signature headers', () => {
    const headers = (path: string, method: string) => (doc.paths[path][method].parameters as Array<{ in: string; name: string }>)
      .filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name);
    expect(headers('/connect/sessions', 'post')).toEqual(['Idempotency-Key']);
    expect(headers('/finch/{path}', 'get')).toEqual(['Finch-Connection-Id']);
    expect(headers('/webhooks/finch', 'post')).toEqual(['Finch-Event-Id', 'Finch-Timestamp', 'Finch-Signature']);
    expect(doc.paths['/connect/callback'].get.responses['302'].headers.Location.required).toBe(true);
  });
});

describe('the answer check the suites run', () => {
  const checker = new OpenApiChecker(doc);
  const connection = {
    connection_id: 'conn-1', customer_id: 'acme', entity: null, finch_customer_id: 'acme', provider_id: 'gusto', company_name: null,
    company_id: null, entity_ids: [], connection_type: 'provider', manual: null, last_successful_sync: null, products: ['company'],
    status: 'connected', status_message: null, authentication_methods: [], connected_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z', last_synced_at: null, initial_sync_completed_at: { org: null, payroll: null }, token_version: 1,
  };
  const get = (status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    () => checker.check({ method: 'GET', path: '/connections/conn-1', status, headers, body: JSON.stringify(body) });

  test('accepts a documented answer', () => {
    expect(get(200, connection)).not.toThrow();
    expect(get(404, { error: { code: 'connection_not_found', message: 'No such connection.', request_id: 'r-1' } })).not.toThrow();
  });

  test('refuses a field the description does not have', () => {
    expect(get(200, { ...connection, token: 'secret' })).toThrow(/must NOT have additional properties/);
    expect(get(404, { error: { code: 'connection_not_found', message: 'x', request_id: 'r-1', stack: 'at …' } })).toThrow(/additional properties/);
  });

  test('refuses a status the route does not document, and an error code of another status', () => {
    expect(get(418, { error: { code: 'teapot', message: 'x', request_id: 'r-1' } })).toThrow(/documents no such status/);
    expect(get(404, { error: { code: 'finch_timeout', message: 'x', request_id: 'r-1' } })).toThrow(/must be equal to one of the allowed values/);
  });

  test('refuses a missing field, a wrong type and an undocumented content type', () => {
    const { token_version: _dropped, ...partial } = connection;
    expect(get(200, partial)).toThrow(/must have required property 'token_version'/);
    expect(get(200, { ...connection, status: 'gone' })).toThrow(/allowed values/);
    expect(get(200, connection, { 'content-type': 'text/plain' })).toThrow(/content type "text\/plain"/);
  });

  test('refuses a redirect without Location, a 429 without Retry-After and a body where none is documented', () => {
    expect(() => checker.check({ method: 'GET', path: '/connect/callback', status: 302, headers: {}, body: '' })).toThrow(/required Location header/);
    expect(get(429, { error: { code: 'refresh_rate_limited', message: 'x', request_id: 'r-1' } })).toThrow(/required Retry-After header/);
    expect(() => checker.check({ method: 'DELETE', path: '/connections/conn-1', status: 204, headers: {}, body: '{}' })).toThrow(/documents none/);
  });

  test('leaves alone what is not the API (the local gateway\'s own routes)', () => {
    expect(() => checkAnswer({ method: 'GET', path: '/_local/config', status: 200, headers: {}, body: 'anything' })).not.toThrow();
  });
});
