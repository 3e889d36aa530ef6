import { timingSafeEqual } from 'node:crypto';
import { Api, Bot, GrammyError, type Context, type RawApi } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { autoRetry } from '@grammyjs/auto-retry';
import type { Express, Request, Response } from 'express';
import { z } from 'zod';
import { jsonBody, sendError } from '../../../server/http/app.ts';
import type { Conversations } from '../../conversation.ts';
import type { Capabilities, Inbound, Outbound } from '../../engine/types.ts';
import type { Logger } from '../../../server/log.ts';
import { tFor } from '../../../server/i18n.ts';
import type { ChannelPort, ReplyTo, SendOutcome } from '../port.ts';
import { errorFields } from '../../../server/errors.ts';
import { splitText, utf16Units } from '../text.ts';
import { readCapped, MEDIA_MAX_BYTES, type FetchedMedia } from '../../../server/intake/media.ts';

/**
 * Telegram through grammY, as transport only: updates become the engine's inbound shape, replies become
 * messages with inline keyboards. Webhook (POST /telegram/webhook, secret header checked) or long polling.
 */

/**
 * The parts of an update the adapter reads, checked before grammY sees it: Telegram always sends them, so an
 * update without them (a forged or broken request that knows the secret) is refused 400, not answered 500.
 */
const user = z.looseObject({ id: z.number().int(), language_code: z.string().optional() });
const chat = z.looseObject({ id: z.number().int(), type: z.string() });
const message = z.looseObject({ message_id: z.number().int(), chat, from: user.optional(), text: z.string().optional() });
export const updateShape = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: message.optional(),
  edited_message: message.optional(),
  callback_query: z.looseObject({ id: z.string(), from: user, data: z.string().optional(), message: z.looseObject({ message_id: z.number().int(), chat }).optional() }).optional(),
});

export const TELEGRAM_CAPS: Capabilities = { buttons: true, maxButtons: 40, buttonsPerRow: 2 };
export const WEBHOOK_PATH = '/telegram/webhook';

export type TelegramOptions = {
  token: string;
  mode: 'polling' | 'webhook';
  webhookSecret?: string | undefined;
  apiRoot: string;
  /** known bot identity (skips getMe), for tests */
  botInfo?: UserFromGetMe;
};

/** The inbound shape of one update, or undefined for updates the bot ignores (e.g. a member joining). */
export function toInbound(update: Update): { input: Inbound; chatId: number; user: { id: number; language_code?: string | undefined } } | undefined {
  if (update.callback_query) {
    const q = update.callback_query;
    const chatId = q.message?.chat.id ?? q.from.id;
    return { input: { kind: 'choice', id: q.data ?? '' }, chatId, user: q.from };
  }
  const msg = update.message;
  if (msg && msg.from) {
    if (msg.chat.type !== 'private') return undefined;
    if (typeof msg.text === 'string') {
      const m = /^\/([a-z_]+)(?:@\w+)?(?:\s+(.*))?$/is.exec(msg.text.trim());
      if (m) return { input: { kind: 'command', name: m[1]!.toLowerCase(), arg: (m[2] ?? '').trim() }, chatId: msg.chat.id, user: msg.from };
      return { input: { kind: 'text', text: msg.text }, chatId: msg.chat.id, user: msg.from };
    }
    if (msg.photo && msg.photo.length > 0) return { input: { kind: 'media', media: 'photo', fileId: msg.photo[msg.photo.length - 1]!.file_id }, chatId: msg.chat.id, user: msg.from };
    if (msg.voice) return { input: { kind: 'media', media: 'voice', fileId: msg.voice.file_id }, chatId: msg.chat.id, user: msg.from };
    return { input: { kind: 'unsupported' }, chatId: msg.chat.id, user: msg.from };
  }
  const edited = update.edited_message;
  if (edited?.from && edited.chat.type === 'private') return { input: { kind: 'unsupported' }, chatId: edited.chat.id, user: edited.from };
  return undefined;
}

function keyboard(out: Outbound) {
  if (!out.buttons || out.buttons.length === 0) return undefined;
  return { inline_keyboard: out.buttons.map((row) => row.map((b) => ({ text: b.label, callback_data: b.id }))) };
}

