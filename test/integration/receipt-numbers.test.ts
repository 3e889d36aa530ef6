import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Database } from '../../server/db/index.ts';
import type { Intake } from '../../server/intake/leads.ts';
import { parseDeployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { zonedInstant } from '../../server/time.ts';
import { TEST_DB } from '../helpers/db.ts';
import { freshIntake, newLead } from '../helpers/leads.ts';

// Receipt numbers such as 530925-20261124-0007: the county, the local date (Asia/Shanghai) and the sequence of
// that day in that county, restarting at 0001 each local day.

/** The sample deployment with a second county (耿马, 530926) beside 双江. */
function twoCounties() {
  const raw = parse(readFileSync(SAMPLE_DEPLOYMENT, 'utf8')) as { counties: Array<Record<string, unknown>> };
  raw.counties.push({
    code: '530926',
    name: '耿马傣族佤族自治县',
    province: { code: '530000', name: '云南省' },
    city: { code: '530900', name: '临沧市' },
    townships: [{ code: '530926100', name: '耿马镇', villages: [{ code: '530926100201', name: '示例村', sample: true }] }],
  });
  return parseDeployment(stringify(raw), 'two-counties.yaml');
}

const SHUANGJIANG = '530925102208';
const GENGMA = '530926100201';
const local = (date: string, time: string) => zonedInstant(date, time, 'Asia/Shanghai');

describe(`receipt numbers, ${TEST_DB}`, () => {
  let db: Database;
  let intake: Intake;
  let close: () => Promise<void>;
  // one database for the file: each test uses days of its own
  beforeAll(async () => {
    ({ db, intake, close } = await freshIntake({ deployment: twoCounties() }));
  });
  afterAll(() => close());

  const receipt = async (village: string, at: Date) => (await intake.receiveLead(newLead({ villageCode: village }), at)).receiptNo;

  it('counts the day in Shanghai time and starts again at 0001 after local midnight', async () => {
    // 07:59 and 08:01 local are either side of midnight UTC: the same local day, one sequence
    expect(await receipt(SHUANGJIANG, local('2026-11-24', '00:00'))).toBe('530925-20261124-0001');
    expect(await receipt(SHUANGJIANG, local('2026-11-24', '07:59'))).toBe('530925-20261124-0002');
    expect(await receipt(SHUANGJIANG, local('2026-11-24', '08:01'))).toBe('530925-20261124-0003');
    expect(await receipt(SHUANGJIANG, local('2026-11-24', '23:59'))).toBe('530925-20261124-0004');
    // midnight in Shanghai is 16:00 UTC, still 24 Nov there: a new day and a new sequence all the same
    const midnight = local('2026-11-25', '00:00');
    expect(midnight.toISOString()).toBe('2026-11-24T16:00:00.000Z');
    expect(await receipt(SHUANGJIANG, midnight)).toBe('530925-20261125-0001');
    expect(await receipt(SHUANGJIANG, local('2026-11-25', '09:30'))).toBe('530925-20261125-0002');
    const rows = await db.prisma.lead.findMany({ where: { reportedOn: { lte: new Date('2026-11-30T00:00:00Z') } }, orderBy: { createdAt: 'asc' }, select: { receiptNo: true, reportedOn: true } });
    expect(rows.map((r) => r.reportedOn.toISOString().slice(0, 10))).toEqual(['2026-11-24', '2026-11-24', '2026-11-24', '2026-11-24', '2026-11-25', '2026-11-25']);
  });

  it('keeps one sequence per county', async () => {
    const day = '2026-12-01';
    expect(await receipt(SHUANGJIANG, local(day, '09:00'))).toBe('530925-20261201-0001');
    expect(await receipt(SHUANGJIANG, local(day, '09:01'))).toBe('530925-20261201-0002');
    expect(await receipt(GENGMA, local(day, '09:02'))).toBe('530926-20261201-0001');
    expect(await receipt(SHUANGJIANG, local(day, '09:03'))).toBe('530925-20261201-0003');
    expect(await receipt(GENGMA, local(day, '09:04'))).toBe('530926-20261201-0002');
    expect(await receipt(GENGMA, local('2026-12-02', '09:00'))).toBe('530926-20261202-0001');
  });

  it('gives reports arriving at the same time different numbers, and a submission received twice its first number', async () => {
    const at = local('2026-12-10', '10:00');
    const numbers = await Promise.all(Array.from({ length: 6 }, () => receipt(SHUANGJIANG, at)));
    expect([...numbers].sort()).toEqual(['0001', '0002', '0003', '0004', '0005', '0006'].map((n) => `530925-20261210-${n}`));
    const lead = newLead({ villageCode: SHUANGJIANG });
    const first = await intake.receiveLead(lead, at);
    expect(first.receiptNo).toBe('530925-20261210-0007');
    expect((await intake.receiveLead(lead, new Date(at.getTime() + 60_000))).receiptNo).toBe('530925-20261210-0007');
    expect(await receipt(SHUANGJIANG, at)).toBe('530925-20261210-0008'); // the repeat used no number
  });

  it('flags reports of one household made at the same moment as possible duplicates of each other, and keeps one lead per submission sent twice at once', async () => {
    const at = local('2026-12-11', '10:00');
    const [a, b] = await Promise.all([intake.receiveLead(newLead({ villageCode: SHUANGJIANG, phone: '13911112222' }), at), intake.receiveLead(newLead({ villageCode: SHUANGJIANG, phone: '13911112222' }), at)]);
    const rows = await db.prisma.lead.findMany({ where: { id: { in: [a.id, b.id] } }, select: { id: true, flags: true, possibleDuplicates: true } });
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.flags).toContain('possible_duplicate');
      expect(r.possibleDuplicates).toEqual([r.id === a.id ? b.id : a.id]);
    }
    // the same submission twice at once (a redelivery racing the first): one lead, one receipt number for both
    const same = newLead({ villageCode: SHUANGJIANG });
    const twice = await Promise.all([intake.receiveLead(same, at), intake.receiveLead(same, at)]);
    expect(twice[0].id).toBe(twice[1].id);
    expect(twice[0].receiptNo).toBe(twice[1].receiptNo);
    expect(await db.prisma.lead.count({ where: { submissionKey: same.submissionKey } })).toBe(1);
  });
});
