import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleSession, consoleWorld, PLACES, type ConsoleWorld, type StaffKey } from '../helpers/console.ts';
import { TEST_DB } from '../helpers/db.ts';
import { createTokens } from '../../server/intake/tokens.ts';

// The county console over plain HTTP, as a hostile caller would use it: control characters in every text, forged
// cursors, bodies the parser refuses, forms posted from another site, exports with broken filters, chosen leads
// of another place. Each gets an answer in words with a 4xx status, and nothing is done or lost. Also the
// figures and scopes a one-line slip would break unseen: what the village sees of phones, the contact person's
// households, the counts of the queue, 空白村 and "due within 7 days".
const DAY = 86_400_000;
let now = new Date('2026-12-02T03:00:00Z'); // 11:00 in Yunnan
let w: ConsoleWorld;
type Who = StaffKey;
type Browser = Awaited<ReturnType<typeof session>>;
const s = {} as Record<Who, Browser>;
let bingdao: { id: string; receiptNo: string };
let gongnong: { id: string; receiptNo: string };

const session = (who: Who) => consoleSession(w, who);
const stageOf = async (id: string) => (await w.app.intake.leadWithClocks(id, now))!.lead.stage;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const countOf = (html: string) => /class="count">找到 ([\d,]+) 条/.exec(html)?.[1];
const noErrorLogged = () => expect(w.log.lines().filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);

beforeAll(async () => {
  w = await consoleWorld(() => now);
  bingdao = await w.lead({ headName: '张老汉', phone: '13912345678', idNumber: '53092519900101123X' }, new Date(now.getTime() - 3 * DAY));
  gongnong = await w.lead({ villageCode: PLACES.gongnong, headName: '王大', phone: '13787654321' }, new Date(now.getTime() - 2 * DAY));
  for (const who of ['officer', 'reviewer', 'cadre', 'otherCadre', 'contact'] as const) {
    now = new Date(now.getTime() + 60_000);
    s[who] = await session(who);
  }
});
afterAll(async () => {
  await w?.close();
});

