import { describe, expect, it } from 'vitest';
import { createCalendar } from '../../server/calendar.ts';
import { nudgeDays, plan, type PlanFollowUp, type PlanInput, type PlanLead, type PlanStaff, type Reminder } from '../../server/reminders/planner.ts';
import { deploymentSchema, type Campaign } from '../../server/deployment.ts';
import { addDays, zonedInstant } from '../../server/time.ts';

// The planner with a fake clock: every "tick" below is a call with a chosen `now`; keys already planned stand in
// for the reminder table (a key is sent once).

const calendar = createCalendar();
const rules = deploymentSchema.shape.reminders.parse(undefined);
const TZ = 'Asia/Shanghai';
const at = (date: string, time = '09:00') => zonedInstant(date, time, TZ);

const VILLAGE = '530925102208';
const TOWNSHIP = '530925102';
const COUNTY = '530925';
const cadre: PlanStaff = { id: 'vc', role: 'village_cadre', placeCode: VILLAGE, countyCode: COUNTY };
const reviewer: PlanStaff = { id: 'tr', role: 'township_reviewer', placeCode: TOWNSHIP, countyCode: COUNTY };
const officer: PlanStaff = { id: 'co', role: 'county_officer', placeCode: COUNTY, countyCode: COUNTY };
const contact: PlanStaff = { id: 'cp', role: 'contact_person', placeCode: VILLAGE, countyCode: COUNTY };
const everyone = [cadre, reviewer, officer, contact];

function lead(over: Partial<PlanLead> = {}): PlanLead {
  return {
    id: over.id ?? 'L1',
    receiptNo: '530925-20261120-0001',
    headName: '李明',
    stage: 'received',
    countyCode: COUNTY,
    townshipCode: TOWNSHIP,
    villageCode: VILLAGE,
    deadlineKind: 'identify',
    deadlineDue: '2026-12-10',
    ...over,
  };
}

function input(now: Date, over: Partial<PlanInput> = {}): PlanInput {
  return { now, timezone: TZ, rules, procedure: { publicityDayType: 'working' }, campaigns: [], calendar, staff: everyone, leads: [], followUps: [], ...over };
}

/** Ticks once a day at `time` from `from` to `to`; returns, per day, the reminders that were new that day. */
function daily(from: string, to: string, make: (now: Date) => PlanInput, time = '09:00'): Map<string, Reminder[]> {
  const stored = new Set<string>();
  const out = new Map<string, Reminder[]>();
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const fresh = plan(make(at(d, time))).filter((r) => !stored.has(r.key));
    for (const r of fresh) stored.add(r.key);
    if (fresh.length) out.set(d, fresh);
  }
  return out;
}

