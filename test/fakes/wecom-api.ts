import type { IncomingMessage, ServerResponse } from 'node:http';
import { createEnvelope } from '../../bot/channels/wecom/crypto.ts';
import { answerJson, serveLocal } from './local-server.ts';
import { BOT_TOKEN, WEBHOOK_SECRET, type FakeApiStats } from './bot-api.ts';

/**
 * The one fake WeCom server API of the tests and the benchmarks, and the platform's signed, encrypted callbacks.
 * Of the app it imports only the callback crypto, so a benchmark's driver thread can run it.
 */

/** The test organization's WeCom settings (the environment the app is started with). */
export const WECOM = {
  WECOM_CORP_ID: 'ww1436e0e65a779aee',
  WECOM_AGENT_ID: '1000002',
  WECOM_AGENT_SECRET: 'test-agent-secret-0123456789',
  WECOM_CALLBACK_TOKEN: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo',
  WECOM_CALLBACK_AES_KEY: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt',
};
export const OPEN_KFID = 'wkTESTACCOUNT01';

export type WecomCall = { path: string; body: Record<string, unknown>; token: string | null; ok: boolean };
export type MenuItem = { id: string; content: string };
/** What the fake keeps per customer (external_userid), cheaply enough for a benchmark; the load generator resets `texts`, `calls`, `lastAt`. */
export type WecomInbox = {
  /** text contents and menu heads sent to this person (kf/send_msg, kf/send_msg_on_event) since the last reset */
  texts: string[];
  /** such sends since the last reset */
  calls: number;
  /** performance.now() of the latest such send, 0 when none */
  lastAt: number;
  /** the items of the last msgmenu sent to this person (kept across resets) */
  menu: MenuItem[] | undefined;
};

export type FakeWecomOptions = {
  /** kf/sync_msg hands out at most this many messages a page (default 1000, the API's limit) */
  pageSize?: number;
  /**
   * For the benchmarks: keep no call (`calls` stays empty), and forget the customer messages before the cursor the
   * app pulls from (it never asks for them again), so a long run's memory stays flat. Off by default: the tests'
   * fake records every call and replays from any cursor, an empty one from the first message.
   */
  lean?: boolean;
  /** a test's hold on a call: the fake answers a call to this path only once the promise returned settles */
  before?: (path: string) => Promise<void> | undefined;
};

/**
 * What the platform would cut or refuse in an app message (message/send, message/update_template_card): a text
 * over 2,048 bytes (cut), and the documented limits of a button card (main_title 36 characters, sub_title_text
 * 160, at most 6 buttons of 10 characters, keys of 1,024 bytes, task_id of 128 bytes in [0-9A-Za-z_-@]).
 */
export function appMessageProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const chars = (s: unknown) => [...String(s ?? '')].length;
  const bytes = (s: unknown) => Buffer.byteLength(String(s ?? ''), 'utf8');
  const text = (body.text as { content?: unknown } | undefined)?.content;
  if (body.msgtype === 'text') {
    if (bytes(text) > 2048) problems.push(`text.content is ${bytes(text)} bytes (over 2048: cut)`);
    if (String(text ?? '').trim() === '') problems.push('text.content is empty');
  }
  const card = body.template_card as
    | { main_title?: { title?: unknown }; sub_title_text?: unknown; task_id?: unknown; button_list?: Array<{ text?: unknown; key?: unknown }> }
    | undefined;
  if (card) {
    if (chars(card.main_title?.title) > 36) problems.push(`main_title.title is ${chars(card.main_title?.title)} characters (over 36)`);
    if (!card.main_title?.title) problems.push('main_title.title is empty');
    if (chars(card.sub_title_text) > 160) problems.push(`sub_title_text is ${chars(card.sub_title_text)} characters (over 160)`);
    const buttons = card.button_list ?? [];
    if (buttons.length > 6) problems.push(`button_list has ${buttons.length} buttons (over 6)`);
    for (const b of buttons) {
      if (chars(b.text) > 10) problems.push(`button text "${String(b.text)}" is over 10 characters`);
      if (bytes(b.key) > 1024) problems.push('button key over 1024 bytes');
    }
    if (card.task_id !== undefined && (bytes(card.task_id) > 128 || !/^[0-9A-Za-z_\-@]+$/.test(String(card.task_id)))) problems.push('task_id is not 1-128 bytes of [0-9A-Za-z_-@]');
  }
  return problems;
}