/** A Bot API error as the outbox reads it: wait, unreachable (blocked, no such chat), refused for good, or for now. */
export function telegramOutcome(e: unknown): SendOutcome {
  if (e instanceof GrammyError) {
    const error = `GrammyError ${e.error_code}: ${e.description}`;
    if (e.error_code === 429) return { ok: false, kind: 'retry_after', retryAfterS: e.parameters.retry_after ?? 5, error };
    // 403: the person blocked the bot or deleted the chat
    if (e.error_code === 403) return { ok: false, kind: 'unreachable', error, blocked: true };
    if (e.error_code === 400 && /chat not found/i.test(e.description)) return { ok: false, kind: 'unreachable', error };
    // 400: Telegram refuses the message itself; sending it again cannot help
    if (e.error_code === 400) return { ok: false, kind: 'rejected', error };
    return { ok: false, kind: 'error', error };
  }
  return { ok: false, kind: 'error', error: `${(e as Error).name}: ${(e as Error).message}` };
}

export function createTelegram(opts: TelegramOptions, deps: { conversations: Conversations; logger: Logger }) {
  const { conversations, logger } = deps;
  const bot = new Bot(opts.token, { client: { apiRoot: opts.apiRoot }, ...(opts.botInfo ? { botInfo: opts.botInfo } : {}) });
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 10 }));
  /**
   * The outbox sends with a plain Api without auto-retry: it obeys 429 retry_after for the whole channel instead
   * of one request sleeping on it. Replies to an update go with the bot's Api, which waits out a short retry_after
   * or a 5xx (at most 3 times) while the person waits for the answer.
   */
  const plainApi = new Api(opts.token, { apiRoot: opts.apiRoot });

  /** One message to one chat: a redrawn question edits the tapped message; a long text goes in parts. */
  async function send(chatId: string, out: Outbound, reply?: ReplyTo): Promise<SendOutcome> {
    const reply_markup = keyboard(out);
    const to = /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
    // at most 4,096 characters a message: a longer text goes out in parts, the buttons on the last one
    const parts = splitText(out.text, 4096, utf16Units).filter((p) => p.trim() !== '');
    const api = reply ? bot.api : plainApi;
    const tapped = reply?.index === 0 ? reply.ref?.messageId : undefined;
    if (out.replace && typeof tapped === 'number' && parts.length === 1) {
      try {
        await api.editMessageText(to, tapped, out.text, reply_markup ? { reply_markup } : {});
        return { ok: true };
      } catch (e) {
        if (/message is not modified/.test(String((e as Error).message))) return { ok: true };
        // fall through: send it as a new message
      }
    }
    try {
      for (const [i, part] of parts.entries()) await api.sendMessage(to, part, reply_markup && i === parts.length - 1 ? { reply_markup } : {});
      return { ok: true, used: parts.length };
    } catch (e) {
      return telegramOutcome(e);
    }
  }

  const port: ChannelPort = {
    channel: 'telegram',
    caps: TELEGRAM_CAPS,
    send,
    fetchMedia,
    sweep,
    mount,
    start,
    stop,
  };

  bot.use(async (ctx) => {
    const update = ctx.update;
    const parsed = toInbound(update);
    if (!parsed) return;
    const tapped = update.callback_query?.message?.message_id;
    try {
      await conversations.run(port, {
        platformId: String(update.update_id),
        payload: update,
        userId: String(parsed.user.id),
        chatId: String(parsed.chatId),
        languageCode: parsed.user.language_code,
        input: parsed.input,
        replyRef: tapped !== undefined ? { messageId: tapped } : undefined,
      });
    } finally {
      // A tapped button always gets its answer, or the phone shows a spinner.
      if (update.callback_query) await ctx.answerCallbackQuery().catch(() => {});
    }
  });

  bot.catch((err) => {
    logger.error({ err: errorFields(err.error) }, 'telegram update failed');
  });

  const secret = opts.webhookSecret ? Buffer.from(opts.webhookSecret) : undefined;
  function secretMatches(given: string | undefined): boolean {
    if (!secret || !given) return false;
    const g = Buffer.from(given);
    return g.length === secret.length && timingSafeEqual(g, secret);
  }

  let sweeper: NodeJS.Timeout | undefined;
  /**
   * Handles again what was recorded but not finished: in polling mode Telegram has already moved past such an
   * update, and in webhook mode a reply that could not be sent waits here. Safe to run on several instances.
   */
  async function sweep(olderThanMs = 60_000): Promise<number> {
    const payloads = await conversations.unfinished('telegram', olderThanMs);
    for (const update of payloads) {
      try {
        await bot.handleUpdate(update as Update);
      } catch (e) {
        logger.warn({ err: errorFields(e) }, 'telegram update still failing; will try again');
      }
    }
    return payloads.length;
  }

  /**
   * A photo or voice note a household sent, by its file id: getFile, then the download from the Bot API's file
   * address (which holds the token: never logged). Telegram photos are JPEG, voice notes OGG/Opus.
   */
  async function fetchMedia(fileId: string, kind: string): Promise<FetchedMedia> {
    let path: string | undefined;
    try {
      const file = await plainApi.getFile(fileId);
      if (file.file_size !== undefined && file.file_size > MEDIA_MAX_BYTES) return { ok: false, final: true, error: 'too_big' };
      path = file.file_path;
    } catch (e) {
      if (e instanceof GrammyError) return { ok: false, final: e.error_code === 400, error: `${e.error_code} ${e.description}` };
      return { ok: false, final: false, error: (e as Error).name };
    }
    if (!path) return { ok: false, final: true, error: 'no_file_path' };
    const res = await fetch(`${opts.apiRoot}/file/bot${opts.token}/${path}`, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) {
      await res.body?.cancel();
      return { ok: false, final: res.status === 404, error: `http ${res.status}` };
    }
    const body = await readCapped(res);
    if (!body.ok) return { ok: false, final: true, error: body.error };
    return { ok: true, data: body.data, mime: kind === 'voice' ? 'audio/ogg' : 'image/jpeg' };
  }

  /** Mounts POST /telegram/webhook (webhook mode). The update is handled before Telegram gets its 200. */
  function mount(app: Express) {
    if (opts.mode !== 'webhook') return;
    // The secret is checked before the body is read.
    const secretFirst = (req: Request, res: Response, next: () => void) =>
      secretMatches(req.get('x-telegram-bot-api-secret-token')) ? next() : sendError(req, res, 401, 'bad_secret', 'http.unauthorized');
    app.post(WEBHOOK_PATH, secretFirst, jsonBody('1mb'), async (req: Request, res: Response) => {
      const parsed = updateShape.safeParse(req.body);
      if (!parsed.success) return sendError(req, res, 400, 'bad_update', 'http.bad_update');
      try {
        // right after a start the bot may still be fetching its identity: wait for it rather than fail
        if (!bot.isInited()) await bot.init();
        await bot.handleUpdate(req.body as Update);
        res.json({ ok: true });
      } catch (e) {
        logger.error({ err: errorFields(e) }, 'telegram webhook update failed; Telegram will retry');
        sendError(req, res, 500, 'internal', 'http.retry_later');
      }
    });
  }

  async function start() {
    await bot.init();
    await bot.api.setMyCommands(commandList('zh-CN')).catch(() => {});
    if (opts.mode === 'polling') {
      void bot.start({ drop_pending_updates: false, allowed_updates: ['message', 'edited_message', 'callback_query'] }).catch((e: unknown) => {
        logger.error({ err: errorFields(e) }, 'telegram polling stopped');
      });
    }
    logger.info({ mode: opts.mode, bot: bot.botInfo.username }, 'telegram channel on');
    sweeper = setInterval(() => void sweep().catch((e: unknown) => logger.warn({ err: errorFields(e) }, 'telegram sweep failed; trying again in a minute')), 60_000);
    sweeper.unref();
  }

  async function stop() {
    if (sweeper) clearInterval(sweeper);
    if (bot.isRunning()) await bot.stop();
  }

  return { bot, port, sweep, fetchMedia, mount, start, stop };
}

/** The bot's command menu, from locales. */
function commandList(lng: 'zh-CN' | 'en'): Parameters<RawApi['setMyCommands']>[0]['commands'] {
  const t = tFor(lng, 'bot');
  return ['start', 'status', 'withdraw', 'back', 'cancel', 'restart', 'lang', 'help'].map((command) => ({ command, description: t(`commands.${command}`) }));
}

export type Telegram = ReturnType<typeof createTelegram>;
