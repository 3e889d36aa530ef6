import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Running } from '../../server/main.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { freshDatabase, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { startWithTelegram } from '../helpers/telegram.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { axeProblems, DESKTOP, launchChromium, PHONE, screenshot, scrollsSideways } from '../helpers/browser.ts';

// The web page a village poster's QR code opens (/r), in Debian's Chromium as WeChat's own browser on an Android
// phone shows it: 360×640, WeChat's user agent, Chinese. Whole reports by taps, with JavaScript (htmx swaps the
// page in place) and without (form POST, redirect, GET); the lead that arrives is the one Telegram makes of the same
// answers. One product (with the Telegram channel on a fake Bot API) and one browser for the file.

const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 12; V2148A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5127 MMWEBSDK/20230303 MicroMessenger/8.0.34.2340(0x2800223D) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64';
const GONGNONG = '530925102212'; // 勐库镇 公弄村 of the sample deployment (server/deployments/530925-shuangjiang.yaml)
const POSTER = `/r?v=${GONGNONG}`;

// the words the page must show, from locales (never copied into the test)
type Words = Record<string, unknown>;
const zh = JSON.parse(readFileSync('locales/zh-CN/bot.json', 'utf8')) as Words;
function w(key: string, params: Record<string, unknown> = {}): string {
  const v = key.split('.').reduce<unknown>((o, k) => (o as Words | undefined)?.[k], zh);
  if (typeof v !== 'string') throw new Error(`no words for ${key}`);
  return v.replace(/\{\{(\w+)\}\}/g, (_, p: string) => String(params[p] ?? `{{${p}}}`));
}

let place: TestPlace;
let api: FakeApi;
let app: Running;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
const log = memoryLogger();
let firstReceipt = '';

beforeAll(async () => {
  place = await freshDatabase();
  api = await startFakeBotApi();
  app = await startWithTelegram(place, api, log.logger, () => new Date(), { manual: true });
  chrome = await launchChromium();
  browser = chrome.browser;
});
afterAll(async () => {
  await chrome?.close();
  await app?.stop();
  await api?.close();
  await place?.cleanup();
});

const url = (path: string) => `${app.url}${path}`;

