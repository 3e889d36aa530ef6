import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import type { Logger } from '../log.ts';
import type { Deployment } from '../deployment.ts';
import type { Outbound, SendOutcome } from '../outbox/message.ts';

export type { SendOutcome };
import { backoffMs } from '../intake/outbox.ts';
import { isQuiet } from '../reminders/quiet.ts';
import { createRounds } from '../rounds.ts';

/**
 * Messages to staff (new-lead notices, reminders, "unreachable" notices) go through this outbox: written in the
 * transaction that decides them, then sent by a paced worker. Each channel has a per-second budget kept in the
 * database (so several instances share it), one message per chat at a time, a pause when the platform answers
 * 429 with retry_after, backoff on other errors, a dead-letter state, and nothing at all during quiet hours.
 */

type Tx = Prisma.TransactionClient;

/**
 * A channel's way of sending one message to a chat, how many messages a second it may send, and (where the
 * platform silently drops what is over) how many one chat may receive a minute and an hour.
 */
export type Sender = { ratePerSecond: number; perChat?: { perMinute: number; perHour: number }; send(chatId: string, message: Outbound): Promise<SendOutcome> };

export type NewDelivery = { key: string; channel: string; chatId: string; staffId: string | null; message: Outbound };

/** A row claimed before sending stays locked this long: well past the slowest send. */
const LOCK_MS = 2 * 60_000;