describe('deadline nudges', () => {
  it('nudges the role that must act 5, 2 and 1 days before, on the day, then each working day while overdue', () => {
    // due Thursday 10 Dec 2026: 5 days before is Saturday 5 Dec, so that nudge comes on Friday 4 Dec
    const sent = daily('2026-11-30', '2026-12-15', (now) => input(now, { leads: [lead()] }));
    const toCadre = [...sent].flatMap(([day, list]) => list.filter((r) => r.staffId === 'vc').map((r) => [day, r.textKey, r.params.days]));
    expect(toCadre).toEqual([
      ['2026-12-04', 'reminders.identify.before', 6],
      ['2026-12-08', 'reminders.identify.before', 2],
      ['2026-12-09', 'reminders.identify.before', 1],
      ['2026-12-10', 'reminders.identify.today', 0],
      ['2026-12-11', 'reminders.identify.overdue', 1],
      // Saturday 12 and Sunday 13 Dec: nothing; Monday again
      ['2026-12-14', 'reminders.identify.overdue', 4],
      ['2026-12-15', 'reminders.identify.overdue', 5],
    ]);
  });

  it('uses the offsets set in the deployment', () => {
    const custom = { ...rules, deadlineOffsets: [3] };
    const sent = daily('2026-11-30', '2026-12-11', (now) => input(now, { rules: custom, leads: [lead()] }));
    // only 3 days before (Mon 7 Dec), no "on the day"; then overdue from Fri 11 Dec
    expect([...sent.keys()]).toEqual(['2026-12-07', '2026-12-11']);
  });

  it('escalates an overdue lead to the township at once and to the county after the configured days, once each', () => {
    const sent = daily('2026-12-09', '2026-12-20', (now) => input(now, { leads: [lead()] }));
    const escalations = [...sent].flatMap(([day, list]) => list.filter((r) => r.kind.startsWith('escalation')).map((r) => [day, r.kind, r.staffId]));
    // due Thu 10 Dec; township on Fri 11 Dec; county 3 days after the deadline is Sun 13 Dec, so Mon 14 Dec
    expect(escalations).toEqual([
      ['2026-12-11', 'escalation.township', 'tr'],
      ['2026-12-14', 'escalation.county', 'co'],
    ]);
  });

  it('sends each stage to the role that acts on it, and up the chain when a place has nobody in that role', () => {
    const now = at('2026-12-10');
    const to = (l: PlanLead, staff = everyone) => plan(input(now, { leads: [l], staff })).filter((r) => r.kind.startsWith('deadline')).map((r) => r.staffId);
    expect(to(lead({ stage: 'received' }))).toEqual(['vc']);
    expect(to(lead({ stage: 'visited', judgement: 'fits' }))).toEqual(['co']);
    expect(to(lead({ stage: 'visited', judgement: 'does_not_fit' }))).toEqual(['tr']);
    expect(to(lead({ stage: 'publicized', deadlineKind: 'publicity' }))).toEqual(['tr']);
    expect(to(lead({ stage: 'township_reviewed' }))).toEqual(['co']);
    expect(to(lead({ stage: 'confirmed', deadlineKind: 'plan' }))).toEqual(['vc']);
    // no village cadre in the village: the township reviewer gets it
    expect(to(lead({ stage: 'received' }), [reviewer, officer])).toEqual(['tr']);
    // an unreachable cadre is skipped the same way
    expect(to(lead({ stage: 'received' }), [{ ...cadre, unreachable: true }, reviewer])).toEqual(['tr']);
  });

  it('counts a working-day publicity across the 2026 National Day holiday and its make-up Saturday', () => {
    // publicity from Tue 29 Sep, 5 working days: 29, 30 Sep, 8, 9 Oct and Saturday 10 Oct (a make-up working day)
    expect(nudgeDays('2026-10-10', [5, 2, 1, 0], true, calendar)).toEqual(['2026-09-28', '2026-10-08', '2026-10-09', '2026-10-10']);
    const l = lead({ stage: 'publicized', deadlineKind: 'publicity', deadlineDue: '2026-10-10' });
    const sent = daily('2026-09-25', '2026-10-13', (now) => input(now, { leads: [l] }));
    const days = [...sent].flatMap(([day, list]) => list.filter((r) => r.staffId === 'tr' && r.kind === 'deadline.publicity').map((r) => [day, r.textKey]));
    expect(days).toEqual([
      ['2026-09-28', 'reminders.publicity.before'],
      // nothing from 1 to 7 October
      ['2026-10-08', 'reminders.publicity.before'],
      ['2026-10-09', 'reminders.publicity.before'],
      ['2026-10-10', 'reminders.publicity.today'], // the make-up Saturday is a working day
      ['2026-10-12', 'reminders.publicity.overdue'], // Sunday 11 Oct is not
      ['2026-10-13', 'reminders.publicity.overdue'],
    ]);
  });

  it('moves a calendar-day nudge that falls in the holiday to the working day before it', () => {
    // identification due Mon 5 Oct (in the holiday): every nudge comes on Wed 30 Sep, before the break
    const l = lead({ deadlineDue: '2026-10-05' });
    const sent = daily('2026-09-25', '2026-10-07', (now) => input(now, { leads: [l] }));
    expect([...sent.keys()]).toEqual(['2026-09-30']);
    expect(sent.get('2026-09-30')!.filter((r) => r.staffId === 'vc')).toHaveLength(1);
  });

  it('after 3 days of downtime, plans one reminder per lead (the latest), not one per missed day', () => {
    const leads = [lead({ id: 'A', deadlineDue: '2026-11-25' }), lead({ id: 'B', deadlineDue: '2026-11-23' }), lead({ id: 'C', deadlineDue: '2026-12-30' })];
    const stored = new Set<string>();
    for (const d of ['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']) for (const r of plan(input(at(d), { leads }))) stored.add(r.key);
    // down from Saturday 21 to Monday 23 Nov; the tick on Tuesday 24 catches up
    const fresh = plan(input(at('2026-11-24'), { leads })).filter((r) => !stored.has(r.key) && r.staffId === 'vc');
    // A missed its 2-days-before nudge (Mon 23) and B its on-the-day nudge (Mon 23): each gets only the latest
    expect(fresh.map((r) => [r.leadId, r.dueOn, r.textKey])).toEqual([
      ['A', '2026-11-24', 'reminders.identify.before'],
      ['B', '2026-11-24', 'reminders.identify.overdue'],
    ]);
  });
});

describe('quiet hours', () => {
  it('plans nothing from 21:00 to 08:00 Asia/Shanghai, and what fell due goes out at 08:00', () => {
    const l = [lead()];
    expect(plan(input(at('2026-12-09', '20:59'), { leads: l })).length).toBeGreaterThan(0);
    expect(plan(input(at('2026-12-09', '21:00'), { leads: l }))).toEqual([]);
    expect(plan(input(at('2026-12-10', '03:00'), { leads: l }))).toEqual([]);
    expect(plan(input(at('2026-12-10', '07:59'), { leads: l }))).toEqual([]);
    const morning = plan(input(at('2026-12-10', '08:00'), { leads: l }));
    expect(morning.find((r) => r.staffId === 'vc')?.textKey).toBe('reminders.identify.today');
  });

  it('follows quiet hours set in the deployment', () => {
    const late = { ...rules, quietHours: { from: '22:30', to: '07:00' } };
    expect(plan(input(at('2026-12-10', '22:00'), { rules: late, leads: [lead()] })).length).toBeGreaterThan(0);
    expect(plan(input(at('2026-12-10', '22:30'), { rules: late, leads: [lead()] }))).toEqual([]);
  });
});

