// `npm run openapi`: writes openapi.json, the API's OpenAPI 3.1 description, generated from the
// route table (lib/routes.ts), the zod schemas the handlers validate requests with and the response
// schemas beside them (functions/<fn>/schema.ts, functions/http/schemas.ts), and the error table
// (functions/http/errors.ts). Nothing is written twice: test/unit/docs/openapi.test.ts regenerates
// it in memory and fails when the committed file differs, and the suites check every answer they
// receive against it (test/support/openapi-check.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { $ZodType } from 'zod/v4/core';
import * as z from '#core/zod.js';
import { errorCodes } from '#http/errors.js';
import { errorResponse } from '#http/schemas.js';
import { ROUTES, type RouteSpec, routeKey } from '../lib/routes.js';
import { type Answer, FINCH_ERROR, type HeaderDoc, type Named, OPERATIONS, type OperationDoc } from './openapi/operations.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OPENAPI_FILE = join(REPO_ROOT, 'openapi.json');

/** The admin scope's default (ADMIN_SCOPE, functions/adapters/config.ts); a deployment may name another. */
const ADMIN_SCOPE = 'connections:admin';
const JSON_TYPE = 'application/json';
const HTML_TYPE = 'text/html';

type JsonSchema = Record<string, unknown>;
type Doc = Record<string, any>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect): requests as sent, responses as answered. */
export function jsonSchemaOf(schema: $ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The codes of each status in the error table. */
function codesByStatus(): Map<number, [string, ...string[]]> {
  const byStatus = new Map<number, [string, ...string[]]>();
  for (const { code, status } of errorCodes()) {
    const codes = byStatus.get(status);
    if (codes) codes.push(code); else byStatus.set(status, [code]);
  }
  for (const codes of byStatus.values()) codes.sort();
  return byStatus;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid, or Finch refused it.', 401: 'No valid credentials.', 403: 'The caller may not do this.',
  404: 'No such connection (another customer\'s is answered the same).', 409: 'The connection or the session is not in a state that allows it.',
  413: 'The body is over 16 KiB.', 415: 'The body is not of a type the route takes.', 422: 'The Idempotency-Key was used with another body.',
  429: 'Rate limited: retry after `Retry-After` seconds.', 500: 'An unexpected error: a fixed message and the request id.',
  502: 'Finch could not be reached or answered with an error.', 503: 'A backing service is briefly unavailable, or the event cannot be applied yet.',
  504: 'Finch did not answer in time.',
};

export function buildOpenApi(): Doc {
  const byStatus = codesByStatus();
  const schemas: Record<string, JsonSchema> = {};
  const addSchema = ({ name, schema }: Named) => {
    const built = jsonSchemaOf(schema, 'output');
    if (schemas[name] && JSON.stringify(schemas[name]) !== JSON.stringify(built)) throw new Error(`two different schemas are named ${name}`);
    schemas[name] = built;
    return ref(name);
  };
  const errorRef = (status: number) => {
    const codes = byStatus.get(status);
    if (!codes) throw new Error(`the error table answers no code with ${status}`);
    return addSchema({ name: `Error${status}`, schema: errorResponse(codes) });
  };
  // API Gateway's JWT authorizer refuses a missing or bad token itself, before any function runs.
  schemas.GatewayMessage = {
    type: 'object', properties: { message: { type: 'string' } }, required: ['message'], additionalProperties: false,
    description: 'API Gateway\'s own answer (its JWT authorizer\'s 401 `{"message":"Unauthorized"}`).',
  };

  const paths: Record<string, Doc> = {};
  const documented = new Set(Object.keys(OPERATIONS));
  for (const route of ROUTES) {
    const key = routeKey(route);
    const operation = OPERATIONS[key];
    if (!operation) throw new Error(`${key} is in lib/routes.ts but not in scripts/openapi/operations.ts`);
    documented.delete(key);
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = buildOperation(route, operation, { addSchema, errorRef });
  }
  if (documented.size) throw new Error(`scripts/openapi/operations.ts documents routes lib/routes.ts does not have: ${[...documented].join(', ')}`);

  const sortedSchemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'finch-connections',
      version: packageVersion(),
      summary: 'Finch Connect sessions, callbacks, token-free connections and a server-side proxy to Finch\'s data API.',
      description: 'Generated by `npm run openapi` from the handlers\' zod schemas (scripts/openapi.ts): do not edit by hand. '
        + 'Every JSON error is `{"error": {"code", "message", "request_id", "details"?}}`. How it works: docs/ARCHITECTURE.md.',
      license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
    },
    servers: [{ url: '/', description: 'This API (npm start: http://127.0.0.1:3000; deployed: the stack\'s ApiUrl)' }],
    tags: [
      { name: 'Connect', description: 'Finch Connect sessions and their callback.' },
      { name: 'Connections', description: 'The caller\'s connections, token-free.' },
      { name: 'Finch data', description: 'Finch\'s data API through the stored token.' },
      { name: 'Webhooks', description: 'Finch\'s signed webhooks.' },
    ],
    security: [{ jwt: [] }],
    paths,
    components: {
      schemas: sortedSchemas,
      securitySchemes: {
        jwt: {
          type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
          description: 'An access token of the application\'s identity provider, verified by API Gateway\'s JWT authorizer (issuer, audience, expiry, signature). '
            + 'The caller\'s customer is its `customer_id` claim (`CUSTOMER_ID_CLAIM`), its display name `customer_name`. '
            + `A token whose \`scope\` holds \`${ADMIN_SCOPE}\` (\`ADMIN_SCOPE\`; from a client in \`ADMIN_CLIENT_IDS\` when that is set) is an admin: `
            + 'it names the customer on every request (`customer_id` in a POST body, else `?customer_id=`). Locally, `npm run token` prints one.',
        },
      },
    },
  };
}

