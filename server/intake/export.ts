import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { TFunction } from 'i18next';
import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { memoT, type Language } from '../i18n.ts';
import { localDate } from '../time.ts';
import { scopeWhere, type Scope } from './tokens.ts';
import { formPayload } from './outbox.ts';
import { maskIdNumber } from './queries.ts';

/**
 * Exports of a place's leads for county officers: one row per lead with Chinese column headers in the order of
 * the official data-collection form, and (XLSX) a second sheet in the layout of the 入户排查情况汇总表.
 * Streams: leads are read in batches and written as they come, so memory does not grow with the row count.
 *
 * Every text cell that a spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return)
 * gets a leading single quote, as OWASP recommends against CSV injection: households' free text, names, phone
 * numbers and the deployment file's place names all reach these cells. Numbers stay number cells.
 */

export const EXPORT_COLUMNS = [
  'receiptNo', 'reportedOn', 'stage', 'province', 'city', 'county', 'township', 'village', 'phone',
  'A3', 'A3_preliminary', 'A4', 'A5', 'A7', 'householdSize', 'labourers', 'A23', 'A24', 'A25', 'A26', 'A27', 'A27a',
  'A28', 'A29', 'A30', 'A31', 'A32', 'A33', 'A34', 'A35', 'A36', 'A37', 'A38',
  'flags', 'greenChannel', 'whatHappened', 'whenHappened', 'nextDeadline', 'overdue',
] as const;

/**
 * The characters that start a formula, and their full-width forms (some spreadsheet apps normalise those):
 * the set csv-stringify's `escape_formulas` prefixes in the CSV, applied here to the XLSX text cells.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** A text cell as a spreadsheet will show it, never as a formula. */
export function textCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

const BATCH = 1000;
type LeadRow = Prisma.LeadGetPayload<object>;

