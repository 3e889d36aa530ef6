import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import { createQueries, type LeadFilters, type LeadSort, decodeCursor } from '../../server/intake/queries.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import type { Actor } from '../../server/intake/leads.ts';
import type { Scope } from '../../server/intake/tokens.ts';

// The queue's pages, walked with small pages in both orders and with each kind of filter, must give exactly the
// leads a plain sort of all of them gives: none twice, none lost, ties on one deadline day and leads without a
// deadline (withdrawn) included.
const DAY = 86_400_000;
const NOW = new Date('2026-12-02T03:00:00Z');
const BINGDAO = '530925102208';
const GONGNONG = '530925102212';

describe(`the queue's pages, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  let queries: ReturnType<typeof createQueries>;

  beforeAll(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0 });
    // the app's own key (a key file in DATA_DIR on the embedded database)
    const key = resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' }).key;
    queries = createQueries({ db: app.db, crypto: createCrypto(key), deployment: app.config.deployment });
    const cadre = (code: string) => ({ role: 'village_cadre', scope: { kind: 'village', code }, staffId: null, id: 'token:test' }) as unknown as Actor;
    const names = ['王芳', '李王明', '张强', '王建国', '刘芳', '陈𬱖明'];
    // 24 leads: four a day on six days (ties on each deadline), two villages, some withdrawn (no deadline)
    for (let i = 0; i < 24; i++) {
      const code = i % 3 === 0 ? GONGNONG : BINGDAO;
      const lead = await app.intake.receiveLead(newLead({ villageCode: code, headName: names[i % names.length]! }), new Date(NOW.getTime() - (30 - Math.floor(i / 4) * 4) * DAY + i * 60_000));
      if (i % 5 === 0) expect((await app.intake.moveAs(cadre(code), lead.id, { to: 'withdrawn' }, NOW)).ok).toBe(true);
    }
  });
  afterAll(async () => {
    await app?.stop();
    await place?.cleanup();
  });

  /** Every page of the list, `size` at a time. */
  async function walk(scope: Scope, f: LeadFilters, sort: LeadSort, size: number) {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page: Awaited<ReturnType<typeof queries.list>> = await queries.list(scope, f, { after: cursor ? decodeCursor(cursor)! : undefined, limit: size, sort }, NOW);
      expect(page.items.length).toBeLessThanOrEqual(size);
      seen.push(...page.items.map((l) => l.id));
      cursor = page.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error('the pages never ended');
  }

  /** The same leads, sorted plainly from all of the place's rows. */
  async function expected(scope: Scope, keep: (l: { headName: string; reportedOn: Date; villageCode: string; stage: string; nextDeadlineDue: Date | null }) => boolean, sort: LeadSort) {
    const all = (await app.db.prisma.lead.findMany({ where: scope.kind === 'county' ? { countyCode: scope.code } : { villageCode: scope.code } })).filter(keep);
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return all
      .sort((a, b) =>
        sort === 'received'
          ? b.createdAt.getTime() - a.createdAt.getTime() || cmp(b.id, a.id)
          : a.nextDeadlineDue === null
            ? b.nextDeadlineDue === null
              ? cmp(a.id, b.id)
              : 1
            : b.nextDeadlineDue === null
              ? -1
              : a.nextDeadlineDue.getTime() - b.nextDeadlineDue.getTime() || cmp(a.id, b.id),
      )
      .map((l) => l.id);
  }

  const county: Scope = { kind: 'county', code: '530925' };
  for (const sort of ['deadline', 'received'] as const) {
    for (const size of [1, 4, 7, 50]) {
      it(`by ${sort}, ${size} a page: every lead once, in order`, async () => {
        const ids = await walk(county, {}, sort, size);
        expect(ids).toEqual(await expected(county, () => true, sort));
        expect(ids).toHaveLength(24);
      });
    }
    it(`by ${sort}: a name, a range of receipt dates and a village, paged`, async () => {
      expect(await walk(county, { q: '王' }, sort, 3)).toEqual(await expected(county, (l) => l.headName.includes('王'), sort));
      const from = new Date(NOW.getTime() - 22 * DAY).toISOString().slice(0, 10);
      const to = new Date(NOW.getTime() - 10 * DAY).toISOString().slice(0, 10);
      const inRange = (l: { reportedOn: Date }) => l.reportedOn.toISOString().slice(0, 10) >= from && l.reportedOn.toISOString().slice(0, 10) <= to;
      const dated = await walk(county, { receivedFrom: from, receivedTo: to }, sort, 3);
      expect(dated.length).toBeGreaterThan(3);
      expect(dated).toEqual(await expected(county, inRange, sort));
      expect(await walk({ kind: 'village', code: BINGDAO }, { q: '芳', receivedFrom: from }, sort, 2)).toEqual(
        await expected({ kind: 'village', code: BINGDAO }, (l) => l.headName.includes('芳') && l.reportedOn.toISOString().slice(0, 10) >= from, sort),
      );
      // a part of a name anywhere in it, two or three characters long, or a rare character beyond the BMP (𬱖)
      for (const q of ['王明', '王建国', '𬱖', '𬱖明', '陈𬱖明', '芳']) {
        expect(await walk(county, { q }, sort, 2), q).toEqual(await expected(county, (l) => l.headName.includes(q), sort));
      }
      for (const q of ['王国', '明王', '李芳']) expect(await walk(county, { q }, sort, 5), q).toEqual([]);
      // a name the county has, looked for from another village: nothing
      expect(await walk({ kind: 'village', code: BINGDAO }, { q: '张强', village: GONGNONG }, sort, 5)).toEqual([]);
    });
    it(`by ${sort}: a stage with deadlines, one without (withdrawn), and overdue, a lead a page`, async () => {
      const today = NOW.toISOString().slice(0, 10);
      for (const [f, keep] of [
        [{ stage: 'received' }, (l: { stage: string }) => l.stage === 'received'],
        [{ stage: 'withdrawn' }, (l: { stage: string }) => l.stage === 'withdrawn'],
        [{ overdue: true }, (l: { nextDeadlineDue: Date | null }) => l.nextDeadlineDue !== null && l.nextDeadlineDue.toISOString().slice(0, 10) < today],
      ] as const) {
        const ids = await walk(county, f, sort, 1);
        expect(ids.length, JSON.stringify(f)).toBeGreaterThan(1);
        expect(ids, JSON.stringify(f)).toEqual(await expected(county, keep as (l: object) => boolean, sort));
      }
    });
  }
});
