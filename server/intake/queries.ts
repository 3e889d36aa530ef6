import { z } from 'zod';
import { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { MEDIA_MAX_ATTEMPTS } from './media.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { localDate } from '../time.ts';
import { scopeWhere } from './tokens.ts';
import { PLACE_COLUMN, placesOverlap, villagesIn, type Scope } from '../places/scope.ts';
import { STAGES } from './procedure.ts';
import { maskIdNumber } from '../mask.ts';
import { readAnswers } from './answers.ts';

/** Reading the queue: lists with filters and cursors, one lead with its events, and counts. Scoped by place. */

export type LeadFilters = {
  stage?: string | undefined;
  township?: string | undefined;
  village?: string | undefined;
  overdue?: boolean | undefined;
  category?: string | undefined;
  receivedFrom?: string | undefined;
  receivedTo?: string | undefined;
  /** one hardship code (answers.risks, kept as the lead's `risks` column) */
  hardship?: string | undefined;
  /** a receipt number (exactly) or part of the head of household's name */
  q?: string | undefined;
  /** only these leads (a selection), still inside the scope */
  ids?: string[] | undefined;
};

/** The queue's orders: newest first (by receipt), or the nearest deadline first (no deadline last). */
export type LeadSort = 'received' | 'deadline';
export type PageAfter = { createdAt: Date; id: string } | { due: string | null; id: string };

const FINAL_STAGES = ['confirmed', 'not_included', 'duplicate', 'withdrawn'];
/** The queue counts a filtered list up to this many; past it, the heading says "more than". */
export const COUNT_CAP = 10_000;

// dates of this century only: year 0000 has the shape of a date, and the database refuses it
const century = (d: string) => d >= '2000' && d < '2100';
const cursorShape = z.union([
  z.tuple([z.iso.datetime().refine(century), z.uuid()]),
  z.tuple([z.literal('d'), z.iso.date().refine(century).nullable(), z.uuid()]),
]);

/** A page cursor is base64url JSON, [createdAt, id] or ['d', due, id]; anything else is refused (null). */
export function decodeCursor(cursor: string): PageAfter | null {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!parsed.success) return null;
    const c = parsed.data;
    if (c.length === 3) return { due: c[1], id: c[2] };
    return { createdAt: new Date(c[0]), id: c[1] };
  } catch {
    return null;
  }
}

/** A receipt number as the bot gives it (530925-20261202-0001): searched exactly, anything else is a name. */
export const RECEIPT_SHAPE = /^\d{6}-[0-9A-Z]+-\d+$/i;

/**
 * The pieces of a searched name that every matching name holds, as the trigger of migration queue_search keeps
 * them: the name itself when it is one character long, else each pair of neighbouring characters.
 */
export function nameGrams(q: string): string[] {
  const chars = Array.from(q);
  if (chars.length < 2) return [q];
  return [...new Set(chars.slice(1).map((c, i) => chars[i]! + c))];
}

/**
 * The filters as SQL (the queue, its counts, the API and the exports): the scope's place, then each filter. The
 * date bounds are the local dates of receipt (reported_on).
 */