type SendBody = {
  touser?: string;
  msgtype?: string;
  text?: { content?: string };
  msgmenu?: { head_content?: string; list?: Array<{ type?: string; click?: { id?: string; content?: string } }> };
};

/**
 * A local stand-in for the WeCom server API (plain node:http): gettoken, kf/sync_msg (a queue of customer messages
 * behind cursors, paged), kf/send_msg, kf/send_msg_on_event, kf/service_state/get, media/get, message/send,
 * message/update_template_card.
 *
 * Tokens are checked (an expired one answers 42001, an unknown one 40014). Cursors and message ids start from this
 * fake's clock, so an app on a database kept from an earlier run (a benchmark on DATABASE_URL) neither skips nor
 * ignores them. By default it records every call (`calls`); `fail` scripts error codes for the next calls of a
 * path; `overLimits` lists app messages that the platform would have cut (see appMessageProblems) and makes
 * `close()` fail. In every mode it keeps, per customer, what a load generator needs (`inbox`), and counts calls
 * by path (`takeStats`).
 *
 * Its keep-alive timeout is longer than any client's, so its idle sockets never reset the app's pooled ones.
 */
export async function startFakeWecom(opts: FakeWecomOptions = {}) {
  const lean = opts.lean ?? false;
  const calls: WecomCall[] = [];
  /** customer messages not yet forgotten; messages[0] is at cursor `base` */
  const messages: Array<Record<string, unknown>> = [];
  let base = Date.now() * 1000;
  const runTag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const failures = new Map<string, number[]>();
  const states = new Map<string, number>();
  const expired = new Set<string>();
  /** app messages the platform would have cut or refused, with what is wrong */
  const overLimits: Array<{ path: string; problems: string[] }> = [];
  /** files customers sent to 微信客服, by media id (media/get) */
  const media = new Map<string, { type: string; data: Buffer }>();
  const inboxes = new Map<string, WecomInbox>();
  let stats: FakeApiStats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
  let tokens = 0;
  let gettokens = 0;
  let responseCodes = 0;
  /** calls recorded, or that would have been when lean: the send answers' msgid counts them */
  let callCount = 0;
  let seq = 0;

  const inbox = (externalUserId: string): WecomInbox => {
    let ib = inboxes.get(externalUserId);
    if (!ib) {
      ib = { texts: [], calls: 0, lastAt: 0, menu: undefined };
      inboxes.set(externalUserId, ib);
    }
    return ib;
  };
  const record = (call: WecomCall) => {
    callCount++;
    if (!lean) calls.push(call);
  };
  const badToken = (token: string | null) => (!token || expired.has(token) || !/^token-\d+$/.test(token) ? { errcode: expired.has(token ?? '') ? 42001 : 40014, errmsg: 'invalid access_token' } : undefined);

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const t0 = performance.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/cgi-bin\//, '');
    stats.calls++;
    stats.byMethod[path] = (stats.byMethod[path] ?? 0) + 1;
    const done = () => void (stats.handleMsSum += performance.now() - t0);
    const answer = (body: unknown, status = 200) => {
      answerJson(res, status, body);
      done();
    };
    const token = url.searchParams.get('access_token');
    if (!url.pathname.startsWith('/cgi-bin/')) return answer({ errcode: 404, errmsg: 'not found' }, 404);

    if (req.method === 'GET' && path === 'gettoken') {
      gettokens++;
      if (url.searchParams.get('corpsecret') !== WECOM.WECOM_AGENT_SECRET) return answer({ errcode: 40001, errmsg: 'invalid credential' });
      return answer({ errcode: 0, errmsg: 'ok', access_token: `token-${++tokens}`, expires_in: 7200 });
    }
    if (req.method === 'GET' && path === 'media/get') {
      const call: WecomCall = { path: 'media/get', body: { media_id: url.searchParams.get('media_id') ?? undefined }, token, ok: false };
      record(call);
      const refused = badToken(token);
      if (refused) return answer(refused);
      const scripted = failures.get('media/get')?.shift();
      if (scripted !== undefined) return answer({ errcode: scripted, errmsg: `failed on purpose (${scripted})` });
      const file = media.get(String(url.searchParams.get('media_id')));
      // as the platform answers an unknown or expired (3 days) media id
      if (!file) {
        const text = JSON.stringify({ errcode: 40007, errmsg: 'invalid media_id' });
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return done();
      }
      call.ok = true;
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.data.length });
      res.end(file.data);
      return done();
    }
    if (req.method !== 'POST') return answer({ errcode: 404, errmsg: 'not found' }, 404);

    let body: Record<string, unknown> = {};
    // a JSON body (what the app posts); any other body is read as empty
    if (raw.length > 0 && /json/i.test(req.headers['content-type'] ?? '')) {
      try {
        body = (JSON.parse(raw.toString('utf8')) ?? {}) as Record<string, unknown>;
      } catch {
        return answer({ errcode: 47001, errmsg: 'data format error: the body is not JSON' }, 400);
      }
    }
    const call: WecomCall = { path, body, token, ok: false };
    record(call);
    const refused = badToken(token);
    if (refused) return answer(refused);
    const scripted = failures.get(path)?.shift();
    if (scripted !== undefined) return answer({ errcode: scripted, errmsg: `failed on purpose (${scripted})` });
    call.ok = true;
    if (path === 'message/send' || path === 'message/update_template_card') {
      const problems = appMessageProblems(body);
      if (problems.length) overLimits.push({ path, problems });
    }
    switch (path) {
      case 'kf/sync_msg': {
        const from = body.cursor ? Number(body.cursor) : 0;
        // lean: the app saved its cursor at `from`, what lies before it is never asked for again
        if (lean && from > base) {
          messages.splice(0, Math.min(from - base, messages.length));
          base = from;
        }
        const size = Math.max(1, Math.min(Number(body.limit ?? 1000), opts.pageSize ?? 1000));
        const start = Math.max(0, from - base);
        const page = messages.slice(start, start + size);
        return answer({ errcode: 0, errmsg: 'ok', next_cursor: String(base + start + page.length), has_more: start + page.length < messages.length ? 1 : 0, msg_list: page });
      }
      case 'kf/service_state/get':
        return answer({ errcode: 0, errmsg: 'ok', service_state: states.get(String(body.external_userid)) ?? 1, servicer_userid: '' });
      case 'message/send':
        return answer({ errcode: 0, errmsg: 'ok', invaliduser: '', msgid: `m${callCount}`, ...(body.msgtype === 'template_card' ? { response_code: `rc-${++responseCodes}` } : {}) });
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
        return answer({ errcode: 0, errmsg: 'ok', msgid: `m${callCount}` });
      }
      default:
        return answer({ errcode: 0, errmsg: 'ok', msgid: `m${callCount}` });
    }
  }

  const server = await serveLocal((req, res, raw) => {
    const gate = opts.before?.(new URL(req.url ?? '/', 'http://fake').pathname.replace(/^\/cgi-bin\//, ''));
    if (gate) void gate.then(() => handle(req, res, raw));
    else handle(req, res, raw);
  });
  const now = () => Math.floor(Date.now() / 1000);
  return {
    url: server.url,
    /** every call but gettoken (not when lean), oldest first */
    calls,
    /** the customer messages queued (when lean, those not yet pulled past) */
    messages,
    overLimits,
    gettokens: () => gettokens,
    /** the next calls of `path` answer these error codes, in order */
    fail: (path: string, ...codes: number[]) => failures.set(path, [...(failures.get(path) ?? []), ...codes]),
    expireTokens: () => {
      for (let i = 1; i <= tokens; i++) expired.add(`token-${i}`);
    },
    setServiceState: (externalUserId: string, state: number) => states.set(externalUserId, state),
    /** a customer's text message (a tap on a menu item when `menuId` is given), waiting to be pulled */
    queue(externalUserId: string, content: string, menuId?: string) {
      const msg = { msgid: `msg-${runTag}-${++seq}`, open_kfid: OPEN_KFID, external_userid: externalUserId, send_time: now(), origin: 3, msgtype: 'text', text: { content, ...(menuId ? { menu_id: menuId } : {}) } };
      messages.push(msg);
      return msg;
    },
    /** a photo or voice note a customer sent, waiting to be pulled; its file is kept for media/get */
    queueMedia(externalUserId: string, kind: 'image' | 'voice', data: Buffer, type: string) {
      const mediaId = `media-${++seq}`;
      media.set(mediaId, { type, data });
      const msg = { msgid: `msg-${runTag}-${++seq}`, open_kfid: OPEN_KFID, external_userid: externalUserId, send_time: now(), origin: 3, msgtype: kind, [kind]: { media_id: mediaId } };
      messages.push(msg);
      return { msg, mediaId };
    },
    /** the platform forgets a media id (they expire after 3 days) */
    expireMedia: (mediaId: string) => media.delete(mediaId),
    queueEvent(event: Record<string, unknown>) {
      const msg = { msgid: `evt-${runTag}-${++seq}`, send_time: now(), origin: 4, msgtype: 'event', event: { open_kfid: OPEN_KFID, ...event } };
      messages.push(msg);
      return msg;
    },
    /** what the app sent to a staff member (message/send bodies), oldest first (not when lean) */
    appSentTo: (userId: string) => calls.filter((c) => c.ok && c.path === 'message/send' && c.body.touser === userId).map((c) => c.body),
    /** what was sent to a customer through 微信客服, oldest first (not when lean) */
    sentTo: (externalUserId: string) => calls.filter((c) => c.ok && c.path === 'kf/send_msg' && c.body.touser === externalUserId).map((c) => c.body),
    /** what is kept of one customer (made empty on first use) */
    inbox,
    /** the counters since the last call, then zeroes them */
    takeStats(): FakeApiStats {
      const s = stats;
      stats = { calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 };
      return s;
    },
    /** Stops the fake, and fails (after stopping) when an app message went over the platform's limits. */
    close: async () => {
      await server.close();
      if (overLimits.length > 0) throw new Error(`WeCom would have cut ${overLimits.length} app message(s): ${overLimits.map((o) => `${o.path}: ${o.problems.join(', ')}`).join('; ')}`);
    },
  };
}

export type FakeWecom = Awaited<ReturnType<typeof startFakeWecom>>;

/** The settings of a product with both channels on, against the two fakes (Telegram in webhook mode). */
export function bothChannels(fake: { url: string }, tg: { url: string }): Record<string, string> {
  return { ...WECOM, WECOM_API_ROOT: fake.url, TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, TELEGRAM_API_ROOT: tg.url };
}

const envelope = createEnvelope({ token: WECOM.WECOM_CALLBACK_TOKEN, encodingAesKey: WECOM.WECOM_CALLBACK_AES_KEY, receiverId: WECOM.WECOM_CORP_ID });

/** An encrypted, signed callback as the platform posts it: the query string and the XML body. */
export function encryptedCallback(innerXml: string, opts: { timestamp?: string; nonce?: string; receiver?: string } = {}) {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? String(Math.floor(Math.random() * 1e9));
  const env = opts.receiver ? createEnvelope({ token: WECOM.WECOM_CALLBACK_TOKEN, encodingAesKey: WECOM.WECOM_CALLBACK_AES_KEY, receiverId: opts.receiver }) : envelope;
  const encrypted = env.encrypt(innerXml);
  const signature = envelope.signature(timestamp, nonce, encrypted);
  const body = `<xml><ToUserName><![CDATA[${WECOM.WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[${WECOM.WECOM_AGENT_ID}]]></AgentID></xml>`;
  return { query: `msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, body, encrypted, timestamp, nonce, signature };
}

export function kfEventXml(token = `tok${Math.random().toString(36).slice(2)}`, createTime = String(Math.floor(Date.now() / 1000))) {
  return `<xml><ToUserName><![CDATA[${WECOM.WECOM_CORP_ID}]]></ToUserName><CreateTime>${createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[${token}]]></Token><OpenKfId><![CDATA[${OPEN_KFID}]]></OpenKfId></xml>`;
}

export function postCallback(appUrl: string, path: string, cb: { query: string; body: string }) {
  return fetch(`${appUrl}${path}?${cb.query}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.body });
}
