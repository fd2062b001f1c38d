// Refreshes the README's picture of the demo page (local/demo/screenshot.png) against a running
// stack: `npm start` in one terminal, then `tsx scripts/demo-screenshot.ts [--stack .local/stack.json]`.
// Needs chromium (CHROMIUM_PATH, or /usr/bin/chromium). Shows one customer with a connected
// connection and a second entity that Finch put in `reauth`, with the events' activity feed and
// the Reconnect prompt that the reauth_required event raises.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT, stateDirFrom } from '../local/paths.js';

const at = process.argv.indexOf('--stack');
const stackFile = at > 0 ? process.argv[at + 1] : join(stateDirFrom(process.env), 'stack.json');
const { apiUrl, finchUrl } = JSON.parse(readFileSync(stackFile, 'utf8')) as { apiUrl: string; finchUrl: string };
const profile = mkdtempSync(join(tmpdir(), 'demo-screenshot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1100, height: 640 },
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync', '--disable-background-networking'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  const customer = `acme-${Date.now().toString(36).slice(-4)}`;
  await page.goto(`${apiUrl}/`);
  await page.fill('#customer-id', customer);
  await page.fill('#customer-name', 'Acme Inc');
  await page.click('#pick');
  await page.locator('#empty').waitFor();
  const connect = async (start: () => Promise<void>) => {
    await start();
    await page.waitForURL(`${finchUrl}/connect?**`);
    await page.click('#connect');
    await page.waitForURL(`${apiUrl}/`);
  };
  await connect(() => page.click('#connect-new'));
  await page.fill('#entity', 'west');
  await connect(() => page.click('#connect-another'));
  await page.locator('#connections tbody tr').nth(1).waitFor();
  // The newest (west) is listed first: break it in the emulator so the page offers Reauthenticate.
  await page.locator('#connections tbody tr').first().locator('button.break').click();
  await page.locator('#connections tbody tr[data-status="reauth"]').waitFor();
  // The refresh's connection.reauth_required reaches the page's activity feed (a poll every 2 s) and its Reconnect prompt.
  await page.locator('.reconnect-prompt').waitFor();
  // And the enrichment's company names (company_updated) are in the list.
  await page.locator('#activity li[data-type="connection.company_updated"]').nth(1).waitFor();
  const path = join(REPO_ROOT, 'local', 'demo', 'screenshot.png');
  await page.screenshot({ path, fullPage: true });
  console.log(`saved ${path}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
