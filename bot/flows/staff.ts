import type { Button, Outbound } from '../engine/types.ts';
import { actingRole, canMove, mayAct, type Act, type Stage } from '../../server/intake/procedure.ts';
import type { StaffRole } from '../../server/deployment.ts';
import { buttons as ids } from '../buttons.ts';

/**
 * What staff see and can tap (the staff commands of ARCHITECTURE's flows/): the lead card with the next moves
 * their role may make, the task list, reminder messages. Pure: words come from the `t` passed in (locales,
 * `bot:desk.*` and `bot:reminders.*`), data from the caller. No messenger types.
 */

export type T = (key: string, params?: Record<string, unknown>) => string;

export type CardLead = {
  id: string;
  receiptNo: string;
  place: string;
  headName: string;
  /** shown to village staff only */
  phone?: string | undefined;
  /** a proxy's own phone, shown to village staff only */
  reporterPhone?: string | undefined;
  householdSize: unknown;
  /** the details the household has not added yet (asked after the receipt) */
  missing?: readonly string[];
  risks: string[];
  category: string;
  flags: string[];
  stage: Stage;
  judgement?: unknown;
  deadline?: { kind: string; due: string; daysLeft: number } | undefined;
  contactStaffId: string | null;
  followUpKind: string | null;
  followUpDue: string | null;
};

export const ACTIONS = [
  'contacted',
  'fits',
  'notfit',
  'compared',
  'pub0',
  'pub1',
  'reviewed',
  'cat_unstable_escaped',
  'cat_marginal',
  'cat_sudden_hardship',
  'exclude',
  'contact',
  'fu',
  'elim',
] as const;
export type DeskAction = (typeof ACTIONS)[number];

/** Actions that need a sentence typed after the tap (the reason is recorded with the move). */
export const NEEDS_REASON: readonly DeskAction[] = ['notfit', 'exclude'];

/** Each desk action is one move or record of the procedure: who may tap it comes from its role table. */
export const DESK_ACTS: Record<DeskAction, Act> = {
  contacted: { move: 'assigned' },
  fits: { move: 'visited' },
  notfit: { move: 'visited' },
  compared: { move: 'compared' },
  pub0: { move: 'publicized' },
  pub1: { move: 'publicized' },
  reviewed: { move: 'township_reviewed' },
  cat_unstable_escaped: { move: 'confirmed' },
  cat_marginal: { move: 'confirmed' },
  cat_sudden_hardship: { move: 'confirmed' },
  exclude: { move: 'not_included' },
  contact: { record: 'plan' },
  fu: { record: 'follow_up' },
  elim: { record: 'risk_eliminated' },
};

/** Whether the procedure itself allows the action now, whoever asks (the lead's stage and what was recorded). */
function possibleNow(a: DeskAction, lead: Pick<CardLead, 'stage' | 'judgement' | 'contactStaffId' | 'followUpKind'>): boolean {
  const act = DESK_ACTS[a];
  if ('move' in act) return canMove(lead.stage, act.move) && !(act.move === 'compared' && lead.judgement === 'does_not_fit');
  if (lead.stage !== 'confirmed') return false;
  if (a === 'contact') return !lead.contactStaffId; // named once from the desk (the API may record a new plan)
  if (a === 'fu') return Boolean(lead.contactStaffId && lead.followUpKind);
  return lead.followUpKind === 'follow_up'; // elim
}

/** The actions a staff member may tap on a lead at its stage: the procedure allows them and the role table gives them to their role. */
export function actionsFor(lead: Pick<CardLead, 'stage' | 'judgement' | 'contactStaffId' | 'followUpKind'>, staff: { id: string; role: StaffRole }): DeskAction[] {
  const facts = { stage: lead.stage, judgement: lead.judgement, contactStaffId: lead.contactStaffId };
  return ACTIONS.filter((a) => possibleNow(a, lead) && !mayAct({ role: staff.role, staffId: staff.id }, DESK_ACTS[a], facts));
}

function deadlineLine(d: NonNullable<CardLead['deadline']>, t: T): string {
  const when = d.daysLeft > 0 ? t('desk.days_left', { count: d.daysLeft }) : d.daysLeft === 0 ? t('desk.due_today') : t('desk.days_overdue', { count: -d.daysLeft });
  return t('desk.deadline_line', { kind: t(`desk.deadline.${d.kind}`), due: d.due, when });
}

