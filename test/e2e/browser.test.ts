// The demo page in a real browser (playwright-core + Debian's chromium): pick a customer, Connect,
// press #connect on the emulator's hosted page, land back on the demo page and see the connection
// listed as connected; then break it in the emulator and reauthenticate it from the page.
// Without chromium the suite is skipped with the reason (test/e2e/browser-support.ts).
import { join } from 'node:path';
import { ROUTES, routeKey } from '../../lib/routes.js';
import { ARTIFACTS, browserSuite, withStackAndBrowser } from './browser-support.js';

const suite = browserSuite('browser e2e');
// The page shows Disconnect once the API routes DELETE (the lifecycle work), and so does this test.
const canDisconnect = ROUTES.some((route) => routeKey(route) === 'DELETE /connections/{connection_id}');

suite('demo page in a browser', () => {
  const env = withStackAndBrowser();

  const row = () => env.page.locator('#connections tbody tr');

  /** Waits for a listed connection in `status`; on timeout says what the page showed instead. */
  async function expectRowWithStatus(status: string) {
    try {
      await env.page.locator(`#connections tbody tr[data-status="${status}"]`).waitFor();
    } catch (error) {
      await env.page.screenshot({ path: join(ARTIFACTS, `failure-${status}.png`), fullPage: true }).catch(() => undefined);
      const notice = await env.page.locator('#notice').textContent().catch(() => null);
      const rows = await row().evaluateAll((rows) => rows.map((r) => (r as { dataset: Record<string, string> }).dataset.status)).catch(() => []);
      throw new Error(`no connection listed as ${status} at ${env.page.url()}; rows: ${JSON.stringify(rows)}; notice: ${notice}`, { cause: error });
    }
  }

  test('pick a customer, Connect on Finch, come back and see the connection listed as connected', async () => {
    const { apiUrl, finchUrl } = env.stack.stack;
    await env.page.goto(`${apiUrl}/`);
    await env.page.fill('#customer-id', 'browser-co');
    await env.page.fill('#customer-name', 'Browser Co');
    await env.page.click('#pick');
    await env.page.locator('#empty').waitFor({ state: 'visible' });

    await env.page.click('#connect-new');
    await env.page.waitForURL(`${finchUrl}/connect?**`);
    await env.page.click('#connect');

    await env.page.waitForURL(`${apiUrl}/`);
    await expectRowWithStatus('connected');
    await expect(env.page.locator('#notice').textContent()).resolves.toContain('Connected');
    await expect(row().count()).resolves.toBe(1);
    await expect(row().first().getAttribute('data-status')).resolves.toBe('connected');
    await expect(row().first().textContent()).resolves.toContain('gusto');
    await env.page.screenshot({ path: join(ARTIFACTS, 'demo-connected.png'), fullPage: true });
  }, 90_000);

  test('a connection Finch puts in reauth is reauthenticated from the page', async () => {
    const { apiUrl, finchUrl } = env.stack.stack;
    await row().first().locator('button.break').click();
    await expectRowWithStatus('reauth');
    await expect(env.page.locator('#notice').textContent()).resolves.toContain('sign in again');

    await row().first().locator('button.reauthenticate').click();
    await env.page.waitForURL(`${finchUrl}/connect?**`);
    await env.page.click('#connect');
    await env.page.waitForURL(`${apiUrl}/`);
    await expectRowWithStatus('connected');
    await expect(env.page.locator('#notice').textContent()).resolves.toContain('Reauthenticated');
    await expect(row().count()).resolves.toBe(1);
    await env.page.screenshot({ path: join(ARTIFACTS, 'demo-reauthenticated.png'), fullPage: true });
  }, 90_000);

  test('Company reads Finch data through the proxy, without the page holding a token', async () => {
    await row().first().locator('button.company').click();
    // A locator waits in Playwright's own script: a string predicate would be eval'd in the page,
    // which the demo page's CSP (script-src 'self') refuses whenever the answer takes a poll.
    await env.page.locator('#notice', { hasText: 'through the proxy' }).waitFor({ timeout: 30_000 });
    await expect(env.page.locator('#notice').getAttribute('data-kind')).resolves.toBe('ok');
  }, 60_000);

  (canDisconnect ? test : test.skip)('Disconnect leaves a disconnected tombstone in the list', async () => {
    env.page.once('dialog', (dialog) => void dialog.accept());
    await row().first().locator('button.disconnect').click();
    await expectRowWithStatus('disconnected');
    await expect(env.page.locator('#notice').textContent()).resolves.toContain('Disconnected');
    await expect(row().first().locator('button.disconnect').count()).resolves.toBe(0);
  }, 90_000);
});
