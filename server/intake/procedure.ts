import type { Calendar } from '../calendar.ts';
import { addDays, daysBetween } from '../time.ts';

/**
 * The identification procedure (DOMAIN.md, "After submission"; seeds/001 and 002): its stages, the moves
 * allowed between them, and the clocks that follow from the recorded events. Pure: the database code in
 * leads.ts applies a move only after `checkMove` allows it, and records it as an append-only event.
 */

export const STAGES = [
  'received',
  'assigned',
  'visited',
  'compared',
  'publicized',
  'township_reviewed',
  'confirmed',
  'not_included',
  'duplicate',
  'withdrawn',
] as const;
export type Stage = (typeof STAGES)[number];
export const FINAL: readonly Stage[] = ['confirmed', 'not_included', 'duplicate', 'withdrawn'];

export const CATEGORIES = ['unstable_escaped', 'marginal', 'sudden_hardship'] as const;
export type ConfirmedCategory = (typeof CATEGORIES)[number];

/** Where each stage may go next. Leaving the procedure (not included, duplicate, withdrawn) is open until the end. */
const NEXT: Record<Stage, readonly Stage[]> = {
  received: ['assigned', 'visited'],
  assigned: ['visited'],
  visited: ['compared'],
  compared: ['publicized'],
  publicized: ['township_reviewed'],
  township_reviewed: ['confirmed'],
  confirmed: [],
  not_included: [],
  duplicate: [],
  withdrawn: [],
};
const EXITS: readonly Stage[] = ['not_included', 'duplicate', 'withdrawn'];

/** Whether the procedure's order lets a lead go from one stage to another (what the move needs is checked by checkMove). */
export const canMove = (from: Stage, to: Stage): boolean => !FINAL.includes(from) && (NEXT[from].includes(to) || EXITS.includes(to));

export type Move = {
  to: Stage;
  note?: string | undefined;
  /** visited: the first judgement (初判) */
  judgement?: 'fits' | 'does_not_fit' | undefined;
  /** visited with does_not_fit, and not_included: why */
  reason?: string | undefined;
  /** publicized: the days of the village publicity (公示), YYYY-MM-DD */
  publicityStart?: string | undefined;
  publicityEnd?: string | undefined;
  /** confirmed: the category decided */
  category?: ConfirmedCategory | undefined;
  /** duplicate: the original lead */
  duplicateOf?: string | undefined;
};

/** The places a reader or actor covers (a token's scope, or a staff member's place): server/places/scope.ts. */
export type { ScopeKind } from '../places/scope.ts';

/**
 * Who may do what: the one rule set behind every door (the chat desk, the API, later the console). A staff
 * member acts in their role; an API token acts in the role of its place's level (a village token as the village
 * cadre, a township token as the township reviewer, a county token as the county officer); the household acts
 * through its own chat (withdrawing its report).
 */
export const ROLES = ['household', 'village_cadre', 'contact_person', 'township_reviewer', 'county_officer'] as const;
export type Role = (typeof ROLES)[number];
/** The role a token acts in, by its place's level (server/places/scope.ts). */
export { roleOfScope } from '../places/scope.ts';

