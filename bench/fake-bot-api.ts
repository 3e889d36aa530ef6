import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerJson, serveLocal } from './local-server.ts';

/**
 * A lean local stand-in for the Telegram Bot API, for the benchmark: plain node:http, no per-call log.
 *
 * It keeps, per chat, what the load generator needs: the texts and number of calls since the person's last
 * update, the time of the last call (performance.now() of this thread), and the last message that had an
 * inline keyboard (to tap its buttons). answerCallbackQuery carries no chat id: the generator puts the chat id
 * in front of the callback query id ("<chatId>:<updateId>") so the call can be stamped to its chat.
 *
 * Its keep-alive timeout is longer than any client's, so its idle sockets never reset grammY's pooled ones.
 */

export type Button = { text: string; data: string };
export type Keyboard = { messageId: number; text: string; buttons: Button[] };
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

type InlineKeyboard = { inline_keyboard?: Array<Array<{ text?: string; callback_data?: string }>> };

export async function startLeanBotApi(botInfo: unknown) {
  const inboxes = new Map<number, Inbox>();
  let stats: FakeApiStats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
  let messageId = 1000;

  const inbox = (chatId: number): Inbox => {
    let ib = inboxes.get(chatId);
    if (!ib) {
      ib = { texts: [], calls: 0, lastAt: 0, keyboard: undefined };
      inboxes.set(chatId, ib);
    }
    return ib;
  };

  const answer = answerJson;

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const t0 = performance.now();
    const m = /^\/bot[^/]+\/([A-Za-z]+)/.exec(req.url ?? '');
    if (!m || req.method !== 'POST') return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const method = m[1]!;
    let payload: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        payload = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: bench fake takes JSON only' });
      }
    }
    stats.calls++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    let chatId: number | undefined;
    let result: unknown = true;
    switch (method) {
      case 'getMe':
        result = botInfo;
        break;
      case 'sendMessage':
      case 'editMessageText': {
        chatId = Number(payload.chat_id);
        const id = method === 'sendMessage' ? ++messageId : Number(payload.message_id);
        const text = String(payload.text ?? '');
        const ib = inbox(chatId);
        ib.texts.push(text);
        const rows = (payload.reply_markup as InlineKeyboard | undefined)?.inline_keyboard;
        if (rows && rows.length > 0) ib.keyboard = { messageId: id, text, buttons: rows.flat().map((b) => ({ text: String(b.text ?? ''), data: String(b.callback_data ?? '') })) };
        const date = Math.floor(Date.now() / 1000);
        result = {
          message_id: id,
          date,
          ...(method === 'editMessageText' ? { edit_date: date } : {}),
          chat: { id: chatId, type: 'private' },
          from: botInfo,
          text,
        };
        break;
      }
      case 'answerCallbackQuery':
        chatId = Number(String(payload.callback_query_id ?? '').split(':')[0]);
        break;
    }
    if (chatId !== undefined && Number.isFinite(chatId)) {
      const ib = inbox(chatId);
      ib.calls++;
      ib.lastAt = t0;
    } else if (method !== 'getMe' && method !== 'setMyCommands') stats.unknownChat++;
    answer(res, 200, { ok: true, result });
    stats.handleMsSum += performance.now() - t0;
  }

  const { url, close } = await serveLocal(handle);

  return {
    url,
    inbox,
    /** the counters since the last call, then zeroes them */
    takeStats(): FakeApiStats {
      const s = stats;
      stats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
      return s;
    },
    close,
  };
}

export type LeanBotApi = Awaited<ReturnType<typeof startLeanBotApi>>;
