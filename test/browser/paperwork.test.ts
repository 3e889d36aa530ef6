import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { consoleWorld, type ConsoleWorld } from '../helpers/console.ts';
import { confirmLead } from '../helpers/leads.ts';
import { axeProblems, DESKTOP, launchChromium, newContext, PHONE, screenshot, scrollsSideways } from '../helpers/browser.ts';
import { readPdf } from '../helpers/pdf.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printCommand } from '../../server/console/print-command.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';

// The paper of the procedure, printed as the county officer and the village cadre print it: each document opened
// from the console in Debian's Chromium and rendered to PDF with page.pdf() (what the browser's print makes),
// then read back: A4, how many pages for 1, 12 and 40 households, the table header on every page, no row split
// between pages, and a publicity list whose text holds nothing private.
const DAY = 86_400_000;
let now = new Date('2026-12-02T03:00:00Z'); // 11:00 in Yunnan
let w: ConsoleWorld;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
type Lead = { id: string; receiptNo: string; name: string; phone: string; idNumber: string; what: string };

// visit forms: villages with 1, 12 and 40 leads awaiting a visit; publicity lists: 1, 12 and 40 leads in publicity
const VISIT = { 1: '530925101201', 12: '530925101202', 40: '530925101203' } as const; // 千蚌村, 大荒田村, 闷乐村
const PUBLICITY = { 1: '530925101204', 12: '530925101205', 40: '530925101206' } as const; // 千福村, 忙乐村, 南宋村
const SURNAMES = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭';
const leads = new Map<string, Lead[]>();

