import type { NewLead } from '../../server/intake/leads.ts';

/** A complete lead as the self-report would hand it to intake; override what a test cares about. */
let seq = 0;

export function newLead(over: Partial<NewLead> = {}): NewLead {
  seq++;
  return {
    submissionKey: `test:${seq}:${Math.random()}`,
    channel: 'telegram',
    reporterId: `u${seq}`,
    reporterRelation: null,
    villageCode: '530925102208',
    headName: '李明',
    phone: `139000${String(seq).padStart(5, '0')}`,
    idNumber: null,
    householdSize: 3,
    householdType: 'ordinary',
    incomes: { a28: { kind: 'amount', yuan: 6000 }, a29: { kind: 'amount', yuan: 0 }, a30: { kind: 'amount', yuan: 0 }, a31: { kind: 'amount', yuan: 0 }, a32: { kind: 'amount', yuan: 0 }, a35: { kind: 'amount', yuan: 0 }, a36: { kind: 'amount', yuan: 0 } },
    risks: ['illness'],
    guarantees: { housingUnsafe: false, childOutOfSchool: false, waterUnsafe: false, noMedicalInsurance: false },
    exclusions: [],
    eventDescribed: true,
    answers: {},
    consent: { textVersion: 'v1', textHash: 'h', language: 'zh-CN', signedAt: new Date(), typedName: '李明', sensitiveNoticeAt: null },
    attachments: [],
    ...over,
  };
}