export function filterSql(scope: Scope, f: LeadFilters, today: string): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`${Prisma.raw(PLACE_COLUMN[scope.kind])} = ${scope.code}`];
  if (scope.contactStaffId) parts.push(Prisma.sql`contact_staff_id = ${scope.contactStaffId}::uuid`);
  if (f.stage) parts.push(Prisma.sql`stage = ${f.stage}`);
  if (f.township) parts.push(Prisma.sql`township_code = ${f.township}`);
  if (f.village) parts.push(Prisma.sql`village_code = ${f.village}`);
  if (f.category) parts.push(Prisma.sql`category = ${f.category}`);
  if (f.hardship) parts.push(Prisma.sql`risks @> ARRAY[${f.hardship}]::text[]`);
  if (f.overdue === true) parts.push(Prisma.sql`next_deadline_due < ${today}::date`);
  if (f.overdue === false) parts.push(Prisma.sql`(next_deadline_due IS NULL OR next_deadline_due >= ${today}::date)`);
  // reported_on is the local date of created_at: a created_at range a day wider on each side lets the
  // (place, created_at) index do the work, and the reported_on condition keeps the answer exact
  if (f.receivedFrom) parts.push(Prisma.sql`reported_on >= ${f.receivedFrom}::date AND created_at >= ${f.receivedFrom}::date - 1`);
  if (f.receivedTo) parts.push(Prisma.sql`reported_on <= ${f.receivedTo}::date AND created_at < ${f.receivedTo}::date + 2`);
  // a name: the leads holding its pieces (the GIN index on head_name_grams), then the name itself compared
  if (f.q) parts.push(RECEIPT_SHAPE.test(f.q) ? Prisma.sql`receipt_no = ${f.q.toUpperCase()}` : Prisma.sql`head_name_grams @> ${nameGrams(f.q)}::text[] AND strpos(head_name, ${f.q}) > 0`);
  if (f.ids) parts.push(Prisma.sql`id = ANY(${f.ids}::uuid[])`);
  return Prisma.join(parts, ' AND ');
}

type LeadRow = Prisma.LeadGetPayload<object>;

/** ID numbers are shown masked (the first 6 and last 4 characters) except to a county-wide reader. */
export { maskIdNumber };

const dec = (v: Prisma.Decimal | null) => (v === null ? null : Number(v));

