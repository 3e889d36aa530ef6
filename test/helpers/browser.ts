import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (never a browser download), headless, with a fresh profile. The
 * path can be moved with CHROMIUM_PATH.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  // playwright-core starts Chromium with a fresh temporary --user-data-dir of its own and removes it on close
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

export const PHONE = { width: 360, height: 640 };
export const DESKTOP = { width: 1366, height: 900 };

export async function newContext(browser: Browser, viewport = DESKTOP, locale = 'zh-CN'): Promise<BrowserContext> {
  return browser.newContext({ viewport, locale, acceptDownloads: true, extraHTTPHeaders: { 'accept-language': locale } });
}

/** Screenshots for review, under test/output/ (not in git). */
export const SCREENSHOTS = resolve('test/output/console');
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core run inside the page: the violations of impact serious or critical, with where they are. */
export async function axeProblems(page: Page): Promise<string[]> {
  // evaluated through the DevTools protocol: the page's content-security policy (no inline script) stays as it is
  await page.evaluate(axeSource);
  // expressions as strings: this file is type-checked without the DOM library
  const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Whether the page scrolls sideways at its viewport. */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return (await page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 1')) as boolean;
}
