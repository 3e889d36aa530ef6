import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerJson, serveLocal } from './local-server.ts';

/**
 * The fault benchmark's stand-in for the Telegram Bot API: it keeps every message sent or edited to each chat (in
 * order, with the time it came), and the last message with an inline keyboard, so a simulated person can tap its
 * buttons. `onMessage` is called for each one (the person attributes it to the step they are at).
 */

export type Button = { text: string; data: string };
/** `at`: when it came (performance.now()) */
export type Keyboard = { messageId: number; text: string; buttons: Button[]; at: number };
export type BotMessage = { at: number; method: 'sendMessage' | 'editMessageText'; text: string };

type InlineKeyboard = { inline_keyboard?: Array<Array<{ text?: string; callback_data?: string }>> };

export async function startFaultsBotApi(botInfo: unknown, onMessage: (chatId: number, m: BotMessage) => void) {
  const keyboards = new Map<number, Keyboard>();
  const byMethod: Record<string, number> = {};
  let messageId = 1000;

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const m = /^\/bot[^/]+\/([A-Za-z]+)/.exec(req.url ?? '');
    if (!m || req.method !== 'POST') return answerJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const method = m[1]!;
    let payload: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        payload = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return answerJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request: bench fake takes JSON only' });
      }
    }
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    let result: unknown = true;
    if (method === 'getMe') result = botInfo;
    if (method === 'sendMessage' || method === 'editMessageText') {
      const chatId = Number(payload.chat_id);
      const id = method === 'sendMessage' ? ++messageId : Number(payload.message_id);
      const text = String(payload.text ?? '');
      const rows = (payload.reply_markup as InlineKeyboard | undefined)?.inline_keyboard;
      if (rows && rows.length > 0) keyboards.set(chatId, { messageId: id, text, at: performance.now(), buttons: rows.flat().map((b) => ({ text: String(b.text ?? ''), data: String(b.callback_data ?? '') })) });
      const date = Math.floor(Date.now() / 1000);
      result = { message_id: id, date, ...(method === 'editMessageText' ? { edit_date: date } : {}), chat: { id: chatId, type: 'private' }, from: botInfo, text };
      onMessage(chatId, { at: performance.now(), method, text });
    }
    answerJson(res, 200, { ok: true, result });
  }

  const { url, close } = await serveLocal(handle);
  return { url, keyboard: (chatId: number) => keyboards.get(chatId), byMethod, close };
}