export function createQueries(deps: { db: Database; crypto: Crypto; deployment: Deployment }) {
  const { db, crypto, deployment } = deps;
  const places = placeIndex(deployment);
  const today = (now: Date) => new Date(`${localDate(now, deployment.timezone)}T00:00:00Z`);

  /** The tally rows of a place: its villages' codes begin with the place's code. */
  const tallyPlace = (code: string) => Prisma.sql`left(village_code, ${code.length}) = ${code}`;

  /**
   * What the home page, 空白村 and the statistics count, as rows of (village, key, n): the tallies that triggers
   * keep on `lead` (a few rows per village and day), or, for a contact person who sees only the households
   * assigned to them, their leads one by one (n = 1).
   */
  function sources(scope: Scope, todayIso: string) {
    if (!scope.contactStaffId) {
      const p = tallyPlace(scope.code);
      return {
        stage: Prisma.sql`SELECT village_code, stage, n FROM lead_tally_stage WHERE ${p}`,
        due: Prisma.sql`SELECT village_code, due, n FROM lead_tally_due WHERE ${p}`,
        day: Prisma.sql`SELECT village_code, day, n FROM lead_tally_day WHERE ${p}`,
        risk: Prisma.sql`SELECT village_code, risk, n FROM lead_tally_risk WHERE ${p}`,
      };
    }
    const place = filterSql(scope, {}, todayIso);
    return {
      stage: Prisma.sql`SELECT village_code, stage, 1 AS n FROM lead WHERE ${place}`,
      due: Prisma.sql`SELECT village_code, next_deadline_due AS due, 1 AS n FROM lead WHERE ${place} AND next_deadline_due IS NOT NULL`,
      day: Prisma.sql`SELECT village_code, reported_on AS day, 1 AS n FROM lead WHERE ${place}`,
      risk: Prisma.sql`SELECT village_code, r AS risk, 1 AS n FROM lead, unnest(risks) AS r WHERE ${place} AND stage NOT IN ('withdrawn', 'duplicate')`,
    };
  }

  function view(l: LeadRow, scope: Scope, now: Date) {
    const v = places.villages.get(l.villageCode);
    const id = l.idNumberEnc ? crypto.decrypt(l.idNumberEnc) : null;
    const a = readAnswers(l.answers);
    return {
      id: l.id,
      receiptNo: l.receiptNo,
      stage: l.stage,
      reportedOn: l.reportedOn.toISOString().slice(0, 10),
      county: { code: l.countyCode, name: v?.county.name ?? null },
      township: { code: l.townshipCode, name: v?.township.name ?? null },
      village: { code: l.villageCode, name: v?.village.name ?? null },
      headName: l.headName,
      phone: crypto.decrypt(l.phoneEnc),
      idNumber: id === null ? null : scope.kind === 'county' ? id : maskIdNumber(id),
      reporterRelation: l.reporterRelation,
      householdSize: a.householdSize ?? null,
      labourers: a.labourers ?? null,
      householdType: a.householdType ?? null,
      risks: a.risks,
      disasterType: a.disasterType ?? null,
      guarantees: { A23: a.housingUnsafe ?? null, A24: a.childOutOfSchool ?? null, A25: a.waterUnsafe ?? null, A26: a.noMedicalInsurance ?? null },
      income: {
        A28: a.a28 ?? null,
        A29: a.a29 ?? null,
        A30: a.a30 ?? null,
        A31: a.a31 ?? null,
        A32: a.a32 ?? null,
        A33: dec(l.a33),
        A34: dec(l.a34),
        A35: a.a35 ?? null,
        A36: a.a36 ?? null,
        A37: dec(l.a37),
        A38: dec(l.a38),
        line: dec(l.incomeLine),
        lineYear: l.incomeLineYear,
      },
      whatHappened: a.whatHappened ?? null,
      whenHappened: a.whenHappened ?? null,
      category: l.category,
      flags: l.flags,
      greenChannel: l.greenChannel,
      possibleDuplicates: l.possibleDuplicates,
      nextDeadline: l.nextDeadlineDue
        ? { kind: l.nextDeadlineKind, due: l.nextDeadlineDue.toISOString().slice(0, 10), overdue: l.nextDeadlineDue < today(now) }
        : null,
      createdAt: l.createdAt.toISOString(),
    };
  }

  /**
   * A reader below the county sees only the possible duplicates inside its own place, and the flag only when
   * one is: that someone elsewhere in the county gave the same phone or ID number is not theirs to know (the county
   * sees every twin and settles it).
   */
  async function withVisibleDuplicates<T extends { possibleDuplicates: string[]; flags: string[] }>(scope: Scope, items: T[]): Promise<T[]> {
    if (scope.kind === 'county') return items;
    const all = [...new Set(items.flatMap((i) => i.possibleDuplicates))];
    const visible = all.length
      ? new Set((await db.prisma.lead.findMany({ where: { AND: [scopeWhere(scope), { id: { in: all } }] }, select: { id: true } })).map((r) => r.id))
      : new Set<string>();
    return items.map((i) => {
      const twins = i.possibleDuplicates.filter((d) => visible.has(d));
      return { ...i, possibleDuplicates: twins, flags: twins.length ? i.flags : i.flags.filter((f) => f !== 'possible_duplicate') };
    });
  }

  return {
    view,
    withVisibleDuplicates,
    /**
     * One page of the queue. The page's ids come from one SQL statement shaped for the indexes, then the rows:
     * - sorted by the next deadline (no deadline last) or by receipt, newest first, each with its id to break ties,
     *   and paged by a cursor compared as a row, (due, id) > (…), which the (place, due, id) indexes start at;
     * - a name is looked up by its pieces (the GIN index on head_name_grams; see nameGrams);
     * - a range of receipt dates is read first and sorted after: deadlines follow receipt dates, so walking the
     *   deadline order to find a month's leads would pass over most of the county.
     */
    async list(scope: Scope, f: LeadFilters, page: { after?: PageAfter | undefined; limit: number; sort?: LeadSort }, now = new Date()) {
      const byDeadline = page.sort === 'deadline';
      const filters = filterSql(scope, f, localDate(now, deployment.timezone));
      const n = page.limit + 1;
      type Key = { id: string; due: Date | null; created_at: Date };
      // the leads the filters find, read first (MATERIALIZED) when a date range bounds them
      const found = f.receivedFrom || f.receivedTo
        ? Prisma.sql`WITH found AS MATERIALIZED (SELECT id, next_deadline_due, created_at FROM lead WHERE ${filters})`
        : Prisma.sql`WITH found AS NOT MATERIALIZED (SELECT id, next_deadline_due, created_at FROM lead WHERE ${filters})`;
      let keys: Key[];
      if (!byDeadline) {
        const after = page.after && 'createdAt' in page.after ? Prisma.sql`AND (created_at, id) < (${page.after.createdAt}, ${page.after.id}::uuid)` : Prisma.empty;
        keys = await db.prisma.$queryRaw<Key[]>`${found}
          SELECT id::text, next_deadline_due AS due, created_at FROM found WHERE true ${after} ORDER BY created_at DESC, id DESC LIMIT ${n}`;
      } else {
        const a = page.after && 'due' in page.after ? page.after : undefined;
        // the dated part of the order, then the leads without a deadline (a separate range of the index)
        const dated = a === undefined
          ? Prisma.sql`SELECT id, next_deadline_due, created_at FROM found WHERE next_deadline_due IS NOT NULL ORDER BY next_deadline_due, id LIMIT ${n}`
          : a.due === null
            ? Prisma.sql`SELECT id, next_deadline_due, created_at FROM found WHERE false`
            : Prisma.sql`SELECT id, next_deadline_due, created_at FROM found WHERE (next_deadline_due, id) > (${a.due}::date, ${a.id}::uuid) ORDER BY next_deadline_due, id LIMIT ${n}`;
        // ordered by (due, id), not by id alone, though every due here is null: that is the order of the (place, due,
        // id) index, so the range is read from it; ordered by id, the planner may walk the primary key through the
        // whole table looking for leads that a filter (overdue, a stage with deadlines) rules out
        const undated = Prisma.sql`SELECT id, next_deadline_due, created_at FROM found WHERE next_deadline_due IS NULL ${a?.due === null ? Prisma.sql`AND id > ${a.id}::uuid` : Prisma.empty} ORDER BY next_deadline_due, id LIMIT ${n}`;
        keys = await db.prisma.$queryRaw<Key[]>`${found}
          SELECT id::text, next_deadline_due AS due, created_at FROM ((${dated}) UNION ALL (${undated})) k
          ORDER BY next_deadline_due NULLS LAST, id LIMIT ${n}`;
      }
      const more = keys.length > page.limit;
      const pageKeys = keys.slice(0, page.limit);
      const rows = pageKeys.length ? await db.prisma.lead.findMany({ where: { id: { in: pageKeys.map((k) => k.id) } } }) : [];
      const byId = new Map(rows.map((l) => [l.id, l]));
      const items = pageKeys.map((k) => byId.get(k.id)!).filter(Boolean);
      const last = pageKeys[pageKeys.length - 1];
      const key = (k: Key) => (byDeadline ? ['d', k.due ? k.due.toISOString().slice(0, 10) : null, k.id] : [k.created_at.toISOString(), k.id]);
      const nextCursor = more && last ? Buffer.from(JSON.stringify(key(last))).toString('base64url') : null;
      return { items: await withVisibleDuplicates(scope, items.map((l) => view(l, scope, now))), nextCursor };
    },
    /**
     * How many leads the filters find (the queue's heading): from the tallies when only the place and the stage are
     * asked for, otherwise counted up to COUNT_CAP (`capped`: there are more).
     */
    async count(scope: Scope, f: LeadFilters, now = new Date()): Promise<{ n: number; capped: boolean }> {
      const placeOnly = !scope.contactStaffId && Object.entries(f).every(([k, v]) => v === undefined || k === 'stage' || k === 'township' || k === 'village');
      if (placeOnly) {
        const code = f.village ?? f.township ?? scope.code;
        // a township or village filter outside the scope finds nothing
        if (!placesOverlap(code, scope.code)) return { n: 0, capped: false };
        const within = code.length >= scope.code.length ? code : scope.code;
        const [row] = await db.prisma.$queryRaw<Array<{ n: bigint | null }>>`
          SELECT sum(n) AS n FROM lead_tally_stage WHERE ${tallyPlace(within)} ${f.stage ? Prisma.sql`AND stage = ${f.stage}` : Prisma.empty}
            ${f.village && f.township && !f.village.startsWith(f.township) ? Prisma.sql`AND false` : Prisma.empty}`;
        return { n: Number(row?.n ?? 0), capped: false };
      }
      const [row] = await db.prisma.$queryRaw<Array<{ n: bigint }>>`
        SELECT count(*) AS n FROM (SELECT 1 FROM lead WHERE ${filterSql(scope, f, localDate(now, deployment.timezone))} LIMIT ${COUNT_CAP + 1}) x`;
      const n = Number(row!.n);
      return n > COUNT_CAP ? { n: COUNT_CAP, capped: true } : { n, capped: false };
    },
    /**
     * The home page's figures for a place, in two passes over its leads: per village and stage (counts, overdue,
     * due within 7 days, new since yesterday, the last receipt), then per week and per hardship.
     */
    async overview(scope: Scope, now = new Date(), weeks = 12) {
      const todayIso = localDate(now, deployment.timezone);
      const t0 = Date.parse(`${todayIso}T00:00:00Z`);
      const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const inAWeek = iso(t0 + 7 * 86_400_000);
      const yesterday = iso(t0 - 86_400_000);
      // weeks start on Monday; the oldest of the `weeks` weeks ending with this one
      const dow = (new Date(t0).getUTCDay() + 6) % 7;
      const firstWeek = iso(t0 - (dow + 7 * (weeks - 1)) * 86_400_000);
      const src = sources(scope, todayIso);
      type Row = { village_code: string; stage: string; n: bigint };
      type Due = { village_code: string; overdue: bigint; due_week: bigint };
      type Day = { village_code: string; fresh: bigint; last_on: string | null };
      const [rows, dues, days, weekly, hardships] = await Promise.all([
        db.prisma.$queryRaw<Row[]>`SELECT village_code, stage, sum(n) AS n FROM (${src.stage}) s GROUP BY 1, 2 HAVING sum(n) <> 0`,
        db.prisma.$queryRaw<Due[]>`
          SELECT village_code, sum(n) FILTER (WHERE due < ${todayIso}::date) AS overdue, sum(n) FILTER (WHERE due >= ${todayIso}::date) AS due_week
          FROM (${src.due}) s WHERE due < ${inAWeek}::date GROUP BY 1`,
        db.prisma.$queryRaw<Day[]>`
          SELECT village_code, coalesce(sum(n) FILTER (WHERE day >= ${yesterday}::date), 0) AS fresh, to_char(max(day) FILTER (WHERE n > 0), 'YYYY-MM-DD') AS last_on
          FROM (${src.day}) s GROUP BY 1`,
        db.prisma.$queryRaw<Array<{ week: string; n: bigint }>>`
          SELECT to_char(date_trunc('week', day), 'YYYY-MM-DD') AS week, sum(n) AS n FROM (${src.day}) s WHERE day >= ${firstWeek}::date GROUP BY 1`,
        db.prisma.$queryRaw<Array<{ risk: string; n: bigint }>>`SELECT risk, sum(n) AS n FROM (${src.risk}) s GROUP BY 1 HAVING sum(n) > 0`,
      ]);
      const dueOf = new Map(dues.map((d) => [d.village_code, d]));
      const dayOf = new Map(days.map((d) => [d.village_code, d]));
      const inScope = villagesIn(places, scope);
      type Counts = { received: number; open: number; overdue: number; confirmed: number; notIncluded: number };
      const zero = (): Counts => ({ received: 0, open: 0, overdue: 0, confirmed: 0, notIncluded: 0 });
      const byVillage = new Map<string, Counts & { last: string | null }>();
      const byStage = Object.fromEntries(STAGES.map((st) => [st, 0])) as Record<string, number>;
      let overdue = 0;
      let dueThisWeek = 0;
      let fresh = 0;
      for (const r of rows) {
        const n = Number(r.n);
        const v = byVillage.get(r.village_code) ?? { ...zero(), last: null };
        v.received += n;
        if (!FINAL_STAGES.includes(r.stage)) v.open += n;
        if (r.stage === 'confirmed') v.confirmed += n;
        if (r.stage === 'not_included') v.notIncluded += n;
        byVillage.set(r.village_code, v);
        byStage[r.stage] = (byStage[r.stage] ?? 0) + n;
      }
      for (const [code, v] of byVillage) {
        v.overdue = Number(dueOf.get(code)?.overdue ?? 0);
        v.last = dayOf.get(code)?.last_on ?? null;
      }
      for (const d of dues) {
        overdue += Number(d.overdue ?? 0);
        dueThisWeek += Number(d.due_week ?? 0);
      }
      for (const d of days) fresh += Number(d.fresh);
      const blankSince = iso(t0 - 90 * 86_400_000);
      const villages = inScope.map(({ village, township }) => ({ code: village.code, name: village.name, townshipCode: township.code, township: township.name, ...(byVillage.get(village.code) ?? { ...zero(), last: null }) }));
      const townships = new Map<string, Counts & { code: string; name: string }>();
      for (const v of villages) {
        const tw = townships.get(v.townshipCode) ?? { ...zero(), code: v.townshipCode, name: v.township };
        for (const k of ['received', 'open', 'overdue', 'confirmed', 'notIncluded'] as const) tw[k] += v[k];
        townships.set(v.townshipCode, tw);
      }
      const weekCounts = new Map(weekly.map((w) => [w.week, Number(w.n)]));
      return {
        today: todayIso,
        total: villages.reduce((n, v) => n + v.received, 0),
        byStage,
        overdue,
        dueThisWeek,
        newSinceYesterday: fresh,
        blankVillages: villages.filter((v) => !v.last || v.last < blankSince).length,
        villageCount: villages.length,
        weekly: Array.from({ length: weeks }, (_, i) => {
          const week = iso(Date.parse(`${firstWeek}T00:00:00Z`) + i * 7 * 86_400_000);
          return { week, n: weekCounts.get(week) ?? 0 };
        }),
        hardships: hardships.map((h) => ({ risk: h.risk, n: Number(h.n) })).sort((a, b) => b.n - a.n),
        townships: [...townships.values()],
        villages,
      };
    },
    /**
     * 访问记录: who read or changed which lead of the place, newest first, by keyset on the row id. The door is
     * api, chat or console (rows from before the console had none: a token's are the API's, a staff member's the chat's).
     */
    async accessLog(scope: Scope, page: { before?: bigint | undefined; limit: number }) {
      const place = filterSql({ kind: scope.kind, code: scope.code }, {}, '2000-01-01');
      const rows = await db.prisma.$queryRaw<Array<{ id: bigint; at: Date; action: string; via: string | null; staff_id: string | null; token_id: string | null; lead_id: string; receipt_no: string; village_code: string }>>`
        SELECT a.id, a.at, a.action, coalesce(a.via, CASE WHEN a.token_id IS NOT NULL THEN 'api' ELSE 'chat' END) AS via,
               a.staff_id::text, a.token_id::text, a.lead_id::text, l.receipt_no, l.village_code
        FROM access_log a JOIN lead l ON l.id = a.lead_id
        WHERE ${place} ${page.before !== undefined ? Prisma.sql`AND a.id < ${page.before}` : Prisma.empty}
        ORDER BY a.id DESC LIMIT ${page.limit + 1}`;
      const more = rows.length > page.limit;
      const items = rows.slice(0, page.limit);
      return { items, next: more ? items[items.length - 1]!.id : null };
    },
    /** 空白村: the villages of a place with no lead received between two dates, with their last lead's date. */
    /**
     * 空白村: the villages of the place without a report received in [from, to], with the date of each one's last
     * report. Any report counts, a withdrawn one too: the question is whether people there know the channel.
     */
    async blankVillages(scope: Scope, from: string, to: string) {
      const src = sources(scope, to);
      const rows = await db.prisma.$queryRaw<Array<{ village_code: string; last_on: string | null; in_period: bigint }>>`
        SELECT village_code, to_char(max(day) FILTER (WHERE n > 0), 'YYYY-MM-DD') AS last_on,
               coalesce(sum(n) FILTER (WHERE day >= ${from}::date AND day <= ${to}::date), 0) AS in_period
        FROM (${src.day}) s GROUP BY village_code`;
      const seen = new Map(rows.map((r) => [r.village_code, r]));
      const inScope = villagesIn(places, scope);
      return inScope
        .filter(({ village }) => Number(seen.get(village.code)?.in_period ?? 0) === 0)
        .map(({ village, township }) => ({ code: village.code, name: village.name, townshipCode: township.code, township: township.name, last: seen.get(village.code)?.last_on ?? null }));
    },
    async get(scope: Scope, id: string, now = new Date()) {
      const l = await db.prisma.lead.findFirst({ where: { AND: [scopeWhere(scope), { id }] }, include: { events: { orderBy: { id: 'asc' } }, attachments: { orderBy: { createdAt: 'asc' } } } });
      if (!l) return undefined;
      const [visible] = await withVisibleDuplicates(scope, [view(l, scope, now)]);
      const hidden = new Set(l.possibleDuplicates.filter((d) => !visible!.possibleDuplicates.includes(d)));
      return {
        ...visible!,
        events: l.events
          .filter((e) => !(e.kind === 'possible_duplicate' && hidden.has(String((e.data as { other?: string } | null)?.other))))
          .map((e) => ({ at: e.at.toISOString(), actor: e.actor, kind: e.kind, from: e.fromStage, to: e.toStage, data: e.data, note: e.note })),
        attachments: l.attachments.map((x) => ({
          id: x.id,
          channel: x.channel,
          kind: x.kind,
          fileId: x.fileId,
          kept: x.fetchedAt !== null,
          mime: x.mime,
          // given up: why, in a word the console can say (too big; gone from the platform; kept failing)
          lost: x.fetchGaveUpAt === null ? null : x.fetchError === 'too_big' ? 'too_big' : x.fetchAttempts < MEDIA_MAX_ATTEMPTS ? 'expired' : 'failed',
        })),
      };
    },
    async inScope(scope: Scope, id: string) {
      return (await db.prisma.lead.count({ where: { AND: [scopeWhere(scope), { id }] } })) === 1;
    },
    async stats(scope: Scope, now = new Date()) {
      const todayIso = localDate(now, deployment.timezone);
      const src = sources(scope, todayIso);
      const [stageRows, [late]] = await Promise.all([
        db.prisma.$queryRaw<Array<{ village_code: string; stage: string; n: bigint }>>`SELECT village_code, stage, sum(n) AS n FROM (${src.stage}) s GROUP BY 1, 2`,
        db.prisma.$queryRaw<Array<{ n: bigint | null }>>`SELECT sum(n) AS n FROM (${src.due}) s WHERE due < ${todayIso}::date`,
      ]);
      const overdue = Number(late?.n ?? 0);
      const byStage = STAGES.map((stage) => ({ stage, _count: { _all: stageRows.filter((r) => r.stage === stage).reduce((n, r) => n + Number(r.n), 0) } })).filter((r) => r._count._all > 0);
      const byVillage = [...new Set(stageRows.map((r) => r.village_code))].map((villageCode) => ({ villageCode, _count: { _all: stageRows.filter((r) => r.village_code === villageCode).reduce((n, r) => n + Number(r.n), 0) } }));
      const counts = new Map(byVillage.map((r) => [r.villageCode, r._count._all]));
      const villages = villagesIn(places, scope).map(({ village, township }) => ({ code: village.code, name: village.name, township: township.name, leads: counts.get(village.code) ?? 0 }));
      const stages = Object.fromEntries(STAGES.map((s) => [s, byStage.find((r) => r.stage === s)?._count._all ?? 0]));
      return {
        total: byStage.reduce((n, r) => n + r._count._all, 0),
        byStage: stages,
        overdue,
        villages,
        villagesWithoutLeads: villages.filter((v) => v.leads === 0).map((v) => v.code),
      };
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;
