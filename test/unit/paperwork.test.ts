import { describe, expect, it } from 'vitest';
import { checkForm, incomePeriod, publicityList, visitForm, type LeadDoc } from '../../server/console/paperwork.ts';
import { createCalendar } from '../../server/calendar.ts';
import { createPrinter } from '../../server/console/print.ts';
import { loadDeployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';

// The documents' data from a lead, field by field: each value is the answer it comes from, and what the household
// did not say stays null (printed blank), never 0 or "no".
const amount = (yuan: number) => ({ kind: 'amount' as const, yuan });

function lead(over: Partial<LeadDoc> = {}): LeadDoc {
  return {
    id: '0b9d5a52-6f7c-4f43-9d53-1f2d3c4b5a69',
    receiptNo: '530925-20261202-0007',
    stage: 'received',
    reportedOn: '2026-12-02',
    county: { code: '530925', name: '双江县' },
    township: { code: '530925102', name: '勐库镇' },
    village: { code: '530925102208', name: '冰岛村' },
    headName: '张老汉',
    phone: '13912345678',
    idNumber: '53092519900101123X',
    reporterRelation: null,
    householdSize: 4,
    labourers: 2,
    householdType: 'escaped',
    risks: ['illness', 'disaster'],
    disasterType: 'flood',
    guarantees: { A23: true, A24: false, A25: null, A26: false },
    income: { A28: amount(8000), A29: amount(0), A30: amount(0), A31: amount(2000), A32: amount(2000), A33: 8000, A34: 2000, A35: amount(0), A36: amount(30000), A37: -22000, A38: -5500, line: 6000, lineYear: 2020 },
    whatHappened: '山洪冲了房子',
    whenHappened: { date: '2026-09', precision: 'month' },
    category: 'unstable_escaped',
    flags: [],
    greenChannel: false,
    possibleDuplicates: [],
    nextDeadline: null,
    createdAt: '2026-12-02T02:00:00.000Z',
    events: [],
    attachments: [],
    ...over,
  } as LeadDoc;
}

describe('入户排查登记表 from a lead', () => {
  it('takes each field from its answer', () => {
    const f = visitForm(lead(), { phones: 'full', link: 'https://x.example/console/leads/1' });
    expect(f).toMatchObject({
      receiptNo: '530925-20261202-0007',
      householdType: 'escaped',
      headName: '张老汉',
      phone: '13912345678',
      householdSize: 4,
      perCapita: 2000,
      period: { from: '2025.12', to: '2026.12' },
      line: { yuan: 6000, year: 2020 },
      reachesLine: false, // 2,000 ≤ 6,000
      housing: false, // A23 housing unsafe: reported → not guaranteed
      education: true, // A24 no child out of school → guaranteed
      water: null, // A25 not answered → neither box
      medical: true, // A26 everyone insured
      hardships: ['illness', 'disaster'],
      disasterType: 'flood',
      whatHappened: '山洪冲了房子',
      whenHappened: '2026-09',
      preliminary: 'unstable_escaped',
      link: 'https://x.example/console/leads/1',
    });
  });

  it('leaves unknown blank, never 0: no size, no income, no line, a household type not known, no story', () => {
    const f = visitForm(
      lead({
        householdSize: null,
        householdType: 'unsure',
        income: { A28: null, A29: null, A30: null, A31: null, A32: null, A33: null, A34: null, A35: null, A36: null, A37: null, A38: null, line: null, lineYear: null },
        guarantees: { A23: null, A24: null, A25: null, A26: null },
        whatHappened: '  ',
        whenHappened: null,
        risks: [],
        disasterType: null,
        category: 'unknown',
      }),
      { phones: 'full', link: 'l' },
    );
    expect(f).toMatchObject({ householdSize: null, householdType: null, perCapita: null, line: null, reachesLine: null, housing: null, education: null, water: null, medical: null, whatHappened: null, whenHappened: null, hardships: [], preliminary: null });
  });

  it('ticks "reaches the line" only above it: at the line the household is in the monitoring range', () => {
    const at = (A34: number) => visitForm(lead({ income: { ...lead().income, A34 } }), { phones: 'full', link: 'l' }).reachesLine;
    expect([at(5999), at(6000), at(6001)]).toEqual([false, false, true]);
  });

  it('masks the phone above the village', () => {
    expect(visitForm(lead(), { phones: 'masked', link: 'l' }).phone).toBe('139****5678');
  });

  it('writes the twelve months before the report as the form does', () => {
    expect(incomePeriod('2026-12-02')).toEqual({ from: '2025.12', to: '2026.12' });
    expect(incomePeriod('2027-01-31')).toEqual({ from: '2026.1', to: '2027.1' });
  });
});

describe('公示名单 from the leads in publicity', () => {
  const village = { name: '冰岛村', officialName: '冰岛村民委员会', township: '勐库镇', county: '双江县' };
  const publicized = (start: string, end: string, over: Partial<LeadDoc> = {}) =>
    lead({ stage: 'publicized', events: [{ at: '2026-11-30T02:00:00.000Z', actor: 'staff:x', kind: 'moved', from: 'compared', to: 'publicized', data: { publicityStart: start, publicityEnd: end }, note: null }], ...over });
  const calendar = createCalendar();

  it('one list per period; rows hold only the name, the size and the proposed category', () => {
    const doc = publicityList(
      village,
      [
        publicized('2026-11-30', '2026-12-04', { headName: '甲', householdSize: 3, category: 'marginal', receiptNo: 'R-2', reportedOn: '2026-11-02' }),
        publicized('2026-11-30', '2026-12-04', { headName: '乙', householdSize: null, category: 'above_line', receiptNo: 'R-1', reportedOn: '2026-11-01' }),
        publicized('2026-12-07', '2026-12-11', { headName: '丙', receiptNo: 'R-3' }),
        lead({ headName: '未公示' }),
      ],
      { county: '12317', township: null },
      'working',
      calendar,
    );
    expect(doc.lists).toEqual([
      { start: '2026-11-30', end: '2026-12-04', days: 5, working: true, rows: [{ headName: '乙', group: null, householdSize: null, category: null }, { headName: '甲', group: null, householdSize: 3, category: 'marginal' }] },
      { start: '2026-12-07', end: '2026-12-11', days: 5, working: true, rows: [{ headName: '丙', group: null, householdSize: 4, category: 'unstable_escaped' }] },
    ]);
    expect(doc.supervision).toEqual({ county: '12317', township: null });
    // nothing private in the whole document, whatever the leads held
    const text = JSON.stringify(doc);
    for (const secret of ['13912345678', '53092519900101123X', 'illness', 'flood', '山洪', '2000', '8000']) expect(text).not.toContain(secret);
  });

  it('reads the latest publicity of a lead, orders rows by receipt and lists by start; an inverted period has no day count', () => {
    const twice = lead({
      stage: 'publicized',
      headName: '丁',
      events: [
        { at: '2026-11-01T02:00:00.000Z', actor: 'x', kind: 'move', from: 'compared', to: 'publicized', data: { publicityStart: '2026-11-02', publicityEnd: '2026-11-06' }, note: null },
        { at: '2026-11-20T02:00:00.000Z', actor: 'x', kind: 'move', from: 'compared', to: 'publicized', data: { publicityStart: '2026-11-23', publicityEnd: '2026-11-27' }, note: null },
      ],
    });
    const doc = publicityList(
      village,
      [publicized('2026-12-10', '2026-12-04', { headName: '戊', receiptNo: 'R-9' }), twice, publicized('2026-11-23', '2026-11-27', { headName: '己', reportedOn: '2026-10-01', receiptNo: 'R-9' })],
      { county: null, township: null },
      'calendar',
      calendar,
    );
    expect(doc.lists.map((l) => [l.start, l.days, l.rows.map((r) => r.headName)])).toEqual([
      ['2026-11-23', 5, ['己', '丁']],
      ['2026-12-10', null, ['戊']],
    ]);
    // a size that is not a number is blank
    expect(publicityList(village, [publicized('2026-11-23', '2026-11-27', { householdSize: Number.NaN })], { county: null, township: null }, 'calendar', calendar).lists[0]!.rows[0]!.householdSize).toBeNull();
  });

  it('counts the period\'s days as the deployment counts the publicity: calendar days, or working days without the weekend', () => {
    const days = (type: 'calendar' | 'working') => publicityList(village, [publicized('2026-12-04', '2026-12-10')], { county: null, township: null }, type, calendar).lists[0]!.days;
    expect(days('calendar')).toBe(7); // Friday to Thursday
    expect(days('working')).toBe(5);
  });
});

describe('风险稳定消除核查表 from a confirmed lead', () => {
  const ev = (at: string, kind: string, over: Record<string, unknown> = {}) => ({ at, actor: 'staff:x', kind, from: null, to: null, data: null, note: null, ...over });
  const confirmed = lead({
    stage: 'confirmed',
    events: [
      ev('2026-11-03T02:00:00.000Z', 'green_channel', { note: '先发临时救助 2000 元' }),
      ev('2026-11-13T02:00:00.000Z', 'move', { from: 'township_reviewed', to: 'confirmed', data: { category: 'marginal' } }),
      ev('2026-11-14T02:00:00.000Z', 'plan', { note: '医疗救助，申请低保' }),
      ev('2026-11-20T02:00:00.000Z', 'note', { note: '电话打不通' }),
      ev('2026-12-14T02:00:00.000Z', 'follow_up', { note: '已报销住院费' }),
    ],
  });
  const day = (at: string) => at.slice(0, 10);

  it('takes the confirmed category, the line of the year, the income items as reported and the help recorded', () => {
    const f = checkForm(confirmed, { phones: 'masked', line: { yuan: 7200, year: 2026 }, day });
    expect(f).toMatchObject({
      headName: '张老汉',
      category: 'marginal', // as confirmed, not the preliminary unstable_escaped
      householdSize: 4,
      labourers: 2,
      phone: '139****5678',
      line: { yuan: 7200, year: 2026 },
      income: { wages: 8000, business: 0, property: 0, transfers: 2000, costs: 2000, net: 8000, perCapita: 2000 },
      housing: false,
      education: true,
      medical: true,
      water: null,
      risks: ['illness', 'disaster'],
    });
    // help: the green channel, the plan and the follow-up, not a note
    expect(f.help).toEqual([
      { on: '2026-11-03', kind: 'green_channel', note: '先发临时救助 2000 元' },
      { on: '2026-11-14', kind: 'plan', note: '医疗救助，申请低保' },
      { on: '2026-12-14', kind: 'follow_up', note: '已报销住院费' },
    ]);
  });

  it('reads the latest confirmation, and no category it does not know', () => {
    const again = lead({ ...confirmed, events: [...confirmed.events, ev('2026-12-20T02:00:00.000Z', 'move', { to: 'confirmed', data: { category: 'sudden_hardship' } })] });
    expect(checkForm(again, { phones: 'full', line: null, day }).category).toBe('sudden_hardship');
    const odd = lead({ ...confirmed, events: [ev('2026-11-13T02:00:00.000Z', 'move', { to: 'confirmed', data: { category: 'rich' } })] });
    expect(checkForm(odd, { phones: 'full', line: null, day }).category).toBeNull();
  });

  it('leaves blank what is not known: no line, no income, no size, no labourers', () => {
    const f = checkForm(lead({ ...confirmed, householdSize: null, labourers: null, income: { A28: null, A29: amount(500), A30: null, A31: null, A32: null, A33: null, A34: null, A35: null, A36: null, A37: null, A38: null, line: null, lineYear: null } }), { phones: 'full', line: null, day });
    expect(f).toMatchObject({ line: null, householdSize: null, labourers: null, income: { wages: null, business: 500, property: null, transfers: null, costs: null, net: null, perCapita: null } });
  });
});

describe('the printed pages read the deployment', () => {
  // a deployment with this year's lines and a township's own supervision number (the sample has neither)
  const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
  deployment.incomeLines.push({ ...deployment.incomeLines[0]!, year: 2026, yuanPerPerson: 6500 }, { ...deployment.incomeLines[0]!, year: 2027, yuanPerPerson: 7000 });
  deployment.counties[0]!.supervisionPhone = '0883-1111111';
  deployment.counties[0]!.townships.find((t) => t.code === '530925102')!.supervisionPhone = '0883-2222222';
  const printer = createPrinter({ deployment });
  const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/\s+/g, '');
  const confirmed = lead({ stage: 'confirmed', events: [{ at: '2026-11-13T02:00:00.000Z', actor: 'staff:x', kind: 'move', from: 'township_reviewed', to: 'confirmed', data: { category: 'marginal' }, note: null }] });

  it('the check form takes the line of the year it is printed in, not the one of the report', () => {
    expect(text(printer.check(confirmed, { lng: 'zh-CN', phones: 'full', now: new Date('2027-03-01T02:00:00Z') }))).toContain('7,000元（2027年标准）');
    expect(text(printer.check(confirmed, { lng: 'zh-CN', phones: 'full', now: new Date('2026-12-31T02:00:00Z') }))).toContain('6,500元（2026年标准）');
  });

  it("the publicity list gives the township's number as the township's and the county's as the county's", () => {
    const start = '2026-11-30';
    const listed = lead({ stage: 'publicized', events: [{ at: '2026-11-30T02:00:00.000Z', actor: 'staff:x', kind: 'move', from: 'compared', to: 'publicized', data: { publicityStart: start, publicityEnd: '2026-12-04' }, note: null }] });
    const page = text(printer.publicity('530925102208', [listed], { lng: 'zh-CN' }));
    expect(page).toContain('勐库镇监督电话：0883-2222222');
    expect(page).toContain('双江拉祜族佤族布朗族傣族自治县监督电话：0883-1111111');
  });
});
