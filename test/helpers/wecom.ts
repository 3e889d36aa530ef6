import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEnvelope } from '../../bot/channels/wecom/crypto.ts';
import { BOT_TOKEN, WEBHOOK_SECRET } from '../fakes/bot-api.ts';

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

/**
 * A local stand-in for the WeCom server API: gettoken, kf/sync_msg (a queue of customer messages behind cursors,
 * paged), kf/send_msg, kf/send_msg_on_event, kf/service_state/get, message/send, message/update_template_card.
 * Records every call; `fail` scripts error codes for the next calls of a path; `overLimits` lists app messages
 * that the platform would have cut (see appMessageProblems).
 */
export async function startFakeWecom(opts: { pageSize?: number } = {}) {
  const calls: WecomCall[] = [];
  const messages: Array<Record<string, unknown>> = [];
  const failures = new Map<string, number[]>();
  const states = new Map<string, number>();
  const expired = new Set<string>();
  /** app messages the platform would have cut or refused, with what is wrong */
  const overLimits: Array<{ path: string; problems: string[] }> = [];
  let tokens = 0;
  let gettokens = 0;
  let responseCodes = 0;
  const app = express();
  app.use(express.json());
  app.get('/cgi-bin/gettoken', (req, res) => {
    gettokens++;
    if (req.query.corpsecret !== WECOM.WECOM_AGENT_SECRET) return void res.json({ errcode: 40001, errmsg: 'invalid credential' });
    res.json({ errcode: 0, errmsg: 'ok', access_token: `token-${++tokens}`, expires_in: 7200 });
  });
  /** files customers sent to 微信客服, by media id (media/get) */
  const media = new Map<string, { type: string; data: Buffer }>();
  app.get('/cgi-bin/media/get', (req, res) => {
    const token = typeof req.query.access_token === 'string' ? req.query.access_token : null;
    calls.push({ path: 'media/get', body: { media_id: req.query.media_id }, token, ok: false });
    if (!token || expired.has(token) || !/^token-\d+$/.test(token)) return void res.json({ errcode: expired.has(token ?? '') ? 42001 : 40014, errmsg: 'invalid access_token' });
    const scripted = failures.get('media/get')?.shift();
    if (scripted !== undefined) return void res.json({ errcode: scripted, errmsg: `failed on purpose (${scripted})` });
    const file = media.get(String(req.query.media_id));
    // as the platform answers an unknown or expired (3 days) media id
    if (!file) return void res.type('text/plain').send(JSON.stringify({ errcode: 40007, errmsg: 'invalid media_id' }));
    calls[calls.length - 1]!.ok = true;
    res.type(file.type).send(file.data);
  });
  app.post('/cgi-bin/*path', (req, res) => {
    const path = (req.params as { path: string[] }).path.join('/');
    const token = typeof req.query.access_token === 'string' ? req.query.access_token : null;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const call = { path, body, token, ok: false };
    calls.push(call);
    if (!token || expired.has(token) || !/^token-\d+$/.test(token)) return void res.json({ errcode: expired.has(token ?? '') ? 42001 : 40014, errmsg: 'invalid access_token' });
    const scripted = failures.get(path)?.shift();
    if (scripted !== undefined) return void res.json({ errcode: scripted, errmsg: `failed on purpose (${scripted})` });
    call.ok = true;
    if (path === 'message/send' || path === 'message/update_template_card') {
      const problems = appMessageProblems(body);
      if (problems.length) overLimits.push({ path, problems });
    }
    switch (path) {
      case 'kf/sync_msg': {
        const from = body.cursor ? Number(body.cursor) : 0;
        const size = Math.min(Number(body.limit ?? 1000), opts.pageSize ?? 1000);
        const page = messages.slice(from, from + size);
        return void res.json({ errcode: 0, errmsg: 'ok', next_cursor: String(from + page.length), has_more: from + size < messages.length ? 1 : 0, msg_list: page });
      }
      case 'kf/service_state/get':
        return void res.json({ errcode: 0, errmsg: 'ok', service_state: states.get(String(body.external_userid)) ?? 1, servicer_userid: '' });
      case 'message/send':
        return void res.json({ errcode: 0, errmsg: 'ok', invaliduser: '', msgid: `m${calls.length}`, ...(body.msgtype === 'template_card' ? { response_code: `rc-${++responseCodes}` } : {}) });
      default:
        return void res.json({ errcode: 0, errmsg: 'ok', msgid: `m${calls.length}` });
    }
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let seq = 0;
  return {
    url,
    calls,
    messages,
    overLimits,
    gettokens: () => gettokens,
    /** the next calls of `path` answer these error codes, in order */
    fail: (path: string, ...codes: number[]) => failures.set(path, [...(failures.get(path) ?? []), ...codes]),
    expireTokens: () => {
      for (let i = 1; i <= tokens; i++) expired.add(`token-${i}`);
    },
    setServiceState: (externalUserId: string, state: number) => states.set(externalUserId, state),
    /** a customer's message waiting to be pulled */
    queue(externalUserId: string, content: string, menuId?: string) {
      const msg = {
        msgid: `msg-${++seq}-${Math.random().toString(36).slice(2, 8)}`,
        open_kfid: OPEN_KFID,
        external_userid: externalUserId,
        send_time: Math.floor(Date.now() / 1000),
        origin: 3,
        msgtype: 'text',
        text: { content, ...(menuId ? { menu_id: menuId } : {}) },
      };
      messages.push(msg);
      return msg;
    },
    /** a photo or voice note a customer sent, waiting to be pulled; its file is kept for media/get */
    queueMedia(externalUserId: string, kind: 'image' | 'voice', data: Buffer, type: string) {
      const mediaId = `media-${++seq}`;
      media.set(mediaId, { type, data });
      const msg = { msgid: `msg-${++seq}`, open_kfid: OPEN_KFID, external_userid: externalUserId, send_time: Math.floor(Date.now() / 1000), origin: 3, msgtype: kind, [kind]: { media_id: mediaId } };
      messages.push(msg);
      return { msg, mediaId };
    },
    /** the platform forgets a media id (they expire after 3 days) */
    expireMedia: (mediaId: string) => media.delete(mediaId),
    queueEvent(event: Record<string, unknown>) {
      const msg = { msgid: `evt-${++seq}`, send_time: Math.floor(Date.now() / 1000), origin: 4, msgtype: 'event', event: { open_kfid: OPEN_KFID, ...event } };
      messages.push(msg);
      return msg;
    },
    /** what the app sent to a staff member (message/send bodies), oldest first */
    appSentTo: (userId: string) => calls.filter((c) => c.ok && c.path === 'message/send' && c.body.touser === userId).map((c) => c.body),
    /** what was sent to a customer through 微信客服, oldest first */
    sentTo: (externalUserId: string) => calls.filter((c) => c.ok && c.path === 'kf/send_msg' && c.body.touser === externalUserId).map((c) => c.body),
    /** Stops the fake, and fails (after stopping) when an app message went over the platform's limits. */
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
