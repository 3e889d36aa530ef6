import { describe, expect, it } from 'vitest';
import { canMove, checkMove, mayAct, monitoringOf, rolesFor, ROLES, STAGES, type EventRecord, type RecordKind, type ProcedureRules, type Stage } from '../../server/intake/procedure.ts';
import { actionsFor, DESK_ACTS, ACTIONS } from '../../bot/flows/staff.ts';
import { createCalendar } from '../../server/calendar.ts';
import { expectedRoles, ORDER } from '../helpers/procedure-table.ts';

// The one rule set behind every door: which stage may follow which, and who may make each move. Every pair of
// stages and every role is listed here, so a rule that changes (a publicized lead confirmed without the township
// review, a village recording the county's data comparison) fails a line of this file.

const rules: ProcedureRules = { identificationDays: 15, publicityDays: 5, publicityDayType: 'calendar', planDays: 10 };
const calendar = createCalendar();

const pairs = STAGES.flatMap((from) => STAGES.map((to) => [from, to] as const));

describe('the order of the stages', () => {
  it.each(pairs)('%s → %s', (from, to) => {
    expect(canMove(from, to)).toBe(ORDER[from].includes(to));
    // checkMove agrees: a move out of order is refused as such (or as final), one in order is not refused for its order
    const refusal = checkMove(from, { to }, [], { rules, calendar, today: '2026-11-24' });
    if (!ORDER[from].includes(to)) expect(refusal?.code).toBe(STAGES.indexOf(from) >= STAGES.indexOf('confirmed') ? 'already_final' : 'move_not_allowed');
    else expect(['move_not_allowed', 'already_final']).not.toContain(refusal?.code);
  });
});

describe('who may make each move', () => {
  type Case = [Stage, Stage, 'fits' | 'does_not_fit' | undefined];
  const cases: Case[] = [];
  for (const [from, to] of pairs) {
    if (from === 'visited') cases.push([from, to, 'fits'], [from, to, 'does_not_fit']);
    else cases.push([from, to, undefined]);
  }
  it.each(cases)('%s → %s (judgement %s)', (from, to, judgement) => {
    const facts = { stage: from, judgement, contactStaffId: null };
    // (a household judged not to fit cannot go to the data comparison at all: checkMove refuses it, whoever asks)
    const blocked = to === 'compared' && judgement === 'does_not_fit';
    const allowedRoles = rolesFor({ move: to }, facts).filter(() => ORDER[from].includes(to) && !blocked);
    expect(allowedRoles.sort()).toEqual(expectedRoles(from, to, judgement).sort());
    for (const role of ROLES) {
      const refusal = mayAct({ role }, { move: to }, facts);
      if (ORDER[from].includes(to) && expectedRoles(from, to, judgement).includes(role)) expect(refusal).toBeUndefined();
      else if (ORDER[from].includes(to) && !blocked) expect(refusal?.code).toBe('not_your_move');
    }
  });

  it('gives the records to their roles; a contact person acts only on their own households', () => {
    const confirmed = { stage: 'confirmed' as const, contactStaffId: 'cp-1' };
    const who = (record: RecordKind, staffId?: string) =>
      ROLES.filter((role) => mayAct({ role, staffId }, { record }, confirmed) === undefined);
    expect(who('green_channel')).toEqual(['village_cadre', 'township_reviewer', 'county_officer']);
    expect(who('plan')).toEqual(['village_cadre']);
    expect(who('follow_up', 'cp-1')).toEqual(['contact_person']);
    expect(who('risk_eliminated', 'cp-1')).toEqual(['contact_person']);
    expect(who('follow_up', 'cp-2')).toEqual([]);
    // roll-back and removal: the county, on the township's signed application
    expect(who('rollback', 'cp-1')).toEqual(['county_officer']);
    expect(who('removal', 'cp-1')).toEqual(['county_officer']);
    expect(who('note', 'cp-1')).toEqual(['village_cadre', 'contact_person', 'township_reviewer', 'county_officer']);
    expect(who('note', 'cp-2')).toEqual(['village_cadre', 'township_reviewer', 'county_officer']);
    // a contact person can never name the contact person (themselves or anyone)
    expect(mayAct({ role: 'contact_person', staffId: 'cp-1' }, { record: 'plan' }, { ...confirmed, contactStaffId: null })).toMatchObject({ code: 'not_your_move', params: { roles: ['village_cadre'] } });
  });
});

