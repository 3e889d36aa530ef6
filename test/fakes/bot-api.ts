import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerJson, serveLocal } from './local-server.ts';

/**
 * The one fake Telegram Bot API of the tests and the benchmarks, and a person talking to a bot through its
 * webhook. It imports nothing of the app, so a benchmark's driver thread can run it without loading the app.
 */

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

export type Button = { text: string; data: string };
/** `at`: when it came (performance.now() of the fake's thread) */
export type Keyboard = { messageId: number; text: string; buttons: Button[]; at: number };
/** A message sent or edited to a chat, as `onMessage` hears of it; `at`: when it came (performance.now()) */
export type BotMessage = { at: number; method: 'sendMessage' | 'editMessageText'; text: string };
/** What the fake keeps per chat, cheaply enough for a benchmark; the load generator resets `texts`, `calls`, `lastAt`. */
export type Inbox = {
  /** texts sent or edited to this chat since the last reset */
  texts: string[];
  /** Bot API calls for this chat since the last reset */
  calls: number;
  /** performance.now() of the latest such call, 0 when none */
  lastAt: number;
  /** the last message to this chat that had an inline keyboard (kept across resets) */
  keyboard: Keyboard | undefined;
};
export type FakeApiStats = { calls: number; byMethod: Record<string, number>; handleMsSum: number; unknownChat: number };

/**
 * What a call answers instead of its result, with Telegram's error shape: an HTTP status alone (described as
 * "failed on purpose"), or a status with a retry_after (a 429: "Too Many Requests: retry after N", with
 * `parameters.retry_after`) or a description of its own (e.g. 403 "Forbidden: bot was blocked by the user").
 */
export type Fault = number | { status: number; retryAfter?: number; description?: string };

export type FakeBotApiOptions = {
  /** the bot getMe answers and messages come from (default BOT_INFO) */
  botInfo?: unknown;
  /**
   * For the benchmarks: keep no call (`calls` stays empty) and check nothing; only the per-chat inboxes, the last
   * keyboard of each chat and the counters are kept. Off by default: the tests' fake records every call and refuses
   * what Telegram refuses.
   */
  lean?: boolean;
  /** Fault injection: called for every call before it is handled; a Fault is answered instead (false: handled). */
  failNext?: (method: string, payload: Record<string, unknown>) => Fault | false | undefined;
  /** Called for each message sent or edited, once it is accepted. */
  onMessage?: (chatId: number, m: BotMessage) => void;
};

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

type InlineKeyboard = { inline_keyboard?: Array<Array<{ text?: string; callback_data?: string }>> };

/**
 * A local stand-in for the Telegram Bot API (plain node:http): answers every method grammY calls.
 *
 * By default it records every call (`calls`) and refuses what Telegram refuses, with Telegram's error shape
 * (`{ok:false, error_code:400, description:"Bad Request: …"}`): empty or over-long texts, callback data over 64
 * bytes, over 100 buttons, an edit of a message that is not in that chat, a chat id that is neither a number nor
 * @username, an edit that changes nothing. Refused calls are kept in `refused`, not `calls`, and make `close()` fail.
 * It also serves getUpdates (updates queued with `queueUpdate`) and getFile and the file download (files put with
 * `putFile`).
 *
 * In every mode it keeps, per chat, what a load generator needs (`inbox`): the texts and number of calls since the
 * person's last update, the time of the last call, and the last message that had an inline keyboard (to tap its
 * buttons; also `keyboard`). answerCallbackQuery carries no chat id: a generator that wants it stamped to its chat
 * puts the chat id in front of the callback query id ("<chatId>:<updateId>"). `takeStats` counts calls by method.
 *
 * Its keep-alive timeout is longer than any client's, so its idle sockets never reset grammY's pooled ones.
 */
