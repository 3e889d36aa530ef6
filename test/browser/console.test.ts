import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consoleWorld, PLACES, type ConsoleWorld } from '../helpers/console.ts';
import { axeProblems, DESKTOP, launchChromium, newContext, PHONE, screenshot, scrollsSideways } from '../helpers/browser.ts';

// The county console page by page, in Debian's Chromium: each level logs in with the link the bot sent and works
// its queue. One product and one browser for the file; the clock is the product's, moved by the tests.
const DAY = 86_400_000;
let now = new Date('2026-12-02T03:00:00Z'); // 11:00 in Yunnan
let w: ConsoleWorld;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
const tmp = mkdtempSync(join(tmpdir(), 'console-'));
type Lead = { id: string; receiptNo: string };
let old: Lead, fresh: Lead, other: Lead, far: Lead, withMedia: Lead;
const trio: Lead[] = [];
type Who = 'officer' | 'reviewer' | 'cadre' | 'otherCadre';

/** Asks the bot for a link as this person, opens it and presses the one button. A few minutes pass first. */
async function login(who: Who, viewport = DESKTOP, locale = 'zh-CN') {
  now = new Date(now.getTime() + 150_000);
  const ctx = await newContext(chrome.browser, viewport, locale);
  const page = await ctx.newPage();
  const link = await w[who].link();
  await page.goto(link);
  await page.getByRole('button', { name: locale === 'en' ? 'Enter the console' : '进入工作台' }).click();
  await page.waitForURL(/\/console$/);
  return { ctx, page, link };
}
const url = (path: string) => `${w.app.baseUrl}/console${path}`; // the address the links are built on
const rows = (page: Page) => page.locator('table.queue tbody tr');
const countText = (page: Page) => page.locator('#results p.count').textContent();

/** A photo of a roof, as a phone would send it: a picture Chromium draws, as PNG. */
async function photo(): Promise<Buffer> {
  const ctx = await newContext(chrome.browser, { width: 320, height: 200 });
  const page = await ctx.newPage();
  await page.setContent('<body style="margin:0;background:#8a6d3b"><div style="height:80px;background:#445"></div></body>');
  const png = await page.screenshot();
  await ctx.close();
  return png;
}
/** One second of a 440 Hz tone, 8 kHz 16-bit mono WAV (what a WeChat voice note becomes). */
function wavSecond(): Buffer {
  const n = 8000;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0, 'ascii'); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24); b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36, 'ascii'); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / 8000) * 8000), 44 + i * 2);
  return b;
}

beforeAll(async () => {
  w = await consoleWorld(() => now);
  chrome = await launchChromium();
  old = await w.lead({ headName: '张老汉', risks: ['illness'] }, new Date(now.getTime() - 20 * DAY));
  fresh = await w.lead({ headName: '刘大妈', risks: ['disaster'] }, new Date(now.getTime() - DAY));
  for (const name of ['陈一', '陈二', '陈三']) {
    const l = await w.lead({ headName: name, risks: ['accident'] }, new Date(now.getTime() - 6 * DAY));
    const v = await w.app.intake.moveAs(w.cadre.actor, l.id, { to: 'visited', judgement: 'fits' }, new Date(now.getTime() - 5 * DAY));
    const c = await w.app.intake.moveAs(w.officer.actor, l.id, { to: 'compared' }, new Date(now.getTime() - 4 * DAY));
    if (!v.ok || !c.ok) throw new Error('could not bring the lead to 数据比对');
    trio.push(l);
  }
  other = await w.lead({ villageCode: PLACES.gongnong, headName: '王大' }, new Date(now.getTime() - 2 * DAY));
  // a report with a photo, a voice note and a photo the platform no longer has; kept by the fetch worker's round
  w.api.putFile('roof', await photo(), 'photos/roof.jpg');
  w.api.putFile('voice', wavSecond(), 'voice/file_7.oga');
  withMedia = await w.lead({ headName: '赵奶奶', idNumber: '53092519900101123X', phone: '13987654321', attachments: [{ kind: 'photo', fileId: 'roof' }, { kind: 'voice', fileId: 'voice' }, { kind: 'photo', fileId: 'lost' }] }, new Date(now.getTime() - DAY));
  await w.app.media.keepDue(now);
  far = await w.lead({ villageCode: PLACES.mengmeng, headName: '岩保' }, new Date(now.getTime() - 3 * DAY));
});
afterAll(async () => {
  await chrome?.close();
  await w?.close();
});