describe('campaign countdowns', () => {
  const campaign: Campaign = { id: 'entry', name: '数据录入', cutoff: '2026-06-10 24:00', roles: ['village_cadre', 'township_reviewer'], places: [], offsets: [7, 3, 1, 0] };

  it('counts down 7, 3 and 1 days before a "24:00" cut-off and on its day, with open items', () => {
    const openItems = new Map([['vc', 4], ['tr', 2]]);
    const sent = daily('2026-06-01', '2026-06-12', (now) => input(now, { campaigns: [campaign], openItems }));
    const toCadre = [...sent].flatMap(([day, list]) => list.filter((r) => r.staffId === 'vc').map((r) => [day, r.textKey, r.params.days, r.params.open]));
    expect(toCadre).toEqual([
      ['2026-06-03', 'reminders.campaign.before', 7, 4],
      ['2026-06-05', 'reminders.campaign.before', 5, 4], // 3 days before is Sunday 7 June: Friday instead
      ['2026-06-09', 'reminders.campaign.before', 1, 4],
      ['2026-06-10', 'reminders.campaign.today', 0, 4],
    ]);
    // roles outside the audience get nothing
    expect([...sent.values()].flat().some((r) => r.staffId === 'co' || r.staffId === 'cp')).toBe(false);
  });

  it('"6月10日24时" is still open on the evening of 10 June and closed the next morning', () => {
    const openItems = new Map([['vc', 1]]);
    expect(plan(input(at('2026-06-10', '20:30'), { campaigns: [campaign], openItems })).some((r) => r.kind === 'campaign')).toBe(true);
    expect(plan(input(at('2026-06-11', '08:00'), { campaigns: [campaign], openItems }))).toEqual([]);
    // an 18:00 cut-off is over by 20:30 the same day
    const early = { ...campaign, cutoff: '2026-06-10 18:00' };
    expect(plan(input(at('2026-06-10', '20:30'), { campaigns: [early], openItems }))).toEqual([]);
  });

  it('thanks a person with nothing open once, and counts down again if something opens later', () => {
    const counts = new Map([['vc', 0]]);
    const stored = new Set<string>();
    const tick = (d: string) => {
      const fresh = plan(input(at(d), { campaigns: [campaign], openItems: counts, staff: [cadre] })).filter((r) => !stored.has(r.key));
      for (const r of fresh) stored.add(r.key);
      return fresh.map((r) => r.textKey);
    };
    expect(tick('2026-06-03')).toEqual(['reminders.campaign.thanks']);
    expect(tick('2026-06-05')).toEqual([]);
    counts.set('vc', 2);
    expect(tick('2026-06-09')).toEqual(['reminders.campaign.before']);
  });

  it('reaches only the places it names', () => {
    const other = { ...campaign, places: ['530925201'] };
    const openItems = new Map([['vc', 1], ['tr', 1]]);
    expect(plan(input(at('2026-06-10'), { campaigns: [other], openItems }))).toEqual([]);
    const mine = { ...campaign, places: [TOWNSHIP] };
    expect(plan(input(at('2026-06-10'), { campaigns: [mine], openItems })).map((r) => r.staffId).sort()).toEqual(['tr', 'vc']);
  });
});

describe('contact-person follow-ups', () => {
  const follow = (over: Partial<PlanFollowUp> = {}): PlanFollowUp => ({ id: 'F1', receiptNo: 'R', headName: '王芳', villageCode: VILLAGE, contactStaffId: 'cp', kind: 'follow_up', due: '2026-12-07', ...over });

  it('reminds on the due day and again every 7 days until the follow-up is recorded; never on a day off', () => {
    const sent = daily('2026-12-01', '2026-12-22', (now) => input(now, { followUps: [follow()] }));
    expect([...sent].map(([day, list]) => [day, list.map((r) => r.textKey)])).toEqual([
      ['2026-12-07', ['reminders.follow_up']],
      ['2026-12-14', ['reminders.follow_up']],
      ['2026-12-21', ['reminders.follow_up']],
    ]);
    // due on a Sunday: it comes on Monday
    const sunday = daily('2026-12-01', '2026-12-08', (now) => input(now, { followUps: [follow({ due: '2026-12-06' })] }));
    expect([...sunday.keys()]).toEqual(['2026-12-07']);
  });

  it('sends the 回头看 re-check to the assigned contact person only', () => {
    const r = plan(input(at('2026-12-07'), { followUps: [follow({ kind: 'recheck' })] }));
    expect(r.map((x) => [x.staffId, x.textKey])).toEqual([['cp', 'reminders.recheck']]);
  });
});
