// Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, never a downloaded browser. Pages are
// screenshotted at phone and desktop sizes into test-results/screenshots/ (git-ignored) for people to look at.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

export const chromiumMissing = (): string | false =>
  existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium; .ci/run does it)`;

export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A fresh browser profile (no cookies) at phone size; the app's redirect URI answers with a small page. */
export async function newPhoneContext(browser: Browser, redirectUri: string): Promise<{ context: BrowserContext; page: Page; callbacks: URL[] }> {
  const context = await browser.newContext({ viewport: PHONE });
  const callbacks: URL[] = [];
  await context.route(`${redirectUri}**`, async (route) => {
    callbacks.push(new URL(route.request().url()));
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><p>Back in the app</p>' });
  });
  const page = await context.newPage();
  return { context, page, callbacks };
}

/** Saves the page at phone and desktop widths as <name>-phone.png and <name>-desktop.png. SCREENSHOTS=off skips it:
 *  .ci/run's PostgreSQL pass would only save the same pages again under the same names. */
export async function screenshots(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS === 'off') return;
  mkdirSync(SHOTS, { recursive: true });
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  if (size) await page.setViewportSize(size);
}
