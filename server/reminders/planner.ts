import type { Calendar } from '../calendar.ts';
import type { Campaign, ReminderRules, StaffRole } from '../deployment.ts';
import { actingRole, type ProcedureRules, type Stage } from '../intake/procedure.ts';
import { addDays, daysBetween, localDate, zonedInstant } from '../time.ts';
import { isQuiet } from '../quiet-hours.ts';
import { escalationChain, placeKindOf, placesOverlap, type ChainRole, type PlaceCodes } from '../places/scope.ts';

/**
 * What is due, and to whom (ARCHITECTURE principle 3: time is an argument). Pure: given the leads near or past a
 * deadline, the follow-ups, the staff, the rules, the calendar and `now`, it returns reminders, each with a key
 * (subject, kind, due date). The scheduler inserts them once; a key already stored is never sent again.
 *
 * Catching up is built in: for each subject only the latest point that has come (the latest offset before the
 * deadline, or today when overdue) is planned, so after days of downtime a person gets one reminder per lead,
 * not one per missed day, and the scheduler packs them into one message.
 */

export type PlanLead = {
  id: string;
  receiptNo: string;
  headName: string;
  stage: Stage;
  judgement?: unknown;
  countyCode: string;
  townshipCode: string;
  villageCode: string;
  deadlineKind: 'identify' | 'publicity' | 'plan';
  /** YYYY-MM-DD */
  deadlineDue: string;
};

export type PlanFollowUp = {
  id: string;
  receiptNo: string;
  headName: string;
  villageCode: string;
  contactStaffId: string;
  kind: 'follow_up' | 'recheck';
  due: string;
};

export type PlanStaff = { id: string; role: StaffRole; placeCode: string; countyCode: string; townshipCode?: string | undefined; unreachable?: boolean };

export type Reminder = {
  key: string;
  kind: string;
  staffId: string;
  leadId?: string;
  campaign?: string;
  /** the day this reminder is for (YYYY-MM-DD) */
  dueOn: string;
  textKey: string;
  params: Record<string, string | number>;
};

export type PlanInput = {
  now: Date;
  timezone: string;
  rules: ReminderRules;
  procedure: Pick<ProcedureRules, 'publicityDayType'>;
  campaigns: Campaign[];
  calendar: Calendar;
  staff: PlanStaff[];
  leads: PlanLead[];
  followUps: PlanFollowUp[];
  /** open items per staff id, for campaign countdowns (only needed on a campaign's days) */
  openItems?: Map<string, number>;
};

/** The deadline's nudge days: each offset before it (working days for a working-day deadline), moved back to the
 * working day before when it falls on a day off, so nobody is nudged on a holiday and the heads-up comes before it. */
export function nudgeDays(due: string, offsets: number[], working: boolean, calendar: Calendar): string[] {
  const days = offsets.map((k) => {
    let d = working ? subtractWorkdays(due, k, calendar) : addDays(due, -k);
    while (!calendar.isWorkday(d)) d = addDays(d, -1);
    return d;
  });
  return [...new Set(days)].sort();
}

function subtractWorkdays(date: string, n: number, calendar: Calendar): string {
  let d = date;
  for (let left = n; left > 0; ) {
    d = addDays(d, -1);
    if (calendar.isWorkday(d)) left--;
  }
  return d;
}

function lastWorkdayUpTo(date: string, calendar: Calendar): string {
  let d = date;
  while (!calendar.isWorkday(d)) d = addDays(d, -1);
  return d;
}

function firstWorkdayFrom(date: string, calendar: Calendar): string {
  let d = date;
  while (!calendar.isWorkday(d)) d = addDays(d, 1);
  return d;
}

/** The farthest due date whose nudges can have come by `today`: the scheduler reads only leads due up to here. */
export function horizon(today: string, rules: ReminderRules, calendar: Calendar): string {
  const max = Math.max(...rules.deadlineOffsets);
  // a working-day offset, or a calendar offset moved back over a long holiday, reaches at most this far
  let d = today;
  for (let left = max + 1; left > 0; ) {
    d = addDays(d, 1);
    if (calendar.isWorkday(d)) left--;
  }
  return addDays(d, max);
}

