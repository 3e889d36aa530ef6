import ExcelJS from 'exceljs';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleSession, consoleWorld, PLACES, type ConsoleWorld } from '../helpers/console.ts';
import { TEST_DB } from '../helpers/db.ts';
import { confirmLead } from '../helpers/leads.ts';
import { printCommand } from '../../server/console/print-command.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';

// 风险消除回退 and 监测对象清退, recorded by the county (the township's signed application confirmed there), and
// the county's 监测对象回退、清退情况统计表 (annex 5) built from those records: as a page, as XLSX and by the CLI.
const now = new Date('2027-06-01T03:00:00Z');
const at = (d: string) => new Date(`${d}T02:00:00Z`); // 10:00 in Yunnan
let w: ConsoleWorld;
let officer: Awaited<ReturnType<typeof consoleSession>>;
let reviewer: Awaited<ReturnType<typeof consoleSession>>;
const dir = mkdtempSync(join(tmpdir(), 'rollback-'));

beforeAll(async () => {
  w = await consoleWorld(() => now);
  officer = await consoleSession(w, 'officer');
  reviewer = await consoleSession(w, 'reviewer');
}, 60_000);
afterAll(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A household confirmed in November 2026, given its contact person; the risk marked eliminated when asked. */
async function monitored(over: Parameters<ConsoleWorld['lead']>[0], eliminatedOn?: string) {
  const l = await w.lead(over, at('2026-11-02'));
  await confirmLead(w.app.intake, l.id, at);
  // the world's contact person is 冰岛村's: elsewhere the plan names nobody the bot knows
  const contact = (over?.villageCode ?? PLACES.bingdao) === PLACES.bingdao ? { contactStaffId: w.contact.id } : { contactPerson: '村里的联系人' };
  expect((await w.app.intake.record(l.id, 'plan', contact, 'test', at('2026-11-14'))).ok).toBe(true);
  if (eliminatedOn) expect((await w.app.intake.recordAs(w.contact.actor, l.id, 'risk_eliminated', { note: '收入稳定' }, at(eliminatedOn))).ok).toBe(true);
  return l;
}
const followUp = (id: string) => w.app.db.prisma.lead.findUniqueOrThrow({ where: { id }, select: { followUpKind: true, followUpDue: true, riskEliminatedOn: true } });
const day = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;

describe(`roll-back and removal, ${TEST_DB}`, () => {
  it('a roll-back puts an eliminated risk back under monitoring; only the county records it, with its reason', async () => {
    const l = await monitored({ headName: '回退户' }, '2027-03-10');
    const before = await followUp(l.id);
    expect({ kind: before.followUpKind, eliminated: day(before.riskEliminatedOn) }).toEqual({ kind: 'recheck', eliminated: '2027-03-10' });
    // the village and the contact person do not record it; the county needs the reason
    for (const who of [w.cadre, w.contact, w.reviewer]) {
      expect(await w.app.intake.recordAs(who.actor, l.id, 'rollback', { note: '收入不稳定' }, at('2027-05-10'))).toMatchObject({ ok: false, refusal: { code: 'not_your_move' } });
    }
    expect(await w.app.intake.recordAs(w.officer.actor, l.id, 'rollback', {}, at('2027-05-10'))).toMatchObject({ ok: false, refusal: { code: 'reason_required' } });
    expect((await w.app.intake.recordAs(w.officer.actor, l.id, 'rollback', { note: '家庭收入不稳定，务工中断' }, at('2027-05-10'))).ok).toBe(true);
    const f = await followUp(l.id);
    // back to the contact person's follow-ups, every month in the sample deployment
    expect({ kind: f.followUpKind, due: day(f.followUpDue), eliminated: f.riskEliminatedOn }).toEqual({ kind: 'follow_up', due: '2027-06-10', eliminated: null });
    // nothing left to roll back; the risk may be marked eliminated again later
    expect(await w.app.intake.recordAs(w.officer.actor, l.id, 'rollback', { note: '再次' }, at('2027-05-11'))).toMatchObject({ ok: false, refusal: { code: 'risk_not_eliminated' } });
    expect((await w.app.intake.recordAs(w.contact.actor, l.id, 'risk_eliminated', { note: '又稳定了' }, at('2027-05-12'))).ok).toBe(true);
  });

  it('a roll-back needs the risk marked eliminated, and a confirmed household', async () => {
    const l = await monitored({ headName: '未消除户' });
    expect(await w.app.intake.recordAs(w.officer.actor, l.id, 'rollback', { note: '不稳定' }, at('2027-05-10'))).toMatchObject({ ok: false, refusal: { code: 'risk_not_eliminated' } });
    const open = await w.lead({ headName: '未确定户' }, at('2027-05-01'));
    expect(await w.app.intake.recordAs(w.officer.actor, open.id, 'removal', { note: '不符合' }, at('2027-05-10'))).toMatchObject({ ok: false, refusal: { code: 'plan_needs_confirmed' } });
  });

  it('a removal ends the monitoring: no reminders, no more follow-ups or eliminations, notes still', async () => {
    const l = await monitored({ headName: '清退户' });
    expect(await w.app.intake.recordAs(w.officer.actor, l.id, 'removal', { note: '' }, at('2027-05-10'))).toMatchObject({ ok: false, refusal: { code: 'reason_required' } });
    expect((await w.app.intake.recordAs(w.officer.actor, l.id, 'removal', { note: '识别不精准：家有财政供养人员' }, at('2027-05-10'))).ok).toBe(true);
    expect(await followUp(l.id)).toEqual({ followUpKind: null, followUpDue: null, riskEliminatedOn: null });
    for (const [who, kind] of [[w.contact, 'follow_up'], [w.contact, 'risk_eliminated'], [w.cadre, 'plan'], [w.officer, 'removal']] as const) {
      expect(await w.app.intake.recordAs(who.actor, l.id, kind, { note: 'x', contactStaffId: w.contact.id }, at('2027-05-11'))).toMatchObject({ ok: false, refusal: { code: 'removed_from_monitoring' } });
    }
    expect((await w.app.intake.recordAs(w.cadre.actor, l.id, 'note', { note: '已告知农户' }, at('2027-05-11'))).ok).toBe(true);
    // the lead page says so and offers the county a note only
    const html = (await officer.page(`/leads/${l.id}`)).text;
    expect(html).toContain('这户已清退，不再监测。');
    expect(html).not.toContain('name="record" value="removal"');
    expect(html).toContain('name="record" value="note"');
  });

  it('the county records them on the lead page: the form asks for the reason and keeps it when refused', async () => {
    const l = await monitored({ headName: '页面户' }, '2027-03-10');
    const form = (await officer.page(`/leads/${l.id}`)).text;
    expect(form).toContain('name="record" value="rollback"');
    expect(form).toContain('name="record" value="removal"');
    // the roll-back only while the risk is marked eliminated; neither before confirmation
    const notEliminated = (await officer.page(`/leads/${(await monitored({ headName: '在监测' })).id}`)).text;
    expect(notEliminated).not.toContain('value="rollback"');
    expect(notEliminated).toContain('value="removal"');
    const open = (await officer.page(`/leads/${(await w.lead({ headName: '刚申报' }, at('2027-05-30'))).id}`)).text;
    expect(open).not.toContain('value="rollback"');
    expect(open).not.toContain('value="removal"');
    // the township sees neither
    const theirs = (await reviewer.page(`/leads/${l.id}`)).text;
    expect(theirs).not.toContain('value="rollback"');
    expect(theirs).not.toContain('value="removal"');
    const refused = await officer.post(`/leads/${l.id}`, [['record', 'rollback'], ['note', '']]);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('请写明原因。');
    const done = await officer.post(`/leads/${l.id}`, [['record', 'rollback'], ['note', '半年回头看发现收入低于监测线']]);
    expect(done.status).toBe(200);
    expect(done.text).toContain('风险消除回退');
    expect(done.text).toContain('半年回头看发现收入低于监测线');
  });
});

describe(`roll-back and removal through the API, ${TEST_DB}`, () => {
  it("the county's token records them; a village's may not; refusals in the caller's words", async () => {
    const tokens = createTokens(w.app.db);
    const token = async (kind: 'county' | 'village', code: string) => (await tokens.create(`${kind} system`, { kind, code })).token;
    const county = await token('county', PLACES.county);
    const village = await token('village', PLACES.bingdao);
    const post = (t: string, id: string, body: unknown, lang = 'zh-CN') =>
      fetch(`${w.app.url}/api/v1/leads/${id}/events`, { method: 'POST', body: JSON.stringify(body), headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json', 'accept-language': lang } });
    const l = await monitored({ headName: '接口户' });
    const notEliminated = await post(county, l.id, { record: 'rollback', note: '不稳定' });
    expect(notEliminated.status).toBe(409);
    expect(await notEliminated.json()).toMatchObject({ error: { code: 'risk_not_eliminated', message: '这户的风险还没有标记消除，不需要回退。' } });
    expect((await post(village, l.id, { record: 'removal', note: '不符合' })).status).toBe(403);
    // blanks are no reason: the table's 原因详情 would be empty
    for (const note of ['\t', '   \n ']) expect(await (await post(county, l.id, { record: 'removal', note })).json()).toMatchObject({ error: { code: 'reason_required' } });
    // a contact person given with a removal is not the removal's to keep
    expect((await post(county, l.id, { record: 'removal', note: '不符合监测条件', contactStaffId: w.contact.id })).status).toBe(201);
    const [event] = await w.app.db.prisma.leadEvent.findMany({ where: { leadId: l.id, kind: 'removal' } });
    expect(event!.data).toBeNull();
    const again = await post(county, l.id, { record: 'removal', note: '再清退' }, 'en');
    expect(await again.json()).toMatchObject({ error: { code: 'removed_from_monitoring', message: 'This household was removed from monitoring: only notes can be added.' } });
  });
});

describe(`监测对象回退、清退情况统计表, ${TEST_DB}`, () => {
  let back: { id: string; receiptNo: string };
  let out: { id: string; receiptNo: string };
  let older: { id: string; receiptNo: string };
  beforeAll(async () => {
    older = await monitored({ headName: '去年户' }, '2026-12-01');
    expect((await w.app.intake.record(older.id, 'rollback', { note: '去年回退的' }, 'test', at('2026-12-20'))).ok).toBe(true);
    back = await monitored({ headName: '表中回退', idNumber: '530925195001011234', householdSize: 4, risks: ['illness', 'disaster'], answers: { disasterType: 'flood' } }, '2027-03-10');
    expect((await w.app.intake.recordAs(w.officer.actor, back.id, 'rollback', { note: '=务工收入中断' }, at('2027-05-21'))).ok).toBe(true);
    out = await monitored({ headName: '表中清退', villageCode: PLACES.mengmeng, householdSize: 2, idNumber: null });
    expect((await w.app.intake.recordAs(w.officer.actor, out.id, 'removal', { note: '识别不精准' }, at('2027-05-22'))).ok).toBe(true);
    const formula = await monitored({ headName: '@SUM(1)', villageCode: PLACES.mengmeng });
    expect((await w.app.intake.recordAs(w.officer.actor, formula.id, 'removal', { note: '重复纳入' }, at('2027-05-23'))).ok).toBe(true);
  }, 60_000);

  it("the page lists this year's roll-backs and removals in the order recorded, each with the official columns", async () => {
    const res = await officer.page('/print/rollback');
    expect(res.status).toBe(200);
    const rows = [...res.text.matchAll(/<tr><td>(\d+)<\/td><td class="wrap">([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><th scope="row">([^<]*)<\/th><td class="idno">([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>\s*<td class="wrap">([^<]*)<\/td>\s*<td>([^<]*)<br><small>([^<]*)<\/small><\/td><td class="reason">([^<]*)<\/td><\/tr>/g)].map((m) => m.slice(1));
    const texts = rows.filter((r) => r[4] === '表中回退' || r[4] === '表中清退' || r[4] === '去年户');
    expect(texts).toEqual([
      [expect.any(String), '双江拉祜族佤族布朗族傣族自治县', '勐库镇', '冰岛村', '表中回退', '530925195001011234', '4', '2026-11-13', '因病、因自然灾害（洪涝灾害）', '回退', '2027-05-21', '=务工收入中断'],
      [expect.any(String), '双江拉祜族佤族布朗族傣族自治县', '勐勐镇', '彝家村', '表中清退', '', '2', '2026-11-13', '因病', '清退', '2027-05-22', '识别不精准'],
    ]);
    expect(Number(texts[1]![0])).toBe(Number(texts[0]![0]) + 1);
    // last year's is on last year's page and on "all years"
    expect(res.text).not.toContain('去年户');
    const lastYear = (await officer.page('/print/rollback?year=2026')).text;
    expect(lastYear).toContain('去年户');
    expect(lastYear).not.toContain('表中回退');
    const all = (await officer.page('/print/rollback?year=all')).text;
    expect(all.indexOf('去年户')).toBeLessThan(all.indexOf('表中回退'));
    for (const bad of ['19', '2026x', 'x2026', '2026&year=2027']) expect((await officer.page(`/print/rollback?year=${bad}`)).status, bad).toBe(404);
    // each household on it is in the access log as printed by the officer
    const logged = await w.app.db.prisma.accessLog.findMany({ where: { action: 'print_rollback', staffId: w.officer.id }, select: { leadId: true, via: true } });
    const listed = new Set(logged.map((x) => x.leadId));
    for (const l of [back, out, older]) expect(listed.has(l.id)).toBe(true);
    // and nobody who is not on it
    const onIt = await w.app.db.prisma.leadEvent.findMany({ where: { kind: { in: ['rollback', 'removal'] } }, select: { leadId: true } });
    expect(listed).toEqual(new Set(onIt.map((e) => e.leadId)));
    expect(new Set(logged.map((x) => x.via))).toEqual(new Set(['console']));
  });

  it('is the county\'s: the township gets 403, the home page links it for the county only', async () => {
    expect((await reviewer.page('/print/rollback')).status).toBe(403);
    expect((await reviewer.get('/print/rollback.xlsx')).status).toBe(403);
    expect((await officer.page('')).text).toContain('href="/console/print/rollback"');
    expect((await reviewer.page('')).text).not.toContain('href="/console/print/rollback"');
  });

  it('as XLSX: the same rows under the official headers, text never read as a formula, logged as an export', async () => {
    const res = await officer.get('/print/rollback.xlsx?year=2027');
    expect(res.status).toBe(200);
    expect(res.type).toContain('spreadsheetml');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(res.body as unknown as ArrayBuffer);
    const sheet = book.worksheets[0]!;
    const values = sheet.getSheetValues().filter(Boolean).map((r) => (r as unknown[]).slice(1));
    expect(values[0]).toEqual(['监测对象回退、清退情况统计表']);
    expect(values[2]).toEqual(['序号', '县市区', '镇（新区）', '村', '户主姓名', '户主证件号码', '识别纳入人数', '纳入监测时间', '风险类型', '回退清退情况', '原因详情']);
    const body = values.slice(3).filter((r) => r[4] === '表中回退' || r[4] === '表中清退');
    // a name a spreadsheet would run as a formula stays text
    expect(values.slice(3).find((r) => String(r[4]).includes('SUM(1)'))![4]).toBe("'@SUM(1)");
    expect(body.map((r) => r.slice(4))).toEqual([
      ['表中回退', '530925195001011234', 4, '2026-11-13', '因病、因自然灾害（洪涝灾害）', '回退（2027-05-21）', "'=务工收入中断"],
      ['表中清退', undefined, 2, '2026-11-13', '因病', '清退（2027-05-22）', '识别不精准'],
    ]);
    expect(await w.app.db.prisma.accessLog.count({ where: { action: 'export_rollback', staffId: w.officer.id, leadId: back.id } })).toBe(1);
  });

  it('by the CLI: the county\'s table as a file, in the access log as the operator', async () => {
    const config = w.app.config;
    const crypto = createCrypto(resolveMasterKey({ configured: config.encryptionKey, dataDir: config.dataDir, embedded: w.app.db.kind === 'pglite' }).key);
    const file = join(dir, 'rollback.html');
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'rollback', county: PLACES.county, year: '2027', out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: true });
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('表中回退');
    expect(html).toContain('530925195001011234');
    expect(html).not.toContain('去年户');
    expect(html).toContain('<style>');
    expect(await w.app.db.prisma.accessLog.count({ where: { action: 'print_rollback', staffId: null, tokenId: null, leadId: out.id, via: 'cli' } })).toBe(1);
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'rollback', county: '999999', out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    // the file holds ID numbers: only its owner reads it, even when it was there before with another mode
    chmodSync(file, 0o644);
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'rollback', county: PLACES.county, out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // a check form only for a confirmed household
    const open = await w.lead({ headName: '未确定' }, now);
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'check', lead: open.receiptNo, out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'check', lead: back.receiptNo, out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: true });
    expect(await printCommand({ config, db: w.app.db, crypto }, { kind: 'rollback', county: PLACES.county, year: '27', out: file, lng: 'zh-CN' }, now)).toMatchObject({ ok: false });
  });
});

describe(`入户排查情况汇总表 counts them, ${TEST_DB}`, () => {
  it("a village's risk eliminations and roll-backs / removals, by confirmed category, households and persons", async () => {
    const cp = await w.join('contact_person', PLACES.gongnong, '公弄联系人');
    const make = async (headName: string, householdSize: number, category: 'unstable_escaped' | 'marginal' | 'sudden_hardship') => {
      const l = await w.lead({ villageCode: PLACES.gongnong, headName, householdSize }, at('2026-11-02'));
      await confirmLead(w.app.intake, l.id, at, undefined, category);
      expect((await w.app.intake.record(l.id, 'plan', { contactStaffId: cp.id }, 'test', at('2026-11-14'))).ok).toBe(true);
      return l;
    };
    const eliminated = await make('消除户', 4, 'marginal');
    const removed = await make('消除后清退户', 3, 'sudden_hardship');
    const rolled = await make('消除后回退户', 5, 'unstable_escaped');
    await make('在监测户', 2, 'marginal');
    for (const l of [eliminated, removed, rolled]) expect((await w.app.intake.recordAs(cp.actor, l.id, 'risk_eliminated', { note: '稳定' }, at('2027-03-01'))).ok).toBe(true);
    expect((await w.app.intake.recordAs(w.officer.actor, removed.id, 'removal', { note: '识别不精准' }, at('2027-04-01'))).ok).toBe(true);
    expect((await w.app.intake.recordAs(w.officer.actor, rolled.id, 'rollback', { note: '收入不稳' }, at('2027-04-02'))).ok).toBe(true);

    const html = (await officer.page('/print/summary')).text;
    const row = new RegExp('<tr><th scope="row">勐库镇公弄村</th>((?:<td>[^<]*</td>\\s*)+)<td class="remark">').exec(html);
    const cells = [...row![1]!.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => Number(m[1]));
    // ordinary, escaped, monitored, all; then new monitored, risk eliminated, rolled back / removed: (all, 脱贫不稳定, 边缘易致贫, 突发严重困难) × (households, persons)
    expect(cells.slice(0, 4)).toEqual([4, 0, 0, 4]);
    expect(cells.slice(4, 12)).toEqual([4, 14, 1, 5, 2, 6, 1, 3]);
    expect(cells.slice(12, 20)).toEqual([1, 4, 0, 0, 1, 4, 0, 0]);
    expect(cells.slice(20, 28)).toEqual([2, 8, 1, 5, 0, 0, 1, 3]);
  });
});
