import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleSession, consoleWorld, PLACES, type ConsoleWorld } from '../helpers/console.ts';
import { TEST_DB } from '../helpers/db.ts';
import { villageLeads } from '../../server/console/print.ts';
import { createQueries } from '../../server/intake/queries.ts';
import { createExports } from '../../server/intake/export.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';

// What the printed documents read: every lead of a village, past a page of 200 (a visit batch or a publicity
// list that stopped at 200 would leave households out without a word), and for the summary only what the reader
// may count (a contact person: the households assigned to them).
const now = new Date('2026-12-02T03:00:00Z');
const DAJI = '530925101208'; // 大吉村
let w: ConsoleWorld;
let read: { queries: ReturnType<typeof createQueries>; exports: ReturnType<typeof createExports> };

beforeAll(async () => {
  w = await consoleWorld(() => now);
  const config = w.app.config;
  const crypto = createCrypto(resolveMasterKey({ configured: config.encryptionKey, dataDir: config.dataDir, embedded: w.app.db.kind === 'pglite' }).key);
  read = { queries: createQueries({ db: w.app.db, crypto, deployment: config.deployment }), exports: createExports({ db: w.app.db, crypto, deployment: config.deployment }) };
}, 60_000);
afterAll(async () => {
  await w?.close();
});

describe(`what the paper reads, ${TEST_DB}`, () => {
  it('a village of 205 households awaiting a visit: all 205, oldest receipt first, each once', { timeout: 120_000 }, async () => {
    const made: string[] = [];
    for (let i = 0; i < 205; i++) made.push((await w.lead({ villageCode: DAJI, phone: `1390883${String(i).padStart(4, '0')}` }, new Date(now.getTime() - (205 - i) * 60_000))).receiptNo);
    const docs = await villageLeads(read.queries, { kind: 'county', code: PLACES.county }, DAJI, ['received', 'assigned'], now);
    expect(docs.map((d) => d.receiptNo)).toEqual(made);
  });

  it('the summary: the village cadre counts the village, the contact person only the households assigned to them', async () => {
    await w.lead({ villageCode: PLACES.bingdao, headName: '冰岛某户' }, now);
    const bingdao = async (scope: Parameters<typeof read.exports.summaryRows>[0]) => (await read.exports.summaryRows(scope)).find((r) => r.code === PLACES.bingdao)!.households;
    expect(await bingdao({ kind: 'village', code: PLACES.bingdao })).toBe(1);
    expect(await bingdao({ kind: 'village', code: PLACES.bingdao, contactStaffId: w.contact.id })).toBe(0);
  });

  it('the console prints what the viewer may see and logs each household: publicity by the cadre, the summary of a contact person', async () => {
    const DAY = 86_400_000;
    const at = (d: number) => new Date(now.getTime() - d * DAY);
    const listed = [];
    for (const name of ['公示甲', '公示乙']) {
      const l = await w.lead({ villageCode: PLACES.bingdao, headName: name }, at(10));
      for (const [m, d] of [[{ to: 'visited', judgement: 'fits' }, 8], [{ to: 'compared' }, 7], [{ to: 'publicized', publicityStart: '2026-11-30', publicityEnd: '2026-12-06' }, 2]] as const) {
        expect((await w.app.intake.move(l.id, { ...m }, 'test', at(d))).ok).toBe(true);
      }
      listed.push(l.id);
    }
    const cadre = await consoleSession(w, 'cadre');
    const list = await cadre.page(`/print/publicity?village=${PLACES.bingdao}`);
    expect(list.text).toContain('公示甲');
    const rows = await w.app.db.prisma.accessLog.findMany({ where: { action: 'print_publicity', leadId: { in: listed } }, select: { leadId: true, staffId: true, via: true } });
    expect(rows.sort((a, b) => a.leadId.localeCompare(b.leadId))).toEqual([...listed].sort().map((leadId) => ({ leadId, staffId: w.cadre.id, via: 'console' })));
    // 冰岛村 on the summary page: the whole village for the officer, none of it for a contact person with no household yet
    const households = (html: string) => /<tr><th scope="row">勐库镇冰岛村<\/th><td>[^<]*<\/td><td>[^<]*<\/td><td>[^<]*<\/td><td>([^<]*)<\/td>/.exec(html)![1];
    expect(Number(households((await (await consoleSession(w, 'officer')).page('/print/summary')).text))).toBeGreaterThanOrEqual(3);
    expect(households((await (await consoleSession(w, 'contact')).page('/print/summary')).text)).toBe('0');
  });
});
