import type { Calendar } from '../reminders/calendar.ts';
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

/** The places a reader or actor covers: a token's scope, or a staff member's place. */
export type ScopeKind = 'county' | 'township' | 'village';

/** Who may make a move: confirming needs the county, the township review a township or the county. */
export function scopeAllowsMove(kind: ScopeKind, to: Stage): MoveRefusal | undefined {
  if (to === 'confirmed' && kind !== 'county') return { code: 'scope_too_narrow', params: { needs: 'county' } };
  if (to === 'township_reviewed' && kind === 'village') return { code: 'scope_too_narrow', params: { needs: 'township' } };
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

export type ProcedureRules = { identificationDays: number; publicityDays: number; publicityDayType: 'calendar' | 'working'; planDays: number };

export type MoveRefusal = { code: string; params?: Record<string, unknown> };

/** The last day of a publicity that starts on `start` and lasts the configured days. */
export function publicityMinimumEnd(start: string, rules: ProcedureRules, calendar: Calendar): string {
  return rules.publicityDayType === 'working' ? calendar.nthWorkdayFrom(start, rules.publicityDays) : addDays(start, rules.publicityDays - 1);
}

function latest(events: EventRecord[], stage: Stage): EventRecord | undefined {
  return [...events].reverse().find((e) => e.toStage === stage);
}

/** Whether `move` is allowed from `stage` given the events so far; `today` is the deployment's date. */
export function checkMove(stage: Stage, move: Move, events: EventRecord[], ctx: { rules: ProcedureRules; calendar: Calendar; today: string }): MoveRefusal | undefined {
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
      const visit = latest(events, 'visited');
      if (visit?.data?.judgement === 'does_not_fit') return { code: 'judged_not_fit' };
      break;
    }
    case 'publicized': {
      if (!isDate(move.publicityStart) || !isDate(move.publicityEnd)) return { code: 'publicity_dates_required' };
      const minEnd = publicityMinimumEnd(move.publicityStart!, ctx.rules, ctx.calendar);
      if (move.publicityEnd! < minEnd) return { code: 'publicity_too_short', params: { days: ctx.rules.publicityDays, dayType: ctx.rules.publicityDayType, minEnd } };
      break;
    }
    case 'township_reviewed': {
      const pub = latest(events, 'publicized');
      const end = pub?.data?.publicityEnd as string | undefined;
      if (end && ctx.today <= end) return { code: 'publicity_not_over', params: { end } };
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
