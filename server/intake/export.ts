import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { memoT, type Language } from '../i18n.ts';
import { localDate } from '../time.ts';
import { scopeWhere } from './tokens.ts';
import { PLACE_COLUMN, villagesIn, type Scope } from '../places/scope.ts';
import { filterSql, maskIdNumber, type LeadFilters } from './queries.ts';
import { maskPhone } from '../mask.ts';
import { eventDateText, missingDetails, moneySchema, readAnswers, yuanOf } from './answers.ts';
import { Prisma } from '../db/generated/client.ts';

/**
 * Exports of a place's leads for county officers: one row per lead with Chinese column headers in the order of
 * the official data-collection form, and (XLSX) a second sheet in the layout of the 入户排查情况汇总表.
 * Streams: leads are read in batches and written as they come, so memory does not grow with the row count.
 *
 * Every text cell that a spreadsheet would read as a formula (it starts with = + - @, a tab or a carriage return)
 * gets a leading single quote, as OWASP recommends against CSV injection: households' free text, names, phone
 * numbers and the deployment file's place names all reach these cells. Numbers stay number cells.
 */

/** The household's phone in full, or masked for staff above the village (the chat desk's rule). */
export type PhoneShown = 'full' | 'masked';
/** What an export holds: the leads the filters pick (all of the scope by default), the phone as the reader may see it. */
export type ExportOptions = { filters?: LeadFilters; phones?: PhoneShown };