describe('the county console in Chromium', () => {
  test('log-in by the bot\'s link: a good one opens the reviewer\'s home; a used one and an expired one say so in words', async () => {
    const { ctx, page, link } = await login('reviewer');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('工作台');
    expect(await page.locator('svg.chart').count()).toBe(2);
    // a township sees a table per village of its own township, not another township's villages
    const table = await page.locator('table').filter({ hasText: '冰岛村' }).first().textContent();
    expect(table).toContain('公弄村');
    expect(await page.getByText('勐勐').count()).toBe(0);
    const cookies = await ctx.cookies();
    const c = cookies.find((x) => x.name === 'fp_console');
    expect(c?.httpOnly).toBe(true);
    expect(c?.sameSite).toBe('Lax');
    await ctx.close();

    const again = await newContext(chrome.browser);
    const p2 = await again.newPage();
    await p2.goto(link);
    await p2.getByRole('button', { name: '进入工作台' }).click();
    expect(await p2.locator('.notice').textContent()).toContain('这个登录链接已经用过了');
    // the log-in page never asks for a password
    expect(await p2.locator('input[type=password]').count()).toBe(0);

    const late = await w.cadre.link();
    now = new Date(now.getTime() + 11 * 60_000);
    await p2.goto(late);
    await p2.getByRole('button', { name: '进入工作台' }).click();
    expect(await p2.locator('.notice').textContent()).toContain('已经过期（有效 10 分钟）');
    expect(p2.url()).not.toMatch(/\/console$/);
    await again.close();
  });

  test('the queue: search by name and by receipt number, filters, and the overdue lead marked in words', async () => {
    const { ctx, page } = await login('officer');
    await page.goto(url('/leads'));
    expect(await countText(page)).toContain('找到 8 条');
    // sorted by the next deadline: the report received 20 days ago is first, past its 15 days to identify
    const first = rows(page).first();
    expect(await first.textContent()).toContain('张老汉');
    expect(await first.getAttribute('class')).toContain('overdue');
    expect(await first.locator('td').last().textContent()).toMatch(/^⚠ 已超期 \d+ 天$/);
    expect(await rows(page).filter({ hasText: '刘大妈' }).locator('td').last().textContent()).toMatch(/^还剩 \d+ 天$/);

    await page.getByLabel('找回执号或户主姓名').fill('张老汉');
    await page.getByLabel('找回执号或户主姓名').press('Enter');
    await expect.poll(() => countText(page)).toContain('找到 1 条');
    expect(await rows(page).first().textContent()).toContain('张老汉');
    expect(page.url()).toContain('q=');

    await page.getByLabel('找回执号或户主姓名').fill(fresh.receiptNo);
    await page.getByLabel('找回执号或户主姓名').press('Enter');
    // the count was 1 before too: wait for the row itself to change
    await expect.poll(() => rows(page).first().textContent()).toContain('刘大妈');
    expect(await countText(page)).toContain('找到 1 条');

    await page.getByRole('link', { name: '清除条件' }).click();
    await expect.poll(() => countText(page)).toContain('找到 8 条');
    await page.getByLabel('环节').selectOption('compared');
    await expect.poll(() => countText(page)).toContain('找到 3 条');
    expect((await rows(page).allTextContents()).every((t) => t.includes('陈'))).toBe(true);

    await page.goto(url('/leads'));
    await page.getByLabel('困难类型').selectOption('disaster');
    await expect.poll(() => countText(page)).toContain('找到 1 条');
    expect(await rows(page).first().textContent()).toContain('刘大妈');

    await page.goto(url('/leads'));
    await page.getByLabel('乡镇').selectOption(PLACES.township);
    await expect.poll(() => countText(page)).toContain('找到 7 条');
    expect(await page.getByText('岩保').count()).toBe(0);
    await page.getByLabel('只看已超期').check();
    await expect.poll(() => countText(page)).toContain('找到 1 条');
    expect(await rows(page).first().textContent()).toContain('张老汉');

    // received dates: only the last two days
    await page.goto(url(`/leads?from=${new Date(now.getTime() - 2 * DAY).toISOString().slice(0, 10)}`));
    expect((await rows(page).allTextContents()).map((t) => (/刘大妈|王大|赵奶奶/.exec(t) ?? ['?'])[0]).sort()).toEqual(['刘大妈', '王大', '赵奶奶']);
    // a filter that makes no sense is said to be ignored, not an error page
    await page.goto(url('/leads?from=前年&stage=whatever'));
    expect(await page.getByRole('alert').textContent()).toContain('有的筛选条件不对，已忽略');
    expect(await countText(page)).toContain('找到 8 条');
    await ctx.close();
  });

  test('a move made through its form, and a refused one explained with what was typed kept', async () => {
    const { ctx, page } = await login('cadre', PHONE);
    await page.goto(url(`/leads/${fresh.id}`));
    const visit = page.locator('form.move').filter({ has: page.getByRole('heading', { name: '登记入户核查' }) });
    await visit.getByLabel('符合，继续识别').check();
    await visit.getByLabel('备注（可不填）').fill('房子漏雨，已拍照');
    await visit.getByRole('button', { name: '登记入户核查' }).click();
    expect(await page.locator('p.notice').textContent()).toBe('✓ 已办理：登记入户核查。');
    expect(await page.locator('dl.facts').textContent()).toContain('入户核查');
    expect(await page.locator('ol.timeline').textContent()).toMatch(/冰岛村李书记（村干部）.*房子漏雨，已拍照/s);
    // a village cadre does not compare data: that move is not offered
    expect(await page.getByRole('button', { name: '数据比对完成' }).count()).toBe(0);

    await page.goto(url(`/leads/${old.id}`));
    const form = page.locator('form.move').filter({ has: page.getByRole('heading', { name: '登记入户核查' }) });
    await form.getByLabel('不符合', { exact: true }).check();
    await form.getByLabel('备注（可不填）').fill('老人不在家，问了邻居');
    await form.getByRole('button', { name: '登记入户核查' }).click();
    expect(await page.locator('p.notice').textContent()).toBe('✗ 请写明原因。');
    const again = page.locator('form.move').filter({ has: page.getByRole('heading', { name: '登记入户核查' }) });
    expect(await again.getByLabel('备注（可不填）').inputValue()).toBe('老人不在家，问了邻居');
    expect(await again.getByLabel('不符合', { exact: true }).isChecked()).toBe(true);
    expect(await page.locator('dl.facts').textContent()).toContain('已接收');
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'cadre-phone-refused');
    await ctx.close();
  });

  test('the photo shows and the voice note plays in the lead page; a file the platform lost is said so in words', async () => {
    const { ctx, page } = await login('cadre', PHONE);
    await page.goto(url(`/leads/${withMedia.id}`));
    const img = page.locator('ul.media img');
    // functions with their own types: this file is type-checked without the DOM library
    type Img = { complete: boolean; naturalWidth: number };
    await img.scrollIntoViewIfNeeded(); // loaded lazily: a phone fetches it when it is scrolled to
    await expect.poll(() => img.evaluate((el) => (el as unknown as Img).complete && (el as unknown as Img).naturalWidth)).toBe(320);
    expect(await img.getAttribute('alt')).toBe('农户发来的第 1 张照片');
    type Audio = { duration: number; error: { code: number } | null; load(): void; addEventListener(type: string, f: () => void): void };
    const duration = await page.locator('ul.media audio').evaluate(
      (el) =>
        new Promise<number>((ok, fail) => {
          const a = el as unknown as Audio;
          a.addEventListener('loadedmetadata', () => ok(a.duration));
          a.addEventListener('error', () => fail(new Error(`audio error ${a.error?.code}`)));
          a.load();
        }),
    );
    expect(duration).toBeCloseTo(1, 1);
    expect(await page.locator('ul.media li').nth(2).textContent()).toBe('第 3 个附件没能保存下来：聊天平台上已经过期或找不到了。请上门时当面看。');
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'cadre-phone-lead-media');
    // the cadre who visits sees the phone; the ID number only masked (the county sees it whole)
    const form = (label: string) => page.locator('table.form tr').filter({ has: page.getByRole('rowheader', { name: label }) }).locator('td').textContent();
    expect(await form('联系电话')).toBe('13987654321');
    expect(await form('A7居民身份证(残疾人证)号码')).toBe('530925********123X');
    // another village's cadre cannot fetch the file by its address
    const photoUrl = await img.getAttribute('src');
    await ctx.close();
    const officer = await login('officer');
    await officer.page.goto(url(`/leads/${withMedia.id}`));
    const row = (label: string) => officer.page.locator('table.form tr').filter({ has: officer.page.getByRole('rowheader', { name: label }) }).locator('td').textContent();
    expect(await row('A7居民身份证(残疾人证)号码')).toBe('53092519900101123X');
    expect(await row('联系电话')).toBe('139****4321（完整号码只给上门的村里人看，与机器人里一样）');
    expect(await officer.page.locator('main').textContent()).not.toContain('13987654321');
    await officer.ctx.close();
    const o = await login('otherCadre');
    const res = await o.page.goto(`${w.app.baseUrl}${photoUrl}`);
    expect(res?.status()).toBe(404);
    await o.ctx.close();
  });

  test('bulk: publicity started for three leads of one village with one pair of dates; mixing villages is refused', async () => {
    const { ctx, page } = await login('cadre');
    await page.goto(url('/leads?stage=compared'));
    expect(await rows(page).count()).toBe(3);
    for (const l of trio) await page.getByLabel(`选择 ${l.receiptNo}`).check();
    await page.getByRole('button', { name: '一起开始公示' }).click();
    // the queue has a status line of its own: wait for the results page
    await expect.poll(() => page.getByRole('status').textContent()).toContain('办好 3 条，共 3 条');
    expect(await page.locator('td.ok').count()).toBe(3);
    await page.goto(url('/leads?stage=publicized'));
    expect(await rows(page).count()).toBe(3);
    await screenshot(page, 'cadre-desktop-publicized');
    await ctx.close();

    const o = await login('officer');
    await o.page.goto(url('/leads'));
    await o.page.getByLabel(`选择 ${fresh.receiptNo}`).check();
    await o.page.getByLabel(`选择 ${other.receiptNo}`).check();
    await o.page.getByRole('button', { name: '一起开始公示' }).click();
    expect(await o.page.locator('main').textContent()).toContain('一起公示只能选同一个村的线索');
    await o.ctx.close();
  });

  test('exports: the filtered list as Excel and a selection as CSV are downloaded and opened', async () => {
    const { ctx, page } = await login('officer');
    await page.goto(url(`/leads?township=${PLACES.township}`));
    const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '导出这些（Excel）' }).click()]);
    const file = join(tmp, xlsx.suggestedFilename());
    await xlsx.saveAs(file);
    expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(file);
    const cells: string[] = [];
    book.worksheets[0]!.eachRow((r) => cells.push(JSON.stringify(r.values)));
    const text = cells.join('\n');
    for (const name of ['张老汉', '刘大妈', '陈一', '陈二', '陈三', '王大']) expect(text).toContain(name);
    expect(text).not.toContain('岩保');

    await page.getByLabel(`选择 ${old.receiptNo}`).check();
    await page.getByLabel(`选择 ${other.receiptNo}`).check();
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出选中的（CSV）' }).click()]);
    const csvFile = join(tmp, 'chosen.csv');
    await csv.saveAs(csvFile);
    const body = readFileSync(csvFile, 'utf8');
    expect(body).toContain('张老汉');
    expect(body).toContain('王大');
    expect(body).not.toContain('刘大妈');
    await ctx.close();
  });

  test('a village cadre sees only the own village: another village\'s lead by URL, by form and by filter is not there', async () => {
    const { ctx, page } = await login('cadre');
    const res = await page.goto(url(`/leads/${other.id}`));
    expect(res?.status()).toBe(404);
    expect(await page.locator('main').textContent()).toContain('没有这条线索，或不在您负责的范围内');
    expect(await page.getByText('王大').count()).toBe(0);
    const csrf = await page.locator('input[name=_csrf]').first().inputValue();
    const post = await ctx.request.post(url(`/leads/${other.id}`), { form: { _csrf: csrf, to: 'withdrawn' }, maxRedirects: 0 });
    expect(post.status()).toBe(404);
    await page.goto(url(`/leads?village=${PLACES.gongnong}`));
    expect(await page.getByText('王大').count()).toBe(0);
    const staffPage = await page.goto(url('/staff'));
    expect(staffPage?.status()).toBe(403);
    expect(await page.locator('main').textContent()).toContain('只对县级工作人员开放');
    // a POST without the page's token is refused and changes nothing
    const forged = await ctx.request.post(url(`/leads/${fresh.id}`), { form: { _csrf: 'x', to: 'withdrawn' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await w.app.intake.leadWithClocks(fresh.id, now))?.lead.stage).toBe('visited');
    await ctx.close();
  });

  test('the county\'s staff page: an invite shown once, a member removed (and logged out); the access log says through what', async () => {
    const { ctx, page } = await login('officer');
    await page.goto(url('/staff'));
    await page.getByLabel('角色').selectOption('contact_person');
    await page.getByLabel('地方').selectOption(PLACES.bingdao);
    await page.getByLabel('姓名').fill('新联系人孙');
    await page.getByRole('button', { name: '生成邀请码' }).click();
    const code = (await page.locator('p.code').textContent())!.trim();
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(await page.locator('main').textContent()).toContain(`/join ${code}`);
    await page.goto(url('/staff'));
    expect(await page.getByText(code).count()).toBe(0);

    // the other village's cadre is logged in; removing them ends that session
    const gone = await login('otherCadre');
    page.on('dialog', (d) => void d.accept());
    const row = page.locator('tr').filter({ hasText: '公弄村王主任' });
    await row.getByRole('button', { name: '移除' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('已移除 公弄村王主任');
    await gone.page.goto(url('/leads'));
    expect(gone.page.url()).toContain('/console/login');
    await gone.ctx.close();

    // a message the cadre never got and a lead the county system never took: each sent again with one button
    const db = w.app.db.prisma;
    const msg = await db.outbox.create({ data: { kind: 'staff', lane: 'telegram', thread: '1', key: 'test-dead-1', staffId: w.cadre.id, payload: Buffer.from('x'), state: 'dead', attempts: 12, nextAttemptAt: now, createdAt: now, lastError: '403 Forbidden' } });
    const fwd = await db.outbox.create({ data: { kind: 'county', lane: 'county', thread: old.id, leadId: old.id, key: 'test-dead-fwd', event: 'lead.received', payload: Buffer.from('{}'), state: 'dead', attempts: 12, createdAt: now } });
    await page.goto(url('/staff'));
    expect(await page.getByRole('heading', { name: '没送到的消息（1 条）' }).count()).toBe(1);
    await page.locator('li').filter({ hasText: '冰岛村李书记' }).getByRole('button', { name: '重新发送' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('已安排重新发送');
    expect((await db.outbox.findUniqueOrThrow({ where: { id: msg.id } })).state).toBe('pending');
    await page.locator('li').filter({ hasText: 'lead.received' }).getByRole('button', { name: '重新发送' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('已安排重新发送');
    expect((await db.outbox.findUniqueOrThrow({ where: { id: fwd.id } })).state).toBe('pending');
    // the same button again: it is on its way already
    const again = await ctx.request.post(url(`/staff/deliveries/${msg.id}/retry`), { form: { _csrf: await page.locator('input[name=_csrf]').first().inputValue() } });
    expect(again.status()).toBe(409);

    await page.goto(url('/access'));
    const log = await page.locator('table').textContent();
    expect(log).toContain('网页工作台');
    expect(log).toContain('县干部周');
    expect(log).toContain('冰岛村李书记');
    await ctx.close();
  });

  test('every page, on a 360 px phone and a desktop: no sideways scrolling, no serious accessibility problem; screenshots kept', async () => {
    for (const [who, pages] of [
      ['officer', ['', '/leads', `/leads/${old.id}`, '/blank', '/staff', '/access']],
      ['cadre', ['', '/leads', `/leads/${trio[0]!.id}`, '/blank']],
    ] as const) {
      for (const [size, vp] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
        const { ctx, page } = await login(who, vp);
        for (const p of pages) {
          await page.goto(url(p));
          const name = `${who}-${size}-${p.replace(/^\//, '').replace(/\/.*/, '-lead') || 'home'}`;
          await screenshot(page, name);
          expect(await scrollsSideways(page), name).toBe(false);
          expect(await axeProblems(page), name).toEqual([]);
          const base = (await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")) as number;
          expect(base, name).toBeGreaterThanOrEqual(size === 'phone' ? 18 : 16);
        }
        await ctx.close();
      }
    }
    const ctx = await newContext(chrome.browser, PHONE);
    const page = await ctx.newPage();
    await page.goto(url('/login'));
    expect(await axeProblems(page)).toEqual([]);
    expect(await scrollsSideways(page)).toBe(false);
    expect(await page.locator('main').textContent()).toContain('发送 /web');
    await screenshot(page, 'login-phone');
    await ctx.close();
  });

  test('the English page: an English browser gets it from the log-in on, and a Chinese one switches with one button', async () => {
    const en = await login('reviewer', DESKTOP, 'en');
    expect(await en.page.locator('html').getAttribute('lang')).toBe('en');
    expect(await en.page.getByRole('heading', { level: 1 }).textContent()).toBe('Home');
    await en.page.goto(url('/leads'));
    expect(await en.page.locator('main').textContent()).not.toMatch(/找到|环节|筛选|户主|清除条件/);
    expect(await axeProblems(en.page)).toEqual([]);
    await screenshot(en.page, 'reviewer-desktop-queue-en');
    await en.ctx.close();

    const zh = await login('cadre', PHONE);
    await zh.page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => zh.page.getByRole('heading', { level: 1 }).textContent()).toBe('Home');
    await zh.page.goto(url('/leads'));
    expect(await zh.page.locator('html').getAttribute('lang')).toBe('en');
    await zh.page.getByRole('button', { name: '中文' }).click();
    await expect.poll(() => zh.page.getByRole('heading', { level: 1 }).textContent()).toBe('线索');
    await zh.ctx.close();
  });

  test('log-out ends the session; 30 idle minutes end it too, and the log-in page says why', async () => {
    const { ctx, page } = await login('cadre', PHONE);
    await page.getByRole('button', { name: '退出登录' }).click();
    expect(await page.locator('.notice').textContent()).toContain('已退出登录');
    await page.goto(url('/leads'));
    expect(page.url()).toContain('/console/login');
    await ctx.close();

    const b = await login('cadre', PHONE);
    now = new Date(now.getTime() + 29 * 60_000);
    await b.page.goto(url('/leads'));
    expect(b.page.url()).toMatch(/\/console\/leads$/); // 29 minutes: still in
    now = new Date(now.getTime() + 31 * 60_000);
    await b.page.goto(url('/leads'));
    expect(b.page.url()).toContain('why=idle');
    expect(await b.page.locator('.notice').textContent()).toContain('30 分钟没有操作，已自动退出');
    await b.ctx.close();
  });
});
