import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerJson, serveLocal } from '../test/fakes/local-server.ts';
import type { FakeApiStats } from '../test/fakes/bot-api.ts';

/**
 * A lean local stand-in for the WeCom server API (微信客服 only), for the benchmark: plain node:http, no per-call log.
 * (test/helpers/wecom.ts has the full fake the tests use.)
 *
 * - GET  /cgi-bin/gettoken                → a token valid for 7200 s (the app keeps it in its database);
 * - POST /cgi-bin/kf/sync_msg             → the customer messages queued after the cursor (the cursor is a
 *   running number; messages before the app's cursor are dropped, it never asks for them again);
 * - POST /cgi-bin/kf/service_state/get    → state 1 (the API's: the bot may answer);
 * - POST /cgi-bin/kf/send_msg, send_msg_on_event → ok; what was sent is kept per person (touser) as an inbox like
 *   the fake Bot API's: texts since the last reset, number of sends, time of the last send, the last menu.
 *
 * Its keep-alive timeout is longer than any client's, so its idle sockets never reset the app's pooled ones.
 */

export type MenuItem = { id: string; content: string };
export type WecomInbox = {
  /** text contents and menu heads sent to this person since the last reset */
  texts: string[];
  /** kf/send_msg calls for this person since the last reset */
  calls: number;
  /** performance.now() of the latest such call, 0 when none */
  lastAt: number;
  /** the items of the last msgmenu sent to this person (kept across resets) */
  menu: MenuItem[] | undefined;
};

export const BENCH_OPEN_KFID = 'wkTESTACCOUNT01';

type SendBody = {
  touser?: string;
  msgtype?: string;
  text?: { content?: string };
  msgmenu?: { head_content?: string; list?: Array<{ type?: string; click?: { id?: string; content?: string } }> };
};

export async function startLeanWecomApi() {
  const inboxes = new Map<string, WecomInbox>();
  let stats: FakeApiStats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
  /**
   * customer messages not yet pulled past; queue[0] is at cursor `base`. Cursors and message ids start from this
   * run's clock, so an app on a database kept from an earlier run (DATABASE_URL) neither skips nor ignores them.
   */
  let queue: object[] = [];
  let base = Date.now() * 1000;
  const runTag = Date.now().toString(36);
  let msgSeq = 0;
  let sent = 0;

  const inbox = (externalUserId: string): WecomInbox => {
    let ib = inboxes.get(externalUserId);
    if (!ib) {
      ib = { texts: [], calls: 0, lastAt: 0, menu: undefined };
      inboxes.set(externalUserId, ib);
    }
    return ib;
  };

  const answer = answerJson;

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const t0 = performance.now();
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).replace(/^\/cgi-bin\//, '');
    stats.calls++;
    stats.byMethod[path] = (stats.byMethod[path] ?? 0) + 1;
    if (req.method === 'GET' && path === 'gettoken') {
      answer(res, 200, { errcode: 0, errmsg: 'ok', access_token: 'bench-token', expires_in: 7200 });
      stats.handleMsSum += performance.now() - t0;
      return;
    }
    if (req.method !== 'POST') return answer(res, 404, { errcode: 404, errmsg: 'not found' });
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return answer(res, 400, { errcode: 47001, errmsg: 'bench fake takes JSON only' });
      }
    }
    switch (path) {
      case 'kf/sync_msg': {
        const from = body.cursor ? Number(body.cursor) : 0;
        // the app saved its cursor at `from`: what lies before it is never asked for again
        if (from > base) {
          queue.splice(0, Math.min(from - base, queue.length));
          base = from;
        }
        const limit = Math.max(1, Math.min(1000, Number(body.limit ?? 1000)));
        const start = Math.max(0, from - base);
        const page = queue.slice(start, start + limit);
        answer(res, 200, { errcode: 0, errmsg: 'ok', next_cursor: String(base + start + page.length), has_more: start + page.length < queue.length ? 1 : 0, msg_list: page });
        break;
      }
      case 'kf/service_state/get':
        answer(res, 200, { errcode: 0, errmsg: 'ok', service_state: 1, servicer_userid: '' });
        break;
      case 'kf/send_msg':
      case 'kf/send_msg_on_event': {
        const b = body as SendBody;
        if (typeof b.touser === 'string') {
          const ib = inbox(b.touser);
          if (b.msgtype === 'msgmenu') {
            ib.texts.push(String(b.msgmenu?.head_content ?? ''));
            ib.menu = (b.msgmenu?.list ?? []).filter((i) => i.click).map((i) => ({ id: String(i.click!.id ?? ''), content: String(i.click!.content ?? '') }));
          } else ib.texts.push(String(b.text?.content ?? ''));
          ib.calls++;
          ib.lastAt = t0;
        } else stats.unknownChat++;
        answer(res, 200, { errcode: 0, errmsg: 'ok', msgid: `s${++sent}` });
        break;
      }
      default:
        answer(res, 200, { errcode: 0, errmsg: 'ok' });
    }
    stats.handleMsSum += performance.now() - t0;
  }

  const { url, close } = await serveLocal(handle);

  return {
    url,
    inbox,
    /** a customer's text message (a tap on a menu item when `menuId` is given), waiting to be pulled; returns its msgid */
    queue(externalUserId: string, content: string, menuId?: string): string {
      const msgid = `bench-${runTag}-${++msgSeq}`;
      queue.push({
        msgid,
        open_kfid: BENCH_OPEN_KFID,
        external_userid: externalUserId,
        send_time: Math.floor(Date.now() / 1000),
        origin: 3,
        msgtype: 'text',
        text: menuId ? { content, menu_id: menuId } : { content },
      });
      return msgid;
    },
    /** the counters since the last call, then zeroes them */
    takeStats(): FakeApiStats {
      const s = stats;
      stats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
      return s;
    },
    close: () => {
      queue = [];
      return close();
    },
  };
}

export type LeanWecomApi = Awaited<ReturnType<typeof startLeanWecomApi>>;