/** Facts recorded about a lead that are not moves. */
export const RECORD_KINDS = ['green_channel', 'plan', 'follow_up', 'risk_eliminated', 'rollback', 'removal', 'note'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** What an actor does to a lead: a move to a stage, or a record. */
export type Act = { move: Stage } | { record: RecordKind };
/** What the rules need to know about the lead (and, for a contact person, whether it is theirs). */
export type LeadFacts = { stage: Stage; judgement?: unknown; contactStaffId: string | null };

const OPEN: readonly Stage[] = ['received', 'assigned', 'visited', 'compared', 'publicized', 'township_reviewed'];

/**
 * The role table: for each move, the roles that may make it and the stages they may make it from (the
 * procedure's own order is checked by `checkMove`). The village visits and publicizes, the county compares data
 * and confirms, the township reviews; a household judged not to fit is closed by the township (or the county);
 * the township closes after the publicity, the county after the data comparison or at confirmation.
 */
export const MOVE_ROLES: Record<Stage, Partial<Record<Role, readonly Stage[]>>> = {
  received: {},
  assigned: { village_cadre: ['received'] },
  visited: { village_cadre: ['received', 'assigned'] },
  compared: { county_officer: ['visited'] },
  publicized: { village_cadre: ['compared'] },
  township_reviewed: { township_reviewer: ['publicized'] },
  confirmed: { county_officer: ['township_reviewed'] },
  not_included: { township_reviewer: ['visited', 'publicized'], county_officer: ['visited', 'township_reviewed'] },
  duplicate: { village_cadre: OPEN, township_reviewer: OPEN, county_officer: OPEN },
  withdrawn: { household: OPEN, village_cadre: OPEN },
};

/**
 * The records: green-channel help by any staff level before the end; the contact person and plan by the village
 * after confirmation; follow-ups and the risk marked eliminated by the household's own contact person; notes by
 * any staff (a contact person on their own households only). A roll-back (风险消除回退: the risk marked eliminated did
 * not hold) and a removal from monitoring (监测对象清退: the household did not meet the conditions) are recorded by
 * the county: the seeds have the township's signed application reviewed and confirmed there before the province
 * operates the national system (seeds/000, "回退清退"), and the county's table of them is annex 5.
 */
export const RECORD_ROLES: Record<RecordKind, readonly Role[]> = {
  green_channel: ['village_cadre', 'township_reviewer', 'county_officer'],
  plan: ['village_cadre'],
  follow_up: ['contact_person'],
  risk_eliminated: ['contact_person'],
  rollback: ['county_officer'],
  removal: ['county_officer'],
  note: ['village_cadre', 'contact_person', 'township_reviewer', 'county_officer'],
};

/** Whether a role makes this move from some stage: a role that never does is told so before the stage is looked at. */
export const roleEverMakes = (role: Role, to: Stage): boolean => MOVE_ROLES[to][role] !== undefined;

/** The roles that may make `act` on a lead with these facts (empty: nobody at this stage). */
export function rolesFor(act: Act, facts: LeadFacts): Role[] {
  if ('move' in act) {
    const byRole = MOVE_ROLES[act.move];
    return (Object.keys(byRole) as Role[]).filter((role) => {
      if (!byRole[role]!.includes(facts.stage)) return false;
      // the township closes a visited household only when the visit judged it not to fit
      if (act.move === 'not_included' && role === 'township_reviewer' && facts.stage === 'visited') return facts.judgement === 'does_not_fit';
      return true;
    });
  }
  return [...RECORD_ROLES[act.record]];
}

/**
 * Whether this actor may do it: refused with `not_your_move` (and the roles that may) otherwise. A contact
 * person acts only on the households assigned to them.
 */
export function mayAct(actor: { role: Role; staffId?: string | undefined }, act: Act, facts: LeadFacts): MoveRefusal | undefined {
  const roles = rolesFor(act, facts);
  if (!roles.includes(actor.role)) return { code: 'not_your_move', params: { roles } };
  if (actor.role === 'contact_person' && (!actor.staffId || facts.contactStaffId !== actor.staffId)) return { code: 'not_your_move', params: { roles } };
  return undefined;
}

/**
 * The role that must act next on a lead in `stage`: the village visits and publicizes, the county compares data
 * and confirms, the township reviews; after confirmation the village names the contact person and plan.
 */
export type ActingRole = 'village_cadre' | 'township_reviewer' | 'county_officer';
export function actingRole(stage: Stage, judgement?: unknown): ActingRole | undefined {
  switch (stage) {
    case 'received':
    case 'assigned':
    case 'compared':
    case 'confirmed':
      return 'village_cadre';
    case 'visited':
      // a household judged not to fit waits for the township to close it as not included
      return judgement === 'does_not_fit' ? 'township_reviewer' : 'county_officer';
    case 'publicized':
      return 'township_reviewer';
    case 'township_reviewed':
      return 'county_officer';
    default:
      return undefined;
  }
}

export type EventRecord = { at: Date; kind: string; toStage: string | null; data: Record<string, unknown> | null };

/**
 * Where a confirmed household stands in monitoring, from its records: removed (清退) for good, or its risk marked
 * eliminated and not rolled back since (a roll-back, 回退, puts it back under monitoring).
 */
export function monitoringOf(events: ReadonlyArray<{ kind: string }>): { removed: boolean; riskEliminated: boolean } {
  let riskEliminated = false;
  let removed = false;
  for (const e of events) {
    if (e.kind === 'risk_eliminated') riskEliminated = true;
    else if (e.kind === 'rollback') riskEliminated = false;
    else if (e.kind === 'removal') removed = true;
  }
  return { removed, riskEliminated };
}

export type ProcedureRules = { identificationDays: number; publicityDays: number; publicityDayType: 'calendar' | 'working'; planDays: number };

export type MoveRefusal = { code: string; params?: Record<string, unknown> };

/** The last day of a publicity that starts on `start` and lasts the configured days. */
export function publicityMinimumEnd(start: string, rules: ProcedureRules, calendar: Calendar): string {
  return rules.publicityDayType === 'working' ? calendar.nthWorkdayFrom(start, rules.publicityDays) : addDays(start, rules.publicityDays - 1);
}

/** The first judgement of the latest visit (初判), or undefined before a visit. The one reading of it everywhere. */
export function latestJudgement(events: ReadonlyArray<{ toStage: string | null; data: unknown }>): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.toStage === 'visited') return (events[i]!.data as { judgement?: string } | null)?.judgement;
  return undefined;
}

/** In SQL, for a lead aliased `l`: the first judgement of its latest visit, or NULL. */
export const LATEST_JUDGEMENT_SQL = `(SELECT e.data->>'judgement' FROM lead_event e WHERE e.lead_id = l.id AND e.to_stage = 'visited' ORDER BY e.id DESC LIMIT 1)`;

