import { Prisma } from '../db/generated/client.ts';
import { FINAL, LATEST_JUDGEMENT_SQL, type Stage } from './procedure.ts';

/**
 * What the reminder scheduler may ask intake for (intake owns `lead` and `lead_event`): leads whose next deadline
 * falls by a day, follow-ups due, and the open leads per place and stage. Read in the scheduler's transaction,
 * page by page (keyset: after the last row of the page before).
 */

type Db = Prisma.TransactionClient;

export type DueLead = {
  id: string;
  receiptNo: string;
  headName: string;
  stage: Stage;
  judgement: string | undefined;
  countyCode: string;
  townshipCode: string;
  villageCode: string;
  deadlineKind: 'identify' | 'publicity' | 'plan';
  deadlineDue: string;
};
export type DueFollowUp = { id: string; receiptNo: string; headName: string; villageCode: string; contactStaffId: string; kind: 'follow_up' | 'recheck'; due: string };

/** Open leads whose next deadline is on or before `until` (YYYY-MM-DD), ordered by deadline and id, after `after`. */
export async function deadlinesDue(tx: Db, until: string, after: { due: string; id: string }, limit: number): Promise<DueLead[]> {
  const rows = await tx.$queryRaw<Array<{ id: string; receipt_no: string; head_name: string; stage: string; county_code: string; township_code: string; village_code: string; kind: string; due: string; judgement: string | null }>>`
    SELECT l.id::text, l.receipt_no, l.head_name, l.stage, l.county_code, l.township_code, l.village_code,
           l.next_deadline_kind AS kind, to_char(l.next_deadline_due, 'YYYY-MM-DD') AS due,
           CASE WHEN l.stage = 'visited' THEN ${Prisma.raw(LATEST_JUDGEMENT_SQL)} END AS judgement
    FROM lead l
    WHERE l.next_deadline_due <= ${new Date(`${until}T00:00:00Z`)}::date AND l.stage <> ALL(${[...FINAL]}::text[])
      AND (l.next_deadline_due, l.id) > (${after.due}::date, ${after.id}::uuid)
    ORDER BY l.next_deadline_due, l.id
    LIMIT ${limit}`;
  return rows.map((l) => ({
    id: l.id,
    receiptNo: l.receipt_no,
    headName: l.head_name,
    stage: l.stage as Stage,
    judgement: l.judgement ?? undefined,
    countyCode: l.county_code,
    townshipCode: l.township_code,
    villageCode: l.village_code,
    deadlineKind: l.kind as DueLead['deadlineKind'],
    deadlineDue: l.due,
  }));
}

/** Confirmed households whose contact person's follow-up is due by `today`, ordered by id, after `after`. */
export async function followUpsDue(tx: Db, today: string, after: string, limit: number): Promise<DueFollowUp[]> {
  const rows = await tx.$queryRaw<Array<{ id: string; receipt_no: string; head_name: string; village_code: string; contact_staff_id: string; kind: string; due: string }>>`
    SELECT id::text, receipt_no, head_name, village_code, contact_staff_id::text, follow_up_kind AS kind, to_char(follow_up_due, 'YYYY-MM-DD') AS due
    FROM lead WHERE follow_up_due <= ${new Date(`${today}T00:00:00Z`)}::date AND contact_staff_id IS NOT NULL AND stage = 'confirmed'
      AND id > ${after}::uuid
    ORDER BY id LIMIT ${limit}`;
  return rows.map((f) => ({ id: f.id, receiptNo: f.receipt_no, headName: f.head_name, villageCode: f.village_code, contactStaffId: f.contact_staff_id, kind: f.kind as DueFollowUp['kind'], due: f.due }));
}

/** Open leads counted by place and stage, and follow-ups due by `today` counted by contact person. */
export async function openCounts(tx: Db, today: string) {
  const byPlace = await tx.$queryRaw<Array<{ county_code: string; township_code: string; village_code: string; stage: string; n: bigint }>>`
    SELECT county_code, township_code, village_code, stage, count(*) AS n FROM lead WHERE stage <> ALL(${[...FINAL]}::text[]) GROUP BY 1, 2, 3, 4`;
  const followUps = await tx.$queryRaw<Array<{ id: string; n: bigint }>>`
    SELECT contact_staff_id::text AS id, count(*) AS n FROM lead WHERE follow_up_due <= ${new Date(`${today}T00:00:00Z`)}::date AND contact_staff_id IS NOT NULL GROUP BY 1`;
  return {
    byPlace: byPlace.map((r) => ({ countyCode: r.county_code, townshipCode: r.township_code, villageCode: r.village_code, stage: r.stage as Stage, n: Number(r.n) })),
    followUps: followUps.map((f) => ({ staffId: f.id, n: Number(f.n) })),
  };
}
