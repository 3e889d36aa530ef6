import { describe, expect, it } from 'vitest';
import { checkMove, clocks, publicityMinimumEnd, STAGES, type EventRecord, type Move, type ProcedureRules, type Stage } from '../../server/intake/procedure.ts';
import { createCalendar } from '../../server/calendar.ts';

const calendar = createCalendar();
const calendarDays: ProcedureRules = { identificationDays: 15, publicityDays: 5, publicityDayType: 'calendar', planDays: 10 };
const workingDays: ProcedureRules = { ...calendarDays, publicityDayType: 'working' };
const ctx = { rules: calendarDays, calendar, today: '2026-11-24' };
const ev = (toStage: Stage, data: Record<string, unknown> | null = null, at = new Date('2026-11-10T02:00:00Z')): EventRecord => ({ at, kind: 'move', toStage, data });

describe('working-day calendar (national holidays with 调休, plus local days)', () => {
  it('knows holidays and make-up working days', () => {
    expect(calendar.isWorkday('2026-10-01')).toBe(false); // National Day
    expect(calendar.isWorkday('2026-10-10')).toBe(true); // a Saturday worked in lieu
    expect(calendar.isWorkday('2026-02-14')).toBe(true); // Spring Festival make-up Saturday
    expect(calendar.isWorkday('2026-11-28')).toBe(false); // an ordinary Saturday
    expect(calendar.covers('2026-12-31')).toBe(true);
  });

  it('counts working days across the National Day holiday', () => {
    // Five working days from Tue 2026-09-29: 29, 30 Sep, then 1–7 Oct off, Thu 8, Fri 9, and Sat 10 (worked in lieu).
    expect(calendar.nthWorkdayFrom('2026-09-29', 5)).toBe('2026-10-10');
    expect(calendar.addWorkdays('2026-09-30', 1)).toBe('2026-10-08');
  });

  it('adds the deployment\'s local days', () => {
    const local = createCalendar({ holidays: [{ date: '2026-11-25', name: '县庆' }], workdays: [{ date: '2026-11-28' }] });
    expect(local.isWorkday('2026-11-25')).toBe(false);
    expect(local.isWorkday('2026-11-28')).toBe(true);
    expect(local.nthWorkdayFrom('2026-11-24', 3)).toBe('2026-11-27');
  });
});

