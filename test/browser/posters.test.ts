import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { loadDeployment } from '../../server/deployment.ts';
import { selfContainedCsp } from '../../server/console/routes.ts';
import { kfVillageLink, postersHtml, villageLink } from '../../bot/channels/web/posters.ts';
import { axeProblems, DESKTOP, launchChromium, newContext, PHONE, scrollsSideways } from '../helpers/browser.ts';
import { readPdf } from '../helpers/pdf.ts';

// The village posters as a township prints them: the HTML opened in Debian's Chromium under the policy the console
// serves it with, printed to PDF (what the browser's print makes) and read back with pdf.js: one A4 page per
// village, in order, nothing cut off; and every QR code, photographed from the page and decoded, is the address it
// must be. One browser for the file.
const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
const MENGKU = deployment.counties[0]!.townships.find((t) => t.code === '530925102')!; // 勐库镇
const BASE = 'https://fanpin.example.gov.cn';
const KF = 'https://work.weixin.qq.com/kfid/kfc0123456789abcdef?enc_scene=ENC9XkZP2Wn8aQ';
const OUT = resolve('test/output/posters');
// jsqr is a CommonJS bundle: Node's default import is its module.exports, whose `default` is the decoder too
const jsQR = jsQRModule.default;
let chrome: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  chrome = await launchChromium();
});
afterAll(async () => {
  await chrome?.close();
});

/** The document served as the console serves it (its own policy), in a fresh page; refused inline code fails the test. */
async function open(html: string, viewport = DESKTOP): Promise<{ page: Page; blocked: string[]; close(): Promise<void> }> {
  const ctx = await newContext(chrome.browser, viewport);
  const page = await ctx.newPage();
  const blocked: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
  });
  await page.route('http://posters.test/', (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', headers: { 'content-security-policy': selfContainedCsp(html) }, body: html }));
  await page.goto('http://posters.test/');
  return { page, blocked, close: () => ctx.close() };
}

/** The QR code an element shows, photographed and decoded. */
async function decode(page: Page, selector: string): Promise<string | undefined> {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data;
}

/** Whether anything of a sheet is cut off when printed (its content taller than the page's). */
async function cutOff(page: Page): Promise<string[]> {
  await page.emulateMedia({ media: 'print' });
  const over = (await page.evaluate(
    "[...document.querySelectorAll('section.poster')].filter((s) => s.scrollHeight > s.clientHeight + 1 || s.scrollWidth > s.clientWidth + 1).map((s) => s.id)",
  )) as string[];
  // back to no emulation (an emulated 'screen' would make page.pdf() print the screen's layout)
  await page.emulateMedia({ media: null });
  return over;
}

describe('the village posters in Chromium', () => {
  test('勐库镇 with the 微信客服 link: one A4 page per village, in order, and both QR codes of each decode to its addresses', async () => {
    const html = await postersHtml({ deployment, township: MENGKU.code, baseUrl: BASE, kfLink: KF });
    const { page, blocked, close } = await open(html);
    // the page's own style and script ran under the console's policy
    expect(blocked).toEqual([]);
    expect(await page.evaluate("getComputedStyle(document.querySelector('section.poster')).display")).toBe('flex');
    expect(await cutOff(page)).toEqual([]);

    const pdf = await readPdf(await page.pdf({ preferCSSPageSize: true }));
    expect(pdf.pages).toHaveLength(MENGKU.villages.length);
    for (const [i, p] of pdf.pages.entries()) {
      expect(Math.abs(p.size.width - 595), `page ${i + 1} width`).toBeLessThanOrEqual(1);
      expect(Math.abs(p.size.height - 842), `page ${i + 1} height`).toBeLessThanOrEqual(1);
      expect(p.text, `page ${i + 1}`).toContain(MENGKU.villages[i]!.name);
    }

    for (const v of MENGKU.villages) {
      expect(await decode(page, `#v${v.code} .qr.web .code`), v.name).toBe(villageLink(BASE, v.code));
      expect(await decode(page, `#v${v.code} .qr.kf .code`), v.name).toBe(`${KF}&scene_param=v${v.code}`);
      expect(kfVillageLink(KF, v.code)).toBe(`${KF}&scene_param=v${v.code}`);
    }
    // printed 8 to 10 cm wide (a CSS millimetre is 96/25.4 pixels)
    const mm = ((await page.locator('.qr.kf .code').first().boundingBox())!.width * 25.4) / 96;
    expect(mm).toBeGreaterThanOrEqual(80);
    expect(mm).toBeLessThanOrEqual(100);
    expect(await axeProblems(page)).toEqual([]);
    mkdirSync(OUT, { recursive: true });
    await page.locator('section.poster').first().screenshot({ path: join(OUT, 'mengku-first-sheet.png') });
    await close();
  });

  test('without the 微信客服 link: one QR code a sheet, 8–10 cm wide; in English nothing is cut off; a phone does not scroll sideways', async () => {
    const village = MENGKU.villages.find((v) => v.code === '530925102208')!; // 冰岛村
    const html = await postersHtml({ deployment, township: MENGKU.code, villages: [village.code], baseUrl: BASE });
    const { page, close } = await open(html);
    expect(await page.locator('.qr').count()).toBe(1);
    expect(await decode(page, '.qr.web .code')).toBe(`${BASE}/r?v=${village.code}`);
    const mm = ((await page.locator('.qr.web .code').boundingBox())!.width * 25.4) / 96;
    expect(mm).toBeGreaterThanOrEqual(80);
    expect(mm).toBeLessThanOrEqual(100);
    const pdf = await readPdf(await page.pdf({ preferCSSPageSize: true }));
    expect(pdf.pages.map((p) => [p.size.width, p.size.height])).toEqual([[595, 842]]);
    await close();

    // English runs longest: two sheets, each still whole on its page
    const en = await open(await postersHtml({ deployment, township: MENGKU.code, villages: [village.code, '530925102212'], baseUrl: BASE, kfLink: KF, language: 'en' }));
    expect(await cutOff(en.page)).toEqual([]);
    expect((await readPdf(await en.page.pdf({ preferCSSPageSize: true }))).pages).toHaveLength(2);
    await en.close();

    const phone = await open(html, PHONE);
    expect(await scrollsSideways(phone.page)).toBe(false);
    expect(await decode(phone.page, '.qr.web .code')).toBe(`${BASE}/r?v=${village.code}`);
    await phone.close();
  });
});
