// The local gateway serves the API's OpenAPI description at GET /openapi.json, as committed, and the
// reference page that renders it (GET /_local/reference): Swagger UI from node_modules, no CDN,
// under the demo page's CSP. In Chromium (Debian's, through playwright-core) the page renders every
// operation with nothing refused by its CSP; without chromium that test is skipped with the reason,
// unless REQUIRE_BROWSER=1 (CI).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '#local/paths.js';
import { createJwtAuthorizer, generateDevSigningKey, LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, publicJwks } from '#local/gateway/jwt.js';
import { createLocalRoutes } from '#local/gateway/local-routes.js';
import { type RunningGateway, startGateway } from '#local/gateway/server.js';
import { ROUTES, routeKey } from '../../lib/routes.js';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const executablePath = CANDIDATES.find((path): path is string => Boolean(path && existsSync(path)));
const browserRequired = process.env.REQUIRE_BROWSER === '1';
if (!executablePath && !browserRequired) console.warn('reference page in a browser skipped: no chromium found (apt-get install chromium, or set CHROMIUM_PATH)');

let gateway: RunningGateway;

beforeAll(async () => {
  const key = await generateDevSigningKey();
  gateway = await startGateway({
    port: 0,
    routes: ROUTES,
    loadHandler: async () => async () => ({ statusCode: 500, body: '' }),
    authorizer: createJwtAuthorizer({ issuer: LOCAL_JWT_ISSUER, audience: [LOCAL_JWT_AUDIENCE], jwks: publicJwks(key) }),
    localRoutes: createLocalRoutes({
      mintToken: async () => 'unused',
      jwks: publicJwks(key),
      demoDir: join(REPO_ROOT, 'local', 'demo'),
      emulatorUrl: () => undefined,
      port: () => gateway.port,
      routeKeys: ROUTES.map(routeKey),
    }),
  });
});
afterAll(() => gateway.close());

describe('GET /openapi.json and the reference page', () => {
  test('GET /openapi.json answers the committed description', async () => {
    const res = await fetch(`${gateway.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(readFileSync(join(REPO_ROOT, 'openapi.json'), 'utf8'));
  });

  test('the page loads Swagger UI from this origin only, under a CSP that allows nothing else', async () => {
    const page = await fetch(`${gateway.url}/_local/reference`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'; style-src 'self'");
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.filter((source) => !source.startsWith('data:'))).toEqual(['/_local/reference/swagger-ui.css', '/_local/reference/swagger-ui-bundle.js', '/_local/reference/reference.js']);
    const bundle = await fetch(`${gateway.url}/_local/reference/swagger-ui-bundle.js`);
    expect([bundle.status, bundle.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(Buffer.from(await bundle.arrayBuffer()).equals(readFileSync(join(REPO_ROOT, 'node_modules', 'swagger-ui-dist', 'swagger-ui-bundle.js')))).toBe(true);
  });

  test('only GET, and only the reference\'s files', async () => {
    expect((await fetch(`${gateway.url}/openapi.json`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${gateway.url}/_local/reference/swagger-ui.js.map`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/_local/reference/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  (executablePath || browserRequired ? test : test.skip)('in Chromium, the page renders every operation and its CSP refuses nothing', async () => {
    if (!executablePath) throw new Error('REQUIRE_BROWSER=1 but no chromium was found');
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(`${gateway.url}/_local/reference`);
      await page.locator('.opblock').nth(ROUTES.length - 1).waitFor({ timeout: 20_000 });
      expect(await page.locator('.opblock').count()).toBe(ROUTES.length);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
