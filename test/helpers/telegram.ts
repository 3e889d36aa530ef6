import express from 'express';
import { start, type Running } from '../../server/main.ts';
import type { Logger } from '../../server/log.ts';
import { testConfig, type TestPlace } from './db.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BOT_TOKEN = '123456:TEST-token';
export const WEBHOOK_SECRET = 'test-secret-0123456789';
export const BOT_INFO = {
  id: 123456,
  is_bot: true as const,
  first_name: 'Self-report',
  username: 'selfreport_test_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

export type ApiCall = { method: string; payload: Record<string, unknown>; /** sendMessage / editMessageText: the message's id */ messageId?: number };
export type Refusal = { method: string; payload: Record<string, unknown>; description: string };

const TEXT_LIMIT = 4096;
const CALLBACK_DATA_LIMIT = 64;
const BUTTON_LIMIT = 100;

/** What Telegram answers 400 to in a sendMessage or editMessageText (the checks a bot can trip), or undefined. */
function badRequest(method: string, payload: Record<string, unknown>, exists: (chat: string, messageId: number) => boolean): string | undefined {
  const chat = payload.chat_id;
  if (chat === undefined || chat === null || chat === '') return 'chat_id is empty';
  // an integer, or a string of one, or a public @username: anything else names no chat
  const chatOk = (typeof chat === 'number' && Number.isSafeInteger(chat)) || (typeof chat === 'string' && (/^-?\d+$/.test(chat) || /^@\w{4,}$/.test(chat)));
  if (!chatOk) return 'chat not found';
  const text = payload.text;
  if (typeof text !== 'string' || text.trim() === '') return 'message text is empty';
  if (text.length > TEXT_LIMIT) return 'message is too long';
  const markup = payload.reply_markup as { inline_keyboard?: unknown } | undefined;
  if (markup !== undefined) {
    const rows = markup?.inline_keyboard;
    if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) return "can't parse inline keyboard button: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays";
    const buttons = (rows as unknown[][]).flat() as Array<{ text?: unknown; callback_data?: unknown }>;
    if (buttons.length > BUTTON_LIMIT) return 'reply markup is too long';
    for (const b of buttons) {
      if (typeof b?.text !== 'string' || b.text === '') return 'text buttons are unallowed in the inline keyboard';
      if (typeof b.callback_data !== 'string' || b.callback_data === '' || Buffer.byteLength(b.callback_data, 'utf8') > CALLBACK_DATA_LIMIT) return 'BUTTON_DATA_INVALID';
    }
  }
  if (method === 'editMessageText' && !exists(String(chat), Number(payload.message_id))) return 'message to edit not found';
  return undefined;
}

/**
 * A local stand-in for the Telegram Bot API: answers every method grammY calls and records the calls. It refuses
 * what Telegram refuses, with Telegram's error shape (`{ok:false, error_code:400, description:"Bad Request: …"}`):
 * empty or over-long texts, callback data over 64 bytes, over 100 buttons, an edit of a message that is not in
 * that chat, a chat id that is neither a number nor @username, an edit that changes nothing. Refused calls are
 * kept in `refused`, not `calls`, and make `close()` fail.
 * Its keep-alive timeout is longer than the client's, so idle pooled sockets are not reset under load.
 */
