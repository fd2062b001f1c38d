// Headless Chromium for the browser tests (playwright-core + Debian's chromium). Without chromium a
// suite is skipped with the reason and the install command, unless REQUIRE_BROWSER=1 (CI), where a
// missing browser fails it.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { REPO_ROOT, type StackProcess, killStack, startStackProcess } from './stack-process.js';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const executablePath = CANDIDATES.find((path): path is string => Boolean(path && existsSync(path)));
const required = process.env.REQUIRE_BROWSER === '1';
const INSTALL_HINT = 'install it with `sudo apt-get install -y chromium` (Debian/Ubuntu) or point CHROMIUM_PATH at a Chrome/Chromium binary';

export const ARTIFACTS = join(REPO_ROOT, 'test', 'e2e', 'artifacts');

/** `describe` where a browser runs (or must: CI), else `describe.skip` after saying why. */
export function browserSuite(file: string): jest.Describe {
  if (!executablePath && !required) console.warn(`${file} skipped: no chromium found (${CANDIDATES.filter(Boolean).join(', ')}); ${INSTALL_HINT}`);
  return executablePath || required ? describe : describe.skip;
}

export interface Browser { context: BrowserContext; page: Page; close(): Promise<void> }

/** One headless page in a throwaway profile. */
export async function launchBrowser(): Promise<Browser> {
  if (!executablePath) throw new Error(`REQUIRE_BROWSER=1 but no chromium was found; ${INSTALL_HINT}`);
  const profile = mkdtempSync(join(tmpdir(), 'finch-connections-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(30_000);
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a browser suite runs against: `npm start`'s stack, and a page of one headless browser. */
export interface StackAndBrowser { stack: StackProcess; browser: Browser; page: Page }

/**
 * Registers a suite's hooks: the local stack and a browser started before its tests (the artifacts
 * folder made for screenshots), both stopped after them. The fields are set once `beforeAll` ran.
 */
export function withStackAndBrowser(): StackAndBrowser {
  const started = {} as StackAndBrowser;
  beforeAll(async () => {
    started.stack = await startStackProcess();
    started.browser = await launchBrowser();
    started.page = started.browser.page;
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await started.browser?.close();
    await started.stack?.stop();
    killStack(started.stack);
  }, 90_000);
  return started;
}
