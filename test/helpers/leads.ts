import { createIntake, type NewLead } from '../../server/intake/leads.ts';
import type { Move } from '../../server/intake/procedure.ts';
import { createCrypto } from '../../server/crypto.ts';
import { loadDeployment, type Deployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { openFreshDatabase, TEST_ENCRYPTION_KEY } from './db.ts';

/**
 * A fresh database of the test file's own (openFreshDatabase) with intake on it, as the app wires it without the
 * forwarding outbox: the sample deployment unless another is given, personal data encrypted with the tests' key.
 * `close()` closes the database, then removes it.
 */
export async function freshIntake(opts: { deployment?: Deployment } = {}) {
  const fresh = await openFreshDatabase();
  const intake = createIntake({ db: fresh.db, crypto: createCrypto(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')), deployment: opts.deployment ?? loadDeployment(SAMPLE_DEPLOYMENT) });
  return { ...fresh, intake };
}

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


/**
 * Moves a lead through the whole procedure to confirmed as the system would (no role checked): visited on
 * `days[0]`, compared the same day, publicized from `days[1]` for 7 days, reviewed and confirmed after.
 */
export async function confirmLead(
  intake: { move: (id: string, m: Move, actor: string, at: Date) => Promise<{ ok: boolean }> },
  id: string,
  at: (day: string) => Date,
  days = { visited: '2026-11-04', publicity: ['2026-11-05', '2026-11-11'], reviewed: '2026-11-12', confirmed: '2026-11-13' },
  category: 'unstable_escaped' | 'marginal' | 'sudden_hardship' = 'marginal',
): Promise<void> {
  const moves: Array<[Move, string]> = [
    [{ to: 'visited', judgement: 'fits' }, days.visited],
    [{ to: 'compared' }, days.visited],
    [{ to: 'publicized', publicityStart: days.publicity[0], publicityEnd: days.publicity[1] }, days.publicity[0]!],
    [{ to: 'township_reviewed' }, days.reviewed],
    [{ to: 'confirmed', category }, days.confirmed],
  ];
  for (const [m, day] of moves) {
    const out = await intake.move(id, m, 'test', at(day));
    if (!out.ok) throw new Error(`move to ${m.to} refused: ${JSON.stringify(out)}`);
  }
}