interface Builders { addSchema: (named: Named) => { $ref: string }; errorRef: (status: number) => { $ref: string } }

function buildOperation(route: RouteSpec, operation: OperationDoc, { addSchema, errorRef }: Builders): Doc {
  const parameters = [
    ...parametersOf(operation.path, 'path'),
    ...parametersOf(operation.query, 'query'),
    ...(operation.headers ?? []).map(headerParameter),
  ];
  const responses: Record<string, Doc> = {};
  for (const [status, answer] of Object.entries(operation.answers)) responses[status] = answerOf(answer, addSchema);
  for (const status of new Set(operation.errors)) {
    const ours = status === 401 && route.auth === 'jwt' ? { anyOf: [errorRef(status), ref('GatewayMessage')] } : errorRef(status);
    const schema = operation.finchAnswers ? { anyOf: [ours, addSchema(FINCH_ERROR)] } : ours;
    responses[status] = {
      description: STATUS_TEXT[status] ?? 'An error.',
      ...(headersOf(status) ? { headers: headersOf(status) } : {}),
      content: {
        [JSON_TYPE]: { schema },
        // The redirect callback answers its failures as the result page, the employer's browser being there.
        ...(operation.pageErrors?.includes(status) ? { [HTML_TYPE]: { schema: { type: 'string' } } } : {}),
      },
    };
  }
  for (const status of operation.pageErrors ?? []) {
    responses[status] ??= { description: STATUS_TEXT[status] ?? 'An error.', content: { [HTML_TYPE]: { schema: { type: 'string' } } } };
  }
  if (operation.finchAnswers) {
    for (const range of ['4XX', '5XX']) {
      responses[range] = { description: 'Finch\'s own error, with its status.', content: { [JSON_TYPE]: { schema: addSchema(FINCH_ERROR) } } };
    }
  }
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: operation.description,
    ...(parameters.length ? { parameters } : {}),
    ...(operation.body ? { requestBody: requestBodyOf(operation.body) } : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
    // Public routes trust a single-use state or a signature instead; JWT routes take the admin scope too.
    security: route.auth === 'jwt' ? [{ jwt: [] }, { jwt: [ADMIN_SCOPE] }] : [],
  };
}