describe('the desk offers exactly what the role table allows', () => {
  const roles = ['village_cadre', 'contact_person', 'township_reviewer', 'county_officer'] as const;
  const leads = STAGES.flatMap((stage) =>
    (stage === 'visited' ? ['fits', 'does_not_fit'] : [undefined]).flatMap((judgement) =>
      (stage === 'confirmed' ? [null, 'me', 'other'] : [null]).flatMap((contact) =>
        (contact ? ['follow_up', 'recheck', null] : [null]).map((followUpKind) => ({ stage, judgement, contactStaffId: contact, followUpKind })),
      ),
    ),
  );
  it.each(leads.flatMap((lead) => roles.map((role) => [role, lead] as const)))('%s at %j', (role, lead) => {
    const offered = actionsFor(lead, { id: 'me', role });
    for (const a of ACTIONS) {
      const act = DESK_ACTS[a];
      const allowed = mayAct({ role, staffId: 'me' }, act, lead) === undefined;
      // nothing is offered that the table refuses
      if (offered.includes(a)) expect({ a, allowed }).toEqual({ a, allowed: true });
    }
    // and the moves of the procedure's next step are offered to the role that makes them
    const expected = new Set<string>();
    if (role === 'village_cadre') {
      if (lead.stage === 'received') ['contacted', 'fits', 'notfit'].forEach((a) => expected.add(a));
      if (lead.stage === 'assigned') ['fits', 'notfit'].forEach((a) => expected.add(a));
      if (lead.stage === 'compared') ['pub0', 'pub1'].forEach((a) => expected.add(a));
      if (lead.stage === 'confirmed' && !lead.contactStaffId) expected.add('contact');
    }
    if (role === 'county_officer') {
      if (lead.stage === 'visited') (lead.judgement === 'does_not_fit' ? ['exclude'] : ['compared', 'exclude']).forEach((a) => expected.add(a));
      if (lead.stage === 'township_reviewed') ['cat_unstable_escaped', 'cat_marginal', 'cat_sudden_hardship', 'exclude'].forEach((a) => expected.add(a));
    }
    if (role === 'township_reviewer') {
      if (lead.stage === 'publicized') ['reviewed', 'exclude'].forEach((a) => expected.add(a));
      if (lead.stage === 'visited' && lead.judgement === 'does_not_fit') expected.add('exclude');
    }
    if (role === 'contact_person' && lead.stage === 'confirmed' && lead.contactStaffId === 'me' && lead.followUpKind) {
      expected.add('fu');
      if (lead.followUpKind === 'follow_up') expected.add('elim');
    }
    expect([...offered].sort()).toEqual([...expected].sort());
  });
});

describe('publicity dates', () => {
  const visitedOn = (d: string): EventRecord[] => [{ at: new Date(`${d}T02:00:00Z`), kind: 'move', toStage: 'visited', data: { judgement: 'fits' } }];
  const ctx = { rules, calendar, today: '2026-11-24', day: (at: Date) => at.toISOString().slice(0, 10) };
  const pub = (start: string, end: string, events = visitedOn('2026-11-20')) => checkMove('compared', { to: 'publicized', publicityStart: start, publicityEnd: end }, events, ctx);

  it('starts no earlier than the visit, and not in the past beyond a day', () => {
    expect(pub('2020-03-01', '2020-03-05')).toMatchObject({ code: 'publicity_before_visit', params: { visited: '2026-11-20' } });
    expect(pub('2026-11-19', '2026-11-25')).toMatchObject({ code: 'publicity_before_visit' });
    expect(pub('2026-11-22', '2026-11-28')).toMatchObject({ code: 'publicity_in_past', params: { earliest: '2026-11-23' } });
    expect(pub('2026-11-23', '2026-11-27')).toBeUndefined(); // recorded a day late
    expect(pub('2026-11-24', '2026-11-28')).toBeUndefined();
    expect(pub('2026-12-25', '2026-12-29')).toMatchObject({ code: 'publicity_too_far', params: { latest: '2026-12-24' } });
    expect(pub('2026-12-24', '2026-12-28')).toBeUndefined();
  });

  it('ends at least the configured days after its start', () => {
    expect(pub('2026-11-24', '2026-11-27')).toMatchObject({ code: 'publicity_too_short', params: { minEnd: '2026-11-28' } });
    expect(pub('2026-11-24', '2026-11-28')).toBeUndefined();
  });

  it('lets the township review only after the last day', () => {
    const events: EventRecord[] = [...visitedOn('2026-11-20'), { at: new Date('2026-11-24T02:00:00Z'), kind: 'move', toStage: 'publicized', data: { publicityStart: '2026-11-24', publicityEnd: '2026-11-28' } }];
    const review = (today: string) => checkMove('publicized', { to: 'township_reviewed' }, events, { ...ctx, today });
    expect(review('2026-11-24')).toMatchObject({ code: 'publicity_not_over', params: { end: '2026-11-28' } });
    expect(review('2026-11-28')).toMatchObject({ code: 'publicity_not_over' });
    expect(review('2026-11-29')).toBeUndefined();
  });
});

describe('where a confirmed household stands in monitoring, from its records', () => {
  const of = (...kinds: string[]) => monitoringOf(kinds.map((kind) => ({ kind })));
  it('eliminated until rolled back, again after a new elimination; removed for good', () => {
    expect(of()).toEqual({ removed: false, riskEliminated: false });
    expect(of('plan', 'follow_up', 'risk_eliminated')).toEqual({ removed: false, riskEliminated: true });
    expect(of('risk_eliminated', 'rollback')).toEqual({ removed: false, riskEliminated: false });
    expect(of('risk_eliminated', 'rollback', 'follow_up', 'risk_eliminated')).toEqual({ removed: false, riskEliminated: true });
    expect(of('removal', 'note')).toEqual({ removed: true, riskEliminated: false });
    expect(of('risk_eliminated', 'removal')).toEqual({ removed: true, riskEliminated: true });
  });
});
