import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import type { Logger } from '../log.ts';
import type { Deployment } from '../deployment.ts';
import type { SendOutcome } from './message.ts';
import { isQuiet } from '../quiet-hours.ts';
import { createRounds } from '../rounds.ts';

/**
 * The one outbox: everything a worker sends (events to the county's own system, messages to staff) is a row of
 * `outbox`, written in the transaction that decides it and sent by this worker. Claiming, pacing (per lane and
 * per chat), quiet hours, backoff with jitter, dead letters, an operator's retry and retention are written here
 * once; a lane only says how one row is sent and what its rules are.
 *
 * Replies to households do not wait for a worker: the request that computed them sends them at once, and they
 * are kept with their inbound update until sent (bot/conversation.ts), which its sweeper retries.
 */

type Tx = Prisma.TransactionClient;
export type OutboxKind = 'county' | 'staff';

/** A row to send: `thread` is what must not have two in flight (a chat), or must go in order (a lead's events). */
export type NewRow = { kind: OutboxKind; lane: string; thread: string; key: string; payload: unknown; leadId?: string | null; staffId?: string | null; event?: string | null };

export type ClaimedRow = { id: bigint; thread: string; staffId: string | null; leadId: string | null; key: string; payload: Uint8Array; attempts: number };

/** How one lane sends, and its rules. */
export type Lane = {
  kind: OutboxKind;
  send(row: ClaimedRow): Promise<SendOutcome>;
  maxAttempts(): number;
  /** messages a second, shared by every instance through send_pace; unset: no pace */
  ratePerSecond?: number;
  /** where the platform silently drops what is over: how many one chat may receive a minute and an hour */
  perChat?: { perMinute: number; perHour: number };
  /** a thread's rows go strictly in order: the next only once the one before is sent (a dead one holds it) */
  inOrder?: boolean;
  /** nothing is sent during the deployment's quiet hours */
  quiet?: boolean;
  /** how long a claimed row stays locked: well past the slowest send of a round */
  lockMs: number;
  /** rows claimed per round when there is no pace */
  batch?: number;
  /** sends of one round one after another rather than all at once */
  oneAtATime?: boolean;
  /** told of a row dead-lettered because its recipient cannot be reached */
  onUnreachable?(row: ClaimedRow, now: Date): Promise<void>;
  /** the operator's command named in the dead-letter warning */
  deadHint: string;
};

/** The log line of a worker round that failed (the database away, say), per kind. */
const ROUND_FAILED: Record<OutboxKind, string> = { county: 'forwarding round failed', staff: 'staff delivery round failed' };

const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

/** Backoff before attempt `attempts + 1`: doubling from 30 s up to an hour, with ±50 % jitter. */
export function backoffMs(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + random()));
}

export type Settled = 'sent' | 'failed' | 'dead' | 'paused';

/** What a send's outcome does to its row: a pure decision, shared by every lane. */
export function settlement(outcome: SendOutcome, attempts: number, maxAttempts: number, now: Date, random = Math.random):
  | { state: 'sent'; attempts: number }
  | { state: 'paused'; until: Date }
  | { state: 'dead'; attempts: number }
  | { state: 'failed'; attempts: number; nextAttemptAt: Date } {
  if (outcome.ok) return { state: 'sent', attempts: attempts + 1 };
  // The platform asked everyone to wait: the lane pauses, and this row waits without using an attempt.
  if (outcome.kind === 'retry_after') return { state: 'paused', until: new Date(now.getTime() + outcome.retryAfterS * 1000) };
  const next = attempts + 1;
  if (outcome.kind === 'unreachable' || outcome.kind === 'rejected' || next >= maxAttempts) return { state: 'dead', attempts: next };
  return { state: 'failed', attempts: next, nextAttemptAt: new Date(now.getTime() + backoffMs(next, random)) };
}