/** API Gateway's `{name+}` (the rest of the path) is OpenAPI's `{name}`: the parameter says it spans segments. */
const openApiPath = (path: string) => path.replace(/\{(\w+)\+\}/g, '{$1}');

function parametersOf(schema: $ZodType | undefined, where: 'path' | 'query'): Doc[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(PARAMETER_TEXT[name] ? { description: PARAMETER_TEXT[name] } : {}),
    schema: property,
  }));
}

const PARAMETER_TEXT: Record<string, string> = {
  customer_id: 'Admins only: the customer the request acts for. A customer may repeat its own id; another is 403.',
  limit: 'Page size, 1 to 100.',
  cursor: 'The `next_cursor` of the page before (opaque, bound to the customer).',
  refresh: '`true`: ask Finch for the status now.',
  connection_id: 'The connection, one of the caller\'s: another customer\'s is 404, exactly as a missing one.',
  path: 'Finch\'s path after `/finch`, several segments (`employer/directory`): API Gateway\'s `{path+}`.',
  code: 'Finch\'s one-time authorization code.',
  state: 'The session\'s state, as Finch sends it back.',
  error: 'Finch\'s error, when Connect did not complete.',
};

function headerParameter(header: HeaderDoc): Doc {
  const schema = '_zod' in header.schema ? jsonSchemaOf(header.schema, 'input') : header.schema;
  return { name: header.name, in: 'header', required: header.required, description: header.description, schema };
}

function requestBodyOf(body: NonNullable<OperationDoc['body']>): Doc {
  const schema = jsonSchemaOf(body.schema, 'input');
  return {
    required: body.required,
    ...(body.description ? { description: body.description } : {}),
    content: Object.fromEntries(body.contentTypes.map((type) => [type, { schema }])),
  };
}

function answerOf(answer: Answer, addSchema: Builders['addSchema']): Doc {
  switch (answer.kind) {
    case 'json':
      return {
        description: answer.description,
        ...(answer.headers ? { headers: Object.fromEntries(answer.headers.map((header) => [header.name, responseHeader(header)])) } : {}),
        content: { [JSON_TYPE]: { schema: answer.body === 'finch' ? { description: 'Finch\'s JSON body, as it came.' } : addSchema(answer.body) } },
      };
    case 'empty':
      return { description: answer.description };
    case 'html':
      return { description: answer.description, content: { [HTML_TYPE]: { schema: { type: 'string' } } } };
    case 'redirect':
      return {
        description: answer.description,
        headers: {
          Location: {
            required: true,
            description: 'The return URL with the outcome in its query: `status=connected&connection_id=…&reauthenticated=true|false`, or `status=error&error=<callback error code>`.',
            schema: { type: 'string', format: 'uri' },
          },
        },
      };
  }
}

/** A header an answer carries (names as the answer spells them; HTTP treats them case-insensitively). */
function responseHeader(header: HeaderDoc): Doc {
  const schema = '_zod' in header.schema ? jsonSchemaOf(header.schema, 'output') : header.schema;
  return { required: header.required, description: header.description, schema };
}

/** The headers an error status carries: when to retry. */
function headersOf(status: number): Doc | undefined {
  if (status === 429) return { 'Retry-After': { required: true, description: 'Seconds to wait.', schema: { type: 'string', pattern: '^\\d+$' } } };
  if (status === 503) return { 'Retry-After': { required: false, description: 'Seconds to wait, when the answer says.', schema: { type: 'string', pattern: '^\\d+$' } } };
  return undefined;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The file's text: stable key order (the builder's), two-space indent, a final newline. */
export const openApiText = () => `${JSON.stringify(buildOpenApi(), null, 2)}\n`;

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  writeFileSync(OPENAPI_FILE, openApiText());
  console.log(`wrote ${OPENAPI_FILE}`);
}