function latest(events: EventRecord[], stage: Stage): EventRecord | undefined {
  return [...events].reverse().find((e) => e.toStage === stage);
}

/** How far ahead a publicity may be set to start. */
export const PUBLICITY_MAX_DAYS_AHEAD = 30;

/**
 * Whether `move` is allowed from `stage` given the events so far; `today` is the deployment's date and `day`
 * turns an event's time into the deployment's date (UTC when not given).
 */
export function checkMove(
  stage: Stage,
  move: Move,
  events: EventRecord[],
  ctx: { rules: ProcedureRules; calendar: Calendar; today: string; day?: (at: Date) => string },
): MoveRefusal | undefined {
  const day = ctx.day ?? ((at: Date) => at.toISOString().slice(0, 10));
  if (FINAL.includes(stage)) return { code: 'already_final', params: { stage } };
  const allowed = [...NEXT[stage], ...EXITS];
  if (!allowed.includes(move.to)) return { code: 'move_not_allowed', params: { from: stage, to: move.to, allowed } };
  const isDate = (d: string | undefined) => d !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(d);

  switch (move.to) {
    case 'visited':
      if (!move.judgement) return { code: 'judgement_required' };
      if (move.judgement === 'does_not_fit' && !move.reason) return { code: 'reason_required' };
      break;
    case 'compared': {
      if (latestJudgement(events) === 'does_not_fit') return { code: 'judged_not_fit' };
      break;
    }
    case 'publicized': {
      if (!isDate(move.publicityStart) || !isDate(move.publicityEnd)) return { code: 'publicity_dates_required' };
      const start = move.publicityStart!;
      // the publicity follows the visit, starts today or tomorrow as a rule (yesterday when recorded a day late)
      const visit = latest(events, 'visited');
      if (visit && start < day(visit.at)) return { code: 'publicity_before_visit', params: { visited: day(visit.at) } };
      const earliest = addDays(ctx.today, -1);
      if (start < earliest) return { code: 'publicity_in_past', params: { earliest } };
      const latestStart = addDays(ctx.today, PUBLICITY_MAX_DAYS_AHEAD);
      if (start > latestStart) return { code: 'publicity_too_far', params: { latest: latestStart } };
      const minEnd = publicityMinimumEnd(start, ctx.rules, ctx.calendar);
      if (move.publicityEnd! < minEnd) return { code: 'publicity_too_short', params: { days: ctx.rules.publicityDays, dayType: ctx.rules.publicityDayType, minEnd } };
      break;
    }
    case 'township_reviewed': {
      // the review comes only after the last day of the publicity
      const pub = latest(events, 'publicized');
      const end = pub?.data?.publicityEnd as string | undefined;
      if (!end) return { code: 'publicity_dates_required' };
      if (ctx.today <= end) return { code: 'publicity_not_over', params: { end } };
      break;
    }
    case 'confirmed':
      if (!move.category || !CATEGORIES.includes(move.category)) return { code: 'category_required', params: { allowed: CATEGORIES } };
      break;
    case 'not_included':
      if (!move.reason) return { code: 'reason_required' };
      break;
    case 'duplicate':
      if (!move.duplicateOf) return { code: 'original_required' };
      break;
  }
  return undefined;
}

export type Deadline = { kind: 'identify' | 'publicity' | 'plan'; due: string; done: boolean; overdue: boolean; daysLeft: number };
export type Clocks = { deadlines: Deadline[]; next: Deadline | undefined };


/**
 * The lead's clocks from its events: identify within N days of receipt (to confirmation or another ending),
 * publicity lasting its days, contact person and plan within M days of confirmation. `day(at)` turns an event's
 * time into the deployment's date.
 */
export function clocks(input: {
  receivedOn: string;
  stage: Stage;
  events: EventRecord[];
  rules: ProcedureRules;
  today: string;
  day: (at: Date) => string;
}): Clocks {
  const { rules, today, events } = input;
  const deadlines: Deadline[] = [];
  const make = (kind: Deadline['kind'], due: string, done: boolean): Deadline => ({ kind, due, done, overdue: !done && today > due, daysLeft: daysBetween(today, due) });

  const ended = FINAL.includes(input.stage);
  deadlines.push(make('identify', addDays(input.receivedOn, rules.identificationDays), ended));

  const pub = latest(events, 'publicized');
  if (pub?.data?.publicityEnd) {
    const left = events.indexOf(pub) < events.length - 1 || ended;
    deadlines.push(make('publicity', String(pub.data.publicityEnd), left));
  }
  const confirmed = latest(events, 'confirmed');
  if (confirmed) {
    const planned = events.some((e) => e.kind === 'plan' && e.at >= confirmed.at);
    deadlines.push(make('plan', addDays(input.day(confirmed.at), rules.planDays), planned));
  }
  const open = deadlines.filter((d) => !d.done).sort((a, b) => a.due.localeCompare(b.due));
  return { deadlines, next: open[0] };
}
