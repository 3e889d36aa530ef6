import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import ExcelJS from 'exceljs';
import { start, type Running } from '../../server/main.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

const NOW = new Date('2026-12-20T02:00:00Z');
const day = (d: string) => new Date(`${d}T02:00:00Z`);

describe(`intake API on ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  const tok = { county: '', mengku: '', bingdao: '', gongnong: '' };
  const ids = { b1: '', b2: '', b3: '', g1: '', s1: '' };

  beforeAll(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW });
    const tokens = createTokens(app.db);
    tok.county = (await tokens.create('county office', { kind: 'county', code: '530925' })).token;
    tok.mengku = (await tokens.create('勐库镇', { kind: 'township', code: '530925102' })).token;
    tok.bingdao = (await tokens.create('冰岛村', { kind: 'village', code: '530925102208' })).token;
    tok.gongnong = (await tokens.create('公弄村', { kind: 'village', code: '530925102212' })).token;
    ids.b1 = (await app.intake.receiveLead(newLead({ villageCode: '530925102208', idNumber: '53092519900101123X' }), day('2026-11-24'))).id;
    ids.b2 = (await app.intake.receiveLead(newLead({ villageCode: '530925102208' }), day('2026-12-15'))).id;
    ids.b3 = (await app.intake.receiveLead(newLead({ villageCode: '530925102208' }), day('2026-12-16'))).id;
    ids.g1 = (await app.intake.receiveLead(newLead({ villageCode: '530925102212' }), day('2026-12-01'))).id;
    ids.s1 = (await app.intake.receiveLead(newLead({ villageCode: '530925201203' }), day('2026-12-02'))).id;
  });
  afterAll(async () => {
    await app.stop();
    await place.cleanup();
  });

  const get = (path: string, token: string | undefined) => {
    const r = request(app.url).get(path);
    return token ? r.set('authorization', `Bearer ${token}`) : r;
  };

  it('refuses requests without a valid token', async () => {
    const r = await get('/api/v1/leads', undefined);
    expect(r.status).toBe(401);
    expect(r.body.error).toEqual({ code: 'unauthorized', message: '需要有效的访问令牌（Authorization: Bearer …）。' });
    expect((await get('/api/v1/leads', 'fp_not-a-token')).status).toBe(401);
  });

  it('a village token sees only its village: by list, by id, and in the counts', async () => {
    const list = await get('/api/v1/leads', tok.bingdao);
    expect(list.status).toBe(200);
    expect(list.body.items.map((l: { id: string }) => l.id).sort()).toEqual([ids.b1, ids.b2, ids.b3].sort());
    expect((await get(`/api/v1/leads/${ids.g1}`, tok.bingdao)).status).toBe(404);
    expect((await get(`/api/v1/leads/${ids.g1}`, tok.gongnong)).status).toBe(200);
    const stats = await get('/api/v1/stats', tok.bingdao);
    expect(stats.body.total).toBe(3);
    expect(stats.body.villages).toEqual([{ code: '530925102208', name: '冰岛村', township: '勐库镇', leads: 3 }]);
    const township = await get('/api/v1/leads', tok.mengku);
    expect(township.body.items).toHaveLength(4);
    expect((await get(`/api/v1/leads/${ids.s1}`, tok.mengku)).status).toBe(404);
  });

  it('masks ID numbers except for the county, and logs every read of personal fields', async () => {
    const village = await get(`/api/v1/leads/${ids.b1}`, tok.bingdao);
    expect(village.body.idNumber).toBe('530925********123X');
    expect(village.body.phone).toMatch(/^139\d{8}$/);
    expect(village.body.events.map((e: { to: string }) => e.to)).toEqual(['received']);
    const county = await get(`/api/v1/leads/${ids.b1}`, tok.county);
    expect(county.body.idNumber).toBe('53092519900101123X');
    const logged = await app.db.prisma.accessLog.findMany({ where: { leadId: ids.b1 }, orderBy: { id: 'asc' } });
    const tokenIds = Object.fromEntries((await createTokens(app.db).list()).map((t) => [t.id, t.name]));
    // the two lists of the test before (the village's and the township's), then the two reads here
    expect(logged.map((l) => `${l.action} ${tokenIds[l.tokenId!]}`)).toEqual(['list 冰岛村', 'list 勐库镇', 'read 冰岛村', 'read county office']);
  });

  it('filters by stage, village, overdue and received dates, and pages with a cursor', async () => {
    const overdue = await get('/api/v1/leads?overdue=true', tok.county);
    // Today is 2026-12-20: received on 11-24 (due 12-09), 12-01 (due 12-16), 12-02 (due 12-17) are overdue.
    expect(overdue.body.items.map((l: { id: string }) => l.id).sort()).toEqual([ids.b1, ids.g1, ids.s1].sort());
    expect(overdue.body.items[0].nextDeadline).toMatchObject({ kind: 'identify', overdue: true });
    const byVillage = await get('/api/v1/leads?village=530925102212', tok.county);
    expect(byVillage.body.items.map((l: { id: string }) => l.id)).toEqual([ids.g1]);
    const byDate = await get('/api/v1/leads?receivedFrom=2026-12-01&receivedTo=2026-12-15', tok.county);
    expect(byDate.body.items.map((l: { id: string }) => l.id).sort()).toEqual([ids.b2, ids.g1, ids.s1].sort());
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await get(`/api/v1/leads?limit=2${cursor ? `&cursor=${cursor}` : ''}`, tok.county);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((l: { id: string }) => l.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(Object.values(ids).sort());
    const bad = await get('/api/v1/leads?colour=red&stage=nowhere', tok.county);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_request');
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['stage', '']));
  });

  it('moves a lead, refusing moves the procedure does not allow with a clear 409', async () => {
    const post = (id: string, token: string, body: unknown, lang = 'zh-CN') => request(app.url).post(`/api/v1/leads/${id}/events`).set('authorization', `Bearer ${token}`).set('accept-language', lang).send(body as object);
    const ok = await post(ids.b2, tok.bingdao, { to: 'visited', judgement: 'fits', note: '已入户核查' });
    expect(ok.status).toBe(201);
    expect(ok.body.stage).toBe('visited');
    const refused = await post(ids.b2, tok.bingdao, { to: 'confirmed', category: 'marginal' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('not_your_move');
    const notAllowed = await post(ids.b2, tok.mengku, { to: 'township_reviewed' }, 'en');
    expect(notAllowed.status).toBe(409);
    expect(notAllowed.body.error.code).toBe('move_not_allowed');
    expect(notAllowed.body.error.message).toContain('cannot go from "visited" to "township_reviewed"');
    const unknownField = await post(ids.b2, tok.bingdao, { to: 'compared', colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.details[0].problem).toContain('colour');
    expect((await post(ids.g1, tok.bingdao, { to: 'withdrawn' })).status).toBe(404);
    const events = await get(`/api/v1/leads/${ids.b2}`, tok.county);
    expect(events.body.events.map((e: { to: string }) => e.to)).toEqual(['received', 'visited']);
  });

  it('counts by stage and lists villages with no leads (空白村)', async () => {
    const stats = await get('/api/v1/stats', tok.county);
    expect(stats.body.total).toBe(5);
    expect(stats.body.byStage).toMatchObject({ received: 4, visited: 1, duplicate: 0 });
    expect(stats.body.villagesWithoutLeads).toContain('530925101211');
    expect(stats.body.villagesWithoutLeads).not.toContain('530925102208');
    // every official village-level unit of 双江, 3 of them with leads
    expect(stats.body.villages).toHaveLength(78);
    expect(stats.body.villagesWithoutLeads).toHaveLength(75);
  });

  it('exports the place\'s leads as XLSX with the form\'s columns and the summary sheet, and as CSV', async () => {
    const res = await get('/api/v1/exports/leads.xlsx', tok.bingdao).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(res.body as never);
    const [leads, summary] = book.worksheets;
    const header = (leads!.getRow(1).values as unknown[]).slice(1);
    expect(header.slice(0, 3)).toEqual(['回执号', '申报日期', '办理阶段']);
    expect(header).toContain('A28工资性收入(元)');
    expect(header.indexOf('A27风险类型')).toBeLessThan(header.indexOf('A28工资性收入(元)'));
    expect(header.indexOf('A28工资性收入(元)')).toBeLessThan(header.indexOf('A38纳入监测对象的人均收入参考(元)'));
    expect(leads!.rowCount).toBe(4); // header + the three leads of 冰岛村, none of the next village
    const first = leads!.getRow(2).values as unknown[];
    const col = (name: string) => header.indexOf(name) + 1;
    expect(first[col('村(社区)')]).toBe('冰岛村');
    expect(first[col('A5户主姓名')]).toBe('李明');
    expect(first[col('A7居民身份证(残疾人证)号码')]).toBe('530925********123X'); // masked for a village token
    expect(first[col('A28工资性收入(元)')]).toBe(6000);
    expect(first[col('A34家庭人均纯收入(元)')]).toBe(2000);
    expect(summary!.name).toBe('入户排查情况汇总表');
    expect(summary!.getRow(2).getCell(1).value).toBe('地区');
    expect(summary!.getRow(5).values).toEqual(expect.arrayContaining(['勐库镇冰岛村']));
    expect(summary!.getRow(5).getCell(2).value).toBe(3);
    const exportsLogged = await app.db.prisma.accessLog.count({ where: { action: 'export' } });
    expect(exportsLogged).toBe(3);

    const csv = await get('/api/v1/exports/leads.csv', tok.county);
    expect(csv.status).toBe(200);
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]!.startsWith('"回执号","申报日期","办理阶段"')).toBe(true); // text cells are quoted
    expect(csv.text).toContain('53092519900101123X'); // the county sees the whole ID number
  });

  it('stops a revoked token and serves the OpenAPI document', async () => {
    await createTokens(app.db).revoke('公弄村');
    expect((await get('/api/v1/leads', tok.gongnong)).status).toBe(401);
    const doc = await request(app.url).get('/api/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(['/api/v1/leads', '/api/v1/leads/{id}', '/api/v1/leads/{id}/events', '/api/v1/exports/leads.xlsx', '/api/v1/exports/leads.csv', '/api/v1/stats']);
  });

  it('refuses a bad cursor and keeps duplicates outside the token\'s place out of sight', async () => {
    for (const bad of ['eA', Buffer.from('"x"').toString('base64url'), Buffer.from('null').toString('base64url'), Buffer.from('["2026-01-01T00:00:00Z","nope"]').toString('base64url')]) {
      const r = await get(`/api/v1/leads?cursor=${bad}`, tok.county);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code).toBe('bad_cursor');
    }
    const s1 = (await get(`/api/v1/leads/${ids.s1}`, tok.county)).body;
    const phone = s1.phone as string;
    expect(s1.township).toEqual({ code: '530925201', name: '沙河乡' }); // routed to another township than 冰岛村's
    const twin = (await app.intake.receiveLead(newLead({ villageCode: '530925102208', phone }), day('2026-12-18'))).id;
    const county = await get(`/api/v1/leads/${twin}`, tok.county);
    expect(county.body.possibleDuplicates).toEqual([ids.s1]);
    expect(county.body.flags).toContain('possible_duplicate');
    const village = await get(`/api/v1/leads/${twin}`, tok.bingdao);
    expect(village.body.possibleDuplicates).toEqual([]);
    expect(JSON.stringify(village.body.events)).not.toContain(ids.s1);
    // that someone elsewhere in the county gave the same phone is not the village's to know: no flag either
    expect(village.body.flags).not.toContain('possible_duplicate');
    const listed = (await get('/api/v1/leads', tok.bingdao)).body.items.find((l: { id: string }) => l.id === twin);
    expect(listed.flags).not.toContain('possible_duplicate');
    // a twin inside the village is: flag and link
    const near = (await app.intake.receiveLead(newLead({ villageCode: '530925102208', phone }), day('2026-12-19'))).id;
    const both = await get(`/api/v1/leads/${near}`, tok.bingdao);
    expect(both.body.possibleDuplicates).toEqual([twin]);
    expect(both.body.flags).toContain('possible_duplicate');
    const post = (body: unknown) => request(app.url).post(`/api/v1/leads/${twin}/events`).set('authorization', `Bearer ${tok.bingdao}`).send(body as object);
    expect((await post({ to: 'duplicate', duplicateOf: ids.s1 })).status).toBe(422);
    expect((await post({ to: 'duplicate', duplicateOf: twin })).status).toBe(422);
    expect((await post({ to: 'duplicate', duplicateOf: ids.b3 })).status).toBe(201);
  });

  it('writes one access-log row per lead shown, for each action: list, read, move, record, export', async () => {
    const lead = (await app.intake.receiveLead(newLead({ villageCode: '530925102210' }), day('2026-12-19'))).id;
    const { id: tokenId, token } = await createTokens(app.db).create('懂过村', { kind: 'village', code: '530925102210' });
    const rows = async () => (await app.db.prisma.accessLog.findMany({ where: { tokenId }, orderBy: { id: 'asc' } })).map((r) => `${r.action} ${r.leadId}`);
    await get('/api/v1/leads', token);
    expect(await rows()).toEqual([`list ${lead}`]);
    await get(`/api/v1/leads/${lead}`, token);
    expect(await rows()).toEqual([`list ${lead}`, `read ${lead}`]);
    const post = (body: unknown) => request(app.url).post(`/api/v1/leads/${lead}/events`).set('authorization', `Bearer ${token}`).send(body as object);
    expect((await post({ to: 'visited', judgement: 'fits' })).status).toBe(201);
    expect((await post({ to: 'confirmed', category: 'marginal' })).status).toBe(403); // refused: nothing shown, nothing logged
    expect((await post({ record: 'green_channel', note: '临时救助' })).status).toBe(201);
    await get('/api/v1/exports/leads.csv', token);
    await get('/api/v1/stats', token); // counts only: no personal fields, no row
    expect(await rows()).toEqual([`list ${lead}`, `read ${lead}`, `move ${lead}`, `record ${lead}`, `export ${lead}`]);
  });
});