export async function startFakeBotApi(opts: FakeBotApiOptions = {}) {
  const botInfo = opts.botInfo ?? BOT_INFO;
  const lean = opts.lean ?? false;
  const calls: ApiCall[] = [];
  const refused: Refusal[] = [];
  const pending: Array<Record<string, unknown>> = [];
  /** message ids sent to each chat, and the last text and markup of each (an edit to the same is refused too); not kept when lean */
  const messages = new Map<string, Map<number, string>>();
  let messageId = 1000;
  /** files people sent, by file id: what getFile and the file address hand out */
  const files = new Map<string, { path: string; data: Buffer }>();
  const inboxes = new Map<number, Inbox>();
  let stats: FakeApiStats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };

  const inbox = (chatId: number): Inbox => {
    let ib = inboxes.get(chatId);
    if (!ib) {
      ib = { texts: [], calls: 0, lastAt: 0, keyboard: undefined };
      inboxes.set(chatId, ib);
    }
    return ib;
  };

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const t0 = performance.now();
    const url = req.url ?? '';
    const download = /^\/file\/bot([^/]+)\/([^?]+)/.exec(url);
    if (download && req.method === 'GET') {
      const path = download[2]!.split('/').map(decodeURIComponent).join('/');
      const file = [...files.values()].find((f) => f.path === path);
      if (!file || download[1] !== BOT_TOKEN) return answerJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length });
      return void res.end(file.data);
    }
    const m = /^\/bot[^/]+\/([A-Za-z]+)\/?(?:\?|$)/.exec(url);
    if (!m || req.method !== 'POST') return answerJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const method = m[1]!;
    let payload: Record<string, unknown> = {};
    // a JSON body (what grammY sends unless it uploads a file); any other body is read as no parameters
    if (raw.length > 0 && /json/i.test(req.headers['content-type'] ?? '')) {
      try {
        payload = (JSON.parse(raw.toString('utf8')) ?? {}) as Record<string, unknown>;
      } catch {
        return answerJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request: the body is not JSON' });
      }
    }
    stats.calls++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    const answer = (status: number, body: unknown) => {
      answerJson(res, status, body);
      stats.handleMsSum += performance.now() - t0;
    };
    const stamp = (chatId: number | undefined) => {
      if (chatId === undefined || !Number.isFinite(chatId)) return void (method !== 'getMe' && method !== 'setMyCommands' && stats.unknownChat++);
      const ib = inbox(chatId);
      ib.calls++;
      ib.lastAt = t0;
    };

    const fault = opts.failNext?.(method, payload);
    if (typeof fault === 'object') {
      const description = fault.description ?? (fault.retryAfter !== undefined ? `Too Many Requests: retry after ${fault.retryAfter}` : 'failed on purpose');
      return answer(fault.status, { ok: false, error_code: fault.status, description, ...(fault.retryAfter !== undefined ? { parameters: { retry_after: fault.retryAfter } } : {}) });
    }
    if (fault) return answer(fault, { ok: false, error_code: fault, description: 'failed on purpose' });

    switch (method) {
      case 'getUpdates': {
        // Long polling: hand out what is queued (after the offset the client confirms), or an empty list after a pause.
        const offset = Number(payload.offset ?? 0);
        while (pending.length > 0 && Number(pending[0]!.update_id) < offset) pending.shift();
        if (pending.length > 0) return answer(200, { ok: true, result: pending.slice() });
        return void setTimeout(() => answer(200, { ok: true, result: [] }), 100);
      }
      case 'sendMessage':
      case 'editMessageText': {
        const chat = String(payload.chat_id);
        const content = lean ? '' : JSON.stringify([payload.text, payload.reply_markup ?? null]);
        if (!lean) {
          const problem = badRequest(method, payload, (c, id) => messages.get(c)?.has(id) ?? false);
          const unchanged = !problem && method === 'editMessageText' && messages.get(chat)?.get(Number(payload.message_id)) === content;
          if (problem || unchanged) {
            const description = `Bad Request: ${problem ?? 'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message'}`;
            refused.push({ method, payload, description });
            return answer(400, { ok: false, error_code: 400, description });
          }
        }
        const id = method === 'sendMessage' ? ++messageId : Number(payload.message_id);
        if (!lean) {
          let inChat = messages.get(chat);
          if (!inChat) messages.set(chat, (inChat = new Map()));
          inChat.set(id, content);
          calls.push({ method, payload, messageId: id });
        }
        const chatId = Number(payload.chat_id);
        const text = String(payload.text ?? '');
        const ib = inbox(chatId);
        ib.texts.push(text);
        const rows = (payload.reply_markup as InlineKeyboard | undefined)?.inline_keyboard;
        if (rows && rows.length > 0) ib.keyboard = { messageId: id, text, at: t0, buttons: rows.flat().map((b) => ({ text: String(b.text ?? ''), data: String(b.callback_data ?? '') })) };
        stamp(chatId);
        opts.onMessage?.(chatId, { at: t0, method, text });
        const date = Math.floor(Date.now() / 1000);
        return answer(200, { ok: true, result: { message_id: id, date, ...(method === 'editMessageText' ? { edit_date: date } : {}), chat: { id: payload.chat_id, type: 'private' }, from: botInfo, text } });
      }
      case 'getFile': {
        if (!lean) calls.push({ method, payload });
        const file = files.get(String(payload.file_id));
        if (!file) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
        return answer(200, { ok: true, result: { file_id: payload.file_id, file_unique_id: `u-${String(payload.file_id)}`, file_size: file.data.length, file_path: file.path } });
      }
      case 'answerCallbackQuery': {
        if (!lean) calls.push({ method, payload });
        const id = String(payload.callback_query_id ?? '');
        stamp(id.includes(':') ? Number(id.split(':')[0]) : undefined);
        return answer(200, { ok: true, result: true });
      }
      default:
        if (!lean) calls.push({ method, payload });
        stamp(undefined);
        return answer(200, { ok: true, result: method === 'getMe' ? botInfo : true });
    }
  }

  const server = await serveLocal(handle);
  return {
    url: server.url,
    /** every call answered (not when lean), oldest first */
    calls,
    /** the calls Telegram would have refused, with its answer */
    refused,
    /** a file someone sent, for getFile and the download that follows */
    putFile: (fileId: string, data: Buffer, path = `files/${fileId}`) => void files.set(fileId, { path, data }),
    /** queues an update for a bot that polls */
    queueUpdate: (update: Record<string, unknown>) => pending.push(update),
    /** text of the messages sent or edited to one chat, in order (not when lean) */
    textsTo: (chatId: number) => calls.filter((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && c.payload.chat_id === chatId).map((c) => String(c.payload.text)),
    /** what is kept of one chat (made empty on first use) */
    inbox,
    /** the last message to a chat that had an inline keyboard */
    keyboard: (chatId: number) => inboxes.get(chatId)?.keyboard,
    /** the counters since the last call, then zeroes them */
    takeStats(): FakeApiStats {
      const s = stats;
      stats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
      return s;
    },
    /**
     * Stops the fake, and fails (after stopping) when the bot sent anything Telegram would have refused, so every
     * test that uses the fake checks that; a test that provokes refusals on purpose empties `refused` first.
     */
    close: async () => {
      await server.close();
      if (refused.length > 0) throw new Error(`Telegram would have refused ${refused.length} call(s): ${refused.map((r) => `${r.method}: ${r.description}`).join('; ')}`);
    },
  };
}

export type FakeApi = Awaited<ReturnType<typeof startFakeBotApi>>;

let nextUpdateId = 1;

/**
 * A person talking to the bot through the webhook, as Telegram would deliver their updates (the fake in its
 * default, recording mode). Each action waits for the webhook's answer and returns the Bot API calls it caused.
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