describe('procedure moves', () => {
  const forward: Array<[Stage, Move]> = [
    ['received', { to: 'assigned' }],
    ['received', { to: 'visited', judgement: 'fits' }],
    ['assigned', { to: 'visited', judgement: 'fits' }],
    ['visited', { to: 'compared' }],
    ['compared', { to: 'publicized', publicityStart: '2026-11-24', publicityEnd: '2026-11-28' }],
    ['publicized', { to: 'township_reviewed' }],
    ['township_reviewed', { to: 'confirmed', category: 'marginal' }],
  ];
  it.each(forward)('allows %s → %j', (from, move) => {
    const events = from === 'publicized' ? [ev('publicized', { publicityEnd: '2026-11-20' })] : [];
    expect(checkMove(from, move, events, ctx)).toBeUndefined();
  });

  it.each(STAGES.filter((s) => !['confirmed', 'not_included', 'duplicate', 'withdrawn'].includes(s)))('allows leaving from %s (not included, duplicate, withdrawn)', (from) => {
    expect(checkMove(from, { to: 'not_included', reason: '家有公职人员' }, [], ctx)).toBeUndefined();
    expect(checkMove(from, { to: 'duplicate', duplicateOf: 'x' }, [], ctx)).toBeUndefined();
    expect(checkMove(from, { to: 'withdrawn' }, [], ctx)).toBeUndefined();
  });

  it.each([
    ['received', 'compared'],
    ['received', 'confirmed'],
    ['assigned', 'publicized'],
    ['visited', 'township_reviewed'],
    ['compared', 'confirmed'],
    ['publicized', 'visited'],
    ['township_reviewed', 'publicized'],
  ] as Array<[Stage, Stage]>)('refuses %s → %s', (from, to) => {
    expect(checkMove(from, { to, judgement: 'fits', category: 'marginal', publicityStart: '2026-11-01', publicityEnd: '2026-11-30' }, [], ctx)?.code).toBe('move_not_allowed');
  });

  it.each(['confirmed', 'not_included', 'duplicate', 'withdrawn'] as Stage[])('refuses any move after %s', (from) => {
    expect(checkMove(from, { to: 'withdrawn' }, [], ctx)?.code).toBe('already_final');
  });

  it('asks for what each move needs', () => {
    expect(checkMove('assigned', { to: 'visited' }, [], ctx)?.code).toBe('judgement_required');
    expect(checkMove('assigned', { to: 'visited', judgement: 'does_not_fit' }, [], ctx)?.code).toBe('reason_required');
    expect(checkMove('visited', { to: 'compared' }, [ev('visited', { judgement: 'does_not_fit', reason: '收入高' })], ctx)?.code).toBe('judged_not_fit');
    expect(checkMove('compared', { to: 'publicized' }, [], ctx)?.code).toBe('publicity_dates_required');
    expect(checkMove('township_reviewed', { to: 'confirmed' }, [], ctx)?.code).toBe('category_required');
    expect(checkMove('received', { to: 'not_included' }, [], ctx)?.code).toBe('reason_required');
    expect(checkMove('received', { to: 'duplicate' }, [], ctx)?.code).toBe('original_required');
  });

  it('keeps publicity at least the configured days, in calendar or working days', () => {
    expect(checkMove('compared', { to: 'publicized', publicityStart: '2026-11-16', publicityEnd: '2026-11-19' }, [], { ...ctx, today: '2026-11-16' })).toMatchObject({ code: 'publicity_too_short', params: { minEnd: '2026-11-20' } });
    const working = { ...ctx, rules: workingDays, today: '2026-11-20' };
    // From Fri 2026-11-20: 20, 23, 24, 25, 26 → five working days end on Thu 26.
    expect(publicityMinimumEnd('2026-11-20', workingDays, calendar)).toBe('2026-11-26');
    expect(checkMove('compared', { to: 'publicized', publicityStart: '2026-11-20', publicityEnd: '2026-11-24' }, [], working)?.code).toBe('publicity_too_short');
    expect(checkMove('compared', { to: 'publicized', publicityStart: '2026-11-20', publicityEnd: '2026-11-26' }, [], working)).toBeUndefined();
    // Township review only after the publicity is over.
    const pub = [ev('publicized', { publicityStart: '2026-11-20', publicityEnd: '2026-11-26' })];
    expect(checkMove('publicized', { to: 'township_reviewed' }, pub, { ...working, today: '2026-11-26' })?.code).toBe('publicity_not_over');
    expect(checkMove('publicized', { to: 'township_reviewed' }, pub, { ...working, today: '2026-11-27' })).toBeUndefined();
  });
});

describe('clocks', () => {
  const day = (at: Date) => at.toISOString().slice(0, 10);

  it('identification is due 15 days after receipt, across a month end, and becomes overdue', () => {
    const c = clocks({ receivedOn: '2026-11-20', stage: 'assigned', events: [ev('received')], rules: calendarDays, today: '2026-11-24', day });
    expect(c.next).toEqual({ kind: 'identify', due: '2026-12-05', done: false, overdue: false, daysLeft: 11 });
    const late = clocks({ receivedOn: '2026-11-20', stage: 'visited', events: [], rules: calendarDays, today: '2026-12-06', day });
    expect(late.next).toMatchObject({ kind: 'identify', overdue: true, daysLeft: -1 });
  });

  it('publicity and then the plan take over as the next deadline', () => {
    const pub = ev('publicized', { publicityStart: '2026-11-16', publicityEnd: '2026-11-20' });
    const during = clocks({ receivedOn: '2026-11-10', stage: 'publicized', events: [pub], rules: calendarDays, today: '2026-11-18', day });
    expect(during.next).toMatchObject({ kind: 'publicity', due: '2026-11-20', overdue: false });
    const confirmedAt = new Date('2026-11-23T03:00:00Z');
    const confirmed = clocks({
      receivedOn: '2026-11-10',
      stage: 'confirmed',
      events: [pub, ev('township_reviewed'), ev('confirmed', { category: 'marginal' }, confirmedAt)],
      rules: calendarDays,
      today: '2026-11-24',
      day,
    });
    expect(confirmed.deadlines.find((d) => d.kind === 'identify')).toMatchObject({ done: true, overdue: false });
    expect(confirmed.next).toMatchObject({ kind: 'plan', due: '2026-12-03', daysLeft: 9 });
    const planned = clocks({
      receivedOn: '2026-11-10',
      stage: 'confirmed',
      events: [pub, ev('confirmed', null, confirmedAt), { at: new Date('2026-11-24T01:00:00Z'), kind: 'plan', toStage: null, data: null }],
      rules: calendarDays,
      today: '2026-12-30',
      day,
    });
    expect(planned.next).toBeUndefined();
  });
});