async function makeLeads(village: string, n: number, publicize: boolean): Promise<void> {
  const out: Lead[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${SURNAMES[i % SURNAMES.length]}${publicize ? '公' : '访'}${'一二三四五六七八九十'[i % 10]}`;
    const phone = `1390883${String(out.length + 1000 * Object.values(PUBLICITY).indexOf(village as never) + 5000).padStart(4, '0')}`;
    const idNumber = '53092519900101123X';
    const what = `去年秋天山洪冲毁房屋第${i + 1}间`;
    const l = await w.lead({ villageCode: village, headName: name, phone, idNumber, risks: ['illness', 'disaster'], answers: { whatHappened: what, disasterType: 'flood' } }, new Date(now.getTime() - 20 * DAY));
    out.push({ ...l, name, phone, idNumber, what });
    if (publicize) {
      const at = (d: number) => new Date(now.getTime() - d * DAY);
      const moves = [
        [{ to: 'visited', judgement: 'fits' }, 18],
        [{ to: 'compared' }, 16],
        // Friday to Thursday: 5 working days (Yunnan counts working days), 7 calendar days
        [{ to: 'publicized', publicityStart: '2026-11-27', publicityEnd: '2026-12-03' }, 6],
      ] as const;
      for (const [m, d] of moves) {
        const r = await w.app.intake.move(l.id, { ...m }, 'test', at(d));
        if (!r.ok) throw new Error(`could not publicize: ${JSON.stringify(r)}`);
      }
    }
  }
  leads.set(village, out);
}

async function login(who: 'officer' | 'cadre', viewport = DESKTOP) {
  now = new Date(now.getTime() + 150_000); // links are limited to five in ten minutes a person
  const ctx = await newContext(chrome.browser, viewport);
  const page = await ctx.newPage();
  await page.goto(await w[who].link());
  await page.getByRole('button', { name: '进入工作台' }).click();
  await page.waitForURL(/\/console$/);
  return { ctx, page };
}

async function pdfOf(page: Page, path: string) {
  await page.goto(`${w.app.baseUrl}/console${path}`);
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: false });
  await page.emulateMedia({ media: 'screen' });
  return readPdf(pdf);
}

beforeAll(async () => {
  w = await consoleWorld(() => now);
  chrome = await launchChromium();
  for (const [n, v] of Object.entries(VISIT)) await makeLeads(v, Number(n), false);
  for (const [n, v] of Object.entries(PUBLICITY)) await makeLeads(v, Number(n), true);
  // one of the twelve already has its visit assigned: still awaiting the visit
  const assigned = await w.app.intake.move(leads.get(VISIT[12])![5]!.id, { to: 'assigned' }, 'test', new Date(now.getTime() - 19 * DAY));
  if (!assigned.ok) throw new Error('could not assign');
}, 240_000);
afterAll(async () => {
  await chrome?.close();
  await w?.close();
});

describe('the paper of the procedure, printed from the console in Chromium', () => {
  test('visit forms: one A4 sheet per household for 1, 12 and 40 households, each with its own receipt, nothing split', async () => {
    const { ctx, page } = await login('officer');
    for (const [n, village] of Object.entries(VISIT)) {
      const pdf = await pdfOf(page, `/print/visit?village=${village}`);
      expect(pdf.pages.length, `${n} households`).toBe(Number(n));
      for (const p of pdf.pages) expect(p.size).toEqual({ width: 595, height: 842 }); // A4 in points
      leads.get(village)!.forEach((l, i) => {
        const text = pdf.pages[i]!.text;
        // the county sees the phone masked, as on the lead page
        expect(text).not.toContain(l.phone);
        expect(text).toContain(`${l.phone.slice(0, 3)}****${l.phone.slice(-4)}`);
        // the sheet of this household, whole: its receipt, its head, the first question and the signatures
        expect(text).toContain(l.receiptNo);
        expect(text).toContain(l.name);
        expect(text).toContain('入户排查登记表');
        expect(text).toContain('排查人员签字');
      });
    }
    await ctx.close();
  });

  test('publicity lists: A4, one page for 1 and 12 households, two for 40 with the header again, no row split', async () => {
    const { ctx, page } = await login('officer');
    const expected = { 1: 1, 12: 1, 40: 2 } as Record<string, number>;
    for (const [n, village] of Object.entries(PUBLICITY)) {
      const pdf = await pdfOf(page, `/print/publicity?village=${village}`);
      expect(pdf.pages.length, `${n} households`).toBe(expected[n]);
      for (const p of pdf.pages) {
        expect(p.size).toEqual({ width: 595, height: 842 });
        // the header on every page
        for (const h of ['序号', '户主姓名', '家庭人口', '拟纳入类别']) expect(p.text).toContain(h);
      }
      // each row on one page: its number, its name and its household size together, and on no other page
      leads.get(village)!.forEach((l, i) => {
        const on = pdf.pages.filter((p) => p.text.includes(l.name));
        expect(on, l.name).toHaveLength(1);
        expect(on[0]!.lines.some((line) => line.includes(l.name) && line.startsWith(String(i + 1)) && line.includes('3'))).toBe(true);
      });
      const all = pdf.pages.map((p) => p.text).join('\n');
      expect(all.replace(/\s+/g, '')).toContain('公示时间：2026-11-27至2026-12-03（共5个工作日）');
      expect(all).toContain('12317');
      expect(all).toContain(`${{ 1: '千福', 12: '忙乐', 40: '南宋' }[n]}村民委员会`); // the committee's official name issues it
    }
    await ctx.close();
  });

  test('the publicity list\'s text holds no phone, ID number, hardship or what happened, even for the village cadre who may see them', async () => {
    const { ctx, page } = await login('officer');
    for (const village of Object.values(PUBLICITY)) {
      const pdf = await pdfOf(page, `/print/publicity?village=${village}`);
      const all = pdf.pages.map((p) => p.text).join('\n');
      const html = await page.content();
      for (const l of leads.get(village)!) {
        expect(all).toContain(l.name);
        for (const secret of [l.phone, l.phone.slice(-4), l.idNumber, l.idNumber.slice(-4), l.what, '因病', '有人生病', '自然灾害', '洪涝', '洪水']) {
          expect(all, secret).not.toContain(secret);
          expect(html, secret).not.toContain(secret);
        }
      }
    }
    await ctx.close();
  });

  test('the visit form carries the phone for the village cadre and masks it for the county; the QR code links the lead; each print is in the access log', async () => {
    const one = leads.get(VISIT[1])!;
    // the cadre of 冰岛村 does not see 千蚌村: a cadre of its own
    const cadre = await w.join('village_cadre', VISIT[1], '千蚌村岩书记');
    const ctx = await newContext(chrome.browser, DESKTOP);
    const page = await ctx.newPage();
    now = new Date(now.getTime() + 60_000);
    await page.goto(await cadre.link());
    await page.getByRole('button', { name: '进入工作台' }).click();
    await page.waitForURL(/\/console$/);
    await page.goto(`${w.app.baseUrl}/console/leads/${one[0]!.id}`);
    await page.getByRole('link', { name: '入户排查登记表' }).click();
    await expect.poll(() => page.url()).toContain(`/console/print/visit/${one[0]!.id}`);
    const sheet = page.locator('section.sheet');
    await expect.poll(() => sheet.textContent()).toContain(one[0]!.phone);
    expect(await page.locator('section.sheet svg').count()).toBe(1);
    const officer = await login('officer');
    await officer.page.goto(`${w.app.baseUrl}/console/print/visit/${one[0]!.id}`);
    const masked = `${one[0]!.phone.slice(0, 3)}****${one[0]!.phone.slice(-4)}`;
    expect(await officer.page.locator('section.sheet').textContent()).toContain(masked);
    expect(await officer.page.locator('section.sheet').textContent()).not.toContain(one[0]!.phone);
    // another village's cadre gets no sheet
    const other = await login('cadre');
    const res = await other.page.goto(`${w.app.baseUrl}/console/print/visit/${one[0]!.id}`);
    expect(res!.status()).toBe(404);
    const publicity = await other.page.goto(`${w.app.baseUrl}/console/print/publicity?village=${PUBLICITY[12]}`);
    expect(publicity!.status()).toBe(404);
    // the officer's batch print of the village (the first test), the cadre's sheet, the officer's sheet
    const rows = await w.app.db.prisma.accessLog.findMany({ where: { leadId: one[0]!.id, action: 'print_visit' }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.staffId, r.via])).toEqual([[w.officer.id, 'console'], [cadre.id, 'console'], [w.officer.id, 'console']]);
    await ctx.close();
    await officer.ctx.close();
    await other.ctx.close();
  });

  test('the risk-elimination check form: one A4 sheet for a confirmed household, its category, line, incomes and help; refused before confirmation', async () => {
    const village = '530925101207'; // 邦迈村
    const at = (d: string) => new Date(`${d}T02:00:00Z`);
    const l = await w.lead({ villageCode: village, headName: '杨大爹', phone: '13988887777', risks: ['illness'] }, at('2026-11-02'));
    expect((await w.app.intake.record(l.id, 'green_channel', { note: '先发临时救助' }, 'test', at('2026-11-03'))).ok).toBe(true);
    for (const [m, d] of [
      [{ to: 'visited', judgement: 'fits' }, '2026-11-04'],
      [{ to: 'compared' }, '2026-11-04'],
      [{ to: 'publicized', publicityStart: '2026-11-05', publicityEnd: '2026-11-11' }, '2026-11-05'],
      [{ to: 'township_reviewed' }, '2026-11-12'],
      [{ to: 'confirmed', category: 'sudden_hardship' }, '2026-11-13'],
    ] as const)
      expect((await w.app.intake.move(l.id, { ...m }, 'test', at(d))).ok).toBe(true);
    expect((await w.app.intake.record(l.id, 'plan', { contactPerson: '王村医', note: '医疗救助' }, 'test', at('2026-11-14'))).ok).toBe(true);
    const { ctx, page } = await login('officer');
    await page.goto(`${w.app.baseUrl}/console/leads/${l.id}`);
    await page.getByRole('link', { name: '风险稳定消除核查表' }).click();
    await expect.poll(() => page.url()).toContain(`/console/print/check/${l.id}`);
    const pdf = await pdfOf(page, `/print/check/${l.id}`);
    expect(pdf.pages).toHaveLength(1);
    expect(pdf.pages[0]!.size).toEqual({ width: 595, height: 842 });
    const text = pdf.pages[0]!.text;
    for (const want of ['风险稳定消除核查表', '杨大爹', '突发严重困难户', '6,000 元（2020 年标准）', '2026-11-03 绿色通道先行救助：先发临时救助', '2026-11-14 帮扶计划：医疗救助', '监测对象签字', '139****7777'])
      expect(text.replace(/\s+/g, ' ')).toContain(want);
    expect(text).not.toContain('13988887777');
    expect((await w.app.db.prisma.accessLog.findMany({ where: { leadId: l.id, action: 'print_check' } })).map((r) => r.staffId)).toEqual([w.officer.id, w.officer.id]); // the page, then its PDF
    await screenshot(page, 'print-check-desktop');
    // a lead not yet confirmed has none
    const open = leads.get(VISIT[1])![0]!;
    expect((await page.goto(`${w.app.baseUrl}/console/print/check/${open.id}`))!.status()).toBe(409);
    expect(await page.locator('main, body').first().textContent()).toContain('只有已确定的监测对象才有风险稳定消除核查表。');
    await ctx.close();
  });

  test('入户排查情况汇总表: opened from the home page, on A4 turned sideways, the header on every page, each village\'s row on one page with its counts', async () => {
    const { ctx, page } = await login('officer');
    await page.goto(`${w.app.baseUrl}/console`);
    await page.getByRole('link', { name: '入户排查情况汇总表' }).click();
    await expect.poll(() => page.url()).toContain('/console/print/summary');
    const pdf = await pdfOf(page, '/print/summary');
    for (const p of pdf.pages) {
      expect(p.size).toEqual({ width: 842, height: 595 }); // A4 landscape
      expect(p.text).toContain('新识别纳入监测户情况');
    }
    const all = pdf.pages.map((p) => p.text).join('\n');
    // 闷乐村: 40 ordinary households reported, none confirmed; each village on one page
    const line = pdf.pages.flatMap((p) => p.lines).find((l) => l.startsWith('勐勐镇闷乐村'));
    expect(line?.split(' ').slice(1, 5)).toEqual(['40', '0', '0', '40']);
    for (const v of ['勐勐镇千蚌村', '勐库镇冰岛村']) expect(pdf.pages.filter((p) => p.text.includes(v))).toHaveLength(1);
    expect(all).toContain('填报单位(盖章)');
    await screenshot(page, 'print-summary-desktop');
    await ctx.close();
  });

  test('监测对象回退、清退情况统计表: from the home page, A4 sideways, the header on every page, each household\'s row whole on one page', async () => {
    // 40 households of 邦迈村 confirmed in October and removed from monitoring one after the other, each with its own long reason
    const removed: Array<{ name: string; reason: string }> = [];
    const on = (d: string) => new Date(`${d}T02:00:00Z`);
    for (let i = 0; i < 40; i++) {
      const name = `${SURNAMES[i % SURNAMES.length]}清${'一二三四五六七八九十'[i % 10]}${i}`;
      const l = await w.lead({ villageCode: '530925101207', headName: name, idNumber: `5309251960010${String(1000 + i)}`, householdSize: 1 + (i % 6) }, on('2026-10-01'));
      await confirmLead(w.app.intake, l.id, on, { visited: '2026-10-08', publicity: ['2026-10-09', '2026-10-15'], reviewed: '2026-10-16', confirmed: '2026-10-17' });
      const reason = `经乡镇申请县级审核，家庭成员有稳定工资收入且有商品房，识别不精准，予以清退 Q${i}X`;
      expect((await w.app.intake.recordAs(w.officer.actor, l.id, 'removal', { note: reason }, new Date(now.getTime() - DAY + i * 60_000))).ok).toBe(true);
      removed.push({ name, reason });
    }
    const { ctx, page } = await login('officer');
    await page.goto(`${w.app.baseUrl}/console`);
    await page.getByRole('link', { name: '回退清退情况统计表' }).click();
    await expect.poll(() => page.url()).toContain('/console/print/rollback');
    const pdf = await pdfOf(page, '/print/rollback');
    expect(pdf.pages.length).toBeGreaterThan(1);
    for (const p of pdf.pages) {
      expect(p.size).toEqual({ width: 842, height: 595 }); // A4 landscape
      expect(p.text).toContain('户主证件号码');
      expect(p.text).toContain('原因详情');
    }
    const flat = pdf.pages.map((p) => p.text.replace(/\s+/g, ''));
    for (const r of removed) {
      const where = flat.flatMap((t, n) => (t.includes(r.name) ? [n] : []));
      expect(where, r.name).toHaveLength(1);
      // the end of the reason on the same page as the name: the row was not split
      expect(flat[where[0]!], r.name).toContain(r.reason.split(' ').pop()!);
    }
    expect(flat.join('')).toContain('填报单位(盖章)');
    await screenshot(page, 'print-rollback-desktop');
    await ctx.close();
  });

  test('`npm run cli -- print`: the same documents as files that open from disk, stylesheet inside; written to the access log as the command line', async () => {
    const config = w.app.config;
    const crypto = createCrypto(resolveMasterKey({ configured: config.encryptionKey, dataDir: config.dataDir, embedded: w.app.db.kind === 'pglite' }).key);
    const dir = mkdtempSync(join(tmpdir(), 'print-'));
    const ctx = await newContext(chrome.browser, DESKTOP);
    const page = await ctx.newPage();
    const asFile = async (file: string) => {
      await page.goto(pathToFileURL(file).href);
      await page.emulateMedia({ media: 'print' });
      return readPdf(await page.pdf({ preferCSSPageSize: true }));
    };
    const visits = join(dir, 'visits.html');
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'visit', village: VISIT[12], out: visits, lng: 'zh-CN' }, now)).toEqual({ ok: true, households: 12 });
    expect(readFileSync(visits, 'utf8')).not.toContain('/console/assets/'); // nothing to fetch from a server
    const v = await asFile(visits);
    expect(v.pages).toHaveLength(12);
    expect(v.pages[0]!.text).toContain(leads.get(VISIT[12])![0]!.phone); // the operator reads as the county's own system: whole
    const one = join(dir, 'one.html');
    const first = leads.get(VISIT[1])![0]!;
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'visit', lead: first.receiptNo, out: one, lng: 'zh-CN' }, now)).toEqual({ ok: true, households: 1 });
    expect((await asFile(one)).pages[0]!.text).toContain(first.receiptNo);
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'visit', lead: '-'.repeat(36), out: one, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    const list = join(dir, 'list.html');
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'publicity', village: PUBLICITY[40], out: list, lng: 'zh-CN' }, now)).toEqual({ ok: true, households: 40 });
    const l = await asFile(list);
    expect(l.pages).toHaveLength(2);
    expect(l.pages[1]!.text).toContain('户主姓名');
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'visit', lead: '530925-20990101-0001', out: one, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'publicity', village: '530925999999', out: list, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    const summary = join(dir, 'summary.html');
    const households = await w.app.db.prisma.lead.count();
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'summary', county: '530925', out: summary, lng: 'zh-CN' }, now)).toEqual({ ok: true, households });
    const sum = await asFile(summary);
    expect(sum.pages[0]!.size).toEqual({ width: 842, height: 595 });
    expect(sum.pages.flatMap((p) => p.lines).find((line) => line.startsWith('勐勐镇大荒田村'))?.split(' ').slice(1, 5)).toEqual(['12', '0', '0', '12']);
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'summary', county: '999999', out: summary, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    const rows = await w.app.db.prisma.accessLog.findMany({ where: { leadId: first.id, via: 'cli' } });
    expect(rows.map((r) => [r.action, r.staffId])).toEqual([['print_visit', null]]);
    await ctx.close();
  });

  test('on a phone and a desktop: the print pages do not scroll sideways and have no serious accessibility problem; screenshots kept', async () => {
    for (const [name, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
      const { ctx, page } = await login('officer', viewport);
      for (const [doc, path] of [['visit', `/print/visit/${leads.get(VISIT[1])![0]!.id}`], ['publicity', `/print/publicity?village=${PUBLICITY[12]}`], ['summary', '/print/summary'], ['rollback', '/print/rollback']] as const) {
        await page.goto(`${w.app.baseUrl}/console${path}`);
        expect(await scrollsSideways(page), `${doc} ${name}`).toBe(false);
        expect(await axeProblems(page), `${doc} ${name}`).toEqual([]);
        await screenshot(page, `print-${doc}-${name}`);
      }
      await ctx.close();
    }
  });
});
