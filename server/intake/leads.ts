import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { incomeLineFor, placeIndex, type Deployment } from '../deployment.ts';
import { localDate } from '../time.ts';
import { assess, type AssessmentInput, type Assessment } from './assessment.ts';

/** What the self-report hands to intake on submit: everything the household said, and the signed consent. */
export type NewLead = Omit<AssessmentInput, 'line'> & {
  /** unique per submission (channel and update id): receiving the same submission twice returns the first lead */
  submissionKey: string;
  channel: string;
  reporterId: string;
  reporterRelation: string | null;
  villageCode: string;
  headName: string;
  phone: string;
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

/** Stages a household can be told about; the intake procedure (its own issue) adds the moves between them. */
export const FINAL_STAGES = ['confirmed', 'not_included', 'duplicate', 'withdrawn'] as const;

export function receiptNumber(countyCode: string, day: string, seq: number): string {
  return `${countyCode}-${day.replaceAll('-', '')}-${String(seq).padStart(4, '0')}`;
}

export function createIntake(deps: { db: Database; crypto: Crypto; deployment: Deployment }) {
  const { db, crypto, deployment } = deps;
  const places = placeIndex(deployment);

  return {
    /** The one entry point for new leads: routes to the village, assesses, numbers and stores it in one transaction. */
    async receiveLead(input: NewLead, now = new Date()): Promise<ReceivedLead> {
      const earlier = await db.prisma.lead.findUnique({
        where: { submissionKey: input.submissionKey },
        select: { id: true, receiptNo: true, reportedOn: true },
      });
      if (earlier) {
        const reportedOn = earlier.reportedOn.toISOString().slice(0, 10);
        const place = places.villages.get(input.villageCode);
        const line = place ? incomeLineFor(deployment, place.county.province.code, Number(reportedOn.slice(0, 4))) : undefined;
        return { id: earlier.id, receiptNo: earlier.receiptNo, assessment: assess({ ...input, line }), reportedOn };
      }
      const place = places.villages.get(input.villageCode);
      if (!place) throw new Error(`unknown village ${input.villageCode}`);
      const reportedOn = localDate(now, deployment.timezone);
      const line = incomeLineFor(deployment, place.county.province.code, Number(reportedOn.slice(0, 4)));
      const assessment = assess({ ...input, line });
      return db.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<Array<{ seq: number }>>`
          INSERT INTO receipt_counter (county_code, day, seq) VALUES (${place.county.code}, ${reportedOn}, 1)
          ON CONFLICT (county_code, day) DO UPDATE SET seq = receipt_counter.seq + 1
          RETURNING seq`;
        const receiptNo = receiptNumber(place.county.code, reportedOn, rows[0]!.seq);
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
            phoneHash: crypto.lookupHash('phone', input.phone),
            idNumberEnc: input.idNumber ? crypto.encrypt(input.idNumber) : null,
            idNumberHash: input.idNumber ? crypto.lookupHash('id', input.idNumber.slice(0, 18)) : null,
            answers: input.answers as object,
            a33: assessment.a33,
            a34: assessment.a34,
            a37: assessment.a37,
            a38: assessment.a38,
            incomeLine: line?.yuanPerPerson ?? null,
            incomeLineYear: line?.year ?? null,
            category: assessment.category,
            flags: assessment.flags,
            greenChannel: assessment.greenChannel,
            reportedOn: new Date(`${reportedOn}T00:00:00Z`),
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
            attachments: { create: input.attachments.map((a) => ({ channel: input.channel, kind: a.kind, fileId: a.fileId })) },
          },
          select: { id: true },
        });
        return { id: lead.id, receiptNo, assessment, reportedOn };
      });
    },

    /** A person's own reports, newest first, for /status and /withdraw. */
    async leadsOfReporter(channel: string, reporterId: string) {
      return db.prisma.lead.findMany({
        where: { channel, reporterId },
        orderBy: { createdAt: 'desc' },
        take: 10,
        select: { id: true, receiptNo: true, stage: true, createdAt: true, villageCode: true },
      });
    },

    /** The household withdraws its own report; refused once the procedure has ended. */
    async withdraw(channel: string, reporterId: string, leadId: string, now = new Date()): Promise<'withdrawn' | 'not_found' | 'already_final'> {
      const lead = await db.prisma.lead.findFirst({ where: { id: leadId, channel, reporterId }, select: { stage: true } });
      if (!lead) return 'not_found';
      if ((FINAL_STAGES as readonly string[]).includes(lead.stage)) return 'already_final';
      const changed = await db.prisma.lead.updateMany({
        where: { id: leadId, stage: lead.stage },
        data: { stage: 'withdrawn', withdrawnAt: now },
      });
      return changed.count === 1 ? 'withdrawn' : 'already_final';
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
