import cron from 'node-cron';
import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Deployment, StaffRole } from '../deployment.ts';
import type { Logger } from '../log.ts';
import type { Outbound } from '../outbox/message.ts';
import type { Deliveries, NewDelivery } from '../staff/deliveries.ts';
import { deadlinesDue, followUpsDue, openCounts } from '../intake/due.ts';
import { activeStaff } from '../staff/accounts.ts';
import { localDate } from '../time.ts';
import { createCalendar } from '../calendar.ts';
import { campaignDay, horizon, planner, quiet, type PlanStaff, type Reminder } from './planner.ts';
import { actingRole } from '../intake/procedure.ts';
import { placeFor } from '../places/scope.ts';
import { errorFields } from '../errors.ts';

/**
 * The jobs cron triggers: `tick(now)` asks intake for only what can be due (leads whose next deadline is within the nudge
 * horizon, follow-ups due, staff), page by page, asks the pure planner what is due, stores each reminder once by
 * its key and, in the same transaction, writes each person's message (a digest, in pages when it is long, when
 * several fell due, as after downtime) to the staff outbox. Only the reminders stored new in this tick are kept
 * until the messages are written; a page of leads is let go once planned. One tick at a time across all
 * instances: a transaction-scoped PostgreSQL advisory lock.
 */

type Tx = Prisma.TransactionClient;
type Db = Tx | Database['prisma'];
type StaffRow = PlanStaff & { channel: string; chatId: string; language: string };

/** The advisory lock key of the tick (any constant shared by every instance). */
const TICK_LOCK = 7_305_925_001;
const CHUNK = 5000;
/** Leads (and follow-ups) read and planned at a time. */
const PAGE = 2000;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** A person's reminders of one tick as the messages to send them: one, or the pages of a long digest. */
export type Render = (staff: { id: string; role: StaffRole; placeCode: string; language: string }, reminders: Reminder[]) => Outbound | Outbound[];


