import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { localDate } from '../time.ts';
import { scopeWhere, type Scope } from './tokens.ts';
import { STAGES } from './procedure.ts';
import { maskIdNumber } from '../../bot/parse/id-number.ts';

/** Reading the queue: lists with filters and cursors, one lead with its events, and counts. Scoped by place. */

export type LeadFilters = {
  stage?: string | undefined;
  township?: string | undefined;
  village?: string | undefined;
  overdue?: boolean | undefined;
  category?: string | undefined;
  receivedFrom?: string | undefined;
  receivedTo?: string | undefined;
};

type LeadRow = Prisma.LeadGetPayload<object>;

/** ID numbers are shown masked (the first 6 and last 4 characters) except to a county-wide reader. */
export { maskIdNumber };

const dec = (v: Prisma.Decimal | null) => (v === null ? null : Number(v));

export function createQueries(deps: { db: Database; crypto: Crypto; deployment: Deployment }) {
  const { db, crypto, deployment } = deps;
  const places = placeIndex(deployment);
  const today = (now: Date) => new Date(`${localDate(now, deployment.timezone)}T00:00:00Z`);

  function where(scope: Scope, f: LeadFilters, now: Date): Prisma.LeadWhereInput {
    const and: Prisma.LeadWhereInput[] = [scopeWhere(scope)];
    if (f.stage) and.push({ stage: f.stage });
    if (f.township) and.push({ townshipCode: f.township });
    if (f.village) and.push({ villageCode: f.village });
    if (f.category) and.push({ category: f.category });
    if (f.overdue !== undefined) and.push(f.overdue ? { nextDeadlineDue: { lt: today(now) } } : { OR: [{ nextDeadlineDue: null }, { nextDeadlineDue: { gte: today(now) } }] });
    // reportedOn is the local date of createdAt: a createdAt range a day wider on each side lets the
    // (place, createdAt) index do the work, and the reportedOn condition keeps the answer exact.
    if (f.receivedFrom) and.push({ reportedOn: { gte: new Date(`${f.receivedFrom}T00:00:00Z`) } }, { createdAt: { gte: new Date(Date.parse(`${f.receivedFrom}T00:00:00Z`) - 86_400_000) } });
    if (f.receivedTo) and.push({ reportedOn: { lte: new Date(`${f.receivedTo}T00:00:00Z`) } }, { createdAt: { lt: new Date(Date.parse(`${f.receivedTo}T00:00:00Z`) + 2 * 86_400_000) } });
    return { AND: and };
  }

  function view(l: LeadRow, scope: Scope, now: Date) {
    const v = places.villages.get(l.villageCode);
    const id = l.idNumberEnc ? crypto.decrypt(l.idNumberEnc) : null;
    const a = l.answers as Record<string, unknown>;
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
      risks: a.risks ?? [],
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
    async list(scope: Scope, f: LeadFilters, page: { after?: { createdAt: Date; id: string } | undefined; limit: number }, now = new Date()) {
      const w = where(scope, f, now);
      let after: Prisma.LeadWhereInput | undefined;
      if (page.after) {
        const { createdAt: t, id } = page.after;
        // The plain bound lets the (place, createdAt) index start at the cursor; the OR breaks ties by id.
        after = { AND: [{ createdAt: { lte: t } }, { OR: [{ createdAt: { lt: t } }, { createdAt: t, id: { lt: id } }] }] };
      }
      const rows = await db.prisma.lead.findMany({
        where: after ? { AND: [w, after] } : w,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.limit + 1,
      });
      const more = rows.length > page.limit;
      const items = rows.slice(0, page.limit);
      const last = items[items.length - 1];
      const nextCursor = more && last ? Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString('base64url') : null;
      return { items: await withVisibleDuplicates(scope, items.map((l) => view(l, scope, now))), nextCursor };
    },
    async get(scope: Scope, id: string, now = new Date()) {
      const l = await db.prisma.lead.findFirst({ where: { AND: [scopeWhere(scope), { id }] }, include: { events: { orderBy: { id: 'asc' } }, attachments: true } });
      if (!l) return undefined;
      const [visible] = await withVisibleDuplicates(scope, [view(l, scope, now)]);
      const hidden = new Set(l.possibleDuplicates.filter((d) => !visible!.possibleDuplicates.includes(d)));
      return {
        ...visible!,
        events: l.events
          .filter((e) => !(e.kind === 'possible_duplicate' && hidden.has(String((e.data as { other?: string } | null)?.other))))
          .map((e) => ({ at: e.at.toISOString(), actor: e.actor, kind: e.kind, from: e.fromStage, to: e.toStage, data: e.data, note: e.note })),
        attachments: l.attachments.map((x) => ({ channel: x.channel, kind: x.kind, fileId: x.fileId })),
      };
    },
    async inScope(scope: Scope, id: string) {
      return (await db.prisma.lead.count({ where: { AND: [scopeWhere(scope), { id }] } })) === 1;
    },
    async stats(scope: Scope, now = new Date()) {
      const base = scopeWhere(scope);
      const [byStage, overdue, byVillage] = await Promise.all([
        db.prisma.lead.groupBy({ by: ['stage'], where: base, _count: { _all: true } }),
        db.prisma.lead.count({ where: { AND: [base, { nextDeadlineDue: { lt: today(now) } }] } }),
        db.prisma.lead.groupBy({ by: ['villageCode'], where: base, _count: { _all: true } }),
      ]);
      const counts = new Map(byVillage.map((r) => [r.villageCode, r._count._all]));
      const villages = [...places.villages.values()]
        .filter(({ village, township, county }) => (scope.kind === 'county' ? county.code : scope.kind === 'township' ? township.code : village.code) === scope.code)
        .map(({ village, township }) => ({ code: village.code, name: village.name, township: township.name, leads: counts.get(village.code) ?? 0 }));
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
