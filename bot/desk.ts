import type { Prisma } from '../server/db/generated/client.ts';
import type { Crypto } from '../server/crypto.ts';
import { placeIndex, type Deployment, type StaffRole } from '../server/deployment.ts';
import { isLeadId, type Actor, type Intake, type RecordDetails, type RecordKind } from '../server/intake/leads.ts';
import { latestJudgement, publicityMinimumEnd, type Move, type MoveRefusal, type Stage } from '../server/intake/procedure.ts';
import { memoT, type Language } from '../server/i18n.ts';
import { missingDetails, readAnswers } from '../server/intake/answers.ts';
import type { Logger } from '../server/log.ts';
import { createCalendar } from '../server/calendar.ts';
import type { Reminder } from '../server/reminders/planner.ts';
import type { StaffAccounts, StaffMember } from '../server/staff/accounts.ts';
import { covers, escalationChain, placeKindOf, scopeOf } from '../server/places/scope.ts';
import type { Deliveries } from '../server/staff/deliveries.ts';
import { addDays, daysBetween, localDate } from '../server/time.ts';
import type { Result } from './engine/engine.ts';
import type { Capabilities, Inbound, Outbound, State } from './engine/types.ts';
import { actionsFor, leadCard, NEEDS_REASON, reminderMessage, staffMenu, tasksPage, type CardLead, type DeskAction, type T } from './flows/staff.ts';
import { buttons as ids, readButton, type Family } from './buttons.ts';

/**
 * The staff side of the bot: `/join <code>`, the staff menu, lead cards with the next moves, `/tasks`, follow-ups,
 * and the notices sent to staff (new lead, reminders, "cannot reach"). Every move goes through the intake module
 * with the staff member's place as its scope: the same rules as the API.
 */

const PAGE = 5;
/** The button families that are the desk's (with the staff menu's `start.menu`). */
const DESK_FAMILIES: ReadonlySet<Family> = new Set(['tasks', 'lead', 'act', 'pick_contact', 'desk']);
/** The "skip" (or "cancel") under a reason or note asked for. */
const isSkip = (id: string) => {
  const b = readButton(id);
  return b.family === 'desk' && b.what === 'skip';
};
type Tx = Prisma.TransactionClient;
type LeadRow = Prisma.LeadGetPayload<{ include: { events: true } }>;

/** A one-time log-in link to the county console for a staff member, or how long to wait for another. */
export type WebLink = (staffId: string, now: Date) => Promise<{ ok: true; url: string; expiresAt: Date } | { ok: false; waitSeconds: number }>;

