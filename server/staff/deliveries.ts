import type { Prisma } from '../db/generated/client.ts';
import type { Outbound, SendOutcome } from '../outbox/message.ts';
import type { Outbox } from '../outbox/outbox.ts';

export type { SendOutcome };

/**
 * Messages to staff (new-lead notices, reminders, "unreachable" notices): the outbox's 'staff' lanes, one per
 * channel. Written in the transaction that decides them, then sent by the outbox worker within each channel's
 * per-second budget (kept in the database, so several instances share it), one message per chat at a time, with
 * a pause when the platform answers 429 with retry_after, backoff on other errors, a dead-letter state, and
 * nothing at all during quiet hours.
 */

type Tx = Prisma.TransactionClient;

/**
 * A channel's way of sending one message to a chat, how many messages a second it may send, and (where the
 * platform silently drops what is over) how many one chat may receive a minute and an hour.
 */
export type Sender = {
  ratePerSecond: number;
  perChat?: { perMinute: number; perHour: number };
  send(chatId: string, message: Outbound): Promise<SendOutcome>;
};

export type NewDelivery = { key: string; channel: string; chatId: string; staffId: string | null; message: Outbound };

/** A row claimed before sending stays locked this long: well past the slowest send. */
const LOCK_MS = 2 * 60_000;

export function createDeliveries(deps: {
  outbox: Outbox;
  crypto: { decryptJson<T>(box: Uint8Array): T };
  maxAttempts: number;
}) {
  const { outbox, crypto } = deps;
  const unreachable: Array<(staffId: string, now: Date) => Promise<void>> = [];
  const row = (d: NewDelivery) => ({ kind: 'staff' as const, lane: d.channel, thread: d.chatId, key: d.key, staffId: d.staffId, payload: d.message });

  return {
    /** Written inside the caller's transaction; a key already used inserts nothing (a delivery is made once). */
    enqueue: async (tx: Tx, d: NewDelivery, now = new Date()): Promise<boolean> => (await outbox.enqueue(tx, [row(d)], now)) === 1,
    /** Many at once (a tick's reminders): keys already used insert nothing. */
    enqueueMany: (tx: Tx, list: NewDelivery[], now = new Date()): Promise<number> => outbox.enqueue(tx, list.map(row), now),
    /** One round for every channel with a sender (the worker runs one a second). Returns what happened, for tests. */
    deliverDue: (now = new Date()) => outbox.deliverDue('staff', now),
    registerSender(channel: string, sender: Sender) {
      outbox.register(channel, {
        kind: 'staff',
        quiet: true,
        lockMs: LOCK_MS,
        ratePerSecond: sender.ratePerSecond,
        ...(sender.perChat ? { perChat: sender.perChat } : {}),
        maxAttempts: () => deps.maxAttempts,
        deadHint: 'npm run cli -- deliveries list --state dead',
        send: (r) => sender.send(r.thread, crypto.decryptJson<Outbound>(r.payload)),
        onUnreachable: async (r, now) => {
          if (r.staffId) for (const told of unreachable) await told(r.staffId, now);
        },
      });
    },
    /** Subscribes to messages dead-lettered because the staff member cannot be reached (blocked the bot). */
    onUnreachable(told: (staffId: string, now: Date) => Promise<void>) {
      unreachable.push(told);
    },
    /** Messages by state, oldest first; `staffIds`: only those to these people (the console's 人员: one county's). */
    list: (state?: string, opts: { staffIds?: string[]; id?: bigint } = {}) => outbox.list('staff', state, opts),
    retry: (id: bigint, now = new Date()) => outbox.retry('staff', id, now),
  };
}

export type Deliveries = ReturnType<typeof createDeliveries>;
