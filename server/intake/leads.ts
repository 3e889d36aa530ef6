import pLimit from 'p-limit';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { incomeLineFor, placeIndex, type Deployment } from '../deployment.ts';
import { addMonths, localDate } from '../time.ts';
import { assess, INCOME_FIELDS, type AssessmentInput, type Assessment, type Exclusion } from './assessment.ts';
import { missingDetails, readAnswers } from './answers.ts';
import { actingRole, checkMove, clocks, FINAL, mayAct, monitoringOf, roleEverMakes, STAGES, type EventRecord, type LeadFacts, type Move, type MoveRefusal, type RecordKind, type Role, type Stage, latestJudgement } from './procedure.ts';
import { z } from 'zod';
import { scopeWhere } from './tokens.ts';
import { PLACE_COLUMN, type Scope } from '../places/scope.ts';
import { Prisma } from '../db/generated/client.ts';
import { createCalendar } from '../calendar.ts';
import type { CountyForwarding } from './forwarding.ts';

/** What the self-report hands to intake on submit: everything the household said, and the signed consent. */
export type NewLead = Omit<AssessmentInput, 'line'> & {
  /** unique per submission (channel and update id): receiving the same submission twice returns the first lead */
  submissionKey: string;
  channel: string;
  reporterId: string;
  reporterRelation: string | null;
  villageCode: string;
  headName: string;
  /** the household's phone (a proxy's own when the household gave none) */
  phone: string;
  /** a proxy's own phone, kept beside the household's */
  reporterPhone?: string | null;
  /** false: `phone` is a proxy's own (the household gave none), so it says nothing of which household this is */
  phoneIsHousehold?: boolean;
  idNumber: string | null;
  /** every other answer, for the cadre (no phone or ID number here) */
  answers: Record<string, unknown>;
  consent: {
    textVersion: string;
    textHash: string;
    language: string;
    signedAt: Date;
    typedName: string;
    sensitiveNoticeAt: Date | null;
  };
  attachments: Array<{ kind: string; fileId: string }>;
};

export type ReceivedLead = { id: string; receiptNo: string; assessment: Assessment; reportedOn: string };

function toRecord(e: { at: Date; kind: string; toStage: string | null; data: unknown }): EventRecord {
  return { at: e.at, kind: e.kind, toStage: e.toStage, data: (e.data as Record<string, unknown> | null) ?? null };
}

/** Until the visit, a household may add its report's details; after it, the cadre's figures stand. */
const DETAILS_OPEN: readonly Stage[] = ['received', 'assigned'];
/** Reports that ended without a visit: withdrawn, or a duplicate of another. */
const CLOSED: readonly Stage[] = ['withdrawn', 'duplicate'];
/** The answers the details after a receipt may give (bot/flows/selfreport.ts, detailsFlow). */
const DETAIL_ANSWERS = ['whenHappened', 'householdSize', 'labourers', 'householdType', ...INCOME_FIELDS, 'exclusions'] as const;

/** The lead's columns an assessment sets (on receipt, and again when details are added), with flags it does not make. */
function assessedColumns(assessment: Assessment, line: { yuanPerPerson: number; year: number } | undefined, otherFlags: string[]) {
  return {
    a33: assessment.a33,
    a34: assessment.a34,
    a37: assessment.a37,
    a38: assessment.a38,
    incomeLine: line?.yuanPerPerson ?? null,
    incomeLineYear: line?.year ?? null,
    category: assessment.category,
    flags: [...assessment.flags, ...otherFlags],
    greenChannel: assessment.greenChannel,
  };
}

/** Lead ids are UUIDs: anything else (a tapped button's data, a URL) is "not found" before it reaches the database. */
const leadId = z.uuid();
export const isLeadId = (id: string): boolean => leadId.safeParse(id).success;

/** Who acts on a lead: a role at a place (a staff member, or an API token in the role of its level). */
export type Actor = { role: Role; scope: Scope; staffId?: string | undefined; /** recorded on the event: token:<id> or staff:<id> */ id: string };

export { latestJudgement };

export function receiptNumber(countyCode: string, day: string, seq: number): string {
  return `${countyCode}-${day.replaceAll('-', '')}-${String(seq).padStart(4, '0')}`;
}

export type { RecordKind };
export type RecordDetails = { note?: string | undefined; contactPerson?: string | undefined; contactStaffId?: string | undefined };

/** Told inside the transaction that stores a new lead (the staff notice is written with the lead, or not at all). */
export type LeadReceivedHook = (tx: Prisma.TransactionClient, leadId: string, now: Date) => Promise<void>;

