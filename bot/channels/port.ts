import type { Express } from 'express';
import type { Capabilities, Inbound, Outbound } from '../engine/types.ts';
import type { SendOutcome } from '../../server/outbox/message.ts';
import type { FetchedMedia } from '../../server/intake/media.ts';

/**
 * The channel port: what every messenger must do, and what it may do (optional members are its capabilities).
 * Telegram, 微信客服 and the WeCom app implement it (bot/channels/<name>/); nothing outside bot/channels/ names a
 * messenger. An adapter turns its platform's updates into one `InboundUpdate` and hands it to the turn; it sends
 * one outbound message to one person and says how that went (sent, retry after N s, unreachable, failed for good,
 * failed for now); the conversation module and the staff outbox decide what follows from that, once for all.
 */

export type { SendOutcome };

/** The one inbound shape of an update, whatever the messenger. */
export type InboundUpdate = {
  /** the platform's id of the update: recorded once, a redelivery is recognised by it */
  platformId: string;
  /** the update as received (stored encrypted, handed back to the adapter by the sweeper) */
  payload: unknown;
  userId: string;
  chatId: string;
  languageCode?: string | undefined;
  input: Inbound;
  /** what the adapter needs to answer this update in place (the tapped message, a one-time answer code) */
  replyRef?: ReplyRef | undefined;
};

/** Platform data for answering one update: kept with the update's replies until they are sent. */
export type ReplyRef = Record<string, string | number>;

/** Where one reply of an update stands: which update, how many of its replies and platform messages are out. */
export type ReplyTo = {
  /** the recorded update's row id (a platform may want a message id per answer; this names them) */
  seq: bigint;
  /** this reply's place among the update's replies */
  index: number;
  /** platform messages already sent for this update (a platform may allow only so many answers to one message) */
  used: number;
  ref?: ReplyRef | undefined;
};

/** How many messages one chat may be sent, where the platform silently drops what is over. */
export type PerChat = { perMinute: number; perHour: number };

export interface ChannelPort {
  /** the name stored with conversations, updates and staff accounts */
  readonly channel: string;
  readonly caps: Capabilities;
  /** Sends one message to one chat; `reply` when it answers an update. Never throws: the outcome says it. */
  send(chatId: string, out: Outbound, reply?: ReplyTo): Promise<SendOutcome>;

  // ---- what a channel may do
  /** a per-chat pace the outbox keeps (the bot's per-second rate is the deployment's setting) */
  readonly perChat?: PerChat;
  /** fetches a photo or voice note people sent, by the platform's file id */
  fetchMedia?(fileId: string, kind: string): Promise<FetchedMedia>;
  /** mounts its webhook or callback routes */
  mount?(app: Express): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** handles again what was recorded and not finished, older than `olderThanMs` */
  sweep?(olderThanMs?: number): Promise<number>;
}