async function* leadsOf(db: Database, scope: Scope): AsyncGenerator<LeadRow[]> {
  let after: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const rows = await db.prisma.lead.findMany({
      where: after
        ? { AND: [scopeWhere(scope), { createdAt: { gte: after.createdAt } }, { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] }] }
        : scopeWhere(scope),
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: BATCH,
    });
    if (rows.length === 0) return;
    yield rows;
    const last = rows[rows.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

export function createExports(deps: { db: Database; crypto: Crypto; deployment: Deployment }) {
  const { db, crypto, deployment } = deps;
  const places = placeIndex(deployment);
  // i18next resolves each key once per export, not once per cell (300,000 rows make that the hot path).
  // formPayload only ever calls t(key), which the memoised form answers the same.
  const officialT = memoT('zh-CN', 'common') as unknown as TFunction;

  /** A row's cells, in the order of EXPORT_COLUMNS; text as stored (each format neutralises it as it writes). */
  function rowMaker(scope: Scope, lng: Language, today: string) {
    const t = memoT(lng, 'common');
    const tb = memoT(lng, 'bot');
    const yesText = t('export.summary.yes');
    const noText = t('export.summary.no');
    const yes = (v: unknown) => (v === true ? yesText : v === false ? noText : null);
    return (l: LeadRow, visibleTwins: Set<string> | undefined): Array<string | number | null> => {
      const p = formPayload(l, crypto, deployment, officialT);
      const id = p.members[0]!.A7;
      const a = l.answers as Record<string, unknown>;
      const when = a.whenHappened as { date: string } | undefined;
      const due = l.nextDeadlineDue?.toISOString().slice(0, 10) ?? null;
      // Below the county, "possible duplicate" only when a twin is inside the place: else it tells of a
      // household elsewhere.
      const flags = visibleTwins ? l.flags.filter((f) => f !== 'possible_duplicate' || l.possibleDuplicates.some((d) => visibleTwins.has(d))) : l.flags;
      const values: Record<(typeof EXPORT_COLUMNS)[number], string | number | null> = {
        receiptNo: l.receiptNo,
        reportedOn: p.reportedOn,
        stage: tb(`stage.${l.stage}`),
        province: p.address?.province.name ?? null,
        city: p.address?.city.name ?? null,
        county: p.address?.county.name ?? null,
        township: p.address?.township.name ?? null,
        village: p.address?.village.name ?? null,
        phone: p.phone,
        A3: l.confirmedCategory ? officialT(`official.A3.${l.confirmedCategory}`) : null,
        A3_preliminary: p.A3_preliminary,
        A4: yes(p.A4),
        A5: p.members[0]!.A5,
        A7: id === null ? null : scope.kind === 'county' ? id : maskIdNumber(id),
        householdSize: (p.householdSize as number | null) ?? null,
        labourers: (p.labourers as number | null) ?? null,
        A23: yes(p.A23),
        A24: yes(p.A24),
        A25: yes(p.A25),
        A26: yes(p.A26),
        A27: p.A27.join('、'),
        A27a: p.A27a,
        A28: p.A28,
        A29: p.A29,
        A30: p.A30,
        A31: p.A31,
        A32: p.A32,
        A33: p.A33,
        A34: p.A34,
        A35: p.A35,
        A36: p.A36,
        A37: p.A37,
        A38: p.A38,
        flags: flags.join(' '),
        greenChannel: yes(l.greenChannel),
        whatHappened: a.whatHappened === undefined || a.whatHappened === null ? null : String(a.whatHappened),
        whenHappened: when?.date ?? null,
        nextDeadline: due,
        overdue: due ? yes(due < today) : null,
      };
      return EXPORT_COLUMNS.map((c) => values[c]);
    };
  }

  /**
   * For a scope below the county: which of a batch's possible duplicates are inside it (one query a batch).
   * The county sees them all (undefined: nothing to hide).
   */
  async function visibleTwinsOf(scope: Scope, batch: LeadRow[]): Promise<Set<string> | undefined> {
    if (scope.kind === 'county') return undefined;
    const twins = [...new Set(batch.flatMap((l) => (l.flags.includes('possible_duplicate') ? l.possibleDuplicates : [])))];
    if (twins.length === 0) return new Set();
    const inside = await db.prisma.lead.findMany({ where: { AND: [scopeWhere(scope), { id: { in: twins } }] }, select: { id: true } });
    return new Set(inside.map((r) => r.id));
  }

  /** Per-village counts for the 入户排查情况汇总表 sheet, from one grouped query. */
  async function summary(scope: Scope) {
    const column = { county: 'county_code', township: 'township_code', village: 'village_code' }[scope.kind];
    return db.prisma.$queryRawUnsafe<Array<{ village_code: string; htype: string | null; confirmed: string | null; n: bigint; persons: bigint }>>(
      `SELECT village_code, answers->>'householdType' AS htype, confirmed_category AS confirmed, count(*) AS n,
              coalesce(sum((answers->>'householdSize')::int), 0) AS persons
       FROM lead WHERE ${column} = $1 AND stage NOT IN ('withdrawn', 'duplicate')
       GROUP BY 1, 2, 3`,
      scope.code,
    );
  }

  return {
    async csv(scope: Scope, out: Writable, lng: Language = 'zh-CN', now = new Date(), onBatch?: (ids: string[]) => Promise<void>): Promise<number> {
      const t = memoT(lng, 'common');
      const row = rowMaker(scope, lng, localDate(now, deployment.timezone));
      // escape_formulas: the OWASP single quote before = + - @ tab CR (not before a negative number);
      // quoted_string: every text cell in double quotes, so nothing inside one can start a cell of its own.
      const csv = stringify({ bom: true, escape_formulas: true, quoted_string: true });
      csv.pipe(out);
      const finished = new Promise<void>((resolve, reject) => {
        out.on('finish', resolve);
        out.on('error', reject);
      });
      const write = async (r: unknown[]) => {
        if (out.destroyed) throw new Error('the reader went away');
        if (!csv.write(r)) await drainOrClose(csv, out);
      };
      await write(EXPORT_COLUMNS.map((c) => t(`export.columns.${c}`)));
      let n = 0;
      for await (const batch of leadsOf(db, scope)) {
        await onBatch?.(batch.map((l) => l.id));
        const twins = await visibleTwinsOf(scope, batch);
        for (const l of batch) await write(row(l, twins));
        n += batch.length;
      }
      csv.end();
      await finished;
      return n;
    },

    async xlsx(scope: Scope, out: Writable, lng: Language = 'zh-CN', now = new Date(), onBatch?: (ids: string[]) => Promise<void>): Promise<number> {
      const t = memoT(lng, 'common');
      const row = rowMaker(scope, lng, localDate(now, deployment.timezone));
      const text = (cells: Array<string | number | null>) => cells.map((v) => (typeof v === 'string' ? textCell(v) : v));
      const { default: ExcelJS } = await import('exceljs'); // loaded on the first export, not at start-up
      const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
      const sheet = book.addWorksheet(t('export.summary.sheetLeads'), { views: [{ state: 'frozen', ySplit: 1 }] });
      sheet.columns = EXPORT_COLUMNS.map((c) => ({ header: textCell(t(`export.columns.${c}`)), key: c, width: c === 'whatHappened' ? 40 : 14 }));
      sheet.getRow(1).font = { bold: true };
      sheet.getRow(1).commit();
      let n = 0;
      for await (const batch of leadsOf(db, scope)) {
        await onBatch?.(batch.map((l) => l.id));
        const twins = await visibleTwinsOf(scope, batch);
        for (const l of batch) sheet.addRow(text(row(l, twins))).commit();
        n += batch.length;
        // Let the reader catch up: without this, a slow client makes the zip stream pile up in memory.
        if (out.writableNeedDrain) await drainOrClose(out, out);
        if (out.destroyed) throw new Error('the reader went away');
      }
      sheet.commit();

      // 入户排查情况汇总表: one row per village of the place, the official column groups.
      const s = book.addWorksheet(t('export.summary.sheet'));
      const k = (key: string) => textCell(t(`export.summary.${key}`));
      const cats = ['unstable_escaped', 'marginal', 'sudden_hardship'];
      s.addRow([k('title')]).commit();
      const head1 = [k('region'), k('households'), k('ordinary'), k('escaped'), k('monitored'), k('newMonitored'), '', '', '', '', '', '', '', k('riskEliminated'), '', '', '', '', '', '', '', k('rollback'), '', '', '', '', '', '', '', k('remarks')];
      const group = [k('total'), '', ...cats.flatMap((c) => [k(c), ''])];
      const head2 = ['', '', '', '', '', ...group, ...group, ...group, ''];
      const head3 = ['', '', '', '', '', ...Array(12).fill(0).map((_, i) => (i % 2 === 0 ? k('hh') : k('persons'))), ...Array(12).fill(0).map((_, i) => (i % 2 === 0 ? k('hh') : k('persons'))), ...Array(8).fill(0).map((_, i) => (i % 2 === 0 ? k('hh') : k('persons'))), ''];
      for (const h of [head1, head2, head3]) {
        const r = s.addRow(h);
        r.font = { bold: true };
        r.commit();
      }
      const groups = await summary(scope);
      const villages = [...places.villages.values()].filter(({ village, township, county }) =>
        (scope.kind === 'county' ? county.code : scope.kind === 'township' ? township.code : village.code) === scope.code,
      );
      for (const { village, township } of villages) {
        const g = groups.filter((x) => x.village_code === village.code);
        const count = (f: (x: (typeof g)[number]) => boolean, persons = false) => g.filter(f).reduce((acc, x) => acc + Number(persons ? x.persons : x.n), 0);
        const confirmed = (c?: string) => [count((x) => (c ? x.confirmed === c : x.confirmed !== null)), count((x) => (c ? x.confirmed === c : x.confirmed !== null), true)];
        s.addRow([
          textCell(`${township.name}${village.name}`),
          count(() => true),
          count((x) => x.htype === 'ordinary' || x.htype === 'unsure'),
          count((x) => x.htype === 'escaped'),
          count((x) => x.htype === 'monitored'),
          ...confirmed(),
          ...cats.flatMap((c) => confirmed(c)),
          ...Array(16).fill(null),
          k('remark_text'),
        ]).commit();
      }
      s.commit();
      await book.commit();
      return n;
    },
  };
}

/** Resolves when `source` can take more, or when `out` has closed (the reader went away); leaves no listener behind. */
function drainOrClose(source: EventEmitter, out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      source.off('drain', done);
      out.off('close', done);
      resolve();
    };
    source.once('drain', done);
    out.once('close', done);
  });
}

export type Exports = ReturnType<typeof createExports>;