/** A read by the operator at the server (`npm run cli -- print`), in the access log with no staff member and the door "cli". */
export async function logOperatorRead(db: Database, leadIds: string[], action: string, at = new Date()) {
  if (leadIds.length === 0) return;
  await db.prisma.accessLog.createMany({ data: leadIds.map((leadId) => ({ leadId, action, at, via: 'cli' })) });
}

/** Lead transactions at a time per process; the rest of the pool's connections stay free for turns and pages. */
const RECEIVE_CONCURRENCY = 4;

export function createIntake(deps: {
  db: Database;
  crypto: Crypto;
  deployment: Deployment;
  /** the county system's deliveries: an event is written with each change */
  forwarding?: Pick<CountyForwarding, 'enqueue'>;
  /** whether a staff id is a contact person of a village (the staff module answers; intake does not read its tables) */
  isContactPerson?: (staffId: string, villageCode: string, tx: Prisma.TransactionClient) => Promise<boolean>;
}) {
  const { db, crypto, deployment } = deps;
  // Reports received at once wait here rather than in the database: a lead's transaction takes the row locks of
  // its village's console tallies (statement triggers on lead) and keeps them to its end, so simultaneous reports
  // of one village queue on each other; queued in the database they held every pooled connection meanwhile, and
  // everyone else's turn waited for a connection (the 0.3-2 s stalls seen in bench:selfreport --channel wecom).
  const receiving = pLimit(RECEIVE_CONCURRENCY);
  const receivedHooks: LeadReceivedHook[] = [];
  const contactPersonOf = deps.isContactPerson ?? (async () => false);
  const places = placeIndex(deployment);

  const calendar = createCalendar(deployment.calendar);
  const day = (at: Date) => localDate(at, deployment.timezone);

  /** The next open deadline of a lead, kept on the row so lists and stats can filter on it. */
  function nextDeadline(receivedOn: string, stage: Stage, events: EventRecord[], now: Date) {
    const c = clocks({ receivedOn, stage, events, rules: deployment.procedure, today: day(now), day });
    return { nextDeadlineKind: c.next?.kind ?? null, nextDeadlineDue: c.next ? new Date(`${c.next.due}T00:00:00Z`) : null };
  }

  type Locked = { stage: string; reported_on: Date; follow_up_kind: string | null; contact_staff_id: string | null; village_code: string };
  type Outcome = { ok: true; stage: Stage } | { ok: false; refusal: MoveRefusal };
  /** Who does it, checked against the role table (undefined: the system itself, e.g. a household's /withdraw). */
  type Guard = { role: Role; staffId?: string | undefined } | undefined;

  async function lockLead(tx: Prisma.TransactionClient, leadId: string): Promise<{ row: Locked; events: EventRecord[] } | undefined> {
    const rows = await tx.$queryRaw<Locked[]>`
      SELECT stage, reported_on, follow_up_kind, contact_staff_id::text, village_code FROM lead WHERE id = ${leadId}::uuid FOR UPDATE`;
    if (!rows[0]) return undefined;
    const events = (await tx.leadEvent.findMany({ where: { leadId }, orderBy: { id: 'asc' } })).map(toRecord);
    return { row: rows[0], events };
  }

  const factsOf = (row: Locked, events: EventRecord[]): LeadFacts => ({ stage: row.stage as Stage, judgement: latestJudgement(events), contactStaffId: row.contact_staff_id });

  /**
   * Moves a lead through the procedure: checked against the rules in procedure.ts (the order of the stages and
   * what each needs, then who may make it), applied with an append-only event in one transaction; the row lock
   * makes two moves of one lead happen one after the other.
   */
  async function applyMove(leadId: string, m: Move, actor: string, now: Date, guard: Guard): Promise<Outcome> {
    if (!isLeadId(leadId)) return { ok: false, refusal: { code: 'not_found' } };
    return db.prisma.$transaction(async (tx) => {
      const locked = await lockLead(tx, leadId);
      if (!locked) return { ok: false as const, refusal: { code: 'not_found' } };
      const { row, events } = locked;
      const from = row.stage as Stage;
      // a move the actor's role never makes is refused as such; then the procedure's order and needs; then who may
      const facts = factsOf(row, events);
      const refusal =
        (guard && !roleEverMakes(guard.role, m.to) ? mayAct(guard, { move: m.to }, facts) : undefined) ??
        checkMove(from, m, events, { rules: deployment.procedure, calendar, today: day(now), day }) ??
        (guard ? mayAct(guard, { move: m.to }, facts) : undefined);
      if (refusal) return { ok: false as const, refusal };
      const data: Record<string, unknown> = {};
      for (const k of ['judgement', 'reason', 'publicityStart', 'publicityEnd', 'category', 'duplicateOf'] as const) if (m[k] !== undefined) data[k] = m[k];
      const after = [...events, { at: now, kind: 'move', toStage: m.to, data }];
      const next = nextDeadline(row.reported_on.toISOString().slice(0, 10), m.to, after, now);
      await tx.lead.update({
        where: { id: leadId },
        data: {
          stage: m.to,
          ...next,
          ...(m.to === 'withdrawn' ? { withdrawnAt: now } : {}),
          ...(m.to === 'confirmed' ? { confirmedCategory: m.category ?? null } : {}),
          ...(m.to === 'visited' ? { visitJudgement: m.judgement ?? null } : {}),
        },
      });
      await tx.leadEvent.create({
        data: { leadId, at: now, actor, kind: 'move', fromStage: from, toStage: m.to, data: Object.keys(data).length ? (data as object) : undefined, note: m.note ?? null },
      });
      await deps.forwarding?.enqueue(tx, leadId, 'lead.moved', { move: { from, to: m.to, at: now.toISOString(), actor, note: m.note ?? null, ...data } }, now);
      return { ok: true as const, stage: m.to };
    });
  }

  /**
   * Records a fact that is not a move: help given through the green channel before the procedure (the clocks keep
   * running), the contact person and assistance plan after confirmation (which stops the 10-day clock and starts
   * the contact person's follow-up schedule), a follow-up done, or the risk marked eliminated (a 回头看 re-check
   * falls due months later).
   */
  async function applyRecord(leadId: string, kind: RecordKind, details: RecordDetails, actor: string, now: Date, guard: Guard): Promise<Outcome> {
    if (!isLeadId(leadId)) return { ok: false, refusal: { code: 'not_found' } };
    if (details.contactStaffId !== undefined && !isLeadId(details.contactStaffId)) return { ok: false, refusal: { code: 'contact_person_unknown' } };
    return db.prisma.$transaction(async (tx) => {
      const locked = await lockLead(tx, leadId);
      if (!locked) return { ok: false as const, refusal: { code: 'not_found' } as MoveRefusal };
      const { row, events: before } = locked;
      const stage = row.stage as Stage;
      const refuse = (refusal: MoveRefusal) => ({ ok: false as const, refusal });
      // who may record it comes first: a record belongs to a role whatever the stage
      const denied = guard ? mayAct(guard, { record: kind }, factsOf(row, before)) : undefined;
      if (denied) return refuse(denied);
      if (kind !== 'green_channel' && kind !== 'note' && stage !== 'confirmed') return refuse({ code: 'plan_needs_confirmed', params: { stage } });
      if (kind === 'green_channel' && FINAL.includes(stage)) return refuse({ code: 'already_final', params: { stage } });
      if ((kind === 'follow_up' || kind === 'risk_eliminated') && !row.contact_staff_id) return refuse({ code: 'contact_person_required' });
      const monitoring = monitoringOf(before);
      // a household removed from monitoring (清退) takes notes only
      if (monitoring.removed && kind !== 'note') return refuse({ code: 'removed_from_monitoring' });
      if (kind === 'risk_eliminated' && row.follow_up_kind !== 'follow_up') return refuse({ code: 'risk_already_eliminated' });
      if (kind === 'rollback' && !monitoring.riskEliminated) return refuse({ code: 'risk_not_eliminated' });
      // the reason is the table's 原因详情 (annex 5), and the evidence the county keeps
      if ((kind === 'rollback' || kind === 'removal') && !details.note?.trim()) return refuse({ code: 'reason_required' });
      // the contact person belongs to the plan: given with any other record, it is not that record's to keep
      const contact = kind === 'plan' ? { person: details.contactPerson, staffId: details.contactStaffId } : {};
      if (contact.staffId && !(await contactPersonOf(contact.staffId, row.village_code, tx))) return refuse({ code: 'contact_person_unknown' });
      const data: Record<string, unknown> = {};
      if (contact.person) data.contactPerson = contact.person;
      if (contact.staffId) data.contactStaffId = contact.staffId;
      await tx.leadEvent.create({ data: { leadId, at: now, actor, kind, data: Object.keys(data).length ? (data as object) : undefined, note: details.note ?? null } });
      const events = (await tx.leadEvent.findMany({ where: { leadId }, orderBy: { id: 'asc' } })).map(toRecord);
      const today = day(now);
      const r = deployment.reminders;
      const dueDate = (d: string) => new Date(`${d}T00:00:00Z`);
      const followUp: Prisma.LeadUpdateInput =
        kind === 'plan' && contact.staffId
          ? { contactStaffId: contact.staffId, followUpKind: 'follow_up', followUpDue: dueDate(addMonths(today, r.followUpEveryMonths)) }
          : kind === 'follow_up'
            ? row.follow_up_kind === 'recheck'
              ? { followUpKind: null, followUpDue: null } // the 回头看 is done: no more reminders for this household
              : { followUpKind: 'follow_up', followUpDue: dueDate(addMonths(today, r.followUpEveryMonths)) }
            : kind === 'risk_eliminated'
              ? { riskEliminatedOn: dueDate(today), followUpKind: 'recheck', followUpDue: dueDate(addMonths(today, r.recheckAfterMonths)) }
              : kind === 'rollback'
                ? // back under monitoring: the contact person's follow-ups start again
                  { riskEliminatedOn: null, followUpKind: row.contact_staff_id ? 'follow_up' : null, followUpDue: row.contact_staff_id ? dueDate(addMonths(today, r.followUpEveryMonths)) : null }
                : kind === 'removal'
                  ? { followUpKind: null, followUpDue: null } // no longer monitored: no more reminders
                  : {};
      await tx.lead.update({ where: { id: leadId }, data: { ...nextDeadline(row.reported_on.toISOString().slice(0, 10), stage, events, now), ...followUp } });
      await deps.forwarding?.enqueue(tx, leadId, 'lead.recorded', { record: { kind, at: now.toISOString(), actor, note: details.note ?? null, ...data } }, now);
      return { ok: true as const, stage };
    });
  }

  /** Whether the actor's place covers the lead: outside it, a lead does not exist for them. */
  async function visibleTo(actor: Actor, leadId: string): Promise<boolean> {
    if (!isLeadId(leadId)) return false;
    return (await db.prisma.lead.count({ where: { AND: [scopeWhere(actor.scope), { id: leadId }] } })) === 1;
  }

  /**
   * A move by someone who covers a place (an API token, a staff member), checked against the one role table of
   * procedure.ts: the same rules whichever door the request came through. A lead outside the place is "not found".
   */
  async function moveAs(actor: Actor, leadId: string, m: Move, now = new Date()): Promise<Outcome> {
    if (!(await visibleTo(actor, leadId))) return { ok: false, refusal: { code: 'not_found' } };
    // The original of a duplicate must be another lead of the same place.
    if (m.duplicateOf && (m.duplicateOf === leadId || !(await visibleTo(actor, m.duplicateOf)))) return { ok: false, refusal: { code: 'original_not_found' } };
    return applyMove(leadId, m, actor.id, now, { role: actor.role, staffId: actor.staffId });
  }

  /** A record by someone who covers a place, checked against the same role table. */
  async function recordAs(actor: Actor, leadId: string, kind: RecordKind, details: RecordDetails, now = new Date()): Promise<Outcome> {
    if (!(await visibleTo(actor, leadId))) return { ok: false, refusal: { code: 'not_found' } };
    return applyRecord(leadId, kind, details, actor.id, now, { role: actor.role, staffId: actor.staffId });
  }

  /** The procedure alone, for the system's own moves (a household's /withdraw) and for tests: no role is checked. */
  const move = (leadId: string, m: Move, actor: string, now = new Date()) => applyMove(leadId, m, actor, now, undefined);
  const record = (leadId: string, kind: RecordKind, details: RecordDetails, actor: string, now = new Date()) => applyRecord(leadId, kind, details, actor, now, undefined);

  return {
    record,
    moveAs,
    recordAs,
    /** How many of these leads (a lead's possible duplicates) lie inside the scope: below the county, the flag shows only then. */
    async twinsIn(scope: Scope, ids: string[], client: Pick<Database['prisma'], 'lead'> = db.prisma): Promise<number> {
      if (ids.length === 0) return 0;
      if (scope.kind === 'county' && !scope.contactStaffId) return ids.length;
      return client.lead.count({ where: { AND: [scopeWhere(scope), { id: { in: ids } }] } });
    },
    /** Registers code to run inside the transaction that stores each new lead. */
    onReceived(hook: LeadReceivedHook) {
      receivedHooks.push(hook);
    },
    /** A staff member was shown a lead's personal fields (a card, a notice): logged like an API read. */
    async logStaffRead(staffId: string, leadIds: string[], action: string, at = new Date(), client: Pick<Database['prisma'], 'accessLog'> = db.prisma, via: 'chat' | 'console' = 'chat') {
      if (leadIds.length === 0) return;
      await client.accessLog.createMany({ data: leadIds.map((leadId) => ({ staffId, leadId, action, at, via })) });
    },
    /** The one entry point for new leads: routes to the village, assesses, numbers and stores it in one transaction. */
    async receiveLead(input: NewLead, now = new Date()): Promise<ReceivedLead> {
      /** The lead this submission made already (a redelivery), as it was received. */
      const received = async (): Promise<ReceivedLead | undefined> => {
        const earlier = await db.prisma.lead.findUnique({ where: { submissionKey: input.submissionKey }, select: { id: true, receiptNo: true, reportedOn: true } });
        if (!earlier) return undefined;
        const reportedOn = earlier.reportedOn.toISOString().slice(0, 10);
        const place = places.villages.get(input.villageCode);
        const line = place ? incomeLineFor(deployment, place.county.province.code, Number(reportedOn.slice(0, 4))) : undefined;
        return { id: earlier.id, receiptNo: earlier.receiptNo, assessment: assess({ ...input, line }), reportedOn };
      };
      const earlier = await received();
      if (earlier) return earlier;
      const place = places.villages.get(input.villageCode);
      if (!place) throw new Error(`unknown village ${input.villageCode}`);
      const reportedOn = localDate(now, deployment.timezone);
      const line = incomeLineFor(deployment, place.county.province.code, Number(reportedOn.slice(0, 4)));
      const assessment = assess({ ...input, line });
      // The number is taken in a statement of its own, committed at once: taken inside the lead's transaction, the
      // county-wide counter row stayed locked until that transaction ended (the twins, the lead, the notices to
      // staff), so every report of the county waited for the one before, and their transactions held the pool's
      // connections meanwhile (under load: other requests waited for a connection, reports timed out). A report
      // whose transaction then fails leaves its number unused: numbers are unique and in order, not gapless.
      const rows = await db.prisma.$queryRaw<Array<{ seq: number }>>`
        INSERT INTO receipt_counter (county_code, day, seq) VALUES (${place.county.code}, ${reportedOn}, 1)
        ON CONFLICT (county_code, day) DO UPDATE SET seq = receipt_counter.seq + 1
        RETURNING seq`;
      const receiptNo = receiptNumber(place.county.code, reportedOn, rows[0]!.seq);
      // the same submission racing itself (a redelivery while the first is in its transaction): the first's lead
      const race = (e: unknown) => ((e as { code?: string }).code === 'P2002' ? received().then((r) => r ?? Promise.reject(e)) : Promise.reject(e));
      return receiving(() => db.prisma.$transaction(async (tx) => {
        // Another open lead of the same county with the same phone or ID: flag and link both, never merge.
        const phoneHash = crypto.lookupHash('phone', input.phone);
        const idHash = input.idNumber ? crypto.lookupHash('id', input.idNumber.slice(0, 18)) : null;
        // Reports of one household made at the same moment must see each other: the transactions of the same phone
        // (or ID) in a county run one after the other from here (locks taken in one order: no deadlock).
        // a proxy's own phone (a cadre's, filing for many households) links nothing
        const byPhone = input.phoneIsHousehold !== false;
        for (const key of [...(byPhone ? [`twins:${place.county.code}:p:${phoneHash}`] : []), ...(idHash ? [`twins:${place.county.code}:i:${idHash}`] : [])].sort()) {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
        }
        const twins = await tx.lead.findMany({
          where: {
            countyCode: place.county.code,
            stage: { notIn: [...FINAL] },
            OR: [...(byPhone ? [{ phoneHash }] : []), ...(idHash ? [{ idNumberHash: idHash }] : [])],
          },
          select: { id: true },
        });
        const lead = await tx.lead.create({
          data: {
            receiptNo,
            submissionKey: input.submissionKey,
            countyCode: place.county.code,
            townshipCode: place.township.code,
            villageCode: place.village.code,
            channel: input.channel,
            reporterId: input.reporterId,
            reporterRelation: input.reporterRelation,
            headName: input.headName,
            phoneEnc: crypto.encrypt(input.phone),
            phoneHash,
            reporterPhoneEnc: input.reporterPhone ? crypto.encrypt(input.reporterPhone) : null,
            idNumberEnc: input.idNumber ? crypto.encrypt(input.idNumber) : null,
            idNumberHash: idHash,
            possibleDuplicates: twins.map((t) => t.id),
            risks: input.risks,
            // The structured fields are canonical; the rest of what the household said stays beside them.
            // A short report's details (household, incomes, exclusions) are not there until they are added: they
            // are left out rather than stored as "不知道", so cards and exports can say what is still missing.
            answers: {
              ...input.answers,
              risks: input.risks,
              ...input.guarantees,
              ...(input.householdSize === null ? {} : { householdSize: input.householdSize, householdType: input.householdType, ...input.incomes, exclusions: input.exclusions }),
            } as object,
            ...assessedColumns(assessment, line, twins.length > 0 ? ['possible_duplicate'] : []),
            reportedOn: new Date(`${reportedOn}T00:00:00Z`),
            createdAt: now,
            ...nextDeadline(reportedOn, 'received', [], now),
            consent: {
              create: {
                textVersion: input.consent.textVersion,
                textHash: input.consent.textHash,
                language: input.consent.language,
                signedAt: input.consent.signedAt,
                channel: input.channel,
                channelUserId: input.reporterId,
                typedName: input.consent.typedName,
                proxyRelation: input.reporterRelation,
                sensitiveNoticeAt: input.consent.sensitiveNoticeAt,
              },
            },
            // fetched from the channel and kept from the moment they arrive (server/intake/media.ts); a millisecond
            // apart, so they are listed in the order they were sent
            attachments: {
              create: input.attachments.map((a, i) => ({ channel: input.channel, kind: a.kind, fileId: a.fileId, createdAt: new Date(now.getTime() + i), nextFetchAt: now })),
            },
          },
          select: { id: true },
        });
        await tx.leadEvent.create({ data: { leadId: lead.id, at: now, actor: 'household', kind: 'move', fromStage: null, toStage: 'received' } });
        await deps.forwarding?.enqueue(tx, lead.id, 'lead.received', {}, now);
        for (const hook of receivedHooks) await hook(tx, lead.id, now);
        for (const twin of twins) {
          await tx.$executeRaw`UPDATE lead SET possible_duplicates = array_append(possible_duplicates, ${lead.id}),
            flags = CASE WHEN 'possible_duplicate' = ANY(flags) THEN flags ELSE array_append(flags, 'possible_duplicate') END WHERE id = ${twin.id}::uuid`;
          await tx.leadEvent.create({ data: { leadId: twin.id, at: now, actor: 'system', kind: 'possible_duplicate', data: { other: lead.id } } });
          await tx.leadEvent.create({ data: { leadId: lead.id, at: now, actor: 'system', kind: 'possible_duplicate', data: { other: twin.id } } });
        }
        return { id: lead.id, receiptNo, assessment, reportedOn };
      })).catch(race);
    },

    /** A person's own reports, newest first, for /status and /withdraw; detailsOpen: its details can still be added. */
    async leadsOfReporter(channel: string, reporterId: string) {
      const leads = await db.prisma.lead.findMany({
        where: { channel, reporterId },
        orderBy: { createdAt: 'desc' },
        take: 10,
        select: { id: true, receiptNo: true, stage: true, createdAt: true, villageCode: true, answers: true },
      });
      return leads.map(({ answers, ...l }) => ({ ...l, detailsOpen: DETAILS_OPEN.includes(l.stage as Stage) && missingDetails(answers).length > 0 }));
    },

    /**
     * A report looked up by whoever holds its receipt and the last 4 digits of its phone (the household's or the
     * proxy's own): its stage and the day it was reported, nothing personal. Undefined when either does not match.
     */
    async stageByReceipt(receiptNo: string, phoneTail: string): Promise<{ stage: Stage; reportedOn: string } | undefined> {
      if (!/^\d{4}$/.test(phoneTail)) return undefined;
      const lead = await db.prisma.lead.findUnique({ where: { receiptNo }, select: { stage: true, reportedOn: true, phoneEnc: true, reporterPhoneEnc: true } });
      if (!lead) return undefined;
      const phones = [lead.phoneEnc, lead.reporterPhoneEnc].filter((p): p is NonNullable<typeof p> => p !== null).map((p) => crypto.decrypt(p));
      if (!phones.some((p) => p.endsWith(phoneTail))) return undefined;
      return { stage: lead.stage as Stage, reportedOn: lead.reportedOn.toISOString().slice(0, 10) };
    },

    /**
     * One of a person's reports for adding its details (the newest that still lacks some, when none is named):
     * the details answered so far, with the reporter and relation its questions' words depend on.
     */
    async detailsOf(channel: string, reporterId: string, leadId?: string) {
      if (leadId !== undefined && !isLeadId(leadId)) return undefined;
      const leads = await db.prisma.lead.findMany({
        where: { channel, reporterId, ...(leadId ? { id: leadId } : { stage: { in: [...DETAILS_OPEN] } }) },
        orderBy: { createdAt: 'desc' },
        take: leadId ? 1 : 10,
        select: { id: true, receiptNo: true, stage: true, answers: true },
      });
      const lead = leadId ? leads[0] : (leads.find((l) => missingDetails(l.answers).length > 0) ?? leads[0]);
      if (!lead) return undefined;
      const a = (lead.answers ?? {}) as Record<string, unknown>;
      const answers = Object.fromEntries(['reporter', 'relation', ...DETAIL_ANSWERS].filter((k) => a[k] !== undefined && a[k] !== null).map((k) => [k, a[k]]));
      return { id: lead.id, receiptNo: lead.receiptNo, open: DETAILS_OPEN.includes(lead.stage as Stage), closed: CLOSED.includes(lead.stage as Stage), answers };
    },

    /**
     * The household adds its details to its report after the receipt (or pauses part-way: what was given is kept):
     * merged into the answers, the assessment computed again with them, and recorded as an event ("details
     * added") that is forwarded to the county system. Refused once the visit is recorded (the cadre's figures stand).
     */
    async addDetails(channel: string, reporterId: string, leadId: string, given: Record<string, unknown>, now = new Date(), key?: string): Promise<'added' | 'not_found' | 'too_late' | 'closed' | 'nothing'> {
      if (!isLeadId(leadId)) return 'not_found';
      if (DETAIL_ANSWERS.every((k) => given[k] === undefined)) return 'nothing';
      // through the same queue as new leads: a change of a lead takes its village's tally rows to the end
      return receiving(() => db.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ stage: string; answers: Record<string, unknown>; village_code: string; reported_on: Date; flags: string[] }>>`
          SELECT stage, answers, village_code, reported_on, flags FROM lead WHERE id = ${leadId}::uuid AND channel = ${channel} AND reporter_id = ${reporterId} FOR UPDATE`;
        const row = rows[0];
        if (!row) return 'not_found';
        if (CLOSED.includes(row.stage as Stage)) return 'closed';
        if (!DETAILS_OPEN.includes(row.stage as Stage)) return 'too_late';
        // the same update saving twice (a redelivery, a turn run again after a clash): once
        if (key && (await tx.$queryRaw<unknown[]>`SELECT 1 FROM lead_event WHERE lead_id = ${leadId}::uuid AND kind = 'details_added' AND data->>'key' = ${key} LIMIT 1`).length > 0) return 'added';
        // only what changed is written, recorded and forwarded: pausing again with nothing new adds nothing
        const fields = DETAIL_ANSWERS.filter((k) => given[k] !== undefined && JSON.stringify(given[k]) !== JSON.stringify(row.answers[k]));
        if (fields.length === 0) return 'added';
        const answers = { ...row.answers, ...Object.fromEntries(fields.map((k) => [k, given[k]])) };
        const a = readAnswers(answers);
        const place = places.villages.get(row.village_code);
        const line = place ? incomeLineFor(deployment, place.county.province.code, row.reported_on.getUTCFullYear()) : undefined;
        const assessment = assess({
          householdSize: a.householdSize ?? null,
          householdType: a.householdType ?? null,
          incomes: Object.fromEntries(INCOME_FIELDS.map((f) => [f, a[f] ?? { kind: 'unknown' }])) as AssessmentInput['incomes'],
          risks: a.risks,
          guarantees: { housingUnsafe: a.housingUnsafe === true, childOutOfSchool: a.childOutOfSchool === true, waterUnsafe: a.waterUnsafe === true, noMedicalInsurance: a.noMedicalInsurance === true },
          exclusions: a.exclusions.filter((x): x is Exclusion => x !== 'none'),
          // told in words, or by voice notes and photos, and when
          eventDescribed: (Boolean(a.whatHappened) || (await tx.attachment.count({ where: { leadId } })) > 0) && a.whenHappened !== undefined,
          line,
        });
        // flags the assessment does not make (a possible duplicate) stay
        const kept = row.flags.filter((f) => f === 'possible_duplicate');
        await tx.lead.update({
          where: { id: leadId },
          data: {
            answers: answers as object,
            ...assessedColumns(assessment, line, kept),
          },
        });
        await tx.leadEvent.create({ data: { leadId, at: now, actor: 'household', kind: 'details_added', data: { fields, ...(key ? { key } : {}) } } });
        await deps.forwarding?.enqueue(tx, leadId, 'lead.details_added', { details: { fields, at: now.toISOString() } }, now);
        return 'added' as const;
      }));
    },

    /** The household withdraws its own report; refused once the procedure has ended. */
    async withdraw(channel: string, reporterId: string, leadId: string, now = new Date()): Promise<'withdrawn' | 'not_found' | 'already_final'> {
      const lead = await db.prisma.lead.findFirst({ where: { id: leadId, channel, reporterId }, select: { id: true, stage: true } });
      if (!lead) return 'not_found';
      if (lead.stage === 'withdrawn') return 'withdrawn'; // asked twice (a redelivery): the same answer
      const r = await move(leadId, { to: 'withdrawn' }, 'household', now);
      return r.ok ? 'withdrawn' : 'already_final';
    },

    move,

    /**
     * A staff member's open items, ordered by deadline: the leads of their place waiting for their role (a
     * contact person: the households assigned to them, by follow-up date). One page and the total.
     */
    async tasks(scope: Scope, role: string, staffId: string, offset: number, limit: number, opts: { countUpTo?: number } = {}) {
      // the total, or (countUpTo) whether there are more than that many: a county's open items are counted one by one
      const counted = (where: Prisma.Sql) =>
        opts.countUpTo === undefined
          ? db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM lead l WHERE ${where}`
          : db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM (SELECT 1 FROM lead l WHERE ${where} LIMIT ${opts.countUpTo + 1}) x`;
      type Row = { id: string; receipt_no: string; head_name: string; village_code: string; stage: string; kind: string | null; due: string | null };
      if (role === 'contact_person') {
        const where = Prisma.sql`contact_staff_id = ${staffId}::uuid AND stage = 'confirmed' AND follow_up_due IS NOT NULL`;
        const rows = await db.prisma.$queryRaw<Row[]>`
          SELECT id::text, receipt_no, head_name, village_code, stage, follow_up_kind AS kind, to_char(follow_up_due, 'YYYY-MM-DD') AS due
          FROM lead WHERE ${where} ORDER BY follow_up_due, id LIMIT ${limit} OFFSET ${offset}`;
        const total = await counted(where);
        return { rows, total: Number(total[0]!.n) };
      }
      const column = Prisma.raw(PLACE_COLUMN[scope.kind]);
      const stages = STAGES.filter((st) => actingRole(st) === role || (st === 'visited' && role === 'township_reviewer'));
      const judgement = Prisma.sql`l.visit_judgement`;
      const visited =
        role === 'township_reviewer' ? Prisma.sql`${judgement} = 'does_not_fit'` : role === 'county_officer' ? Prisma.sql`${judgement} IS DISTINCT FROM 'does_not_fit'` : Prisma.sql`true`;
      const where = Prisma.sql`l.${column} = ${scope.code} AND l.stage = ANY(${stages}::text[])
        AND (l.stage <> 'confirmed' OR l.next_deadline_kind = 'plan') AND (l.stage <> 'visited' OR ${visited})`;
      const rows = await db.prisma.$queryRaw<Row[]>`
        SELECT l.id::text, l.receipt_no, l.head_name, l.village_code, l.stage, l.next_deadline_kind AS kind, to_char(l.next_deadline_due, 'YYYY-MM-DD') AS due
        FROM lead l WHERE ${where} ORDER BY l.next_deadline_due NULLS LAST, l.created_at, l.id LIMIT ${limit} OFFSET ${offset}`;
      const total = await counted(where);
      return { rows, total: Number(total[0]!.n) };
    },

    /** A photo or voice note of a lead inside the scope, decrypted, if it was fetched and kept. */
    async attachment(scope: Scope, id: string) {
      const a = await db.prisma.attachment.findFirst({ where: { id, lead: scopeWhere(scope) } });
      if (!a) return undefined;
      return { leadId: a.leadId, kind: a.kind, mime: a.mime, data: a.dataEnc ? Buffer.from(crypto.decryptBytes(a.dataEnc)) : null };
    },

    /** A lead with its events (oldest first) and its clocks. */
    async leadWithClocks(leadId: string, now = new Date()) {
      if (!isLeadId(leadId)) return undefined;
      const lead = await db.prisma.lead.findUnique({ where: { id: leadId }, include: { events: { orderBy: { id: 'asc' } } } });
      if (!lead) return undefined;
      const today = localDate(now, deployment.timezone);
      const c = clocks({
        receivedOn: lead.reportedOn.toISOString().slice(0, 10),
        stage: lead.stage as Stage,
        events: lead.events.map(toRecord),
        rules: deployment.procedure,
        today,
        day: (at) => localDate(at, deployment.timezone),
      });
      return { lead, clocks: c };
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
