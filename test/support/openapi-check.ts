// Every API answer the suites receive is checked against openapi.json: the integration harness's
// invoke() (./harness.ts) and the end-to-end HTTP client (test/e2e/stack-process.ts) call
// checkAnswer on each, so a new test is covered without asking. An undocumented status, content
// type, header or field (response objects are `additionalProperties: false`) fails the test that
// received it. JSON Schema 2020-12, OpenAPI 3.1's dialect, with Ajv's 2020 build.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { REPO_ROOT } from '#local/paths.js';
import { ROUTES } from '../../lib/routes.js';

type Doc = Record<string, any>;

export interface ApiAnswer {
  method: string;
  /** The request's path (`/connections/abc`), without the query. */
  path: string;
  status: number;
  /** Header names in any case. */
  headers: Record<string, string>;
  body: string;
}

/** A route of the table, matched by its template (API Gateway's `{name}` one segment, `{name+}` the rest). */
const MATCHERS = ROUTES.map((route) => ({
  method: route.method,
  pattern: new RegExp(`^${route.path.replace(/\{\w+\+\}/g, '.+').replace(/\{\w+\}/g, '[^/]+')}$`),
  openApiPath: route.path.replace(/\{(\w+)\+\}/g, '{$1}'),
}));

export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Doc) {}

  /** The operation an answer is for, or undefined for a path no route of the API has (the local gateway's own). */
  operationOf(method: string, path: string): { openApiPath: string; operation: Doc } | undefined {
    const route = MATCHERS.find((matcher) => matcher.method === method && matcher.pattern.test(path));
    if (!route) return undefined;
    const operation = this.doc.paths?.[route.openApiPath]?.[method.toLowerCase()];
    if (!operation) throw new Error(`openapi.json has no ${method} ${route.openApiPath}: run npm run openapi`);
    return { openApiPath: route.openApiPath, operation };
  }

  /** Throws, saying what differs, when the answer is not one the description documents. */
  check(answer: ApiAnswer): void {
    const found = this.operationOf(answer.method, answer.path);
    if (!found) return;
    const where = `${answer.method} ${found.openApiPath} answered ${answer.status}`;
    const responses = found.operation.responses as Record<string, Doc>;
    const statusKey = [String(answer.status), `${String(answer.status)[0]}XX`, 'default'].find((key) => key in responses);
    if (!statusKey) throw new Error(`${where}: openapi.json documents no such status (it has ${Object.keys(responses).join(', ')})`);
    const response = responses[statusKey];
    const headers = Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name.toLowerCase(), value]));

    for (const [name, header] of Object.entries((response.headers ?? {}) as Record<string, Doc>)) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) throw new Error(`${where} without its required ${name} header`);
        continue;
      }
      this.validate(`${where}, header ${name}`, header.schema, value);
    }

    const content = response.content as Record<string, Doc> | undefined;
    if (!content) {
      if (answer.body !== '') throw new Error(`${where} with a body, where openapi.json documents none`);
      return;
    }
    const type = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const media = content[type];
    if (!media) throw new Error(`${where} with content type "${type}"; openapi.json documents ${Object.keys(content).join(', ')}`);
    if (type !== 'application/json') {
      this.validate(`${where}, body`, media.schema, answer.body);
      return;
    }
    let body: unknown;
    try { body = JSON.parse(answer.body); } catch { throw new Error(`${where} with a body that is not JSON`); }
    this.validate(`${where}, body`, media.schema, body);
  }

  private validate(where: string, schema: Doc | undefined, value: unknown) {
    if (!schema) return;
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(this.resolve(schema) as Doc);
      this.compiled.set(key, validate);
    }
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`);
      throw new Error(`${where} does not match openapi.json:\n  ${errors.join('\n  ')}\n  answered: ${JSON.stringify(value).slice(0, 2000)}`);
    }
  }

  /** The description's `#/components/schemas/…` references, inlined (its components refer to no other). */
  private resolve(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((item) => this.resolve(item));
    if (schema === null || typeof schema !== 'object') return schema;
    const { $ref, ...rest } = schema as Doc;
    if (typeof $ref === 'string') {
      const name = /^#\/components\/schemas\/([^/]+)$/.exec($ref)?.[1];
      const target = name && this.doc.components?.schemas?.[name];
      if (!target) throw new Error(`openapi.json: unresolvable $ref ${$ref}`);
      return this.resolve({ ...target, ...rest });
    }
    return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, this.resolve(value)]));
  }
}

let committed: OpenApiChecker | undefined;

/** Checks an answer against the committed openapi.json (test/unit/docs/openapi.test.ts keeps it current). */
export function checkAnswer(answer: ApiAnswer): void {
  committed ??= new OpenApiChecker(JSON.parse(readFileSync(join(REPO_ROOT, 'openapi.json'), 'utf8')) as Doc);
  committed.check(answer);
}