/** WeChat's browser on an Android phone: a fresh cookie jar. */
function wechat(opts: { js?: boolean; viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  return browser.newContext({
    viewport: opts.viewport ?? PHONE,
    userAgent: WECHAT_UA,
    locale: 'zh-CN',
    isMobile: true,
    hasTouch: true,
    javaScriptEnabled: opts.js ?? true,
    extraHTTPHeaders: { 'accept-language': 'zh-CN,zh;q=0.9' },
  });
}

/** What tells one screen from the next: each drawn page carries a new form id (or, for a refusal, other words). */
async function marker(page: Page): Promise<string | null> {
  try {
    return (await page.evaluate(
      "(() => { const u = document.querySelector('main input[name=u]'); return u ? 'u:' + u.value : 't:' + (document.querySelector('main')?.textContent ?? ''); })()",
    )) as string;
  } catch {
    return null; // between two documents (a plain form's POST, redirect, GET)
  }
}
/** Does `act` and waits until the page shows the screen that follows (an htmx swap or a new document). */
async function next(page: Page, act: () => Promise<unknown>): Promise<void> {
  const before = await marker(page);
  await act();
  await expect.poll(() => marker(page), { timeout: 10_000, interval: 40 }).not.toBe(before);
  await expect.poll(() => marker(page), { timeout: 10_000 }).not.toBeNull();
  await page.waitForLoadState('load');
}
const button = (page: Page, label: string) => page.locator('main form.answer button, main form.choices button').filter({ hasText: label });
/** Taps the answer button whose words hold `label` (exactly one must). */
const tap = (page: Page, label: string) => next(page, () => button(page, label).click());
/** Writes in the answer field and taps its button. */
async function type(page: Page, words: string): Promise<void> {
  await page.locator('#answer-text').fill(words);
  await next(page, () => page.locator('main form.answer button.primary').click());
}
/** A script of answers: "=words" is written, anything else tapped. */
async function walk(page: Page, steps: string[]): Promise<void> {
  for (const s of steps) await (s.startsWith('=') ? type(page, s.slice(1)) : tap(page, s));
}
const question = async (page: Page) => ((await page.locator('h1.question').textContent()) ?? '').trim();
const progress = async (page: Page) => ((await page.locator('p.progress').textContent()) ?? '').trim();
const mainText = async (page: Page) => (await page.locator('main').textContent()) ?? '';

/** Every screen visited: no sideways scrolling at its width, and a screenshot for review (test/output/console/web-*.png). */
async function look(page: Page, name: string): Promise<void> {
  expect.soft(await scrollsSideways(page), `${name} scrolls sideways`).toBe(false);
  const widths = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
  expect.soft(widths[0], `${name}: scrollWidth over the viewport`).toBeLessThanOrEqual(widths[1]);
  await screenshot(page, `web-${name}`);
}
async function axe(page: Page, name: string): Promise<void> {
  expect.soft(await axeProblems(page), `axe on ${name}`).toEqual([]);
}

const crypto = () => createCrypto(resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' }).key);
const leadOf = (receiptNo: string) => app.db.prisma.lead.findUniqueOrThrow({ where: { receiptNo }, include: { consent: true, attachments: true } });
const receiptOf = async (page: Page) => ((await page.locator('.receipt-no').textContent()) ?? '').trim();

/** A photo of a roof as a phone's camera gives it: a picture Chromium draws, as PNG. */
async function roofPhoto(): Promise<Buffer> {
  const ctx = await browser.newContext({ viewport: { width: 160, height: 120 } });
  const p = await ctx.newPage();
  await p.setContent('<body style="margin:0;background:#8a6d3b"><div style="height:50px;background:#445"></div></body>');
  const png = await p.screenshot();
  await ctx.close();
  return png;
}

/** From the poster to the story question, as the household itself. */
const TO_STORY = (name: string, phone: string, risk: string) => ['开始申报', '我自己家', `=${name}`, `=${phone}`, '同意，继续', risk, '选好了', '都没有', '选好了'];
const SIGN = (name: string) => ['没问题', '我同意，签名提交', `=${name}`];

describe('the web report page in WeChat on an Android phone', () => {
  test('a whole report by taps from a poster: the wrong phone re-asked in words, ticks in words, the consent in full, a large receipt; the lead has the answers; every screen passes axe', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    // from the poster: the welcome with the village filled in, at the plain address (a reload starts nothing)
    expect(page.url()).toBe(url('/r'));
    expect(await question(page)).toBe(w('welcome.text').split('\n')[0]);
    expect(await mainText(page)).toContain(w('welcome.village_from_link', { village: '勐库镇公弄村' }));
    await look(page, 'welcome');
    await axe(page, 'the welcome');

    await tap(page, '开始申报');
    expect(await progress(page)).toBe('第 1/8 步');
    expect(await question(page)).toBe(w('steps.reporter.prompt'));
    await look(page, 'reporter');
    await tap(page, '我自己家');
    // the village came with the poster: the next question is the head's name (step 3)
    expect(await progress(page)).toBe('第 3/8 步');
    expect(await question(page)).toBe(w('steps.headName.prompt'));
    await look(page, 'head-name');
    await axe(page, 'a text question');
    await type(page, '王芳');
    expect(await question(page)).toBe(w('steps.phone.prompt'));

    // a wrong phone: the engine's words in an alert, the same question, the field empty and ready
    await type(page, '1381234');
    const alert = page.locator('main [role=alert]');
    await expect.poll(() => alert.textContent()).toContain(w('errors.phone_format'));
    expect(await alert.textContent()).toContain(w('engine.example', { example: w('steps.phone.example') }));
    expect(await question(page)).toBe(w('steps.phone.prompt'));
    expect(await progress(page)).toBe('第 4/8 步');
    expect(await page.locator('#answer-text').inputValue()).toBe('');
    expect(await page.locator('#answer-text').getAttribute('type')).toBe('tel');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('answer-text');
    await look(page, 'phone-wrong');
    await axe(page, 'a re-asked question');
    await type(page, '13812345678');
    expect(await question(page)).toContain(w('steps.sensitiveNotice.prompt', { household: w('household.self') }).split('\n')[0]);
    await look(page, 'sensitive-notice');
    await tap(page, '同意，继续');

    // a multi-select: the tick is drawn and said in words (aria-pressed, 已选), not by colour alone
    expect(await question(page)).toContain(w('steps.risks.prompt', { household: w('household.self') }));
    await look(page, 'risks');
    await tap(page, '有人生病');
    const ill = button(page, '有人生病');
    expect(await ill.getAttribute('aria-pressed')).toBe('true');
    expect(await ill.textContent()).toContain(w('web.picked'));
    expect(await ill.locator('.box').textContent()).toBe('✓');
    const others = page.locator('main button.tick[aria-pressed=false]');
    expect(await others.count()).toBe(8);
    expect(await others.filter({ hasText: w('web.picked') }).count()).toBe(0);
    expect(await page.locator('main button[aria-pressed=true]').count()).toBe(1);
    await look(page, 'risks-ticked');
    await axe(page, 'a multi-select question');
    await tap(page, '选好了');
    await tap(page, '都没有');
    expect(await button(page, '都没有').getAttribute('aria-pressed')).toBe('true');
    await tap(page, '选好了');
    expect(await question(page)).toContain(w('steps.whatHappened.prompt_photos').split('\n')[0]);
    expect(await page.locator('input[type=file]').count()).toBe(1);
    await look(page, 'story');
    await type(page, '父亲住院做手术，花了五万多');

    // the summary: everything said before the wrong phone is still there
    expect(await progress(page)).toBe('第 8/8 步');
    expect(await question(page)).toBe(w('engine.summary_hint'));
    const summary = await mainText(page);
    for (const line of ['• 住址：勐库镇 公弄村', '• 户主姓名：王芳', '• 联系电话：13812345678', '• 遇到的困难：有人生病', '• 有没有这些情况：无', '• 发生了什么：父亲住院做手术，花了五万多']) expect(summary).toContain(line);
    await look(page, 'summary');
    await axe(page, 'the summary');

    await tap(page, '没问题');
    // the consent, every line of it, as the locale has it
    const county = app.config.deployment.counties[0]!.name;
    const consent = await mainText(page);
    for (const line of w('consent.v1', { county }).split('\n').filter((l) => l.trim())) expect(consent).toContain(line);
    expect(await question(page)).toBe(w('engine.consent_question'));
    await look(page, 'consent');
    await axe(page, 'the consent');
    await tap(page, '我同意，签名提交');
    expect(await question(page)).toBe(w('engine.signature'));
    expect(await page.locator('label[for=answer-text]').textContent()).toBe(w('web.field_signature'));
    expect(await page.locator('main form.answer button.primary').textContent()).toBe(w('web.sign'));
    await look(page, 'signature');
    await type(page, '王芳');

    // the receipt: its number large, the advice to take a screenshot, a link to the status page
    const receipt = await receiptOf(page);
    expect(receipt).toMatch(/^\d{6}-\d{8}-\d{4}$/);
    const size = (await page.evaluate("parseFloat(getComputedStyle(document.querySelector('.receipt-no')).fontSize)")) as number;
    // (as large as 20 characters on one line of a 360 px phone allow: well above the body's 18 px)
    expect(size).toBeGreaterThanOrEqual(22);
    // and on one line: a number broken at its dashes reads as three numbers
    const lines = (await page.evaluate("(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('.receipt-no')); return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; })()")) as number;
    expect.soft(lines, 'lines the receipt number takes at 360 px').toBe(1);
    expect(await page.locator('.receipt h2').textContent()).toBe(w('web.receipt_title'));
    expect(await page.locator('.receipt .advice').textContent()).toBe(w('web.receipt_screenshot'));
    const link = page.getByRole('link', { name: w('web.receipt_status') });
    expect(await link.getAttribute('href')).toBe(`/r/status?receipt=${receipt}`);
    // the chat's "发 /status" is said as what the page offers
    expect(await mainText(page)).not.toContain('/status');
    await look(page, 'receipt');
    await axe(page, 'the receipt');
    await page.setViewportSize(DESKTOP);
    await look(page, 'desktop-receipt');
    await page.setViewportSize(PHONE);
    firstReceipt = receipt;

    const lead = await leadOf(receipt);
    expect(lead).toMatchObject({ channel: 'web', villageCode: GONGNONG, headName: '王芳', reporterRelation: null, risks: ['illness'], stage: 'received' });
    expect(crypto().decrypt(lead.phoneEnc)).toBe('13812345678');
    expect(lead.answers).toMatchObject({ reporter: 'self', place: { village: GONGNONG }, headName: '王芳', risks: ['illness'], conditions: ['none'], whatHappened: '父亲住院做手术，花了五万多', housingUnsafe: false, waterUnsafe: false });
    expect(lead.consent).toMatchObject({ channel: 'web', textVersion: 'v1', typedName: '王芳', proxyRelation: null });
    expect(lead.consent!.sensitiveNoticeAt).not.toBeNull();
    // the household sees it among its reports, as intake lists them for this browser
    expect((await app.intake.leadsOfReporter('web', lead.reporterId)).map((l) => l.receiptNo)).toEqual([receipt]);
    await ctx.close();
  });

  test('a proxy report for one\'s parents: the relation, the household\'s agreement, both phones, the proxy\'s words and consent; the lead records the relation', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, ['开始申报', '替家里人（比如父母）']);
    expect(await question(page)).toBe(w('steps.relation.prompt'));
    await tap(page, '我是他们的子女');
    expect(await question(page)).toBe(w('steps.householdAgrees.prompt'));
    await look(page, 'proxy-agrees');
    await tap(page, '知道，也同意');
    const parents = w('household.parents');
    expect(await question(page)).toBe(w('steps.headName.prompt_proxy', { household: parents }));
    await type(page, '张老汉');
    expect(await question(page)).toBe(w('steps.phone.prompt_proxy'));
    await type(page, '13700001111');
    expect(await question(page)).toBe(w('steps.householdPhone.prompt', { household: parents }));
    await type(page, '13600002222');
    expect(await question(page)).toContain(w('steps.sensitiveNotice.prompt', { household: parents }).split('\n')[0]);
    await walk(page, ['同意，继续', '缺劳动力', '选好了', '都没有', '选好了', '=父亲 78 岁，常年吃药']);
    const summary = await mainText(page);
    expect(summary).toContain('• 和这户的关系：我是他们的子女');
    expect(summary).toContain('• 您的电话：13700001111');
    expect(summary).toContain(`• ${parents}的电话：13600002222`);
    await look(page, 'proxy-summary');
    // the list of what can be changed names each field in the proxy's words, as the summary does
    await tap(page, '修改');
    const labels = (await page.locator('main form.choices button').allTextContents()).map((t) => t.trim());
    await look(page, 'proxy-edit-pick');
    expect.soft(labels.filter((l) => l.includes('{{')), 'field names with a placeholder left in').toEqual([]);
    expect.soft(labels, 'the household\'s phone by its name').toContain(`${parents}的电话`);
    await tap(page, '回到核对页');
    expect(await progress(page)).toBe('第 8/8 步');
    await tap(page, '没问题');
    const county = app.config.deployment.counties[0]!.name;
    const consent = await mainText(page);
    for (const line of w('consent.v1_proxy', { county, head: '张老汉', relation: w('relation_noun.child') }).split('\n').filter((l) => l.trim())) expect(consent).toContain(line);
    await look(page, 'proxy-consent');
    await tap(page, '我同意，签名提交');
    // the signature is the proxy's own, for the household
    expect(await question(page)).toBe(w('engine.signature_proxy', { household: parents }));
    await look(page, 'proxy-signature');
    await type(page, '张小军');
    const receipt = await receiptOf(page);
    expect(receipt).toMatch(/^\d{6}-\d{8}-\d{4}$/);
    expect(await mainText(page)).toContain('上门时会请户主本人签字同意');
    const lead = await leadOf(receipt);
    expect(lead).toMatchObject({ channel: 'web', reporterRelation: 'family:child', headName: '张老汉', villageCode: GONGNONG, risks: ['no_labour'] });
    expect(lead.consent).toMatchObject({ typedName: '张小军', proxyRelation: 'family:child' });
    expect(crypto().decrypt(lead.phoneEnc)).toBe('13600002222');
    expect(crypto().decrypt(lead.reporterPhoneEnc!)).toBe('13700001111');
    await ctx.close();
  });

  test('返回上一步 goes back to the question before, showing the answer given there', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, ['开始申报', '我自己家', '=李四']);
    expect(await question(page)).toBe(w('steps.phone.prompt'));
    await tap(page, '返回上一步');
    expect(await progress(page)).toBe('第 3/8 步');
    expect(await question(page)).toBe(w('steps.headName.prompt'));
    await look(page, 'back-to-name');
    // the name given is there to see (in the field or on the screen), not a blank as if never answered
    const shownName = (await page.locator('#answer-text').inputValue()) + (await mainText(page));
    expect.soft(shownName, 'the name given before is shown after 返回上一步').toContain('李四');
    await type(page, '李四');
    await walk(page, ['=13955556666', '同意，继续', '有人残疾', '选好了']);
    expect(await question(page)).toContain(w('steps.conditions.prompt', { household: w('household.self') }));
    await tap(page, '返回上一步');
    expect(await question(page)).toContain(w('steps.risks.prompt', { household: w('household.self') }));
    await look(page, 'back-to-risks');
    // the choice made there is still ticked
    expect.soft(await button(page, '有人残疾').getAttribute('aria-pressed'), 'the risk picked before is ticked after 返回上一步').toBe('true');
    // whatever is shown, picking again goes on from there
    if ((await button(page, '有人残疾').getAttribute('aria-pressed')) !== 'true') await tap(page, '有人残疾');
    await tap(page, '选好了');
    expect(await question(page)).toContain(w('steps.conditions.prompt', { household: w('household.self') }));
    await ctx.close();
  });

  test('修改 from the summary: pick a field, change it, back at the summary with the new value', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, [...TO_STORY('钱五', '13944445555', '出了意外事故'), '=摔伤了腿']);
    expect(await mainText(page)).toContain('• 联系电话：13944445555');
    await tap(page, '修改');
    expect(await question(page)).toBe(w('engine.edit_pick'));
    // every field the summary lists can be picked, by its label
    const labels = (await page.locator('main form.choices button').allTextContents()).map((t) => t.trim());
    expect(labels).toEqual(expect.arrayContaining(['申报人', '住址', '户主姓名', '联系电话', '遇到的困难', '有没有这些情况', '发生了什么']));
    expect(labels.filter((l) => l.includes('{{'))).toEqual([]);
    await look(page, 'edit-pick');
    await tap(page, '联系电话');
    expect(await question(page)).toBe(w('steps.phone.prompt'));
    await type(page, '13944446666');
    expect(await progress(page)).toBe('第 8/8 步');
    expect(await question(page)).toBe(w('engine.summary_hint'));
    let summary = await mainText(page);
    expect(summary).toContain('• 联系电话：13944446666');
    expect(summary).not.toContain('13944445555');
    expect(summary).toContain('• 户主姓名：钱五');
    // a multi-select changed the same way
    await tap(page, '修改');
    await tap(page, '遇到的困难');
    expect(await question(page)).toContain(w('steps.risks.prompt', { household: w('household.self') }));
    await tap(page, '遭了自然灾害');
    await tap(page, '选好了');
    // a disaster asks which one, then back to the summary
    expect(await question(page)).toBe(w('steps.disasterType.prompt'));
    await tap(page, '干旱');
    summary = await mainText(page);
    expect(await progress(page)).toBe('第 8/8 步');
    expect(summary).toMatch(/• 遇到的困难：[^\n]*遭了自然灾害/);
    expect(summary).toContain('• 什么灾害：干旱');
    await look(page, 'summary-edited');
    await ctx.close();
  });

  test('leaving mid-report and coming back: the same browser finds its question again; another browser starts fresh', async () => {
    const ctx = await wechat();
    let page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, ['开始申报', '我自己家', '=赵六']);
    expect(await question(page)).toBe(w('steps.phone.prompt'));
    await page.close();
    page = await ctx.newPage();
    await page.goto(url('/r'));
    expect(await progress(page)).toBe('第 4/8 步');
    expect(await question(page)).toBe(w('steps.phone.prompt'));
    await look(page, 'resumed');
    await type(page, '13922223333');
    expect(await question(page)).toContain(w('steps.sensitiveNotice.prompt', { household: w('household.self') }).split('\n')[0]);
    await ctx.close();

    const other = await wechat();
    const fresh = await other.newPage();
    await fresh.goto(url('/r'));
    expect(await question(fresh)).toBe(w('welcome.text').split('\n')[0]);
    expect(await fresh.locator('p.progress').count()).toBe(0);
    expect(await mainText(fresh)).not.toContain('赵六');
    expect(await mainText(fresh)).not.toContain(w('welcome.village_from_link', { village: '勐库镇公弄村' }));
    await other.close();
  });

  test('a photo at the story: sent as soon as it is picked and counted; a text file named .jpg refused in words, the draft kept; the lead lists the photo, kept', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, ['开始申报', '我自己家', '=孙七', '=13911112222', '同意，继续', '遭了自然灾害', '选好了']);
    // a disaster asks which one first
    expect(await question(page)).toBe(w('steps.disasterType.prompt'));
    await tap(page, '洪水、内涝');
    await tap(page, '都没有');
    await tap(page, '选好了');
    expect(await question(page)).toContain(w('steps.whatHappened.prompt_photos').split('\n')[0]);
    const uploads = () => app.db.prisma.webUpload.count();
    const before = await uploads();
    const png = await roofPhoto();
    const sent = page.waitForResponse((r) => new URL(r.url()).pathname === '/r/photo' && r.request().method() === 'POST');
    // web.js sends the form as soon as a file is picked: no tap on the send button
    await next(page, () => page.locator('input[type=file]').setInputFiles({ name: 'IMG_0001.png', mimeType: 'image/png', buffer: png }));
    expect((await sent).status()).toBe(200);
    expect(await mainText(page)).toContain(w('engine.story_media_received', { count: 1 }));
    expect(await uploads()).toBe(before + 1);
    await look(page, 'photo-received');

    // a text file renamed .jpg: refused in words, nothing stored, the draft still there
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/r/photo' && r.request().method() === 'POST');
    await next(page, () => page.locator('input[type=file]').setInputFiles({ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('这不是照片，是一段文字。\n'.repeat(20)) }));
    expect((await refused).status()).toBe(415);
    expect(await page.locator('main [role=alert]').textContent()).toContain(w('web.photo_not_image'));
    expect(await mainText(page)).toContain(w('web.nothing_lost'));
    expect(await uploads()).toBe(before + 1);
    await look(page, 'photo-refused');
    await next(page, () => page.getByRole('link', { name: w('web.back_to_report') }).click());
    expect(await mainText(page)).toContain(w('engine.story_media_received', { count: 1 }));
    expect(await page.locator('input[type=file]').count()).toBe(1);

    await type(page, '房子被水泡了');
    const summary = await mainText(page);
    // what was sent is named as photos: voice notes cannot be sent from the page
    expect(summary).toContain(`• 发生了什么：房子被水泡了${w('summary.and_media_photos', { count: 1 })}`);
    expect(summary).not.toContain('语音');
    expect(summary).toContain('• 户主姓名：孙七');
    await walk(page, SIGN('孙七'));
    const lead = await leadOf(await receiptOf(page));
    expect(lead.attachments).toHaveLength(1);
    const upload = await app.db.prisma.webUpload.findFirstOrThrow({ orderBy: { createdAt: 'desc' } });
    expect(lead.attachments[0]).toMatchObject({ channel: 'web', kind: 'photo', fileId: upload.id });
    // the media keeper takes the photo into the lead: the same bytes, as an image
    await app.media.keepDue(new Date());
    const kept = await app.db.prisma.attachment.findUniqueOrThrow({ where: { id: lead.attachments[0]!.id } });
    expect(kept.mime).toBe('image/png');
    expect(Buffer.from(crypto().decryptBytes(kept.dataEnc!)).equals(png)).toBe(true);
    await ctx.close();
  });

  test('the status page: the receipt and the last 4 digits show the stage in words and nothing personal; a wrong tail is refused in words', async () => {
    expect(firstReceipt, 'the first test files the report looked up here').toMatch(/^\d{6}-\d{8}-\d{4}$/);
    const ctx = await wechat();
    const page = await ctx.newPage();
    // the receipt page's link fills the number in
    await page.goto(url(`/r/status?receipt=${firstReceipt}`));
    expect(await question(page)).toBe(w('web.status_title'));
    expect(await page.getByLabel(w('web.status_receipt_label')).inputValue()).toBe(firstReceipt);
    await look(page, 'status');
    await axe(page, 'the status page');
    await page.getByLabel(w('web.status_tail_label')).fill('5678');
    await next(page, () => page.getByRole('button', { name: w('web.status_check') }).click());
    expect(await page.locator('.stage').textContent()).toBe(w('web.status_stage', { stage: w('stage.received') }));
    const shown = await mainText(page);
    expect(shown).toContain(w('web.status_receipt', { receipt: firstReceipt }));
    for (const personal of ['王芳', '13812345678', '1381234', '有人生病']) expect(shown).not.toContain(personal);
    await look(page, 'status-found');
    await axe(page, 'the status found');
    await page.setViewportSize(DESKTOP);
    await look(page, 'desktop-status-found');
    await page.setViewportSize(PHONE);

    await page.getByLabel(w('web.status_tail_label')).fill('0000');
    await next(page, () => page.getByRole('button', { name: w('web.status_check') }).click());
    expect(await page.locator('main [role=alert]').textContent()).toContain(w('web.status_not_found'));
    expect(await page.locator('.stage').count()).toBe(0);
    await look(page, 'status-not-found');
    await axe(page, 'the status refused');
    await ctx.close();
  });

  test('without JavaScript: every answer a form POST and a redirect, a photo by its send button, through to the receipt', async () => {
    const ctx = await wechat({ js: false });
    const page = await ctx.newPage();
    const redirects: string[] = [];
    page.on('response', (r) => {
      if (r.request().method() === 'POST' && r.status() === 303) redirects.push(new URL(r.url()).pathname);
    });
    let htmxAsked = false;
    page.on('request', (r) => {
      if (r.headers()['hx-request']) htmxAsked = true;
    });
    await page.goto(url(POSTER));
    expect(await question(page)).toBe(w('welcome.text').split('\n')[0]);
    await walk(page, TO_STORY('周八', '13933334444', '出了意外事故'));
    expect(await question(page)).toContain(w('steps.whatHappened.prompt_photos').split('\n')[0]);
    await look(page, 'nojs-story');
    await page.locator('input[type=file]').setInputFiles({ name: 'IMG_0002.png', mimeType: 'image/png', buffer: await roofPhoto() });
    // nothing is sent by picking alone without JavaScript: the send button does it
    await next(page, () => page.getByRole('button', { name: w('web.photo_send') }).click());
    expect(await mainText(page)).toContain(w('engine.story_media_received', { count: 1 }));
    await type(page, '从梯子上摔下来');
    expect(await progress(page)).toBe('第 8/8 步');
    expect(await mainText(page)).toContain('• 户主姓名：周八');
    await look(page, 'nojs-summary');
    await walk(page, SIGN('周八'));
    const receipt = await receiptOf(page);
    expect(receipt).toMatch(/^\d{6}-\d{8}-\d{4}$/);
    await look(page, 'nojs-receipt');
    expect(page.url()).toBe(url('/r'));
    expect(htmxAsked).toBe(false);
    // each of the 13 answers and the photo was a POST answered by a redirect to the page
    expect(redirects.filter((p) => p === '/r').length).toBeGreaterThanOrEqual(13);
    expect(redirects).toContain('/r/photo');
    const lead = await leadOf(receipt);
    expect(lead).toMatchObject({ headName: '周八', risks: ['accident'], channel: 'web' });
    expect(lead.attachments).toHaveLength(1);
    await ctx.close();
  });

  test('large type and large targets: body ≥ 18px, the question ≥ 22px, answer buttons ≥ 60px tall and full width; 大字 makes it bigger; zoom is allowed', async () => {
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    const viewport = (await page.locator('meta[name=viewport]').getAttribute('content')) ?? '';
    expect(viewport).toContain('width=device-width');
    expect(viewport).not.toMatch(/user-scalable\s*=\s*(no|0)/i);
    const maxScale = /maximum-scale\s*=\s*([\d.]+)/i.exec(viewport);
    if (maxScale) expect(Number(maxScale[1])).toBeGreaterThanOrEqual(5);

    const px = (sel: string) => page.evaluate(`parseFloat(getComputedStyle(document.querySelector(${JSON.stringify(sel)})).fontSize)`) as Promise<number>;
    /** The answer buttons shown: each as tall as a thumb and as wide as its form. */
    async function checkButtons(name: string) {
      const sizes = (await page.evaluate(
        "[...document.querySelectorAll('main form button')].filter((b) => b.offsetParent !== null).map((b) => { const r = b.getBoundingClientRect(); const f = b.form.getBoundingClientRect(); return { label: b.textContent.trim(), height: r.height, width: r.width, form: f.width, font: parseFloat(getComputedStyle(b).fontSize) }; })",
      )) as Array<{ label: string; height: number; width: number; form: number; font: number }>;
      expect(sizes.length, name).toBeGreaterThan(0);
      for (const s of sizes) {
        expect.soft(s.height, `${name}: "${s.label}" height`).toBeGreaterThanOrEqual(60);
        expect.soft(Math.abs(s.width - s.form), `${name}: "${s.label}" width ${s.width} of ${s.form}`).toBeLessThanOrEqual(3);
        expect.soft(s.font, `${name}: "${s.label}" font`).toBeGreaterThanOrEqual(18);
      }
    }
    async function checkText(name: string) {
      expect.soft(await px('body'), `${name}: body`).toBeGreaterThanOrEqual(18);
      const paragraphs = (await page.evaluate("[...document.querySelectorAll('main p, main label, main .note')].map((e) => parseFloat(getComputedStyle(e).fontSize))")) as number[];
      for (const f of paragraphs) expect.soft(f, `${name}: a paragraph`).toBeGreaterThanOrEqual(18);
      expect.soft(await px('h1.question'), `${name}: the question`).toBeGreaterThanOrEqual(22);
    }
    await checkText('the welcome');
    await checkButtons('the welcome');
    await tap(page, '开始申报');
    await checkText('a single choice');
    await checkButtons('a single choice');
    await tap(page, '我自己家');
    await checkText('a text question');
    await checkButtons('a text question');
    const field = await page.locator('#answer-text').boundingBox();
    expect(field!.height).toBeGreaterThanOrEqual(60);
    expect(await px('#answer-text')).toBeGreaterThanOrEqual(18);
    await walk(page, ['=吴九', '=13966667777', '同意，继续']);
    await checkText('a multi-select');
    await checkButtons('a multi-select');

    // the 大字 switch: everything larger, said in words and state, and kept for the next screen
    const normal = await px('h1.question');
    const bodyNormal = await px('body');
    const bigSwitch = page.locator('a.bigswitch');
    expect(await bigSwitch.textContent()).toBe(w('web.big_text'));
    expect(await page.evaluate("document.documentElement.classList.contains('big')")).toBe(false);
    await next(page, () => bigSwitch.click());
    expect(await px('h1.question')).toBeGreaterThan(normal);
    expect(await px('body')).toBeGreaterThan(bodyNormal);
    expect(await page.evaluate("document.documentElement.classList.contains('big')")).toBe(true);
    expect(await bigSwitch.textContent()).toBe(w('web.normal_text'));
    // the same question, the answer in progress not lost
    expect(await question(page)).toContain(w('steps.risks.prompt', { household: w('household.self') }));
    await look(page, 'big-risks');
    await checkButtons('a multi-select in 大字');
    await tap(page, '有人生病');
    expect(await px('h1.question')).toBeGreaterThan(normal);
    expect(await button(page, '有人生病').getAttribute('aria-pressed')).toBe('true');
    await look(page, 'big-risks-ticked');
    await next(page, () => bigSwitch.click());
    expect(await px('h1.question')).toBe(normal);
    await ctx.close();

    // at desktop size too: the column stays readable and nothing scrolls sideways
    const desk = await wechat({ viewport: DESKTOP });
    const d = await desk.newPage();
    await d.goto(url(POSTER));
    await look(d, 'desktop-welcome');
    await desk.close();
  });

  test('the lead the web page makes equals the one Telegram makes of the same answers', async () => {
    const script = [...TO_STORY('王建国', '13877778888', '有人生病'), '=母亲中风瘫痪在床', ...SIGN('王建国')];
    const ctx = await wechat();
    const page = await ctx.newPage();
    await page.goto(url(POSTER));
    await walk(page, script);
    const fromWeb = await receiptOf(page);
    await ctx.close();

    // the same poster's link in Telegram (t.me/<bot>?start=v<village>), the same answers
    const person = telegramPerson(url('/telegram/webhook'), api, 6101);
    await person.say(`/start v${GONGNONG}`);
    let last: Awaited<ReturnType<typeof person.say>> | undefined;
    for (const s of script) last = s.startsWith('=') ? await person.say(s.slice(1)) : await person.tap(s);
    const fromTelegram = /回执号：(\d{6}-\d{8}-\d{4})/.exec(last!.texts.join('\n'))?.[1];
    expect(fromTelegram, last!.texts.join(' / ')).toBeDefined();

    const [web, tg] = [await leadOf(fromWeb), await leadOf(fromTelegram!)];
    expect(web.channel).toBe('web');
    expect(tg.channel).toBe('telegram');
    const c = crypto();
    const same = (l: typeof web) => ({
      answers: l.answers,
      risks: l.risks,
      countyCode: l.countyCode,
      townshipCode: l.townshipCode,
      villageCode: l.villageCode,
      headName: l.headName,
      phone: c.decrypt(l.phoneEnc),
      phoneHash: l.phoneHash,
      reporterPhone: l.reporterPhoneEnc ? c.decrypt(l.reporterPhoneEnc) : null,
      reporterRelation: l.reporterRelation,
      category: l.category,
      flags: [...l.flags].sort(),
      greenChannel: l.greenChannel,
      a33: l.a33?.toString() ?? null,
      a34: l.a34?.toString() ?? null,
      a37: l.a37?.toString() ?? null,
      a38: l.a38?.toString() ?? null,
      incomeLine: l.incomeLine?.toString() ?? null,
      incomeLineYear: l.incomeLineYear,
      stage: l.stage,
      reportedOn: l.reportedOn.toISOString().slice(0, 10),
      attachments: l.attachments.length,
      consent: { textVersion: l.consent!.textVersion, textHash: l.consent!.textHash, language: l.consent!.language, typedName: l.consent!.typedName, proxyRelation: l.consent!.proxyRelation, noticeAgreed: l.consent!.sensitiveNoticeAt !== null },
    });
    expect(same(web)).toEqual(same(tg));
    // the two are one household's: each flagged as the other's possible duplicate
    expect(web.flags).toContain('possible_duplicate');
    expect(web.possibleDuplicates).toEqual([tg.id]);
  });
});