/** The lead as a staff member sees it, with buttons for the moves they may make. */
export function leadCard(lead: CardLead, staff: { id: string; role: StaffRole }, t: T, opts: { title?: string; done?: string; replace?: boolean } = {}): Outbound {
  const lines = [
    ...(opts.done ? [opts.done, ''] : []),
    `${opts.title ?? t('desk.card_title')} ${lead.receiptNo}`,
    t(typeof lead.householdSize === 'number' ? 'desk.card_who' : 'desk.card_who_no_size', { place: lead.place, name: lead.headName, size: lead.householdSize }),
    ...(lead.phone ? [t('desk.card_phone', { phone: lead.phone })] : []),
    ...(lead.reporterPhone ? [t('desk.card_reporter_phone', { phone: lead.reporterPhone })] : []),
    ...(lead.missing?.length ? [t('desk.card_missing', { parts: lead.missing.map((m) => t(`missing.${m}`)).join(t('missing_separator')) })] : []),
    ...(lead.risks.length ? [t('desk.card_risks', { risks: lead.risks.map((r) => t(`desk.risk.${r}`)).join('、') })] : []),
    t('desk.card_category', { category: t(`desk.category.${lead.category}`) }),
    ...(lead.flags.length ? [t('desk.card_flags', { flags: lead.flags.map((f) => t(`desk.flag.${f.startsWith('exclusion_') ? 'exclusion' : f}`, { what: t(`options.exclusions.${f.slice(10)}`) })).join('；') })] : []),
    t('desk.card_stage', { stage: t(`desk.stage.${lead.stage}`) }),
    ...(lead.deadline ? [deadlineLine(lead.deadline, t)] : []),
    ...(lead.followUpDue ? [t(`desk.card_follow_up.${lead.followUpKind ?? 'follow_up'}`, { due: lead.followUpDue })] : []),
  ];
  const actions = actionsFor(lead, staff);
  const buttons: Button[][] = [];
  // two to a row, the categories to confirm on rows of their own
  const isCategory = (a: DeskAction) => a.startsWith('cat_');
  for (const [i, a] of actions.entries()) {
    const b = { id: ids.act.encode({ leadId: lead.id, action: a }), label: t(`desk.action.${a}`) };
    const last = buttons[buttons.length - 1];
    if (last && last.length < 2 && isCategory(a) === isCategory(actions[i - 1]!)) last.push(b);
    else buttons.push([b]);
  }
  if (actions.length === 0) lines.push(t(actingRole(lead.stage, lead.judgement) ? 'desk.waiting_for_others' : 'desk.nothing_to_do'));
  return { text: lines.join('\n'), ...(buttons.length ? { buttons } : {}), ...(opts.replace ? { replace: true } : {}) };
}

export type TaskItem = { id: string; receiptNo: string; headName: string; place: string; stage: string; kind: string | null; due: string | null; daysLeft: number | null };

/** `/tasks`: one page of open items ordered by deadline, each a button to its card. */
export function tasksPage(items: TaskItem[], page: number, total: number, pageSize: number, t: T, replace = false): Outbound {
  if (total === 0) return { text: t('desk.tasks_none') };
  const pages = Math.ceil(total / pageSize);
  const lines = items.map((it, i) => {
    const when = it.daysLeft === null ? '' : it.daysLeft > 0 ? t('desk.days_left', { count: it.daysLeft }) : it.daysLeft === 0 ? t('desk.due_today') : t('desk.days_overdue', { count: -it.daysLeft });
    return t('desk.task_line', { n: page * pageSize + i + 1, receipt: it.receiptNo, name: it.headName, place: it.place, stage: t(`desk.stage.${it.stage}`), kind: it.kind ? t(`desk.deadline.${it.kind}`) : '', due: it.due ?? '', when });
  });
  const buttons: Button[][] = items.map((it, i) => [{ id: ids.lead.encode({ leadId: it.id }), label: t('desk.open_item', { n: page * pageSize + i + 1, receipt: it.receiptNo }) }]);
  const nav: Button[] = [];
  if (page > 0) nav.push({ id: ids.tasks.encode({ page: page - 1 }), label: t('desk.prev_page') });
  if (page + 1 < pages) nav.push({ id: ids.tasks.encode({ page: page + 1 }), label: t('desk.next_page') });
  if (nav.length) buttons.push(nav);
  return { text: `${t('desk.tasks_title', { total, page: page + 1, pages })}\n\n${lines.join('\n')}`, buttons, ...(replace ? { replace: true } : {}) };
}