export function createDeliveries(deps: {
  db: Database;
  crypto: Crypto;
  deployment: Deployment;
  logger: Logger;
  maxAttempts: number;
  /** told once per delivery that failed because the recipient blocked the bot */
  onUnreachable?: (staffId: string, now: Date) => Promise<void>;
}) {
  const { db, crypto, deployment, logger } = deps;
  const senders = new Map<string, Sender>();
  let rounds: ReturnType<typeof createRounds> | undefined;

  /** Written inside the caller's transaction; a key already used inserts nothing (a delivery is made once). */
  async function enqueue(tx: Tx, d: NewDelivery, now = new Date()): Promise<boolean> {
    const payload = crypto.encryptJson(d.message);
    const n = await tx.$executeRaw`
      INSERT INTO delivery (key, channel, chat_id, staff_id, payload, next_attempt_at, created_at)
      VALUES (${d.key}, ${d.channel}, ${d.chatId}, ${d.staffId}::uuid, ${payload}, ${now}, ${now})
      ON CONFLICT (key) DO NOTHING`;
    return n === 1;
  }

  /** Many at once (a tick's reminders): multi-row inserts, keys already used insert nothing. */
  async function enqueueMany(tx: Tx, list: NewDelivery[], now = new Date()): Promise<number> {
    let n = 0;
    for (let i = 0; i < list.length; i += 2000) {
      const part = list.slice(i, i + 2000);
      n += await tx.$executeRaw`
        INSERT INTO delivery (key, channel, chat_id, staff_id, payload, next_attempt_at, created_at)
        SELECT k, c, ch, NULLIF(s, '')::uuid, decode(p, 'base64'), ${now}, ${now}
        FROM unnest(${part.map((d) => d.key)}::text[], ${part.map((d) => d.channel)}::text[], ${part.map((d) => d.chatId)}::text[],
                    ${part.map((d) => d.staffId ?? '')}::text[], ${part.map((d) => Buffer.from(crypto.encryptJson(d.message)).toString('base64'))}::text[]) AS x(k, c, ch, s, p)
        ON CONFLICT (key) DO NOTHING`;
    }
    return n;
  }

  /** Claims what this second's budget allows for one channel: one row per chat, none for a chat with one in flight. */
  async function claim(channel: string, rate: number, now: Date, perChat?: Sender['perChat']) {
    return db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO send_pace (channel, window_start, used) VALUES (${channel}, ${now}, 0) ON CONFLICT (channel) DO NOTHING`;
      const pace = (await tx.$queryRaw<Array<{ window_start: Date; used: number; paused_until: Date | null }>>`
        SELECT window_start, used, paused_until FROM send_pace WHERE channel = ${channel} FOR UPDATE`)[0]!;
      if (pace.paused_until && pace.paused_until > now) return [];
      const fresh = now.getTime() - pace.window_start.getTime() >= 1000 || now < pace.window_start;
      const used = fresh ? 0 : pace.used;
      const budget = rate - used;
      if (budget <= 0) return [];
      const candidates = await tx.$queryRaw<Array<{ id: bigint; chat_id: string; staff_id: string | null; payload: Uint8Array; attempts: number }>>`
        SELECT id, chat_id, staff_id, payload, attempts FROM delivery
        WHERE channel = ${channel} AND state IN ('pending', 'failed') AND next_attempt_at <= ${now}
          AND (locked_until IS NULL OR locked_until < ${now})
        ORDER BY id LIMIT ${budget * 4} FOR UPDATE SKIP LOCKED`;
      if (candidates.length === 0) return [];
      const chats = [...new Set(candidates.map((c) => c.chat_id))];
      const busy = await tx.$queryRaw<Array<{ chat_id: string }>>`
        SELECT DISTINCT chat_id FROM delivery WHERE channel = ${channel} AND chat_id = ANY(${chats}) AND locked_until >= ${now} AND state IN ('pending', 'failed')`;
      const taken = new Set(busy.map((b) => b.chat_id));
      if (perChat) {
        // a chat that has had its minute's or hour's worth waits (the platform would drop the rest unseen)
        const full = await tx.$queryRaw<Array<{ chat_id: string }>>`
          SELECT chat_id FROM delivery WHERE channel = ${channel} AND chat_id = ANY(${chats}) AND state = 'sent' AND sent_at > ${new Date(now.getTime() - 3_600_000)}
          GROUP BY chat_id
          HAVING count(*) >= ${perChat.perHour} OR count(*) FILTER (WHERE sent_at > ${new Date(now.getTime() - 60_000)}) >= ${perChat.perMinute}`;
        for (const f of full) taken.add(f.chat_id);
      }
      const chosen = [];
      for (const c of candidates) {
        if (chosen.length >= budget) break;
        if (taken.has(c.chat_id)) continue;
        taken.add(c.chat_id);
        chosen.push(c);
      }
      if (chosen.length === 0) return [];
      const lockUntil = new Date(now.getTime() + LOCK_MS);
      await tx.$executeRaw`UPDATE delivery SET locked_until = ${lockUntil} WHERE id = ANY(${chosen.map((c) => c.id)})`;
      await tx.$executeRaw`UPDATE send_pace SET window_start = ${fresh ? now : pace.window_start}, used = ${used + chosen.length} WHERE channel = ${channel}`;
      return chosen;
    });
  }

  async function settle(row: { id: bigint; staff_id: string | null; attempts: number }, outcome: SendOutcome, channel: string, now: Date) {
    if (outcome.ok) {
      await db.prisma.delivery.update({ where: { id: row.id }, data: { state: 'sent', sentAt: now, lockedUntil: null, attempts: row.attempts + 1, lastError: null } });
      return 'sent' as const;
    }
    if (outcome.kind === 'retry_after') {
      // The platform asked the whole bot to wait: pause the channel, and this message waits without using an attempt.
      const until = new Date(now.getTime() + outcome.retryAfterS * 1000);
      await db.prisma.sendPace.update({ where: { channel }, data: { pausedUntil: until } });
      await db.prisma.delivery.update({ where: { id: row.id }, data: { state: 'failed', nextAttemptAt: until, lockedUntil: null, lastError: outcome.error } });
      logger.warn({ channel, retryAfterS: outcome.retryAfterS }, 'platform asked to slow down: sending paused');
      return 'paused' as const;
    }
    const attempts = row.attempts + 1;
    if (outcome.kind === 'unreachable' || outcome.kind === 'rejected' || attempts >= deps.maxAttempts) {
      await db.prisma.delivery.update({ where: { id: row.id }, data: { state: 'dead', attempts, lockedUntil: null, lastError: outcome.error } });
      logger.warn({ delivery: String(row.id), channel, attempts, reason: outcome.kind }, 'staff message dead-lettered: see `npm run cli -- deliveries list --state dead`');
      if (outcome.kind === 'unreachable' && row.staff_id) await deps.onUnreachable?.(row.staff_id, now);
      return 'dead' as const;
    }
    await db.prisma.delivery.update({
      where: { id: row.id },
      data: { state: 'failed', attempts, lockedUntil: null, lastError: outcome.error, nextAttemptAt: new Date(now.getTime() + backoffMs(attempts)) },
    });
    return 'failed' as const;
  }

  /** One round for every channel with a sender. Returns what happened, for tests and benchmarks. */
  async function deliverDue(now = new Date()) {
    const counts = { sent: 0, failed: 0, dead: 0, paused: 0 };
    if (isQuiet(now, deployment.reminders.quietHours, deployment.timezone)) return counts;
    for (const [channel, sender] of senders) {
      const rows = await claim(channel, sender.ratePerSecond, now, sender.perChat);
      await Promise.all(
        rows.map(async (row) => {
          let outcome: SendOutcome;
          try {
            outcome = await sender.send(row.chat_id, crypto.decryptJson<Outbound>(row.payload));
          } catch (e) {
            outcome = { ok: false, kind: 'error', error: `${(e as Error).name}: ${(e as Error).message}` };
          }
          counts[await settle(row, outcome, channel, now)]++;
        }),
      );
    }
    return counts;
  }

  return {
    enqueue,
    enqueueMany,
    deliverDue,
    registerSender(channel: string, sender: Sender) {
      senders.set(channel, sender);
    },
    /** Runs a round every `intervalMs` (one second keeps each channel under its per-second budget). */
    start(intervalMs = 1000, clock: () => Date = () => new Date()) {
      rounds ??= createRounds(() => deliverDue(clock()), logger, 'staff delivery round failed');
      rounds.start(intervalMs);
    },
    stop: async () => rounds?.stop(),
    /** Messages by state, oldest first; `staffIds`: only those to these people (the console's 人员: one county's). */
    async list(state?: string, opts: { staffIds?: string[]; id?: bigint } = {}) {
      return db.prisma.delivery.findMany({
        where: { ...(state ? { state } : {}), ...(opts.staffIds ? { staffId: { in: opts.staffIds } } : {}), ...(opts.id !== undefined ? { id: opts.id } : {}) },
        orderBy: { id: 'asc' },
        take: 500,
        select: { id: true, key: true, channel: true, staffId: true, state: true, attempts: true, nextAttemptAt: true, lastError: true, createdAt: true, sentAt: true },
      });
    },
    /** Sent and dead messages hold names and phone numbers: deleted `retention.staffMessageDays` (30) days after they were made. */
    async purge(now = new Date()): Promise<number> {
      const r = await db.prisma.delivery.deleteMany({ where: { state: { in: ['sent', 'dead'] }, createdAt: { lt: new Date(now.getTime() - deployment.retention.staffMessageDays * 86_400_000) } } });
      return r.count;
    },
    async retry(id: bigint, now = new Date()): Promise<boolean> {
      const r = await db.prisma.delivery.updateMany({ where: { id, state: { in: ['dead', 'failed'] } }, data: { state: 'pending', nextAttemptAt: now, lockedUntil: null } });
      return r.count === 1;
    },
  };
}

export type Deliveries = ReturnType<typeof createDeliveries>;
