import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import type { Actor } from '../../server/intake/leads.ts';

// The console's home page, 空白村 and the queue's counts read tallies kept by triggers on `lead`, not the leads
// themselves. Whatever happens to leads (received, moved, withdrawn, marked duplicate, many at once), each tally
// must equal a count of the leads made from scratch.
const DAY = 86_400_000;
const NOW = new Date('2026-12-02T03:00:00Z');
const BINGDAO = '530925102208';
const GONGNONG = '530925102212';
const MENGMENG = '530925101211';

describe(`lead tallies, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;

  beforeEach(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0 });
  });
  afterEach(async () => {
    await app.stop();
    await place.cleanup();
  });

  /** Each tally next to the same count made from the leads (zero rows left out). */
  async function compare() {
    const q = (sql: string) => app.db.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(sql);
    const norm = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.values(r).map((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v))).join(' ')).sort();
    const pairs: Array<[string, string]> = [
      ['SELECT village_code, stage, n FROM lead_tally_stage WHERE n <> 0', 'SELECT village_code, stage, count(*) FROM lead GROUP BY 1, 2'],
      ['SELECT village_code, due, n FROM lead_tally_due WHERE n <> 0', 'SELECT village_code, next_deadline_due, count(*) FROM lead WHERE next_deadline_due IS NOT NULL GROUP BY 1, 2'],
      ['SELECT village_code, day, n FROM lead_tally_day WHERE n <> 0', 'SELECT village_code, reported_on, count(*) FROM lead GROUP BY 1, 2'],
      ['SELECT village_code, risk, n FROM lead_tally_risk WHERE n <> 0', "SELECT village_code, r, count(*) FROM lead, unnest(risks) r WHERE stage NOT IN ('withdrawn', 'duplicate') GROUP BY 1, 2"],
    ];
    for (const [tally, recount] of pairs) expect(norm(await q(tally)), tally).toEqual(norm(await q(recount)));
    // nothing negative, ever
    for (const t of ['lead_tally_stage', 'lead_tally_due', 'lead_tally_day', 'lead_tally_risk']) expect(await q(`SELECT * FROM ${t} WHERE n < 0`), t).toEqual([]);
  }

  it('follow receipts, moves, withdrawals, duplicates and a bulk insert', async () => {
    const county: Actor = { role: 'county_officer', scope: { kind: 'county', code: '530925' }, staffId: null, id: 'token:test' } as unknown as Actor;
    const village: Actor = { role: 'village_cadre', scope: { kind: 'village', code: BINGDAO }, staffId: null, id: 'token:test' } as unknown as Actor;
    const leads = [];
    for (const [i, [code, risks]] of ([[BINGDAO, ['illness']], [BINGDAO, ['disaster', 'accident']], [GONGNONG, ['illness', 'no_labour']], [MENGMENG, []], [BINGDAO, ['schooling']]] as const).entries()) {
      leads.push(await app.intake.receiveLead(newLead({ villageCode: code, risks: [...risks] }), new Date(NOW.getTime() - (20 - i * 4) * DAY)));
    }
    await compare();
    const [a, b, , , e] = leads;
    expect((await app.intake.moveAs(village, a!.id, { to: 'visited', judgement: 'fits' }, new Date(NOW.getTime() - 2 * DAY))).ok).toBe(true);
    expect((await app.intake.moveAs(county, a!.id, { to: 'compared' }, new Date(NOW.getTime() - DAY))).ok).toBe(true);
    await compare();
    expect((await app.intake.moveAs(village, b!.id, { to: 'withdrawn' }, NOW)).ok).toBe(true);
    expect((await app.intake.moveAs(village, e!.id, { to: 'duplicate', duplicateOf: a!.id }, NOW)).ok).toBe(true);
    await compare();
    // a refused move changes nothing
    expect((await app.intake.moveAs(village, b!.id, { to: 'visited', judgement: 'fits' }, NOW)).ok).toBe(false);
    await compare();
    // many leads in one statement, as a migration or an import writes them; then moves of two leads of one village at once
    await app.db.prisma.$executeRawUnsafe(`
      INSERT INTO lead (id, receipt_no, county_code, township_code, village_code, channel, reporter_id, head_name, phone_enc, phone_hash, answers, risks,
        category, flags, stage, reported_on, next_deadline_kind, next_deadline_due, possible_duplicates)
      SELECT gen_random_uuid(), 'T-' || g, '530925', '530925102', '${GONGNONG}', 'telegram', 'b' || g, '王' || g, '\\x00', md5(g::text), '{}', ARRAY['illness'],
        'unknown', '{}', 'received', DATE '2026-11-01' + g % 20, 'identify', DATE '2026-11-16' + g % 20, '{}'
      FROM generate_series(1, 300) g`);
    await compare();
    const two = await app.db.prisma.lead.findMany({ where: { receiptNo: { in: ['T-1', 'T-2'] } }, select: { id: true } });
    const gongnong: Actor = { ...village, scope: { kind: 'village', code: GONGNONG } } as Actor;
    const moved = await Promise.all(two.map((l) => app.intake.moveAs(gongnong, l.id, { to: 'visited', judgement: 'does_not_fit', reason: '收入够' }, NOW)));
    expect(moved.map((m) => m.ok)).toEqual([true, true]);
    await compare();
    // the visit's judgement is kept with the lead: the township, not the county, acts next on these two
    expect((await app.db.prisma.lead.findMany({ where: { id: { in: two.map((l) => l.id) } }, select: { visitJudgement: true } })).map((l) => l.visitJudgement)).toEqual(['does_not_fit', 'does_not_fit']);
    const township = await app.intake.tasks({ kind: 'township', code: '530925102' }, 'township_reviewer', '00000000-0000-4000-8000-000000000000', 0, 10);
    expect(township.rows.filter((r) => two.some((l) => l.id === r.id))).toHaveLength(2);
    const officer = await app.intake.tasks({ kind: 'county', code: '530925' }, 'county_officer', '00000000-0000-4000-8000-000000000000', 0, 10);
    expect(officer.rows.some((r) => two.some((l) => l.id === r.id))).toBe(false);
    await app.db.prisma.lead.deleteMany({ where: { receiptNo: { startsWith: 'T-3' } } }); // leads never moved (events keep the others)
    await compare();
  });

  it('give the home page, 空白村 and the queue\'s heading the same figures as counting the leads would', async () => {
    await app.intake.receiveLead(newLead({ villageCode: BINGDAO, risks: ['illness'] }), new Date(NOW.getTime() - 20 * DAY)); // 15 days passed: overdue
    await app.intake.receiveLead(newLead({ villageCode: BINGDAO, risks: ['illness', 'disaster'] }), new Date(NOW.getTime() - 10 * DAY)); // due within the week
    const fresh = await app.intake.receiveLead(newLead({ villageCode: GONGNONG, risks: ['accident'] }), NOW);
    const village: Actor = { role: 'village_cadre', scope: { kind: 'village', code: GONGNONG }, staffId: null, id: 'token:test' } as unknown as Actor;
    expect((await app.intake.moveAs(village, fresh.id, { to: 'withdrawn' }, NOW)).ok).toBe(true);
    const { createQueries } = await import('../../server/intake/queries.ts');
    const { createCrypto } = await import('../../server/crypto.ts');
    const { TEST_ENCRYPTION_KEY } = await import('../helpers/db.ts');
    const queries = createQueries({ db: app.db, crypto: createCrypto(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')), deployment: app.config.deployment });
    const o = await queries.overview({ kind: 'township', code: '530925102' }, NOW);
    expect(o.total).toBe(3);
    expect(o.byStage.received).toBe(2);
    expect(o.byStage.withdrawn).toBe(1);
    expect(o.overdue).toBe(1);
    expect(o.dueThisWeek).toBe(1);
    expect(o.newSinceYesterday).toBe(1);
    expect(o.hardships).toEqual([{ risk: 'illness', n: 2 }, { risk: 'disaster', n: 1 }]); // the withdrawn one's accident is left out
    expect(o.villages.find((v) => v.code === BINGDAO)).toMatchObject({ received: 2, open: 2, overdue: 1, last: '2026-11-22' });
    expect(o.weekly.reduce((n, w) => n + w.n, 0)).toBe(3);
    // 空白村: a village whose only report was withdrawn still had someone who knew the channel
    const blank = await queries.blankVillages({ kind: 'township', code: '530925102' }, '2026-11-01', '2026-12-02');
    expect(blank.some((v) => v.code === GONGNONG || v.code === BINGDAO)).toBe(false);
    expect(blank.length).toBe(o.villageCount - 2);
    // the queue's heading: from the tallies for place and stage, counted for anything else
    expect(await queries.count({ kind: 'county', code: '530925' }, { stage: 'received' }, NOW)).toEqual({ n: 2, capped: false });
    expect(await queries.count({ kind: 'county', code: '530925' }, { township: '530925101' }, NOW)).toEqual({ n: 0, capped: false });
    expect(await queries.count({ kind: 'village', code: BINGDAO }, { village: GONGNONG }, NOW)).toEqual({ n: 0, capped: false });
    expect(await queries.count({ kind: 'township', code: '530925102' }, { village: GONGNONG }, NOW)).toEqual({ n: 1, capped: false });
    expect(await queries.count({ kind: 'county', code: '530925' }, { overdue: true }, NOW)).toEqual({ n: 1, capped: false });
  });
});