describe(`the console against a hostile caller, ${TEST_DB}`, () => {
  it('control characters in a search, a category, a note or a receipt number are refused in words; the page, the export and the lead stay whole', async () => {
    const { officer, cadre } = s;
    // the queue drops the bad filter, says so, and keeps the others
    const q = await officer.page(`/leads?q=%00&village=${PLACES.bingdao}`);
    expect(q.status).toBe(200);
    expect(q.text).toContain('有的筛选条件不对，已忽略。');
    expect(q.text).toContain(bingdao.receiptNo);
    expect(q.text).not.toContain(gongnong.receiptNo);
    expect((await officer.page('/leads?q=%E6%9D%8E%07')).text).toContain('有的筛选条件不对，已忽略。'); // 李 and a bell
    const cat = await officer.page('/leads?category=%00');
    expect(cat.text).toContain('有的筛选条件不对，已忽略。');
    const above = await officer.page('/leads?category=above_line');
    expect(above.text).not.toContain('有的筛选条件不对');
    expect(countOf(above.text)).toBe('0');
    // an export with a filter it cannot read exports nothing, and says why
    for (const bad of ['q=%00', 'category=%01', 'from=2026-13-40', `village=${PLACES.bingdao}&to=0000-01-01`]) {
      const ex = await officer.get(`/leads/export.csv?${bad}`);
      expect(ex.status, bad).toBe(400);
      expect(ex.type).toMatch(/^text\/html/);
      expect(ex.body.toString()).toContain('筛选条件有误（比如日期写错了），所以没有导出。');
    }
    // a form with a NUL in a field: refused as a form, what was typed comes back, the lead is where it was
    const dup = await cadre.post(`/leads/${bingdao.id}`, [['to', 'duplicate'], ['duplicateOf', '5309\u000025-1']]);
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('表单没填对，没有办理。');
    const note = await cadre.post(`/leads/${bingdao.id}`, [['record', 'note'], ['note', '电话打不通\u0000']]);
    expect(note.status).toBe(400);
    expect(note.text).toContain('电话打不通');
    expect(await stageOf(bingdao.id)).toBe('received');
    // a note in two lines is a note
    const reason = await s.reviewer.post(`/leads/${bingdao.id}`, [['to', 'not_included'], ['reason', '收入\u0000够了']]);
    expect(reason.status).toBe(400);
    expect(reason.text).toContain('表单没填对，没有办理。');
    const ok = await cadre.post(`/leads/${bingdao.id}`, [['record', 'note'], ['note', '电话打不通，\r\n明天上门\t再打']]);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('明天上门');
    // the JSON API: the same category and note refused with 400
    const tokens = createTokens(w.app.db);
    const token = (await tokens.create('county office', { kind: 'county', code: PLACES.county })).token;
    const api = (path: string, init: RequestInit = {}) => fetch(`${w.app.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
    expect((await api('/leads?category=%00')).status).toBe(400);
    expect((await api('/leads?category=marginal')).status).toBe(200);
    const move = await api(`/leads/${bingdao.id}/events`, { method: 'POST', body: JSON.stringify({ to: 'not_included', reason: '不\u0000符合' }) });
    expect(move.status).toBe(400);
    // half of a surrogate pair, as JSON can write it, and a NUL in a note or a contact person's name
    for (const body of ['{"to":"not_included","reason":"x\\udfffy"}', '{"to":"assigned","note":"x\\u0000y"}', '{"record":"plan","contactPerson":"王\\u0000"}', '{"to":"assigned","note":"x\\ud800"}']) {
      const r = await api(`/leads/${bingdao.id}/events`, { method: 'POST', body });
      expect(r.status, body).toBe(400);
    }
    expect(await stageOf(bingdao.id)).toBe('received');
    noErrorLogged();
  });

  it('a broken %-escape in an address or a cookie is a 400 or the log-in page, never a 500', async () => {
    expect((await fetch(`${w.app.url}/console/assets/%E0`)).status).toBe(400);
    for (const path of ['/leads/%E0', '/media/%E0', '/print/visit/%E0']) {
      const r = await s.officer.page(path);
      expect(r.status, path).toBe(400);
      expect(r.text).toContain('提交的内容不完整，什么都没有办。');
    }
    expect((await s.officer.post('/staff/%E0/remove', [])).status).toBe(400);
    for (const cookie of ['fp_console=%', 'fp_console=%E0%A4%A']) {
      const r = await fetch(`${w.app.url}/console`, { headers: { cookie }, redirect: 'manual' });
      expect(r.status, cookie).toBe(303);
      expect(r.headers.get('location')).toBe('/console/login');
    }
    noErrorLogged();
  });

  it('a forged page cursor (year 0000, another shape, garbage) opens the first page, never a 500', async () => {
    const { officer } = s;
    const id = '00000000-0000-4000-8000-000000000000';
    for (const cursor of [b64(['0000-01-01T00:00:00.000Z', id]), b64(['d', '0000-01-01', id]), b64(['d', '2150-01-01', id]), b64({ a: 1 }), 'not-base64-!!', '']) {
      for (const sort of ['deadline', 'received']) {
        const p = await officer.page(`/leads?sort=${sort}&cursor=${encodeURIComponent(cursor)}`);
        expect(p.status, cursor).toBe(200);
        expect(p.text).toContain(bingdao.receiptNo);
      }
    }
    const tokens = createTokens(w.app.db);
    const token = (await tokens.create('county office', { kind: 'county', code: PLACES.county })).token;
    const r = await fetch(`${w.app.url}/api/v1/leads?cursor=${b64(['0000-01-01T00:00:00.000Z', id])}`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(400);
    noErrorLogged();
  });

  it('what the form parser refuses (too many leads, too large, an unknown charset) is said in words with 413 or 415, and nothing is done', async () => {
    const { cadre } = s;
    const many = Array.from({ length: 450 }, (_, i) => ['ids', `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`] as [string, string]);
    const bulk = await cadre.post('/leads/bulk', [['action', 'contacted'], ...many]);
    expect(bulk.status).toBe(413);
    expect(bulk.text).toContain('提交的内容太多，什么都没有办');
    const big = await cadre.post(`/leads/${bingdao.id}`, [['record', 'note'], ['note', '很长'.repeat(40_000)]]);
    expect(big.status).toBe(413);
    const koi8 = await cadre.post(`/leads/${bingdao.id}`, new URLSearchParams({ _csrf: cadre.csrf, record: 'note', note: 'x' }).toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=koi8-r' });
    expect(koi8.status).toBe(415);
    expect(koi8.text).toContain('文字编码认不出来');
    const login = await fetch(`${w.app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: 'a'.repeat(70_000) }) });
    expect(login.status).toBe(413);
    expect(await login.text()).toContain('提交的内容太多');
    // 250 leads chosen (under the parser's limit, over the console's): too many, said so
    const some = await cadre.post('/leads/bulk', [['action', 'contacted'], ...many.slice(0, 250)]);
    expect(some.status).toBe(413);
    expect(some.text).toContain('一次最多选 200 条线索');
    // a body the parser cannot read: 400 in words
    const gz = await fetch(`${w.app.url}/console/leads/${bingdao.id}`, { method: 'POST', body: 'not gzip at all', headers: { cookie: cadre.cookie, 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' } });
    expect(gz.status).toBe(400);
    expect(await gz.text()).toContain('提交的内容不完整，什么都没有办。');
    expect(await stageOf(bingdao.id)).toBe('received');
    noErrorLogged();
  });

  it('a form posted from another site is refused, the log-in too (its link stays unused); the console\'s own forms pass', async () => {
    // someone posts their own unused link from their page: the visitor must not end up logged in as them
    const token = new URL(await w.officer.link()).searchParams.get('t')!;
    const login = (headers: Record<string, string>) => fetch(`${w.app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), headers, redirect: 'manual' });
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }, { origin: 'null' }] as Array<Record<string, string>>) {
      const r = await login(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.headers.get('set-cookie')).toBeNull();
      expect(await r.text()).toContain('不是从工作台自己的页面发出的');
    }
    // the link was not used up: opened from the console's own page it logs in
    const own = await login({ 'sec-fetch-site': 'same-origin', origin: w.app.url });
    expect(own.status).toBe(303);
    expect(own.headers.get('set-cookie')).toMatch(/fp_console=/);

    // a move with the right token but from another site: refused, nothing moved
    const { cadre } = s;
    const forged = await cadre.post('/leads/bulk', [['action', 'contacted'], ['ids', bingdao.id]], { 'sec-fetch-site': 'cross-site' });
    expect(forged.status).toBe(403);
    const noToken = await cadre.post('/leads/bulk', `action=contacted&ids=${bingdao.id}`);
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain('这个页面已经过期，没有办理。');
    expect(await stageOf(bingdao.id)).toBe('received');
    // a browser that sends no Sec-Fetch-Site (plain http on a LAN address) sends its origin: this server's passes
    const lan = await cadre.post('/language', [['lng', 'zh-CN'], ['back', '/console/leads']], { origin: w.app.url });
    expect(lan.status).toBe(303);
    expect((await cadre.post('/language', [['lng', 'zh-CN']], { origin: 'http://10.0.0.9:3000' })).status).toBe(403);
    // a request the person made themselves (a bookmark, typed) says "none"
    expect((await cadre.post('/language', [['lng', 'zh-CN']], { 'sec-fetch-site': 'none' })).status).toBe(303);
    // pages are still read from anywhere (a link in a chat opens them)
    expect((await fetch(`${w.app.url}/console/leads`, { headers: { cookie: cadre.cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
    // the page tells the browser to send its origin with its own forms, and nothing to other sites
    expect((await fetch(`${w.app.url}/console/login`)).headers.get('referrer-policy')).toBe('same-origin');
  });

  it('a language switch or a bulk form sends back only to a console page, never to another site', async () => {
    const { reviewer } = s;
    for (const back of ['https://evil.example/console/leads', '//evil.example/console', '/consolex', '/console/../api']) {
      const r = await reviewer.post('/language', [['lng', 'zh-CN'], ['back', back]]);
      expect(r.status).toBe(303);
      expect(r.location, back).toBe('/console');
    }
    const kept = await reviewer.post('/language', [['lng', 'zh-CN'], ['back', '/console/leads?stage=received']]);
    expect(kept.location).toBe('/console/leads?stage=received');
    const bulk = await reviewer.post('/leads/bulk', [['action', 'contacted'], ['back', 'https://evil.example/console/leads']]);
    expect(bulk.status).toBe(400);
    expect(bulk.text).not.toContain('evil.example');
    expect(bulk.text).toContain('href="/console/leads"');
  });

  it('phones: the village cadre has them in full on the page and in both exports; the township and county only masked', async () => {
    const full = '13912345678';
    const masked = '139****5678';
    const csvOf = async (b: Browser) => (await b.get(`/leads/export.csv?village=${PLACES.bingdao}`)).body.toString('utf8');
    const xlsxOf = async (b: Browser) => {
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load((await b.get(`/leads/export.xlsx?village=${PLACES.bingdao}`)).body as unknown as ArrayBuffer);
      const out: string[] = [];
      wb.worksheets[0]!.eachRow((row) => out.push(row.values!.toString()));
      return out.join('\n');
    };
    expect(await csvOf(s.cadre)).toContain(full);
    expect(await xlsxOf(s.cadre)).toContain(full);
    expect((await s.cadre.page(`/leads/${bingdao.id}`)).text).toContain(full);
    for (const who of ['reviewer', 'officer'] as const) {
      const csv = await csvOf(s[who]);
      expect(csv, who).toContain(masked);
      expect(csv, who).not.toContain(full);
      const xlsx = await xlsxOf(s[who]);
      expect(xlsx, who).toContain(masked);
      expect(xlsx, who).not.toContain(full);
      // the selection's export too
      const chosen = await s[who].post('/leads/bulk', [['action', 'export_csv'], ['ids', bingdao.id]]);
      expect(chosen.text).toContain(bingdao.receiptNo);
      expect(chosen.text).not.toContain(full);
      expect((await s[who].page(`/leads/${bingdao.id}`)).text).not.toContain(full);
    }
    // the ID number: whole for the county, masked below
    expect(await csvOf(s.officer)).toContain('53092519900101123X');
    expect(await csvOf(s.reviewer)).toContain('530925********123X');
  });

  it('bulk: a lead ticked twice is one lead; a lead of another place in the choice refuses the export as it refuses a move', async () => {
    const { cadre } = s;
    const a = await w.lead({ headName: '钱二' }, new Date(now.getTime() - DAY));
    const twice = await cadre.post('/leads/bulk', [['action', 'contacted'], ['ids', a.id], ['ids', a.id.toUpperCase()]]);
    expect(twice.status).toBe(200);
    expect(twice.text).toContain('办好 1 条，共 1 条。');
    expect(await stageOf(a.id)).toBe('assigned');
    for (const action of ['export_csv', 'export_xlsx', 'contacted']) {
      const mixed = await cadre.post('/leads/bulk', [['action', action], ['ids', bingdao.id], ['ids', gongnong.id]]);
      expect(mixed.status, action).toBe(404);
      expect(mixed.type).toMatch(/^text\/html/);
      expect(mixed.text).toContain('选中的线索有的不在您的范围内，什么都没有办。');
      expect(mixed.text).not.toContain(gongnong.receiptNo);
    }
    expect(await stageOf(bingdao.id)).toBe('received');
    expect(await stageOf(gongnong.id)).toBe('received');
  });

  it('the staff page and the access log open for the county only', async () => {
    for (const who of ['reviewer', 'cadre', 'contact'] as const) {
      for (const path of ['/access', '/staff']) {
        const p = await s[who].page(path);
        expect(p.status, `${who} ${path}`).toBe(403);
        expect(p.text).toContain('这个页面只对县级工作人员开放。');
      }
      const invite = await s[who].post('/staff/invite', [['role', 'county_officer'], ['place', PLACES.county]]);
      expect(invite.status).toBe(403);
    }
    expect((await s.officer.page('/access')).status).toBe(200);
    // a name with a control character is refused as the form is, not stored
    const bad = await s.officer.post('/staff/invite', [['role', 'village_cadre'], ['place', PLACES.bingdao], ['name', '李\u0000四']]);
    expect(bad.status).toBe(400);
  });

  it('a photo opened from the lead page is written to the access log, with the reader and the door', async () => {
    w.api.putFile('roof-hostile', Buffer.from('\x89PNG\r\n\x1a\nroof'), 'photos/roof.png');
    const l = await w.lead({ headName: '孙奶奶', attachments: [{ kind: 'photo', fileId: 'roof-hostile' }] }, now);
    await w.app.media.keepDue(now);
    const [att] = await w.app.db.prisma.attachment.findMany({ where: { leadId: l.id } });
    const r = await s.cadre.get(`/media/${att!.id}`);
    expect(r.status).toBe(200);
    const rows = await w.app.db.prisma.accessLog.findMany({ where: { leadId: l.id, action: 'media' } });
    expect(rows.map((x) => ({ staffId: x.staffId, via: x.via }))).toEqual([{ staffId: w.cadre.id, via: 'console' }]);
    // another village's cadre gets nothing and leaves no row
    expect((await s.otherCadre.get(`/media/${att!.id}`)).status).toBe(404);
    expect(await w.app.db.prisma.accessLog.count({ where: { leadId: l.id, action: 'media' } })).toBe(1);
  });

  it('a contact person sees the households assigned to them, not the rest of the village', async () => {
    const at = (d: string) => new Date(`${d}T02:00:00Z`);
    const mine = await w.lead({ headName: '周大爷' }, at('2026-11-02'));
    const moves = [
      [{ to: 'visited', judgement: 'fits' }, '2026-11-04'],
      [{ to: 'compared' }, '2026-11-04'],
      [{ to: 'publicized', publicityStart: '2026-11-05', publicityEnd: '2026-11-11' }, '2026-11-05'],
      [{ to: 'township_reviewed' }, '2026-11-12'],
      [{ to: 'confirmed', category: 'marginal' }, '2026-11-13'],
    ] as const;
    for (const [m, d] of moves) expect((await w.app.intake.move(mine.id, { ...m }, 'test', at(d))).ok).toBe(true);
    expect((await w.app.intake.record(mine.id, 'plan', { contactStaffId: w.contact.id }, 'test', at('2026-11-14'))).ok).toBe(true);
    const q = await s.contact.page('/leads');
    expect(q.text).toContain(mine.receiptNo);
    expect(q.text).not.toContain(bingdao.receiptNo);
    expect(countOf(q.text)).toBe('1');
    expect((await s.contact.page(`/leads/${bingdao.id}`)).status).toBe(404);
    const csv = (await s.contact.get('/leads/export.csv')).body.toString('utf8');
    expect(csv).toContain(mine.receiptNo);
    expect(csv).not.toContain(bingdao.receiptNo);
  });

  it('counts: the own township as a filter counts it all; a village of another township with it counts none', async () => {
    const all = countOf((await s.reviewer.page('/leads')).text);
    expect(Number(all)).toBeGreaterThan(1);
    expect(countOf((await s.reviewer.page(`/leads?township=${PLACES.township}`)).text)).toBe(all);
    expect(countOf((await s.reviewer.page(`/leads?township=${PLACES.township}&village=${PLACES.bingdao}`)).text)).toBe(countOf((await s.cadre.page('/leads')).text));
    // 勐永镇's 勐懵村 with 勐库镇: none, and the list agrees with the count
    const mixed = await s.officer.page(`/leads?township=${PLACES.township}&village=${PLACES.mengmeng}`);
    expect(countOf(mixed.text)).toBe('0');
    expect(mixed.text).not.toContain(bingdao.receiptNo);
    await w.lead({ villageCode: PLACES.mengmeng, headName: '岩保' }, now);
    const mixedAgain = await s.officer.page(`/leads?township=${PLACES.township}&village=${PLACES.mengmeng}`);
    expect(countOf(mixedAgain.text)).toBe('0');
    expect(countOf((await s.officer.page(`/leads?village=${PLACES.mengmeng}`)).text)).toBe('1');
  });

  it('空白村: a village whose only report came on the first day of the period is not blank; a day later it is', async () => {
    const qianbang = '530925101201'; // 千蚌村, in no other test
    await w.lead({ villageCode: qianbang, headName: '岩温' }, new Date('2026-11-20T01:00:00Z')); // 09:00 on 11-20
    const listed = async (from: string, to: string) => /<td>千蚌村<\/td>/.test((await s.officer.page(`/blank?from=${from}&to=${to}`)).text);
    expect(await listed('2026-11-20', '2026-11-25')).toBe(false);
    expect(await listed('2026-11-10', '2026-11-20')).toBe(false);
    expect(await listed('2026-11-21', '2026-11-25')).toBe(true);
    expect(await listed('2026-11-10', '2026-11-19')).toBe(true);
    expect((await s.officer.page('/blank?from=2026-11-21&to=2026-11-25')).text).toContain('<td>千蚌村</td><td>2026-11-20</td>');
  });

  it('home: a deadline due today counts as due within 7 days, not overdue; the next day it is overdue', async () => {
    const before = now;
    try {
      // 大荒田村, with a cadre and a report of its own
      const daHuangTian = '530925101202';
      const cadre = await w.join('village_cadre', daHuangTian, '大荒田村杨主任');
      const l = await w.lead({ villageCode: daHuangTian, headName: '何阿婆' }, now);
      const due = (await w.app.intake.leadWithClocks(l.id, now))!.clocks.next!.due;
      const tiles = async () => {
        const token = new URL(await cadre.link()).searchParams.get('t')!;
        const res = await fetch(`${w.app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), redirect: 'manual' });
        const cookie = /fp_console=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
        const html = await (await fetch(`${w.app.url}/console`, { headers: { cookie } })).text();
        const n = (label: string) => Number(new RegExp(`<span class="n">(\\d+)</span><span class="l">(?:⚠ )?${label}`).exec(html)?.[1]);
        return { overdue: n('已超期'), week: n('7 天内到期') };
      };
      now = new Date(`${due}T02:00:00Z`); // 10:00 on the day it is due
      expect(await tiles()).toEqual({ overdue: 0, week: 1 });
      now = new Date(`${due}T17:00:00Z`); // 01:00 the next day in Yunnan
      expect(await tiles()).toEqual({ overdue: 1, week: 0 });
    } finally {
      now = before;
    }
  });

  it('a head\'s name corrected in the database is found by its new pieces, not its old ones', async () => {
    const l = await w.lead({ headName: '李明' }, now);
    await w.app.db.prisma.$executeRaw`UPDATE lead SET head_name = '欧阳修' WHERE id = ${l.id}::uuid`;
    expect((await s.officer.page(`/leads?q=${encodeURIComponent('阳修')}`)).text).toContain(l.receiptNo);
    expect((await s.officer.page(`/leads?q=${encodeURIComponent('欧')}`)).text).toContain(l.receiptNo);
    expect((await s.officer.page(`/leads?q=${encodeURIComponent('李明')}`)).text).not.toContain(l.receiptNo);
  });
});
