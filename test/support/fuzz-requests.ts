// fast-check generators of API Gateway HTTP API (v2) requests for every route of the route table:
// bodies, queries, path parameters, headers and JWT claims, mixing well-formed values (so requests
// get past validation into the core) with nasty ones — unicode, lone surrogates, `__proto__`, huge
// numbers, deep nesting, base64 bodies, wrong content types, oversized bodies, path tricks.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { signWebhook } from '#local/finch-emulator/index.js';
import type { RouteSpec } from '../../lib/routes.js';

/** What a generated request looks like before it becomes an event. */
export interface FuzzRequest {
  route: RouteSpec;
  rawPath: string;
  pathParameters?: Record<string, string>;
  query: Array<[string, string]>;
  /** Sent as is instead of `query` (odd encodings). */
  rawQuery?: string;
  headers: Record<string, string>;
  body?: string;
  base64: boolean;
  claims?: Record<string, unknown>;
}

/** Names the generators draw from, so requests reach real items of the seeded store. */
export interface FuzzPools {
  customers: string[];
  connectionIds: string[];
  states: string[];
  codes: string[];
  /** The webhook secret, to sign some bodies correctly so the parser behind the signature is fuzzed too. */
  webhookSecret: string;
}

/** Strings that have broken parsers, validators and templates before. */
export const NASTY_STRINGS = [
  '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '{"__proto__":{"admin":true}}',
  '../../etc/passwd', '..', '.', '%2e%2e', '%2F', '%252F', '%00', '\u0000', '\ud800', '\udfff', '\uffff', '\u202e', '\u200b',
  'A'.repeat(5000), 'é'.repeat(600), '😀'.repeat(300), '1e309', '-0', 'NaN', 'Infinity', '9007199254740993', '0x10', '1_000',
  'null', 'true', '[]', '{}', 'javascript:alert(1)', '<fuzz-xss onerror=alert(1)>', '"><fuzz-xss>', "' OR 1=1 --", '${jndi:ldap://x}',
  '{{7*7}}', 'a\r\nset-cookie: x=1', 'a\nb', '\\', '//evil.example', 'https://evil.example', 'https:evil.example', '@evil.example',
  'CUSTOMER#acme', 'CONNECTION#x', 'SESSION#x', 'acme~west', 'connections:admin', 'ＡＣＭＥ', 'аcme', 'acme.', 'ACME',
];

const nastyString = (pools: FuzzPools) => fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
  // Codes and states appear only where they belong, so a log line holding one is a leak, not an echo.
  { weight: 2, arbitrary: fc.constantFrom(...pools.customers, ...pools.connectionIds) },
);

const nastyNumber = fc.oneof(
  fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 129601, 43200, 0.5, -1),
);