/** The latest nudge day that has come for a deadline: an offset day, or (overdue) the last working day. */
export function latestNudge(today: string, due: string, offsets: number[], working: boolean, calendar: Calendar): string | undefined {
  let latest: string | undefined;
  for (const d of nudgeDays(due, offsets, working, calendar)) if (d <= today) latest = d;
  if (today > due) {
    const w = lastWorkdayUpTo(today, calendar);
    if (w > due && (!latest || w > latest)) latest = w;
  }
  return latest;
}

/** Staff indexed by role and place, with the fallback up the chain when a place has nobody in a role. */
function directory(staff: PlanStaff[]) {
  const by = new Map<string, PlanStaff[]>();
  for (const s of staff) {
    if (s.unreachable) continue;
    const k = `${s.role}:${s.placeCode}`;
    let list = by.get(k);
    if (!list) by.set(k, (list = []));
    list.push(s);
  }
  const get = (role: string, place: string) => by.get(`${role}:${place}`) ?? [];
  return {
    get,
    /** who must act for a lead: the role at its place, or (nobody there) the next one up the chain, and so on */
    actors(role: ChainRole, lead: PlaceCodes): PlanStaff[] {
      for (const [r, p] of escalationChain(role, lead)) {
        const found = get(r, p);
        if (found.length > 0) return found;
      }
      return [];
    },
  };
}

function inCampaign(c: Campaign, s: PlanStaff): boolean {
  if (!c.roles.includes(s.role)) return false;
  if (c.places.length === 0) return true;
  // a campaign place covers the staff member's place when one holds the other (county ⊃ township ⊃ village)
  return c.places.some((p) => placesOverlap(s.placeCode, p));
}

/** The campaign's cut-off as a local date: "2026-06-10 24:00" belongs to 10 June. */
export function cutoffDay(c: Campaign): string {
  return c.cutoff.slice(0, 10);
}

/** Whether the quiet hours hold (nothing is planned or sent then; what falls due goes out when they end). */
export function quiet(input: Pick<PlanInput, 'now' | 'timezone' | 'rules'>): boolean {
  return isQuiet(input.now, input.rules.quietHours, input.timezone);
}

export function plan(input: PlanInput): Reminder[] {
  const p = planner(input);
  return [...p.leads(input.leads), ...p.followUps(input.followUps), ...p.campaigns()];
}

/**
 * The planner in parts, for a caller that reads leads and follow-ups page by page (the scheduler): the staff
 * directory is built once; `leads` and `followUps` plan one page each; `campaigns` plans the countdowns once.
 * `plan(input)` is the three together.
 */