export function createScheduler(deps: { db: Database; deployment: Deployment; deliveries: Deliveries; logger: Logger; render: Render }) {
  const { db, deployment, deliveries, logger } = deps;
  const calendar = createCalendar(deployment.calendar);
  let job: ReturnType<typeof cron.schedule> | undefined;
  let running: Promise<unknown> | undefined;

  /** The staff, the planner for `now`, and the days that bound what is read. */
  async function context(tx: Db, now: Date) {
    const today = localDate(now, deployment.timezone);
    const until = horizon(today, deployment.reminders, calendar);
    const staff = new Map<string, StaffRow>();
    for (const r of await activeStaff(tx)) staff.set(r.id, r);
    const base = { now, timezone: deployment.timezone, rules: deployment.reminders, procedure: deployment.procedure, campaigns: deployment.campaigns, calendar, staff: [...staff.values()] };
    const openItemsNow = campaignDay(base) ? await openItems(tx, staff, today) : undefined;
    return { today, until, staff, plan: planner({ ...base, ...(openItemsNow ? { openItems: openItemsNow } : {}) }) };
  }

  /**
   * Every reminder due at `now`, page by page: each page of leads (ordered by deadline and id, read after the
   * last one of the page before) and of follow-ups is planned and handed to `each`, then let go.
   */
  async function planPages(tx: Db, ctx: Awaited<ReturnType<typeof context>>, each: (reminders: Reminder[]) => Promise<void>) {
    const until = new Date(`${ctx.until}T00:00:00Z`);
    // keyset paging from before the first row (no deadline is earlier, no id smaller)
    for (let after = { due: '0001-01-01', id: ZERO_UUID }; ; ) {
      const rows = await deadlinesDue(tx, ctx.until, after, PAGE);
      if (rows.length === 0) break;
      await each(ctx.plan.leads(rows));
      if (rows.length < PAGE) break;
      after = { due: rows.at(-1)!.deadlineDue, id: rows.at(-1)!.id };
    }
    for (let after = ZERO_UUID; ; ) {
      const rows = await followUpsDue(tx, ctx.today, after, PAGE);
      if (rows.length === 0) break;
      await each(ctx.plan.followUps(rows));
      if (rows.length < PAGE) break;
      after = rows.at(-1)!.id;
    }
    await each(ctx.plan.campaigns());
  }

  /** Open items per person for campaign countdowns: leads of their place waiting for their role; follow-ups due. */
  async function openItems(tx: Db, staff: Map<string, StaffRow>, today: string): Promise<Map<string, number>> {
    const open = await openCounts(tx, today);
    const counts = new Map<string, number>();
    const add = (k: string, n: number) => counts.set(k, (counts.get(k) ?? 0) + n);
    for (const r of open.byPlace) {
      const role = actingRole(r.stage);
      if (role) add(`${role}:${placeFor(role, r)}`, r.n);
    }
    const out = new Map<string, number>();
    for (const s of staff.values()) out.set(s.id, s.role === 'contact_person' ? 0 : (counts.get(`${s.role}:${s.placeCode}`) ?? 0));
    for (const f of open.followUps) out.set(f.staffId, f.n);
    return out;
  }

  /** Inserts the reminders not stored yet; returns those (the ones to send now). */
  async function insertNew(tx: Tx, reminders: Reminder[], now: Date): Promise<Reminder[]> {
    const fresh = new Set<string>();
    for (let i = 0; i < reminders.length; i += CHUNK) {
      const part = reminders.slice(i, i + CHUNK);
      const rows = await tx.$queryRaw<Array<{ key: string }>>`
        INSERT INTO reminder (key, kind, staff_id, lead_id, campaign, due_on, created_at)
        SELECT k, kd, s::uuid, NULLIF(l, '')::uuid, NULLIF(c, ''), d::date, ${now}
        FROM unnest(${part.map((r) => r.key)}::text[], ${part.map((r) => r.kind)}::text[], ${part.map((r) => r.staffId)}::text[],
                    ${part.map((r) => r.leadId ?? '')}::text[], ${part.map((r) => r.campaign ?? '')}::text[], ${part.map((r) => r.dueOn)}::text[]) AS x(k, kd, s, l, c, d)
        ON CONFLICT (key) DO NOTHING RETURNING key`;
      for (const r of rows) fresh.add(r.key);
    }
    return reminders.filter((r) => fresh.has(r.key));
  }

  /** Renders and writes the messages a chunk of people at a time; each page of a person's digest is a message. */
  async function enqueueMessages(tx: Tx, byStaff: Map<string, Reminder[]>, staff: Map<string, StaffRow>, now: Date): Promise<{ messages: number; sent: number }> {
    let messages = 0;
    let sent = 0;
    let chunk: NewDelivery[] = [];
    const flush = async () => {
      await deliveries.enqueueMany(tx, chunk, now);
      chunk = [];
    };
    for (const [id, list] of byStaff) {
      const s = staff.get(id);
      if (!s) continue;
      // the outbox sends one message per chat at a time, oldest first: the pages arrive in order
      for (const [i, message] of [deps.render(s, list)].flat().entries()) {
        chunk.push({ key: `reminders:${id}:${now.toISOString()}${i === 0 ? '' : `:${i + 1}`}`, channel: s.channel, chatId: s.chatId, staffId: id, message });
        messages++;
      }
      sent += list.length;
      byStaff.delete(id); // let each person's reminders go once written
      if (chunk.length >= 500) await flush();
    }
    if (chunk.length) await flush();
    return { messages, sent };
  }

  /**
   * One tick. Returns ran=false when another instance holds the tick (or during quiet hours nothing is planned).
   * Running it twice for the same `now` sends nothing twice: the second finds every key stored.
   */
  async function tick(now = new Date()): Promise<{ ran: boolean; planned: number; due: number; messages: number; sent: number }> {
    if (quiet({ now, timezone: deployment.timezone, rules: deployment.reminders })) return { ran: true, planned: 0, due: 0, messages: 0, sent: 0 };
    return db.prisma.$transaction(
      async (tx) => {
        const lock = await tx.$queryRaw<Array<{ ok: boolean }>>`SELECT pg_try_advisory_xact_lock(${TICK_LOCK}::bigint) AS ok`;
        if (!lock[0]?.ok) return { ran: false, planned: 0, due: 0, messages: 0, sent: 0 };
        const ctx = await context(tx, now);
        let planned = 0;
        let due = 0;
        // only the reminders stored new in this tick are kept, by person, until their messages are written
        const byStaff = new Map<string, Reminder[]>();
        await planPages(tx, ctx, async (reminders) => {
          planned += reminders.length;
          for (const r of await insertNew(tx, reminders, now)) {
            due++;
            let list = byStaff.get(r.staffId);
            if (!list) byStaff.set(r.staffId, (list = []));
            list.push(r);
          }
        });
        // sent: reminders written into messages to staff (each reminder's recipient is an active staff member)
        const { messages, sent } = await enqueueMessages(tx, byStaff, ctx.staff, now);
        return { ran: true, planned, due, messages, sent };
      },
      { timeout: 10 * 60_000, maxWait: 30_000 },
    );
  }

  return {
    tick,
    /** Reminder keys are needed while a reminder could be planned again (its day, or a week of repeats): kept 180 days. */
    async purge(now = new Date()): Promise<number> {
      const r = await db.prisma.reminder.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - deployment.retention.reminderKeyDays * 86_400_000) } } });
      return r.count;
    },
    /** What a tick at `at` would send, without storing or sending anything. */
    async preview(at: Date) {
      if (quiet({ now: at, timezone: deployment.timezone, rules: deployment.reminders })) return [];
      const ctx = await context(db.prisma, at);
      const out: Array<{ to: { staff: string; role: StaffRole; place: string; channel: string }; kind: string; lead: string | null; campaign: string | null; dueOn: string; textKey: string }> = [];
      await planPages(db.prisma, ctx, async (planned) => {
        for (let i = 0; i < planned.length; i += CHUNK) {
          const part = planned.slice(i, i + CHUNK);
          const rows = await db.prisma.$queryRaw<Array<{ key: string }>>`SELECT key FROM reminder WHERE key = ANY(${part.map((r) => r.key)}::text[])`;
          const stored = new Set(rows.map((r) => r.key));
          for (const r of part) {
            if (stored.has(r.key)) continue;
            const s = ctx.staff.get(r.staffId)!;
            out.push({ to: { staff: r.staffId, role: s.role, place: s.placeCode, channel: s.channel }, kind: r.kind, lead: r.leadId ?? null, campaign: r.campaign ?? null, dueOn: r.dueOn, textKey: r.textKey });
          }
        }
      });
      return out;
    },
    /** node-cron calls tick(now) on the configured schedule; a tick still running makes the next one skip. */
    start(expression: string, clock: () => Date = () => new Date()) {
      job = cron.schedule(
        expression,
        () => {
          if (running) return;
          running = tick(clock())
            .then((r) => r.due > 0 && logger.info({ reminders: r.due, messages: r.messages }, 'reminders due'))
            .catch((e: unknown) => logger.error({ err: errorFields(e) }, 'reminder tick failed'))
            .finally(() => (running = undefined));
        },
        { timezone: deployment.timezone },
      );
    },
    async stop() {
      await job?.stop();
      await running;
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