export async function startFakeBotApi(opts: { failNext?: (method: string, payload: Record<string, unknown>) => number | { status: number; retryAfter: number } | false } = {}) {
  const calls: ApiCall[] = [];
  const refused: Refusal[] = [];
  const pending: Array<Record<string, unknown>> = [];
  /** message ids sent to each chat, and the last text and markup of each (an edit to the same is refused too) */
  const messages = new Map<string, Map<number, string>>();
  let messageId = 1000;
  /** files people sent, by file id: what getFile and the file address hand out */
  const files = new Map<string, { path: string; data: Buffer }>();
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  app.get('/file/bot:token/*path', (req, res) => {
    const path = (req.params as { path: string[] }).path.join('/');
    const file = [...files.values()].find((f) => f.path === path);
    if (!file || req.params.token !== BOT_TOKEN) return void res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
    res.type('application/octet-stream').send(file.data);
  });
  app.post('/bot:token/:method', (req, res) => {
    const method = req.params.method;
    const payload = (req.body ?? {}) as Record<string, unknown>;
    const failure = opts.failNext?.(method, payload);
    if (typeof failure === 'object') {
      res.status(failure.status).json({ ok: false, error_code: failure.status, description: `Too Many Requests: retry after ${failure.retryAfter}`, parameters: { retry_after: failure.retryAfter } });
      return;
    }
    if (failure) {
      res.status(failure).json({ ok: false, error_code: failure, description: 'failed on purpose' });
      return;
    }
    if (method === 'getUpdates') {
      // Long polling: hand out what is queued (after the offset the client confirms), or an empty list after a pause.
      const offset = Number(payload.offset ?? 0);
      while (pending.length > 0 && Number(pending[0]!.update_id) < offset) pending.shift();
      if (pending.length > 0) return void res.json({ ok: true, result: pending.slice() });
      return void setTimeout(() => res.json({ ok: true, result: [] }), 100);
    }
    if (method === 'sendMessage' || method === 'editMessageText') {
      const problem = badRequest(method, payload, (chat, id) => messages.get(chat)?.has(id) ?? false);
      const chat = String(payload.chat_id);
      const content = JSON.stringify([payload.text, payload.reply_markup ?? null]);
      const unchanged = !problem && method === 'editMessageText' && messages.get(chat)?.get(Number(payload.message_id)) === content;
      if (problem || unchanged) {
        const description = `Bad Request: ${problem ?? 'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message'}`;
        refused.push({ method, payload, description });
        return void res.status(400).json({ ok: false, error_code: 400, description });
      }
      let inChat = messages.get(chat);
      if (!inChat) messages.set(chat, (inChat = new Map()));
      const id = method === 'sendMessage' ? ++messageId : Number(payload.message_id);
      inChat.set(id, content);
      calls.push({ method, payload, messageId: id });
      return void res.json({ ok: true, result: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: payload.chat_id, type: 'private' }, text: payload.text } });
    }
    if (method === 'getFile') {
      calls.push({ method, payload });
      const file = files.get(String(payload.file_id));
      if (!file) return void res.status(400).json({ ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
      return void res.json({ ok: true, result: { file_id: payload.file_id, file_unique_id: `u-${String(payload.file_id)}`, file_size: file.data.length, file_path: file.path } });
    }
    calls.push({ method, payload });
    res.json({ ok: true, result: method === 'getMe' ? BOT_INFO : true });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    /** the calls Telegram would have refused, with its answer */
    refused,
    /** a file someone sent, for getFile and the download that follows */
    putFile: (fileId: string, data: Buffer, path = `files/${fileId}`) => void files.set(fileId, { path, data }),
    /** queues an update for a bot that polls */
    queueUpdate: (update: Record<string, unknown>) => pending.push(update),
    /** text of the messages sent or edited to one chat, in order */
    textsTo: (chatId: number) => calls.filter((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && c.payload.chat_id === chatId).map((c) => String(c.payload.text)),
    /**
     * Stops the fake, and fails (after stopping) when the bot sent anything Telegram would have refused, so every
     * test that uses the fake checks that; a test that provokes refusals on purpose empties `refused` first.
     */
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (refused.length > 0) throw new Error(`Telegram would have refused ${refused.length} call(s): ${refused.map((r) => `${r.method}: ${r.description}`).join('; ')}`);
    },
  };
}

export type FakeApi = Awaited<ReturnType<typeof startFakeBotApi>>;

let nextUpdateId = 1;

/**
 * A person talking to the bot through the webhook, as Telegram would deliver their updates.
 * Each action waits for the webhook's answer and returns the Bot API calls it caused.
 */
export function telegramPerson(webhookUrl: string, api: FakeApi, userId: number, languageCode = 'zh-hans') {
  const from = { id: userId, is_bot: false, first_name: 'Test', language_code: languageCode };
  const chat = { id: userId, type: 'private' as const, first_name: 'Test' };
  let taps = 0;

  async function deliver(update: Record<string, unknown>, secret = WEBHOOK_SECRET) {
    const before = api.calls.length;
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body: JSON.stringify(update),
    });
    const calls = api.calls.slice(before);
    const sent = calls.filter((c) => c.method === 'sendMessage' || c.method === 'editMessageText');
    const last = sent[sent.length - 1];
    return { status: res.status, calls, texts: sent.map((c) => String(c.payload.text)), last: last?.payload, update };
  }

  const update = (body: Record<string, unknown>) => ({ update_id: nextUpdateId++, ...body });
  const message = (extra: Record<string, unknown>) => update({ message: { message_id: nextUpdateId * 10, date: Math.floor(Date.now() / 1000), chat, from, ...extra } });

  return {
    userId,
    /** how many buttons this person has tapped */
    taps: () => taps,
    deliver,
    say: (text: string) => deliver(message({ text })),
    /** an update with this text, not delivered yet (to deliver twice, or to hand to the app directly) */
    textUpdate: (text: string) => message({ text }),
    photo: (fileId: string) => deliver(message({ photo: [{ file_id: `${fileId}-small`, file_unique_id: 'a', width: 90, height: 90 }, { file_id: fileId, file_unique_id: 'b', width: 800, height: 600 }] })),
    voice: (fileId: string) => deliver(message({ voice: { file_id: fileId, file_unique_id: 'v', duration: 4 } })),
    sticker: () => deliver(message({ sticker: { file_id: 'stk', file_unique_id: 's', type: 'regular', width: 1, height: 1, is_animated: false, is_video: false } })),
    /** taps the button whose label contains `label` in the last message that had buttons */
    tap: async (label: string) => {
      const withButtons = [...api.calls].reverse().find((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && c.payload.chat_id === userId && c.payload.reply_markup);
      const keyboard = (withButtons?.payload.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> } | undefined)?.inline_keyboard ?? [];
      const button = keyboard.flat().find((b) => b.text.includes(label));
      if (!button) throw new Error(`no button "${label}" in: ${keyboard.flat().map((b) => b.text).join(' | ')}`);
      taps++;
      return deliver(
        update({
          callback_query: {
            id: String(nextUpdateId),
            from,
            chat_instance: 'ci',
            data: button.callback_data,
            // the message the button is on, as Telegram names it (an edited message keeps its id)
            message: { message_id: withButtons!.messageId, date: 0, chat, text: String(withButtons!.payload.text) },
          },
        }),
      );
    },
    /** the labels of the buttons on the last message with buttons */
    buttons: () => {
      const withButtons = [...api.calls].reverse().find((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && c.payload.chat_id === userId && c.payload.reply_markup);
      return ((withButtons?.payload.reply_markup as { inline_keyboard: Array<Array<{ text: string }>> } | undefined)?.inline_keyboard ?? []).flat().map((b) => b.text);
    },
  };
}

/**
 * Starts the whole app with the Telegram channel in webhook mode against a fake Bot API. `now` is a date or a
 * clock; `manual` leaves the reminder cron and the staff message worker off, so a test drives them with its clock.
 */
export async function startWithTelegram(place: TestPlace, api: FakeApi, logger: Logger, now: Date | (() => Date), opts: { manual?: boolean } = {}): Promise<Running> {
  return start(
    testConfig(place, { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, TELEGRAM_API_ROOT: api.url }),
    logger,
    { host: '127.0.0.1', now: typeof now === 'function' ? now : () => now, telegramBotInfo: BOT_INFO, ...(opts.manual ? { scheduler: false, deliveryIntervalMs: 0 } : {}) },
  );
}