export function createDesk(deps: { intake: Intake; accounts: StaffAccounts; deliveries: Deliveries; crypto: Crypto; deployment: Deployment; logger: Logger; webLink?: WebLink }) {
  const { intake, accounts, deliveries, crypto, deployment, logger } = deps;
  const places = placeIndex(deployment);
  const calendar = createCalendar(deployment.calendar);
  const tz = deployment.timezone;

  const placeName = (code: string) => {
    const v = places.villages.get(code);
    if (v) return `${v.township.name}${v.village.name}`;
    return places.townships.get(code)?.township.name ?? places.counties.get(code)?.name ?? code;
  };
  // one memoizing `t` per language for everything staff are sent (cards, tasks, and the reminders of a whole tick)
  const ts = { 'zh-CN': memoT('zh-CN', 'bot'), en: memoT('en', 'bot') } satisfies Record<Language, T>;
  const tOf = (lng: string): T => ts[lng === 'en' ? 'en' : 'zh-CN'];

  /** The lead's flags as this staff member may see them: a twin outside their place is not theirs to know. */
  async function flagsFor(lead: LeadRow, staff: StaffMember, client?: Tx): Promise<string[]> {
    if (!lead.flags.includes('possible_duplicate')) return lead.flags;
    const seen = await intake.twinsIn(scopeOf(staff), lead.possibleDuplicates, client);
    return seen > 0 ? lead.flags : lead.flags.filter((f) => f !== 'possible_duplicate');
  }

  function cardData(lead: LeadRow, staff: { role: StaffRole }, now: Date, clocksNext?: { kind: string; due: string } | undefined, flags = lead.flags): CardLead {
    const a = readAnswers(lead.answers);
    const next = clocksNext ?? (lead.nextDeadlineKind && lead.nextDeadlineDue ? { kind: lead.nextDeadlineKind, due: lead.nextDeadlineDue.toISOString().slice(0, 10) } : undefined);
    return {
      id: lead.id,
      receiptNo: lead.receiptNo,
      place: placeName(lead.villageCode),
      headName: lead.headName,
      // the phone is for the village staff who visit; township and county see the rest
      phone: placeKindOf(staff.role) === 'village' ? crypto.decrypt(lead.phoneEnc) : undefined,
      reporterPhone: placeKindOf(staff.role) === 'village' && lead.reporterPhoneEnc ? crypto.decrypt(lead.reporterPhoneEnc) : undefined,
      householdSize: a.householdSize,
      missing: missingDetails(lead.answers),
      risks: a.risks,
      category: lead.category,
      flags,
      stage: lead.stage as Stage,
      judgement: latestJudgement(lead.events),
      deadline: next ? { ...next, daysLeft: daysBetween(localDate(now, tz), next.due) } : undefined,
      contactStaffId: lead.contactStaffId,
      followUpKind: lead.followUpKind,
      followUpDue: lead.followUpDue ? lead.followUpDue.toISOString().slice(0, 10) : null,
    };
  }

  async function card(staff: StaffMember, leadId: string, t: T, now: Date, opts: { done?: string; replace?: boolean } = {}): Promise<Outbound | undefined> {
    const found = await intake.leadWithClocks(leadId, now);
    if (!found || !covers(staff, found.lead)) return undefined;
    const next = found.clocks.next;
    await intake.logStaffRead(staff.id, [leadId], 'card', now);
    return leadCard(cardData(found.lead, staff, now, next ? { kind: next.kind, due: next.due } : undefined, await flagsFor(found.lead, staff)), staff, t, opts);
  }

  function refusalText(r: MoveRefusal, t: T): string {
    const key = `desk.refusal.${r.code}`;
    const roles = r.params?.roles as string[] | undefined;
    const params = roles ? { ...r.params, roles: roles.length ? roles.map((x) => t(`desk.role.${x}`)).join('、') : t('desk.nobody') } : (r.params ?? {});
    const text = t(key, params);
    return text === key ? t('desk.refusal.other') : text;
  }

  async function tasks(staff: StaffMember, page: number, t: T, now: Date, replace: boolean): Promise<Outbound> {
    const { rows, total } = await intake.tasks(scopeOf(staff), staff.role, staff.id, page * PAGE, PAGE);
    const today = localDate(now, tz);
    const items = rows.map((r) => ({
      id: r.id,
      receiptNo: r.receipt_no,
      headName: r.head_name,
      place: placeName(r.village_code),
      stage: r.stage,
      kind: r.kind,
      due: r.due,
      daysLeft: r.due ? daysBetween(today, r.due) : null,
    }));
    return tasksPage(items, page, total, PAGE, t, replace);
  }

  /** Who the staff member is to the intake rules: their role at their place. */
  const actorOf = (staff: StaffMember): Actor => ({ role: staff.role, scope: scopeOf(staff), staffId: staff.id, id: `staff:${staff.id}` });

  /**
   * The move or record behind a tapped action, once anything it needs (a reason) is known. Intake checks it
   * against the one role table (server/intake/procedure.ts), as it does for the API.
   */
  async function act(staff: StaffMember, leadId: string, action: DeskAction, extra: { reason?: string; contactStaffId?: string }, t: T, now: Date): Promise<Outbound[]> {
    const found = await intake.leadWithClocks(leadId, now);
    if (!found || !covers(staff, found.lead)) return [{ text: t('desk.refusal.not_found') }];
    const view = cardData(found.lead, staff, now);
    if (!actionsFor(view, staff).includes(action)) return [{ text: t('desk.not_your_step') }, ...(await cardOrNothing(staff, leadId, t, now))];

    const actor = actorOf(staff);
    const move = (m: Move) => intake.moveAs(actor, leadId, m, now);
    const record = (kind: RecordKind, details: RecordDetails = {}) => intake.recordAs(actor, leadId, kind, details, now);
    const today = localDate(now, tz);
    let result: { ok: true } | { ok: false; refusal: MoveRefusal };
    switch (action) {
      case 'contacted':
        result = await move({ to: 'assigned', note: t('desk.note_contacted') });
        break;
      case 'fits':
        result = await move({ to: 'visited', judgement: 'fits' });
        break;
      case 'notfit':
        result = await move({ to: 'visited', judgement: 'does_not_fit', reason: extra.reason });
        break;
      case 'compared':
        result = await move({ to: 'compared' });
        break;
      case 'pub0':
      case 'pub1': {
        const start = action === 'pub0' ? today : addDays(today, 1);
        result = await move({ to: 'publicized', publicityStart: start, publicityEnd: publicityMinimumEnd(start, deployment.procedure, calendar) });
        break;
      }
      case 'reviewed':
        result = await move({ to: 'township_reviewed' });
        break;
      case 'cat_unstable_escaped':
      case 'cat_marginal':
      case 'cat_sudden_hardship':
        result = await move({ to: 'confirmed', category: action.slice(4) as 'marginal' });
        break;
      case 'exclude':
        result = await move({ to: 'not_included', reason: extra.reason });
        break;
      case 'contact':
        if (!extra.contactStaffId) return contactChoices(staff, leadId, t, now);
        result = await record('plan', { contactStaffId: extra.contactStaffId });
        break;
      case 'fu':
        result = await record('follow_up');
        break;
      case 'elim':
        result = await record('risk_eliminated');
        break;
    }
    if (!result.ok) return [{ text: refusalText(result.refusal, t) }, ...(await cardOrNothing(staff, leadId, t, now))];
    logger.info({ lead: leadId, staff: staff.id, action }, 'staff action recorded');
    const done = t('desk.done', { action: t(`desk.action.${action}`) });
    const updated = await card(staff, leadId, t, now, { done, replace: true });
    return updated ? [updated] : [{ text: done }];
  }

  /** "在电脑上打开" and /web: a link that logs them in to the console, valid 10 minutes, once. */
  async function webLink(staff: StaffMember, t: T, now: Date): Promise<Outbound> {
    if (!deps.webLink) return { text: t('desk.web_off') };
    const r = await deps.webLink(staff.id, now);
    if (!r.ok) return { text: t('desk.web_slow_down', { minutes: Math.ceil(r.waitSeconds / 60) }) };
    logger.info({ staff: staff.id }, 'console log-in link sent');
    return { text: t('desk.web_link', { url: r.url, until: r.expiresAt.toLocaleTimeString('zh-CN', { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false }) }) };
  }

  async function cardOrNothing(staff: StaffMember, leadId: string, t: T, now: Date): Promise<Outbound[]> {
    const c = await card(staff, leadId, t, now);
    return c ? [c] : [];
  }

  /** Contact persons of the lead's village to pick from (the village cadre names one after confirmation). */
  async function contactChoices(staff: StaffMember, leadId: string, t: T, now: Date): Promise<Outbound[]> {
    const found = await intake.leadWithClocks(leadId, now);
    if (!found || !covers(staff, found.lead)) return [{ text: t('desk.refusal.not_found') }];
    const people = await accounts.withRole('contact_person', found.lead.villageCode);
    if (people.length === 0) return [{ text: t('desk.no_contact_persons', { village: placeName(found.lead.villageCode) }) }];
    return [
      {
        text: t('desk.pick_contact', { receipt: found.lead.receiptNo }),
        buttons: people.slice(0, 20).map((p, i) => [{ id: ids.pick_contact.encode({ leadId, index: i }), label: p.name ?? t('desk.unnamed', { n: i + 1 }) }]),
      },
    ];
  }

  return {
    placeName,
    member: (channel: string, userId: string) => accounts.byIdentity(channel, userId),
    /** Whether a button is one of the desk's (staff lists, lead cards, their actions, the staff menu). */
    owns: (id: string) => {
      const b = readButton(id);
      return (b.family !== undefined && DESK_FAMILIES.has(b.family)) || (b.family === 'start' && b.what === 'menu');
    },

    /**
     * Handles what is the desk's: `/join` for anyone; for staff the menu, tasks, cards, actions and the reason or
     * note they were asked for. Returns undefined for anything else (the self-report flow takes it).
     */
    async handle(args: { input: Inbound; state: State; who: { channel: string; userId: string; chatId: string }; language: string; caps: Capabilities; now: Date; staff: StaffMember | undefined; hasDraft: boolean }): Promise<Result | undefined> {
      const { input, state, who, now } = args;
      const t = tOf(args.language);
      const reply = (out: Outbound[], next: State = state): Result => ({ state: next, out });

      if (input.kind === 'command' && input.name === 'join') {
        if (!input.arg.trim()) return reply([{ text: t('desk.join_usage') }]);
        if (args.staff) return reply([{ text: t('desk.already_staff', { role: t(`desk.role.${args.staff.role}`), place: placeName(args.staff.placeCode) }) }]);
        const r = await accounts.join({ ...who, language: args.language }, input.arg, now);
        if (!r.ok) {
          if (r.reason === 'slow_down') return reply([{ text: t('desk.join_slow_down', { minutes: Math.ceil(r.waitSeconds / 60) }) }]);
          if (r.reason === 'busy') return reply([{ text: t('desk.join_busy', { seconds: r.waitSeconds }) }]);
          return reply([{ text: t(`desk.join_${r.reason}`) }]);
        }
        logger.info({ staff: r.staff.id, role: r.staff.role }, 'staff joined');
        return reply([{ text: t('desk.joined', { role: t(`desk.role.${r.staff.role}`), place: placeName(r.staff.placeCode) }) }, staffMenu(r.staff, placeName(r.staff.placeCode), t, args.hasDraft)]);
      }
      const staff = args.staff;
      if (!staff) return undefined;
      await accounts.seen(staff.id, who.chatId, args.language);
      const inFlow = state.at !== null;

      // A reason or note asked for after a tap: the next text answers it; a command or tap leaves it.
      if (state.desk) {
        const pending = state.desk;
        const cleared: State = { ...state, desk: undefined };
        if (input.kind === 'text') {
          const text = input.text.trim();
          if (pending.awaiting === 'reason') {
            if (text.length < 2) return reply([{ text: t('desk.reason_too_short') }]);
            return reply(await act(staff, pending.leadId, pending.action as DeskAction, { reason: text.slice(0, 500) }, t, now), cleared);
          }
          const r = await intake.recordAs(actorOf(staff), pending.leadId, 'note', { note: text.slice(0, 1000) }, now);
          return reply([{ text: r.ok ? t('desk.note_saved') : refusalText(r.refusal, t) }], cleared);
        }
        if (input.kind === 'choice' && isSkip(input.id)) return reply([{ text: t(pending.awaiting === 'note' ? 'desk.note_skipped' : 'desk.cancelled_action') }], cleared);
        if (input.kind !== 'choice' && input.kind !== 'command') return reply([{ text: t(pending.awaiting === 'note' ? 'desk.note_prompt' : 'desk.reason_prompt') }]);
        return this.handle({ ...args, state: cleared });
      }

      if (input.kind === 'choice') {
        const b = readButton(input.id);
        if (b.family === 'tasks') return reply([await tasks(staff, b.page, t, now, true)]);
        // a lead id in a button is checked as a UUID before anything reads the database with it
        if (b.family === 'lead') return reply([(isLeadId(b.leadId) && (await card(staff, b.leadId, t, now))) || { text: t('desk.refusal.not_found') }]);
        if (b.family === 'pick_contact') {
          const leadId = b.leadId;
          if (!isLeadId(leadId)) return reply([{ text: t('desk.refusal.not_found') }]);
          const found = await intake.leadWithClocks(leadId, now);
          const person = found && covers(staff, found.lead) ? (await accounts.withRole('contact_person', found.lead.villageCode))[b.index] : undefined;
          if (!person) return reply([{ text: t('desk.refusal.contact_person_unknown') }]);
          return reply(await act(staff, leadId, 'contact', { contactStaffId: person.id }, t, now));
        }
        if (b.family === 'act') {
          const leadId = b.leadId;
          if (!isLeadId(leadId)) return reply([{ text: t('desk.refusal.not_found') }]);
          const a = b.action;
          if (NEEDS_REASON.includes(a)) {
            const found = await intake.leadWithClocks(leadId, now);
            if (!found || !covers(staff, found.lead)) return reply([{ text: t('desk.refusal.not_found') }]);
            if (!actionsFor(cardData(found.lead, staff, now), staff).includes(a)) return reply([{ text: t('desk.not_your_step') }]);
            const prompt = { text: t('desk.reason_prompt_for', { action: t(`desk.action.${a}`), receipt: found.lead.receiptNo }), buttons: [[{ id: ids.desk.encode({ what: 'skip' }), label: t('desk.cancel_action') }]] };
            return reply([prompt], { ...state, desk: { awaiting: 'reason', leadId, action: a } });
          }
          const out = await act(staff, leadId, a, {}, t, now);
          if (a === 'fu' && out[0]?.replace) {
            // one tap recorded it; a note is welcome but not needed
            return reply([...out, { text: t('desk.note_prompt'), buttons: [[{ id: ids.desk.encode({ what: 'skip' }), label: t('desk.no_note') }]] }], { ...state, desk: { awaiting: 'note', leadId, action: a } });
          }
          return reply(out);
        }
        if (b.family === 'desk' && b.what === 'skip') return reply([{ text: t('desk.cancelled_action') }]);
        if (b.family === 'desk' && b.what === 'web') return reply([await webLink(staff, t, now)]);
        if (b.family === 'start' && b.what === 'menu') return reply([staffMenu(staff, placeName(staff.placeCode), t, args.hasDraft)]);
        return undefined;
      }
      if (input.kind === 'command') {
        if (input.name === 'tasks') return reply([await tasks(staff, 0, t, now, false)]);
        if (input.name === 'web') return reply([await webLink(staff, t, now)]);
        if (input.name === 'menu' || input.name === 'start') {
          // a report in progress is kept: the menu offers to go on with it
          const next: State = inFlow ? { ...state, at: null, resumeAt: state.at } : state;
          return reply([staffMenu(staff, placeName(staff.placeCode), t, args.hasDraft)], next);
        }
        if (input.name === 'help' && !inFlow) return reply([{ text: t('desk.help') }]);
        return undefined;
      }
      if (!inFlow && input.kind === 'text') return reply([staffMenu(staff, placeName(staff.placeCode), t, args.hasDraft)]);
      return undefined;
    },

    /** A new lead: its card to the village's cadres (or, with none, up the chain), in the lead's transaction. */
    async noticeNewLead(tx: Tx, leadId: string, now: Date) {
      const lead = await tx.lead.findUniqueOrThrow({ where: { id: leadId }, include: { events: true } });
      for (const [role, place] of escalationChain('village_cadre', lead)) {
        const people = (await accounts.withRole(role, place, tx)).filter((p) => !p.unreachableAt);
        if (people.length === 0) continue;
        for (const p of people) {
          const t = tOf(p.language);
          const message = leadCard(cardData(lead, p, now, undefined, await flagsFor(lead, p, tx)), p, t, { title: t('desk.new_lead_title') });
          await deliveries.enqueue(tx, { key: `new-lead:${leadId}:${p.id}`, channel: p.channel, chatId: p.chatId, staffId: p.id, message }, now);
          await intake.logStaffRead(p.id, [leadId], 'notice', now, tx);
        }
        return;
      }
    },

    /** Reminders of one tick for one person, in their language: one message, or a digest in pages. */
    renderReminders(staff: { language: string }, reminders: Reminder[]): Outbound[] {
      return reminderMessage(reminders, tOf(staff.language), placeName);
    },

    /** A person blocked the bot: marked unreachable (once), and whoever they escalate to is told. */
    async unreachable(staffId: string, now: Date, db: { $transaction: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R> }) {
      const s = await accounts.byId(staffId);
      if (!s || !(await accounts.markUnreachable(staffId, now))) return;
      const targets = await accounts.escalationTargets(s);
      logger.warn({ staff: staffId, role: s.role, told: targets.length }, 'staff member unreachable (blocked the bot)');
      await db.$transaction(async (tx) => {
        for (const p of targets) {
          const t = tOf(p.language);
          const message = { text: t('desk.unreachable', { name: s.name ?? t('desk.unnamed', { n: '' }), role: t(`desk.role.${s.role}`), place: placeName(s.placeCode) }) };
          await deliveries.enqueue(tx, { key: `unreachable:${staffId}:${now.toISOString()}:${p.id}`, channel: p.channel, chatId: p.chatId, staffId: p.id, message }, now);
        }
      });
    },
  };
}

export type Desk = ReturnType<typeof createDesk>;
