// GET /openapi.json (the API's description, as committed: npm run openapi writes it) and the API
// reference page that renders it, GET /_local/reference: Swagger UI from the swagger-ui-dist package
// in node_modules (no CDN), under the same CSP as the demo page (scripts and styles from this
// origin only). Local only, like every route of ./local-routes.ts.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { type HttpAnswer, jsonAnswer } from './response.js';

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const PAGE_DIR = join(REPO_ROOT, 'local', 'reference');

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};
const JS = 'text/javascript; charset=utf-8';

/** Each path, the file it answers and its content type. */
const FILES: Record<string, [dir: string, name: string, type: string]> = {
  '/openapi.json': [REPO_ROOT, 'openapi.json', 'application/json'],
  '/_local/reference': [PAGE_DIR, 'index.html', 'text/html; charset=utf-8'],
  '/_local/reference/reference.js': [PAGE_DIR, 'reference.js', JS],
  '/_local/reference/swagger-ui-bundle.js': [SWAGGER_UI_DIR, 'swagger-ui-bundle.js', JS],
  '/_local/reference/swagger-ui.css': [SWAGGER_UI_DIR, 'swagger-ui.css', 'text/css; charset=utf-8'],
};

/** The answer to one of the reference's paths, or undefined for any other. */
export async function referenceRoute(method: string, path: string): Promise<HttpAnswer | undefined> {
  const file = method === 'GET' ? FILES[path] : undefined;
  if (!file) return undefined;
  const [dir, name, type] = file;
  try {
    // Read on every request, as the demo page is: regenerate the description, reload the page.
    return { status: 200, headers: { 'content-type': type, ...PAGE_HEADERS }, body: await readFile(join(dir, name)) };
  } catch {
    return jsonAnswer(404, { message: 'Not Found' });
  }
}
