import { afterAll, beforeAll, expect, test } from 'vitest';
import { consoleWorld, type ConsoleWorld } from '../helpers/console.ts';
import { launchChromium, newContext, screenshot, scrollsSideways, PHONE, DESKTOP } from '../helpers/browser.ts';

// The console's first walk in Chromium: each level logs in with the link the bot sent, sees its home page and
// queue, and opens a lead. The fuller page-by-page suite is issue 13's remaining work.
let w: ConsoleWorld;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
const now = new Date('2026-12-02T03:00:00Z');
beforeAll(async () => {
  w = await consoleWorld(() => now);
  chrome = await launchChromium();
  for (let i = 0; i < 8; i++) await w.lead({ headName: `李${i}`, risks: i % 2 ? ['illness'] : ['disaster', 'accident'] }, new Date(now.getTime() - i * 3 * 86400000));
  await w.lead({ villageCode: '530925102212', headName: '王大' });
});
afterAll(async () => {
  await chrome?.close();
  await w?.close();
});

test('a county officer and a village cadre log in with the bot\'s link and see only their own place', async () => {
  for (const [who, vp, rows] of [['officer', DESKTOP, 9], ['cadre', PHONE, 8]] as const) {
    const ctx = await newContext(chrome.browser, vp);
    const page = await ctx.newPage();
    const link = await w[who].link();
    await page.goto(link);
    await page.getByRole('button', { name: '进入工作台' }).click();
    await page.waitForURL(/\/console$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('工作台');
    expect(await page.locator('svg.chart').count()).toBe(2);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, `${who}-home`);
    await page.goto(link.replace(/\/login.*/, '/leads'));
    expect(await page.locator('table.queue tbody tr').count()).toBe(rows);
    expect(await page.getByText('王大').count()).toBe(who === 'officer' ? 1 : 0);
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, `${who}-queue`);
    await page.locator('table.queue tbody a').first().click();
    expect(await page.locator('ol.calc').textContent()).toContain('A34');
    await screenshot(page, `${who}-lead`);
    // the link was used: opening it again says so in words
    await page.goto(link);
    await page.getByRole('button', { name: '进入工作台' }).click();
    expect(await page.locator('.notice').textContent()).toContain('已经用过');
    await ctx.close();
  }
});
