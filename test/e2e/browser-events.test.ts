// The demo page's activity feed in a real browser, against `npm start`'s local event bus: connecting
// shows connection.connected, then the enrichment consumer's connection.company_updated brings the
// employer's name into the list without a click; Finch refusing the connection on a proxied call
// (connection.reauth_required) puts a Reconnect prompt on the page, which reauthenticates it.
import { join } from 'node:path';
import { ARTIFACTS, browserSuite, withStackAndBrowser } from './browser-support.js';
import { http } from './stack-process.js';

const CUSTOMER = { id: 'events-co', name: 'Events Co' };

browserSuite('browser-events.test.ts')('demo page: the activity feed of the local event bus', () => {
  const env = withStackAndBrowser();

  const row = () => env.page.locator('#connections tbody tr').first();
  const feedTypes = () => env.page.locator('#activity li').evaluateAll((items) => items.map((item) => (item as { dataset: Record<string, string> }).dataset.type));

  /** Waits for `selector`; on timeout says what the feed and the list showed instead. */
  async function waitFor(selector: string, what: string) {
    try {
      await env.page.locator(selector).first().waitFor();
    } catch (error) {
      await env.page.screenshot({ path: join(ARTIFACTS, `failure-events-${what}.png`), fullPage: true }).catch(() => undefined);
      const feed = await feedTypes().catch(() => []);
      const list = await env.page.locator('#connections tbody').textContent().catch(() => null);
      const state = await env.page.locator('#activity-state').textContent().catch(() => null);
      throw new Error(`${what}: no ${selector}; feed: ${JSON.stringify(feed)}; feed state: ${state}; list: ${list}`, { cause: error });
    }
  }

  test('connecting shows connection.connected in the feed, then the company name in the list without a refresh', async () => {
    const { apiUrl, finchUrl } = env.stack.stack;
    await env.page.goto(`${apiUrl}/`);
    await env.page.fill('#customer-id', CUSTOMER.id);
    await env.page.fill('#customer-name', CUSTOMER.name);
    await env.page.click('#pick');
    await env.page.locator('#empty').waitFor({ state: 'visible' });
    await env.page.locator('#activity-empty').waitFor({ state: 'visible' });

    await env.page.click('#connect-new');
    await env.page.waitForURL(`${finchUrl}/connect?**`);
    await env.page.click('#connect');
    await env.page.waitForURL(`${apiUrl}/`);

    await waitFor('#activity li[data-type="connection.connected"]', 'connected event');
    // The emulator names the company after the customer_name of the session (its legal_name).
    await waitFor(`#connections tbody tr:has(td:text-is("${CUSTOMER.name}"))`, 'company name');
    await waitFor('#activity li[data-type="connection.company_updated"]', 'company event');
    const types = await feedTypes();
    // Newest first: the enrichment's event after the connection's.
    expect(types.indexOf('connection.company_updated')).toBeLessThan(types.indexOf('connection.connected'));
    const id = await row().getAttribute('data-connection-id');
    await expect(env.page.locator('#activity li[data-type="connection.connected"]').first().getAttribute('data-connection-id')).resolves.toBe(id);
    await expect(env.page.locator('#reconnect').isHidden()).resolves.toBe(true);
    await env.page.screenshot({ path: join(ARTIFACTS, 'demo-events-connected.png'), fullPage: true });
  }, 90_000);

  test('Finch refusing the connection on a proxied call puts a Reconnect prompt on the page, and Reconnect reauthenticates it', async () => {
    const { apiUrl, finchUrl } = env.stack.stack;
    const id = await row().getAttribute('data-connection-id');
    expect(id).toBeTruthy();
    // Finch puts the connection in reauth; the application finds out on its next data call (401 reauthenticate_user).
    expect((await http('POST', `${apiUrl}/_local/emulator/connections/${id}`, { body: { status: 'reauth' } })).status).toBe(200);
    const { token } = (await http('POST', `${apiUrl}/_local/token`, { body: { customer_id: CUSTOMER.id } })).json as { token: string };
    const proxied = await http('GET', `${apiUrl}/finch/employer/company`, { token, headers: { 'finch-connection-id': id! } });
    expect([proxied.status, proxied.json?.error?.code]).toEqual([409, 'reauth_required']);

    // No click on the page: the event arrives through the feed's poll.
    await waitFor(`.reconnect-prompt[data-connection-id="${id}"]`, 'reconnect prompt');
    await waitFor('#activity li[data-type="connection.reauth_required"]', 'reauth_required event');
    await waitFor(`#connections tbody tr.needs-reconnect[data-status="reauth"][data-connection-id="${id}"]`, 'row in reauth');
    // An event that moves no status (Finch's first payroll sync) comes after it: the prompt stays.
    const sync = await http('POST', `${finchUrl}/_emulator/webhooks`, { body: { type: 'job.initial_data_sync_payroll.succeeded', connection_id: id } });
    expect(sync.status).toBe(200);
    await waitFor('#activity li[data-type="connection.initial_sync_completed"]:has-text("payroll")', 'payroll sync event');
    await expect(env.page.locator(`.reconnect-prompt[data-connection-id="${id}"]`).count()).resolves.toBe(1);
    await env.page.screenshot({ path: join(ARTIFACTS, 'demo-events-reconnect.png'), fullPage: true });

    await env.page.locator(`.reconnect-prompt[data-connection-id="${id}"] button.reconnect`).click();
    await env.page.waitForURL(`${finchUrl}/connect?**`);
    await env.page.click('#connect');
    await env.page.waitForURL(`${apiUrl}/`);
    await waitFor('#activity li[data-type="connection.reauthenticated"]', 'reauthenticated event');
    await waitFor(`#connections tbody tr[data-status="connected"][data-connection-id="${id}"]`, 'row connected again');
    await expect(env.page.locator('.reconnect-prompt').count()).resolves.toBe(0);
    await expect(env.page.locator('#connections tbody tr.needs-reconnect').count()).resolves.toBe(0);
  }, 90_000);
});