/** The staff menu shown instead of the self-report welcome. */
export function staffMenu(staff: { role: StaffRole; name: string | null }, place: string, t: T, hasDraft: boolean): Outbound {
  const buttons: Button[][] = [[{ id: ids.tasks.encode({ page: 0 }), label: t('desk.menu_tasks') }], [{ id: ids.start.encode({ what: hasDraft ? 'resume' : 'new' }), label: t(hasDraft ? 'desk.menu_resume_report' : 'desk.menu_report') }]];
  buttons.push([{ id: ids.desk.encode({ what: 'web' }), label: t('desk.menu_web') }]);
  buttons.push([{ id: ids.start.encode({ what: 'language' }), label: t('welcome.other_language') }]);
  return { text: t('desk.menu', { role: t(`desk.role.${staff.role}`), place, name: staff.name ?? '' }), buttons };
}

export type ReminderItem = { kind: string; textKey: string; leadId?: string | undefined; params: Record<string, string | number> };

/**
 * A digest page's text stays within this many UTF-8 bytes: one WeCom text message (2,048 bytes) and well within
 * Telegram's 4,096 characters, so no channel has to cut it.
 */
const DIGEST_PAGE_BYTES = 1800;
/** Lead buttons on a digest page: with "my tasks" that is 6, as many as a WeCom card holds. */
const DIGEST_PAGE_LEADS = 5;

/**
 * A tick's reminders for one person: the one reminder with its card button, or a digest of several, numbered,
 * in as many messages (pages) as it takes to stay within every channel's limits: nothing is left out. Each page
 * has buttons for its first few leads and "my tasks".
 */
export function reminderMessage(items: ReminderItem[], t: T, place: (code: string) => string): Outbound[] {
  const line = (r: ReminderItem) => t(r.textKey, { ...r.params, village: r.params.village ? place(String(r.params.village)) : '', count: r.params.days });
  if (items.length === 0) return [];
  if (items.length === 1) {
    const r = items[0]!;
    return [{ text: line(r), ...(r.leadId ? { buttons: [[{ id: ids.lead.encode({ leadId: r.leadId }), label: t('desk.open_item', { n: 1, receipt: r.params.receipt }) }]] } : {}) }];
  }
  const count = items.length;
  const lines = items.map((r, i) => `${i + 1}. ${line(r)}`);
  const heading = (page: number, pages: number) => (pages === 1 ? t('reminders.digest', { count }) : t('reminders.digest_page', { count, page, pages }));
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  // the widest heading (page numbers as wide as the count) leaves this much room for the lines of a page
  const room = DIGEST_PAGE_BYTES - Math.max(bytes(heading(1, 1)), bytes(heading(count, count))) - 2;
  const pages: number[][] = [[]];
  let used = 0;
  lines.forEach((l, i) => {
    const size = bytes(l) + 1;
    if (pages.at(-1)!.length > 0 && used + size > room) {
      pages.push([]);
      used = 0;
    }
    pages.at(-1)!.push(i);
    used += size;
  });
  return pages.map((page, p) => {
    const buttons: Button[][] = page
      .filter((i) => items[i]!.leadId)
      .slice(0, DIGEST_PAGE_LEADS)
      .map((i) => [{ id: ids.lead.encode({ leadId: items[i]!.leadId! }), label: t('desk.open_item', { n: i + 1, receipt: items[i]!.params.receipt }) }]);
    buttons.push([{ id: ids.tasks.encode({ page: 0 }), label: t('desk.menu_tasks') }]);
    return { text: `${heading(p + 1, pages.length)}\n\n${page.map((i) => lines[i]).join('\n')}`, buttons };
  });
}