export function planner(input: Omit<PlanInput, 'leads' | 'followUps'>) {
  const silent = quiet(input);
  const { calendar, rules } = input;
  const today = localDate(input.now, input.timezone);
  const dir = directory(input.staff);
  const reachable = new Map(input.staff.filter((s) => !s.unreachable).map((s) => [s.id, s]));

  function leads(list: PlanLead[]): Reminder[] {
    const out: Reminder[] = [];
    if (silent) return out;
    for (const lead of list) {
      const role = actingRole(lead.stage, lead.judgement);
      if (!role) continue;
      const working = lead.deadlineKind === 'publicity' && input.procedure.publicityDayType === 'working';
      const point = latestNudge(today, lead.deadlineDue, rules.deadlineOffsets, working, calendar);
      if (!point) continue;
      const daysLeft = daysBetween(today, lead.deadlineDue);
      const params = { receipt: lead.receiptNo, name: lead.headName, village: lead.villageCode, due: lead.deadlineDue, days: Math.abs(daysLeft), stage: lead.stage };
      const overdue = daysLeft < 0;
      const textKey = `reminders.${lead.deadlineKind}.${overdue ? 'overdue' : daysLeft === 0 ? 'today' : 'before'}`;
      for (const s of dir.actors(role, lead))
        out.push({ key: `lead:${lead.id}|deadline.${lead.deadlineKind}|${point}|${s.id}`, kind: `deadline.${lead.deadlineKind}`, staffId: s.id, leadId: lead.id, dueOn: point, textKey, params });
      if (!overdue) continue;
      // Overdue: those above the acting role are told, the township reviewer on the first working day after the
      // deadline, the county after N days.
      const toTownship = firstWorkdayFrom(addDays(lead.deadlineDue, 1), calendar);
      const toCounty = firstWorkdayFrom(addDays(lead.deadlineDue, Math.max(1, rules.escalateToCountyAfterDays)), calendar);
      for (const [above, place] of escalationChain(role, lead).slice(1)) {
        const level = placeKindOf(above);
        const dueOn = level === 'township' ? toTownship : toCounty;
        if (today < dueOn) continue;
        for (const s of dir.get(above, place))
          out.push({ key: `lead:${lead.id}|escalate.${level}.${lead.deadlineKind}|${lead.deadlineDue}|${s.id}`, kind: `escalation.${level}`, staffId: s.id, leadId: lead.id, dueOn, textKey: 'reminders.escalation', params });
      }
    }
    return out;
  }

  // Contact persons: on the due day, then every few days until the follow-up is recorded (which moves the due
  // day). Only on working days: one that comes on a day off waits for the next working day.
  function followUps(list: PlanFollowUp[]): Reminder[] {
    const out: Reminder[] = [];
    if (silent || !calendar.isWorkday(today)) return out;
    for (const f of list) {
      if (f.due > today) continue;
      const steps = Math.floor(daysBetween(f.due, today) / rules.followUpRepeatDays);
      const point = addDays(f.due, steps * rules.followUpRepeatDays);
      const s = reachable.get(f.contactStaffId);
      if (!s) continue;
      out.push({
        key: `lead:${f.id}|${f.kind}|${point}|${s.id}`,
        kind: f.kind,
        staffId: s.id,
        leadId: f.id,
        dueOn: point,
        textKey: `reminders.${f.kind}`,
        params: { receipt: f.receiptNo, name: f.headName, village: f.villageCode, due: f.due, days: daysBetween(f.due, today) },
      });
    }
    return out;
  }

  // Campaigns: a countdown on each offset day with the person's open items, or one "nothing open, thank you".
  function campaigns(): Reminder[] {
    const out: Reminder[] = [];
    if (silent) return out;
    for (const c of input.campaigns) {
      const cut = cutoffDay(c);
      if (input.now >= zonedInstant(cut, c.cutoff.slice(11), input.timezone)) continue;
      const points = nudgeDays(cut, c.offsets, false, calendar);
      let point: string | undefined;
      for (const p of points) if (p <= today) point = p;
      if (!point) continue;
      const daysLeft = daysBetween(today, cut);
      for (const s of input.staff) {
        if (s.unreachable || !inCampaign(c, s)) continue;
        const open = input.openItems?.get(s.id) ?? 0;
        const params = { campaign: c.name, cutoff: c.cutoff, days: daysLeft, open, time: c.cutoff.slice(11) };
        if (open > 0)
          out.push({ key: `campaign:${c.id}:${s.id}|campaign|${point}`, kind: 'campaign', staffId: s.id, campaign: c.id, dueOn: point, textKey: daysLeft === 0 ? 'reminders.campaign.today' : 'reminders.campaign.before', params });
        else out.push({ key: `campaign:${c.id}:${s.id}|campaign.thanks|${cut}`, kind: 'campaign.thanks', staffId: s.id, campaign: c.id, dueOn: point, textKey: 'reminders.campaign.thanks', params });
      }
    }
    return out;
  }

  return { leads, followUps, campaigns };
}

/** Whether any campaign has a countdown day today (the scheduler counts open items only then). */
export function campaignDay(input: Pick<PlanInput, 'now' | 'timezone' | 'campaigns' | 'calendar'>): boolean {
  const today = localDate(input.now, input.timezone);
  return input.campaigns.some((c) => {
    const cut = cutoffDay(c);
    return today <= cut && nudgeDays(cut, c.offsets, false, input.calendar).some((p) => p <= today);
  });
}