export const EXPORT_COLUMNS = [
  'receiptNo', 'reportedOn', 'stage', 'province', 'city', 'county', 'township', 'village', 'phone', 'reporterPhone',
  'A3', 'A3_preliminary', 'A4', 'A5', 'A7', 'householdSize', 'labourers', 'A23', 'A24', 'A25', 'A26', 'A27', 'A27a',
  'A28', 'A29', 'A30', 'A31', 'A32', 'A33', 'A34', 'A35', 'A36', 'A37', 'A38',
  'flags', 'detailsMissing', 'greenChannel', 'whatHappened', 'whenHappened', 'nextDeadline', 'overdue',
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

/** Leads read per query: 200 measured a lower peak than 1,000 (307 against 321-345 MB, 300,000 leads to XLSX), at about the same speed. */
const BATCH = 200;

/** The columns an export reads, as one raw query returns them (numeric as float8, dates as text). */
type ExportLead = {
  id: string;
  receiptNo: string;
  stage: string;
  category: string;
  confirmedCategory: string | null;
  villageCode: string;
  headName: string;
  phoneEnc: Uint8Array;
  reporterPhoneEnc: Uint8Array | null;
  idNumberEnc: Uint8Array | null;
  answers: unknown;
  a33: number | null;
  a34: number | null;
  a37: number | null;
  a38: number | null;
  flags: string[];
  greenChannel: boolean;
  possibleDuplicates: string[];
  reportedOn: string;
  nextDeadlineDue: string | null;
  createdAt: Date;
};

/**
 * A place's leads in batches, oldest first, by keyset on (created_at, id) (the place's index). One raw query a
 * batch, of the columns the export needs: the ORM's model mapping costs several times more per row. `filters`:
 * the queue's filters (the console exports what it shows).
 */
async function* leadsOf(db: Database, scope: Scope, batch: number, filters: LeadFilters, today: string): AsyncGenerator<ExportLead[]> {
  const where = filterSql(scope, filters, today);
  let after: ExportLead | undefined;
  for (;;) {
    const rows = await db.prisma.$queryRaw<ExportLead[]>`
      SELECT id, receipt_no AS "receiptNo", stage, category, confirmed_category AS "confirmedCategory", village_code AS "villageCode",
             head_name AS "headName", phone_enc AS "phoneEnc", reporter_phone_enc AS "reporterPhoneEnc", id_number_enc AS "idNumberEnc", answers,
             a33::float8 AS a33, a34::float8 AS a34, a37::float8 AS a37, a38::float8 AS a38,
             flags, green_channel AS "greenChannel", possible_duplicates AS "possibleDuplicates",
             to_char(reported_on, 'YYYY-MM-DD') AS "reportedOn", to_char(next_deadline_due, 'YYYY-MM-DD') AS "nextDeadlineDue", created_at AS "createdAt"
      FROM lead WHERE ${where} ${after ? Prisma.sql`AND (created_at, id) > (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)` : Prisma.empty}
      ORDER BY created_at, id LIMIT ${batch}`;
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!;
  }
}

/** An income answer's yuan, or null when it is not an amount (not known, refused). */
/** The yuan of a money answer as the API shows it (`{kind, yuan}`), or null. */
export const money = (v: unknown): number | null => yuanOf(moneySchema.safeParse(v).data);
const PRELIMINARY = new Set(['unstable_escaped', 'marginal', 'sudden_hardship']);

export function createExports(deps: { db: Database; crypto: Crypto; deployment: Deployment; batchSize?: number }) {
  const { db, crypto, deployment } = deps;
  const batchSize = deps.batchSize ?? BATCH;
  const places = placeIndex(deployment);
  // The official form's words are Chinese whatever the reader's language (as in the forwarded payload);
  // i18next resolves each key once per export, not once per cell.
  const officialT = memoT('zh-CN', 'common');

  /**
   * A row's cells, in the order of EXPORT_COLUMNS, keyed as the official form (outbox.ts formPayload) keys
   * them; text as stored (each format neutralises it as it writes).
   */
  function rowMaker(scope: Scope, lng: Language, today: string, phones: PhoneShown = 'full') {
    const t = memoT(lng, 'common');
    const tb = memoT(lng, 'bot');
    const yesText = t('export.summary.yes');
    const noText = t('export.summary.no');
    const yes = (v: unknown) => (v === true ? yesText : v === false ? noText : null);
    return (l: ExportLead, visibleTwins: Set<string> | undefined): Array<string | number | null> => {
      const place = places.villages.get(l.villageCode);
      const a = readAnswers(l.answers);
      const missing = (json: unknown) => {
        const parts = missingDetails(json);
        return parts.length ? parts.map((m) => tb(`missing.${m}`)).join(tb('missing_separator')) : null;
      };
      const id = l.idNumberEnc ? crypto.decrypt(l.idNumberEnc) : null;
      const when = a.whenHappened;
      const due = l.nextDeadlineDue;
      // Below the county, "possible duplicate" only when a twin is inside the place: else it tells of a
      // household elsewhere.
      const flags = visibleTwins ? l.flags.filter((f) => f !== 'possible_duplicate' || l.possibleDuplicates.some((d) => visibleTwins.has(d))) : l.flags;
      const num = (v: unknown) => (typeof v === 'number' ? v : null);
      const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
      const values: Record<(typeof EXPORT_COLUMNS)[number], string | number | null> = {
        receiptNo: l.receiptNo,
        reportedOn: l.reportedOn,
        stage: tb(`stage.${l.stage}`),
        province: place?.county.province.name ?? null,
        city: place?.county.city.name ?? null,
        county: place?.county.name ?? null,
        township: place?.township.name ?? null,
        village: place?.village.name ?? null,
        phone: phones === 'full' ? crypto.decrypt(l.phoneEnc) : maskPhone(crypto.decrypt(l.phoneEnc)),
        // a proxy's own phone, shown as the household's is
        reporterPhone: l.reporterPhoneEnc ? (phones === 'full' ? crypto.decrypt(l.reporterPhoneEnc) : maskPhone(crypto.decrypt(l.reporterPhoneEnc))) : null,
        A3: l.confirmedCategory ? officialT(`official.A3.${l.confirmedCategory}`) : null,
        A3_preliminary: PRELIMINARY.has(l.category) ? officialT(`official.A3.${l.category}`) : null,
        A4: yes(a.householdType === 'escaped'),
        A5: l.headName,
        A7: id === null ? null : scope.kind === 'county' ? id : maskIdNumber(id),
        householdSize: num(a.householdSize),
        labourers: num(a.labourers),
        A23: yes(a.housingUnsafe),
        A24: yes(a.childOutOfSchool),
        A25: yes(a.waterUnsafe),
        A26: yes(a.noMedicalInsurance),
        A27: a.risks.map((r) => officialT(`official.A27.${r}`)).join('、'),
        A27a: a.disasterType ? officialT(`official.A27a.${a.disasterType}`) : null,
        A28: money(a.a28),
        A29: money(a.a29),
        A30: money(a.a30),
        A31: money(a.a31),
        A32: money(a.a32),
        A33: l.a33,
        A34: l.a34,
        A35: money(a.a35),
        A36: money(a.a36),
        A37: l.a37,
        A38: l.a38,
        flags: flags.join(' '),
        // what the household has not said yet (the details after its receipt): the visit fills it in
        detailsMissing: missing(l.answers),
        greenChannel: yes(l.greenChannel),
        whatHappened: text(a.whatHappened),
        whenHappened: text(eventDateText(when)),
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
  async function visibleTwinsOf(scope: Scope, batch: ExportLead[]): Promise<Set<string> | undefined> {
    if (scope.kind === 'county') return undefined;
    const twins = [...new Set(batch.flatMap((l) => (l.flags.includes('possible_duplicate') ? l.possibleDuplicates : [])))];
    if (twins.length === 0) return new Set();
    const inside = await db.prisma.lead.findMany({ where: { AND: [scopeWhere(scope), { id: { in: twins } }] }, select: { id: true } });
    return new Set(inside.map((r) => r.id));
  }

  /**
   * Per-village counts for the 入户排查情况汇总表 sheet, from one grouped query: all households, and of the
   * confirmed ones those whose risk is marked eliminated (and not removed since) and those rolled back or removed
   * (a roll-back or removal recorded, ever).
   */
  async function summary(scope: Scope) {
    const column = PLACE_COLUMN[scope.kind];
    type Group = { village_code: string; htype: string | null; confirmed: string | null; n: bigint; persons: bigint; elim_n: bigint; elim_persons: bigint; back_n: bigint; back_persons: bigint };
    return db.prisma.$queryRawUnsafe<Group[]>(
      `SELECT village_code, htype, confirmed, count(*) AS n, coalesce(sum(size), 0) AS persons,
              count(*) FILTER (WHERE elim) AS elim_n, coalesce(sum(size) FILTER (WHERE elim), 0) AS elim_persons,
              count(*) FILTER (WHERE back) AS back_n, coalesce(sum(size) FILTER (WHERE back), 0) AS back_persons
       FROM (
         SELECT village_code, answers->>'householdType' AS htype, confirmed_category AS confirmed, (answers->>'householdSize')::int AS size,
                confirmed_category IS NOT NULL AND risk_eliminated_on IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM lead_event e WHERE e.lead_id = lead.id AND e.kind = 'removal') AS elim,
                confirmed_category IS NOT NULL
                  AND EXISTS (SELECT 1 FROM lead_event e WHERE e.lead_id = lead.id AND e.kind IN ('rollback', 'removal')) AS back
         FROM lead WHERE ${column} = $1 AND ($2::uuid IS NULL OR contact_staff_id = $2::uuid) AND stage NOT IN ('withdrawn', 'duplicate')
       ) AS l
       GROUP BY 1, 2, 3`,
      scope.code,
      // a contact person counts the households assigned to them, as everywhere else
      scope.contactStaffId ?? null,
    );
  }

  /**
   * 入户排查情况汇总表 (annex 2), one row per village of the place: households reported, by household type, and the
   * newly confirmed ones (households, persons) in all and by category. The sheet of the XLSX export and the
   * console's print page read these same rows.
   */
  async function summaryRows(scope: Scope) {
    const cats = ['unstable_escaped', 'marginal', 'sudden_hardship'];
    const groups = await summary(scope);
    const villages = villagesIn(places, scope);
    return villages.map(({ village, township }) => {
      const g = groups.filter((x) => x.village_code === village.code);
      const count = (f: (x: (typeof g)[number]) => boolean, persons = false) => g.filter(f).reduce((acc, x) => acc + Number(persons ? x.persons : x.n), 0);
      const confirmed = (c?: string): [number, number] => [count((x) => (c ? x.confirmed === c : x.confirmed !== null)), count((x) => (c ? x.confirmed === c : x.confirmed !== null), true)];
      const of = (c: string | undefined, n: 'elim' | 'back'): [number, number] => {
        const in_ = g.filter((x) => (c ? x.confirmed === c : x.confirmed !== null));
        return [in_.reduce((acc, x) => acc + Number(x[`${n}_n`]), 0), in_.reduce((acc, x) => acc + Number(x[`${n}_persons`]), 0)];
      };
      return {
        code: village.code,
        region: `${township.name}${village.name}`,
        households: count(() => true),
        ordinary: count((x) => x.htype === 'ordinary' || x.htype === 'unsure'),
        escaped: count((x) => x.htype === 'escaped'),
        monitored: count((x) => x.htype === 'monitored'),
        /** [households, persons]: all, then 脱贫不稳定户, 边缘易致贫户, 突发严重困难户 */
        newMonitored: [confirmed(), ...cats.map((c) => confirmed(c))],
        /** the same four pairs: risk marked eliminated (not removed since) */
        riskEliminated: [of(undefined, 'elim'), ...cats.map((c) => of(c, 'elim'))],
        /** the same four pairs: rolled back (回退) or removed (清退) */
        rolledBack: [of(undefined, 'back'), ...cats.map((c) => of(c, 'back'))],
      };
    });
  }

  /**
   * 监测对象回退、清退情况统计表 (annex 5): every roll-back (回退) and removal (清退) recorded on the place's leads, in
   * the order they were recorded, optionally those of one year (the deployment's dates). Each row is the
   * household as the county knows it (head, ID number whole for the county only, persons, since when it is
   * monitored, its hardships) with the record's kind, date and reason. The print page and the XLSX read these rows.
   */
  async function rollbackRows(scope: Scope, year?: number) {
    const where = filterSql(scope, {}, localDate(new Date(), deployment.timezone));
    const tz = deployment.timezone;
    const rows = await db.prisma.$queryRaw<
      Array<{ lead_id: string; kind: string; on: string; note: string | null; village_code: string; head_name: string; id_number_enc: Uint8Array | null; answers: unknown; since: string | null }>
    >`
      SELECT l.id AS lead_id, e.kind, to_char(e.at AT TIME ZONE ${tz}, 'YYYY-MM-DD') AS on, e.note, l.village_code, l.head_name, l.id_number_enc, l.answers,
             (SELECT to_char(c.at AT TIME ZONE ${tz}, 'YYYY-MM-DD') FROM lead_event c WHERE c.lead_id = l.id AND c.to_stage = 'confirmed' ORDER BY c.id DESC LIMIT 1) AS since
      FROM lead_event e JOIN (SELECT id, village_code, head_name, id_number_enc, answers FROM lead WHERE ${where}) l ON l.id = e.lead_id
      WHERE e.kind IN ('rollback', 'removal') ${year === undefined ? Prisma.empty : Prisma.sql`AND extract(year FROM e.at AT TIME ZONE ${tz}) = ${year}`}
      ORDER BY e.at, e.id`;
    return rows.map((r) => {
      const place = places.villages.get(r.village_code);
      const id = r.id_number_enc ? crypto.decrypt(r.id_number_enc) : null;
      const a = readAnswers(r.answers);
      const size = a.householdSize;
      return {
        leadId: r.lead_id,
        county: place?.county.name ?? '',
        township: place?.township.name ?? '',
        village: place?.village.name ?? '',
        headName: r.head_name,
        idNumber: id === null ? null : scope.kind === 'county' ? id : maskIdNumber(id),
        persons: typeof size === 'number' && Number.isFinite(size) ? size : null,
        since: r.since,
        risks: a.risks as string[],
        disasterType: a.disasterType ?? null,
        kind: r.kind as 'rollback' | 'removal',
        on: r.on,
        reason: r.note ?? '',
      };
    });
  }

  return {
    summaryRows,
    rollbackRows,
    /** The roll-back and removal table (annex 5) as a one-sheet XLSX, in the official form's words. */
    async rollbackXlsx(rows: Awaited<ReturnType<typeof rollbackRows>>, out: Writable, lng: Language = 'zh-CN', today = localDate(new Date(), deployment.timezone)): Promise<void> {
      const t = memoT(lng, 'console');
      const k = (key: string) => textCell(t(`paper.rollback.${key}`));
      const { default: ExcelJS } = await import('exceljs');
      const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
      const sheet = book.addWorksheet(t('paper.rollback_of'));
      sheet.addRow([textCell(t('paper.title_rollback'))]).commit();
      sheet.addRow([k('unit'), '', '', '', '', '', '', '', textCell(t('paper.rollback.date', { date: today }))]).commit();
      const columns = ['col_no', 'col_county', 'col_township', 'col_village', 'col_head', 'col_id', 'col_size', 'col_since', 'col_risk', 'col_kind', 'col_reason'];
      sheet.addRow(columns.map(k)).commit();
      rows.forEach((r, i) => {
        sheet
          .addRow([
            i + 1,
            textCell(r.county),
            textCell(r.township),
            textCell(r.village),
            textCell(r.headName),
            r.idNumber,
            r.persons,
            r.since,
            r.risks.map((x) => officialT(`official.A27.${x}`) + (x === 'disaster' && r.disasterType ? `（${officialT(`official.A27a.${r.disasterType}`)}）` : '')).join('、'),
            `${t(`paper.rollback.kind.${r.kind}`)}（${r.on}）`,
            textCell(r.reason),
          ])
          .commit();
      });
      sheet.commit();
      await Promise.race([book.commit(), finishedOrGone(out).then(() => new Promise<never>(() => undefined))]);
    },
    /**
     * One lead's fields in the order and words of the official form, valued exactly as the exports value them
     * (the console's lead page shows these): undefined outside the scope.
     */
    async formFields(scope: Scope, leadId: string, lng: Language = 'zh-CN', now = new Date(), phones: PhoneShown = 'full') {
      const today = localDate(now, deployment.timezone);
      const t = memoT(lng, 'common');
      for await (const batch of leadsOf(db, scope, 1, { ids: [leadId] }, today)) {
        const cells = rowMaker(scope, lng, today, phones)(batch[0]!, await visibleTwinsOf(scope, batch));
        return EXPORT_COLUMNS.map((column, i) => ({ column, label: t(`export.columns.${column}`), value: cells[i] ?? null }));
      }
      return undefined;
    },
    async csv(scope: Scope, out: Writable, lng: Language = 'zh-CN', now = new Date(), onBatch?: (ids: string[]) => Promise<void>, opts: ExportOptions = {}): Promise<number> {
      const t = memoT(lng, 'common');
      const filters = opts.filters ?? {};
      const row = rowMaker(scope, lng, localDate(now, deployment.timezone), opts.phones);
      // escape_formulas: the OWASP single quote before = + - @ tab CR (not before a negative number);
      // quoted_string: every text cell in double quotes, so nothing inside one can start a cell of its own.
      const csv = stringify({ bom: true, escape_formulas: true, quoted_string: true });
      csv.pipe(out);
      const finished = finishedOrGone(out);
      finished.catch(() => undefined); // awaited at the end; a reader gone before then is noticed by write()
      const write = async (r: unknown[]) => {
        if (out.destroyed) throw new Error('the reader went away');
        if (!csv.write(r)) await drainOrClose(csv, out);
      };
      await write(EXPORT_COLUMNS.map((c) => t(`export.columns.${c}`)));
      let n = 0;
      for await (const batch of leadsOf(db, scope, batchSize, filters, localDate(now, deployment.timezone))) {
        await onBatch?.(batch.map((l) => l.id));
        const twins = await visibleTwinsOf(scope, batch);
        for (const l of batch) await write(row(l, twins));
        n += batch.length;
      }
      csv.end();
      await finished;
      return n;
    },

    async xlsx(scope: Scope, out: Writable, lng: Language = 'zh-CN', now = new Date(), onBatch?: (ids: string[]) => Promise<void>, opts: ExportOptions = {}): Promise<number> {
      const t = memoT(lng, 'common');
      const filters = opts.filters ?? {};
      const row = rowMaker(scope, lng, localDate(now, deployment.timezone), opts.phones);
      const text = (cells: Array<string | number | null>) => cells.map((v) => (typeof v === 'string' ? textCell(v) : v));
      const { default: ExcelJS } = await import('exceljs'); // loaded on the first export, not at start-up
      // No styles: with them exceljs serialises every cell's style to look it up (a third of the time, and
      // garbage); no shared strings: their table would hold every distinct text of the export in memory.
      const book = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
      const sheet = book.addWorksheet(t('export.summary.sheetLeads'), { views: [{ state: 'frozen', ySplit: 1 }] });
      sheet.columns = EXPORT_COLUMNS.map((c) => ({ header: textCell(t(`export.columns.${c}`)), key: c, width: c === 'whatHappened' ? 40 : 14 }));
      sheet.getRow(1).commit();
      let n = 0;
      for await (const batch of leadsOf(db, scope, batchSize, filters, localDate(now, deployment.timezone))) {
        await onBatch?.(batch.map((l) => l.id));
        const twins = await visibleTwinsOf(scope, batch);
        for (const l of batch) sheet.addRow(text(row(l, twins))).commit();
        n += batch.length;
        // Let the zip and the reader catch up: exceljs hands the sheet's XML to archiver through a stream that
        // ignores backpressure (its StreamBuf pipes into archiver's PassThrough whatever that holds), so without
        // waiting here the whole sheet piles up in memory while it is compressed; and a slow client likewise.
        for (const inner of sheetPipes(sheet)) if (inner.writableNeedDrain) await drainOrClose(inner, out);
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
      for (const h of [head1, head2, head3]) s.addRow(h).commit();
      for (const row of await summaryRows(scope)) {
        s.addRow([
          textCell(row.region),
          row.households,
          row.ordinary,
          row.escaped,
          row.monitored,
          ...row.newMonitored.flat(),
          ...row.riskEliminated.flat(),
          ...row.rolledBack.flat(),
          k('remark_text'),
        ]).commit();
      }
      s.commit();
      // exceljs waits for 'finish' alone, which a reader that went away never emits
      await Promise.race([book.commit(), finishedOrGone(out).then(() => new Promise<never>(() => undefined))]);
      return n;
    },
  };
}

/**
 * The streams a streamed worksheet's XML is piped into (archiver's input), from exceljs 4.4's StreamBuf: waiting for
 * them is the only backpressure the sheet has. Empty when exceljs changes shape (then only `out` is waited for).
 */
function sheetPipes(sheet: unknown): Writable[] {
  const pipes = (sheet as { stream?: { pipes?: unknown } }).stream?.pipes;
  return Array.isArray(pipes) ? pipes.filter((p): p is Writable => typeof (p as Writable)?.once === 'function' && typeof (p as Writable).writableNeedDrain === 'boolean') : [];
}

/** Resolves when `source` can take more, or when `out` has closed (the reader went away); leaves no listener behind. */
function drainOrClose(source: EventEmitter, out: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (out.destroyed) return resolve();
    const done = () => {
      source.off('drain', done);
      out.off('close', done);
      resolve();
    };
    source.once('drain', done);
    out.once('close', done);
  });
}

/** Resolves when `out` has finished; rejects when it failed, or closed before finishing (the reader went away). */
function finishedOrGone(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.writableFinished) return resolve();
    if (out.destroyed) return reject(new Error('the reader went away'));
    out.once('finish', resolve);
    out.once('error', reject);
    out.once('close', () => (out.writableFinished ? resolve() : reject(new Error('the reader went away'))));
  });
}

export type Exports = ReturnType<typeof createExports>;