export function createOutbox(deps: { db: Database; crypto: Crypto; deployment: Deployment; logger: Logger }) {
  const { db, crypto, deployment, logger } = deps;
  const lanes = new Map<string, Lane>();

  /** Written inside the caller's transaction; a key already used inserts nothing (a row is made once). */
  async function enqueue(tx: Tx, rows: NewRow[], now = new Date()): Promise<number> {
    let n = 0;
    for (let i = 0; i < rows.length; i += 2000) {
      const part = rows.slice(i, i + 2000);
      n += await tx.$executeRaw`
        INSERT INTO outbox (kind, lane, thread, key, lead_id, staff_id, event, payload, next_attempt_at, created_at)
        SELECT k, l, th, ky, NULLIF(ld, '')::uuid, NULLIF(s, '')::uuid, NULLIF(e, ''), decode(p, 'base64'), ${now}, ${now}
        FROM unnest(${part.map((r) => r.kind)}::text[], ${part.map((r) => r.lane)}::text[], ${part.map((r) => r.thread)}::text[], ${part.map((r) => r.key)}::text[],
                    ${part.map((r) => r.leadId ?? '')}::text[], ${part.map((r) => r.staffId ?? '')}::text[], ${part.map((r) => r.event ?? '')}::text[],
                    ${part.map((r) => Buffer.from(crypto.encryptJson(r.payload)).toString('base64'))}::text[]) AS x(k, l, th, ky, ld, s, e, p)
        ON CONFLICT (key) DO NOTHING`;
    }
    return n;
  }

  /** Claims what the lane may send now: one row per thread, none for a thread with one in flight, within the pace. */
  async function claim(name: string, lane: Lane, now: Date): Promise<ClaimedRow[]> {
    return db.prisma.$transaction(async (tx) => {
      let budget = lane.batch ?? 20;
      let pace: { windowStart: Date; used: number } | undefined;
      if (lane.ratePerSecond !== undefined) {
        await tx.$executeRaw`INSERT INTO send_pace (channel, window_start, used) VALUES (${name}, ${now}, 0) ON CONFLICT (channel) DO NOTHING`;
        const p = (await tx.$queryRaw<Array<{ window_start: Date; used: number; paused_until: Date | null }>>`
          SELECT window_start, used, paused_until FROM send_pace WHERE channel = ${name} FOR UPDATE`)[0]!;
        if (p.paused_until && p.paused_until > now) return [];
        const fresh = now.getTime() - p.window_start.getTime() >= 1000 || now < p.window_start;
        pace = { windowStart: fresh ? now : p.window_start, used: fresh ? 0 : p.used };
        budget = lane.ratePerSecond - pace.used;
        if (budget <= 0) return [];
      }
      const candidates = await tx.$queryRaw<Array<{ id: bigint; thread: string; staff_id: string | null; lead_id: string | null; key: string; payload: Uint8Array; attempts: number }>>`
        SELECT o.id, o.thread, o.staff_id::text AS staff_id, o.lead_id::text AS lead_id, o.key, o.payload, o.attempts FROM outbox o
        WHERE o.lane = ${name} AND o.state IN ('pending', 'failed') AND o.next_attempt_at <= ${now}
          AND (o.locked_until IS NULL OR o.locked_until < ${now})
          -- a thread offers its oldest due row only, so one chat with a backlog cannot fill the batch and starve the
          -- others; in order (a lead's events), any older row not sent holds the rest, a dead one or one waiting too
          AND NOT EXISTS (
            SELECT 1 FROM outbox e WHERE e.lane = o.lane AND e.thread = o.thread AND e.id < o.id
              AND CASE WHEN ${lane.inOrder === true} THEN e.state IN ('pending', 'failed', 'dead')
                       ELSE e.state IN ('pending', 'failed') AND e.next_attempt_at <= ${now} END)
        ORDER BY o.id LIMIT ${budget * 4} FOR UPDATE SKIP LOCKED`;
      if (candidates.length === 0) return [];
      const threads = [...new Set(candidates.map((c) => c.thread))];
      const busy = await tx.$queryRaw<Array<{ thread: string }>>`
        SELECT DISTINCT thread FROM outbox WHERE lane = ${name} AND thread = ANY(${threads}) AND locked_until >= ${now} AND state IN ('pending', 'failed')`;
      const taken = new Set(busy.map((b) => b.thread));
      if (lane.perChat) {
        // a chat that has had its minute's or hour's worth waits (the platform would drop the rest unseen)
        const full = await tx.$queryRaw<Array<{ thread: string }>>`
          SELECT thread FROM outbox WHERE lane = ${name} AND thread = ANY(${threads}) AND state = 'sent' AND sent_at > ${new Date(now.getTime() - 3_600_000)}
          GROUP BY thread
          HAVING count(*) >= ${lane.perChat.perHour} OR count(*) FILTER (WHERE sent_at > ${new Date(now.getTime() - 60_000)}) >= ${lane.perChat.perMinute}`;
        for (const f of full) taken.add(f.thread);
      }
      const chosen: ClaimedRow[] = [];
      for (const c of candidates) {
        if (chosen.length >= budget) break;
        if (taken.has(c.thread)) continue;
        taken.add(c.thread);
        chosen.push({ id: c.id, thread: c.thread, staffId: c.staff_id, leadId: c.lead_id, key: c.key, payload: c.payload, attempts: c.attempts });
      }
      if (chosen.length === 0) return [];
      await tx.$executeRaw`UPDATE outbox SET locked_until = ${new Date(now.getTime() + lane.lockMs)} WHERE id = ANY(${chosen.map((c) => c.id)})`;
      if (pace) await tx.$executeRaw`UPDATE send_pace SET window_start = ${pace.windowStart}, used = ${pace.used + chosen.length} WHERE channel = ${name}`;
      return chosen;
    });
  }

  async function settle(name: string, lane: Lane, row: ClaimedRow, outcome: SendOutcome, now: Date): Promise<Settled> {
    const s = settlement(outcome, row.attempts, lane.maxAttempts(), now);
    const error = outcome.ok ? null : outcome.error.slice(0, 500);
    switch (s.state) {
      case 'sent':
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'sent', sentAt: now, attempts: s.attempts, lockedUntil: null, lastError: null } });
        break;
      case 'paused':
        await db.prisma.sendPace.upsert({ where: { channel: name }, create: { channel: name, windowStart: now, pausedUntil: s.until }, update: { pausedUntil: s.until } });
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'failed', nextAttemptAt: s.until, lockedUntil: null, lastError: error } });
        logger.warn({ lane: name, retryAfterS: (outcome as { retryAfterS: number }).retryAfterS }, 'platform asked to slow down: sending paused');
        break;
      case 'dead':
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'dead', attempts: s.attempts, lockedUntil: null, lastError: error } });
        logger.warn({ outbox: String(row.id), lane: name, attempts: s.attempts, reason: outcome.ok ? undefined : outcome.kind }, `${lane.kind === 'county' ? 'forwarding' : 'staff message'} dead-lettered: see \`${lane.deadHint}\``);
        if (!outcome.ok && outcome.kind === 'unreachable') await lane.onUnreachable?.(row, now);
        break;
      case 'failed':
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'failed', attempts: s.attempts, lockedUntil: null, lastError: error, nextAttemptAt: s.nextAttemptAt } });
        break;
    }
    return s.state;
  }

  async function sendOne(name: string, lane: Lane, row: ClaimedRow, now: Date): Promise<Settled> {
    let outcome: SendOutcome;
    try {
      outcome = await lane.send(row);
    } catch (e) {
      outcome = { ok: false, kind: 'error', error: `${(e as Error).name}: ${(e as Error).message}` };
    }
    return settle(name, lane, row, outcome, now);
  }

  /**
   * Sends what is due in the lanes of one kind. A lane is claimed again while a round found work (a lead's next
   * event becomes claimable once the one before it is sent), up to `maxRounds`; a paced lane stops at its budget.
   */
  async function deliverDue(kind: OutboxKind, now = new Date(), maxRounds = 10) {
    const counts: Record<Settled, number> = { sent: 0, failed: 0, dead: 0, paused: 0 };
    const started = Date.now();
    for (const [name, lane] of lanes) {
      if (lane.kind !== kind) continue;
      if (lane.quiet && isQuiet(now, deployment.reminders.quietHours, deployment.timezone)) continue;
      for (let round = 0; round < maxRounds; round++) {
        // Each round claims at the time it starts, so a long round does not claim rows whose locks have lapsed. The
        // first claims at `now` exactly: a millisecond ticking between two clock reads must not make due a row
        // that is due 1 ms later.
        const at = round === 0 ? now : new Date(now.getTime() + (Date.now() - started));
        const rows = await claim(name, lane, at);
        if (rows.length === 0) break;
        if (lane.oneAtATime) for (const row of rows.sort((x, y) => Number(x.id - y.id))) counts[await sendOne(name, lane, row, at)]++;
        else for (const s of await Promise.all(rows.map((row) => sendOne(name, lane, row, at)))) counts[s]++;
        if (lane.ratePerSecond !== undefined) break; // the next second's budget is the next round's
      }
    }
    return counts;
  }

  const workers = new Map<OutboxKind, ReturnType<typeof createRounds>>();

  return {
    enqueue,
    deliverDue,
    /** A lane sends rows of its name; registering a name again replaces its sender. */
    register(name: string, lane: Lane) {
      lanes.set(name, lane);
    },
    /** Runs the lanes of `kind` every `intervalMs` until stop(); one round at a time. */
    start(kind: OutboxKind, intervalMs: number, clock: () => Date = () => new Date()) {
      let w = workers.get(kind);
      if (!w) workers.set(kind, (w = createRounds(() => deliverDue(kind, clock()), logger, ROUND_FAILED[kind])));
      w.start(intervalMs);
    },
    async stop(kind?: OutboxKind) {
      for (const [k, w] of workers) if (!kind || k === kind) await w.stop();
    },
    /** Rows of one kind by state, oldest first, at most 500; `staffIds`/`leadIds` narrow them to one county's. */
    async list(kind: OutboxKind, state?: string, opts: { staffIds?: string[]; leadIds?: string[]; id?: bigint } = {}) {
      return db.prisma.outbox.findMany({
        where: {
          kind,
          ...(state ? { state } : {}),
          ...(opts.staffIds ? { staffId: { in: opts.staffIds } } : {}),
          ...(opts.leadIds ? { leadId: { in: opts.leadIds } } : {}),
          ...(opts.id !== undefined ? { id: opts.id } : {}),
        },
        orderBy: { id: 'asc' },
        take: 500,
        select: { id: true, key: true, lane: true, leadId: true, staffId: true, event: true, state: true, attempts: true, nextAttemptAt: true, lastError: true, createdAt: true, sentAt: true },
      });
    },
    /** An operator sends a failed or dead row of this kind again now. */
    async retry(kind: OutboxKind, id: bigint, now = new Date()): Promise<boolean> {
      const r = await db.prisma.outbox.updateMany({ where: { id, kind, state: { in: ['dead', 'failed'] } }, data: { state: 'pending', nextAttemptAt: now, lockedUntil: null } });
      return r.count === 1;
    },
    /**
     * Rows hold names, phone and ID numbers: sent and dead rows are deleted `retention.outboxDays` (30) days after
     * they were made, except a county event that died: it holds its lead's later events until an operator sends it.
     */
    async purge(now = new Date()): Promise<number> {
      const before = new Date(now.getTime() - deployment.retention.outboxDays * 86_400_000);
      return db.prisma.$executeRaw`
        DELETE FROM outbox o WHERE o.state IN ('sent', 'dead') AND o.created_at < ${before}
          AND NOT (o.kind = 'county' AND o.state = 'dead')`;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