/** Any JSON value, including the awkward ones, a few levels deep. */
const nastyJson = (pools: FuzzPools): fc.Arbitrary<unknown> => fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString(pools), nastyNumber, fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nastyString(pools), fc.constantFrom('__proto__', 'constructor', 'customer_id', 'code', 'state')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A JSON text that is not quite what JSON.stringify makes: deep nesting, duplicates, `__proto__`. */
const oddJsonText = fc.oneof(
  fc.integer({ min: 1, max: 7000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1, max: 4000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom(
    '{"__proto__":{"admin":true},"flow":"redirect"}', '{"constructor":{"prototype":{"admin":true}}}',
    '{"flow":"redirect","flow":"embedded"}', '{"minutes_to_expire":1e309}', '{"minutes_to_expire":12345678901234567890}',
    '{"products":["company","company","company"]}', '{"code":"c","state":"s"}garbage', '\ufeff{}', '{"a":"\\ud800"}',
    '{', '[', '"', 'nul', '', ' ', '\u0000', '{"a":1}\u0000', 'undefined', 'NaN', '1', '"string"', 'true', '[]', '{}',
  ),
);

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1',
  'text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml',
  'application/json-patch+json', 'application/vnd.api+json', '', ' ', '*/*', 'application/json, text/plain',
];

/** The body: a route's own shape with mutations, any JSON, odd JSON text, raw junk, or too much. */
const bodyOf = (shape: fc.Arbitrary<Record<string, unknown>> | undefined, pools: FuzzPools) => fc.oneof(
  ...(shape ? [{ weight: 12, arbitrary: shape.map((value) => JSON.stringify(value)) }] : []),
  { weight: 2, arbitrary: nastyJson(pools).map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 2, arbitrary: oddJsonText },
  { weight: 1, arbitrary: nastyString(pools) },
  // Over 16 KiB, sometimes only once decoded from base64 or counted in UTF-8 bytes.
  { weight: 1, arbitrary: fc.constantFrom(16 * 1024 - 10, 16 * 1024 + 1, 20_000, 40_000).map((size) => JSON.stringify({ customer_name: 'x'.repeat(size) })) },
  { weight: 1, arbitrary: fc.constant(`{"customer_name":"${'é'.repeat(8200)}"}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** Claims as API Gateway's JWT authorizer hands them over: strings, numbers, booleans, string lists. */
const claimValue = (pools: FuzzPools) => fc.oneof(nastyString(pools), nastyNumber, fc.boolean(), fc.array(nastyString(pools), { maxLength: 3 }));
const claimsOf = (pools: FuzzPools) => fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.constantFrom(...pools.customers).map((customer_id) => ({ customer_id, sub: `user-${customer_id}` })) },
  { weight: 2, arbitrary: fc.constantFrom(...pools.customers).map((customer_id) => ({ customer_id, customer_name: `${customer_id} Inc` })) },
  { weight: 2, arbitrary: fc.constant({ scope: 'connections:admin', sub: 'svc' }) },
  { weight: 1, arbitrary: fc.constant({ scope: 'openid connections:admin2', customer_id: 'acme' }) },
  { weight: 1, arbitrary: fc.constant({ scope: '[connections:admin connections:write]' }) },
  { weight: 3, arbitrary: fc.record({ customer_id: claimValue(pools), customer_name: claimValue(pools), scope: claimValue(pools), sub: claimValue(pools) }, { requiredKeys: [] }) },
);

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
/** A field that is usually valid, sometimes anything at all. */
const usually = <T>(valid: fc.Arbitrary<T>, pools: FuzzPools) => fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: nastyJson(pools) });

function compactRecord(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** A valid-looking body of each JSON route, to be mutated field by field. */
function bodyShape(route: RouteSpec, pools: FuzzPools): fc.Arbitrary<Record<string, unknown>> | undefined {
  const customer = fc.constantFrom(...pools.customers);
  const connection = fc.constantFrom(...pools.connectionIds);
  const products = fc.subarray(['company', 'directory', 'individual', 'employment', 'payment', 'pay_statement', 'ssn', 'benefits', 'payroll']);
  const returnTo = fc.constantFrom('https://app.example/done', 'https://app.example:443/x', 'https://evil.example/', '//app.example', 'http://localhost:3000/');
  const extra = fc.dictionary(nastyString(pools), nastyJson(pools), { maxKeys: 2 });
  const withExtra = (shape: fc.Arbitrary<Record<string, unknown>>) => fc.tuple(shape, fc.boolean(), extra)
    .map(([body, addExtra, more]) => compactRecord(addExtra ? { ...body, ...more } : body));
  switch (`${route.method} ${route.path}`) {
    case 'POST /connect/sessions': return withExtra(fc.record({
      customer_id: maybe(usually(customer, pools)), entity: maybe(usually(fc.constantFrom('west', 'east-1', 'West'), pools)),
      customer_name: maybe(usually(fc.string({ maxLength: 30 }), pools)), customer_email: maybe(usually(fc.constantFrom('hr@acme.example', 'x@'), pools)),
      products: maybe(usually(products, pools)), integration: maybe(usually(fc.record({ provider: fc.constantFrom('gusto', 'GUSTO'), auth_method: fc.constantFrom('oauth', 'assisted', 'magic') }), pools)),
      sandbox: maybe(usually(fc.constantFrom('finch', 'provider', 'real'), pools)), manual: maybe(usually(fc.boolean(), pools)),
      minutes_to_expire: maybe(usually(fc.oneof(fc.integer({ min: 0, max: 130000 }), nastyNumber), pools)),
      flow: maybe(usually(fc.constantFrom('redirect', 'embedded', 'popup'), pools)), return_to: maybe(usually(returnTo, pools)),
    }, { requiredKeys: [] }));
    case 'POST /connect/sessions/reauthenticate': return withExtra(fc.record({
      connection_id: maybe(usually(connection, pools)), customer_id: maybe(usually(customer, pools)), products: maybe(usually(products, pools)),
      minutes_to_expire: maybe(nastyNumber), flow: maybe(usually(fc.constantFrom('redirect', 'embedded'), pools)), return_to: maybe(usually(returnTo, pools)),
    }, { requiredKeys: [] }));
    case 'POST /connect/callback': return withExtra(fc.record({
      code: maybe(usually(fc.constantFrom(...pools.codes), pools)), state: maybe(usually(fc.constantFrom(...pools.states), pools)), customer_id: maybe(usually(customer, pools)),
    }, { requiredKeys: [] }));
    case 'POST /webhooks/finch': return withExtra(fc.record({
      event_type: maybe(usually(fc.constantFrom('account.updated', 'job.data_sync_all.completed', 'directory.updated', 'company.updated', 'benefit.created', ''), pools)),
      connection_id: maybe(usually(fc.oneof(connection, fc.constant(null)), pools)), data: maybe(nastyJson(pools)), company_id: maybe(nastyString(pools)),
    }, { requiredKeys: [] }));
    default:
      if (route.path.startsWith('/finch/') && route.method !== 'GET') return withExtra(fc.record({ individuals: maybe(nastyJson(pools)), requests: maybe(nastyJson(pools)), customer_id: maybe(customer) }, { requiredKeys: [] }));
      return undefined;
  }
}

/** Query parameters a route knows, plus strangers. */
function queryShape(route: RouteSpec, pools: FuzzPools): fc.Arbitrary<Array<[string, string]>> {
  const known: Record<string, fc.Arbitrary<string>> = {
    customer_id: fc.constantFrom(...pools.customers),
    limit: fc.constantFrom('1', '10', '100', '0', '101', '-1', '1.5', '007', '1e2', ' 5'),
    cursor: fc.oneof(fc.base64String({ maxLength: 80 }), fc.constantFrom('0', '1', 'eyJwayI6IkNVU1RPTUVSI2dsb2JleCJ9', 'bm9wZQ')),
    status: fc.constantFrom('connected', 'reauth', 'disconnected', 'happy'),
    provider_id: fc.constantFrom('gusto', 'GUSTO', 'a-b'),
    entity: fc.constantFrom('west', 'West', 'a~b'),
    refresh: fc.constantFrom('true', 'false', 'yes', 'TRUE', '1'),
    state: fc.constantFrom(...pools.states),
    code: fc.constantFrom(...pools.codes),
    error: fc.constantFrom('access_denied', 'server_error'),
    connection_id: fc.constantFrom(...pools.connectionIds),
    reauthenticated: fc.constantFrom('true', 'false'),
    offset: fc.constantFrom('0', '10', '-1', '1e3'),
    start_date: fc.constantFrom('2024-01-01', '2024-13-01', '2024-1-1'),
    end_date: fc.constantFrom('2024-12-31', 'tomorrow'),
    entity_ids: fc.constantFrom('e1', 'e1,e2', '../x'),
    'entity_ids[]': fc.constantFrom('e1', 'e/1'),
    individual_ids: fc.constantFrom('i1,i2', 'i1;i2'),
    categories: fc.constantFrom('earnings', 'Taxes'),
    name: nastyString(pools),
  };
  const knownPair = fc.constantFrom(...Object.keys(known)).chain((key) => fc.tuple(fc.constant(key), fc.oneof({ weight: 3, arbitrary: known[key] }, { weight: 1, arbitrary: nastyString(pools) })));
  const pair = fc.oneof({ weight: 3, arbitrary: knownPair }, { weight: 1, arbitrary: fc.tuple(nastyString(pools), nastyString(pools)) });
  void route;
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as Array<[string, string]>) },
    { weight: 3, arbitrary: fc.array(knownPair, { minLength: 1, maxLength: 3 }) },
    { weight: 2, arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }) },
  );
}

/** The path: the route's own, with a parameter that is a real id, a stranger's, or a trick. */
function pathOf(route: RouteSpec, pools: FuzzPools): fc.Arbitrary<{ rawPath: string; pathParameters?: Record<string, string> }> {
  if (route.path.includes('{path+}')) {
    const templates = [
      'employer/company', 'employer/directory', 'employer/individual', 'employer/employment', 'employer/payment',
      'employer/pay-statement', 'employer/benefits', 'employer/benefits/b1/individuals', 'employer/pay-groups/pg1',
      'employer/documents/d1', 'introspect', 'disconnect', 'auth/token', 'connect/sessions', 'sandbox/connections/accounts',
    ];
    const tricks = [
      'employer/../auth/token', 'employer/%2e%2e/auth/token', 'employer%2Fcompany', 'employer//company', 'employer\\company',
      'employer/company/', '/employer/company', 'employer/company%00', 'employer/company?x=1', 'employer/company#x', 'EMPLOYER/company',
      'employer/benefits/%2F..%2F', 'employer/benefits/..%252F', 'employer/benefits/@evil.example', 'https://evil.example/employer/company',
      'employer/benefits/b1%2fenrolled', 'employer/%E2%80%AEcompany', 'employer/company;x', 'employer/benefits/' + 'a'.repeat(300),
      'employer/benefits/%', 'employer/benefits/%zz', '%', '',
    ];
    return fc.oneof(
      fc.constantFrom(...templates, ...tricks),
      fc.array(fc.oneof(fc.constantFrom('employer', 'company', 'benefits', '..', '.', '%2e', '%2F'), nastyString(pools)), { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/')),
    ).map((rest) => ({ rawPath: `/finch/${rest}`, pathParameters: { path: safeDecode(rest) } }));
  }
  if (route.path.includes('{connection_id}')) {
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...pools.connectionIds) },
      { weight: 2, arbitrary: nastyString(pools) },
    ).map((id) => ({
      // A lone surrogate cannot be percent-encoded; API Gateway would have refused such a path anyway.
      rawPath: route.path.replace('{connection_id}', encodeURIComponent(id.replace(/[\ud800-\udfff]/g, '\ufffd'))),
      pathParameters: { connection_id: id },
    }));
  }
  return fc.constant({ rawPath: route.path });
}

function safeDecode(text: string): string {
  try { return decodeURIComponent(text); } catch { return text; }
}

function headersOf(route: RouteSpec, pools: FuzzPools): fc.Arbitrary<Record<string, string>> {
  const headerValue = fc.oneof(nastyString(pools), fc.constantFrom(...pools.connectionIds));
  return fc.record({
    // Mostly JSON, so bodies get past the content-type guard into validation and the core.
    'content-type': fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constant('application/json; charset=utf-8') },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 2, arbitrary: fc.constant(undefined) },
    ),
    'finch-connection-id': maybe(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pools.connectionIds) }, { weight: 1, arbitrary: headerValue })),
    authorization: maybe(fc.constantFrom('Bearer x.y.z', 'Basic YWRtaW46YWRtaW4=', 'Bearer ')),
    'idempotency-key': maybe(fc.oneof(fc.uuid(), nastyString(pools))),
    accept: maybe(fc.constantFrom('application/json', '*/*', 'text/html')),
    'x-forwarded-host': maybe(fc.constantFrom('evil.example')),
    host: maybe(fc.constantFrom('evil.example', 'api.example')),
    'finch-event-id': maybe(fc.oneof(fc.uuid(), nastyString(pools))),
    'finch-timestamp': maybe(fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }).map(String), nastyString(pools))),
    'finch-signature': maybe(fc.oneof(nastyString(pools), fc.constant('v1,AAAA'), fc.constant('v1,'))),
  }, { requiredKeys: [] }).chain((known) => fc.dictionary(fc.oneof(fc.constantFrom('cookie', 'x-api-key', 'origin', 'referer'), nastyString(pools)), headerValue, { maxKeys: 2 })
    .map((more) => compactRecord({ ...lowercaseKeys(more), ...known }) as Record<string, string>))
    .map((headers) => { void route; return headers; });
}

function lowercaseKeys(record: Record<string, string>) {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.toLowerCase(), value]));
}

/** Every part of a request to `route`, generated. */
export function requestsFor(route: RouteSpec, pools: FuzzPools): fc.Arbitrary<FuzzRequest> {
  const takesBody = route.method !== 'GET' && route.method !== 'DELETE';
  return fc.record({
    path: pathOf(route, pools),
    query: queryShape(route, pools),
    rawQuery: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.oneof(nastyString(pools), fc.constantFrom('a=1&a=2', 'limit=1&limit=2', '%', '%zz=1', 'state=%00', '=x', '&&&', 'cursor=' + 'A'.repeat(3000))) },
    ),
    headers: headersOf(route, pools),
    // Bodies on GET and DELETE too, now and then: they must be refused or ignored, never trusted.
    body: fc.oneof({ weight: takesBody ? 8 : 1, arbitrary: bodyOf(bodyShape(route, pools), pools) }, { weight: takesBody ? 1 : 6, arbitrary: fc.constant(undefined) }),
    base64: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    claims: claimsOf(pools),
    signed: route.path === '/webhooks/finch' ? fc.boolean() : fc.constant(false),
    junkBase64: fc.boolean(),
  }).map(({ path, query, rawQuery, headers, body, base64, claims, signed, junkBase64 }) => {
    const request: FuzzRequest = { route, ...path, query, rawQuery, headers: { ...headers }, body, base64: false, claims };
    if (body !== undefined && base64) {
      request.base64 = true;
      // Either the body base64-encoded, as API Gateway sends binary bodies, or junk that is not base64.
      request.body = junkBase64 ? `${body}!!` : Buffer.from(body, 'utf8').toString('base64');
    }
    if (signed && body !== undefined) {
      // Correctly signed, so what lies behind the signature check is fuzzed too.
      const eventId = headers['finch-event-id'] ?? `msg_${randomUUID()}`;
      const timestamp = Math.floor(Date.now() / 1000);
      request.headers['finch-event-id'] = eventId;
      request.headers['finch-timestamp'] = String(timestamp);
      request.headers['finch-signature'] = signWebhook(pools.webhookSecret, eventId, timestamp, body);
    }
    return request;
  });
}

/** The request as API Gateway HTTP API (payload 2.0) hands it to a Lambda. */
export function toEvent(request: FuzzRequest) {
  const { route } = request;
  const rawQueryString = request.rawQuery ?? new URLSearchParams(request.query).toString();
  const queryStringParameters: Record<string, string> = {};
  // API Gateway joins repeated keys with commas.
  for (const [key, value] of request.rawQuery !== undefined ? parseLoosely(request.rawQuery) : request.query) {
    queryStringParameters[key] = key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
  }
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: request.rawPath,
    rawQueryString,
    headers: request.headers,
    ...(Object.keys(queryStringParameters).length ? { queryStringParameters } : {}),
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012', apiId: 'fuzz', domainName: 'api.example', domainPrefix: 'api',
      http: { method: route.method, path: request.rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'fuzz' },
      requestId: randomUUID(), routeKey, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
      ...(route.auth === 'jwt' && request.claims ? { authorizer: { jwt: { claims: request.claims, scopes: null } } } : {}),
    },
    ...(request.body !== undefined ? { body: request.body } : {}),
    isBase64Encoded: request.base64,
  };
}

function parseLoosely(raw: string): Array<[string, string]> {
  try { return [...new URLSearchParams(raw)]; } catch { return []; }
}
