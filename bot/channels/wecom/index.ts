import pLimit from 'p-limit';
import { randomBytes } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import type { Database } from '../../../server/db/index.ts';
import type { Crypto } from '../../../server/crypto.ts';
import type { Logger } from '../../../server/log.ts';
import type { WecomConfig } from '../../../server/config.ts';
import type { Conversations } from '../../conversation.ts';
import type { Button, Capabilities, Inbound, Outbound } from '../../engine/types.ts';
import type { ChannelPort, ReplyTo, SendOutcome } from '../port.ts';
import { checkTimestamp, createEnvelope, EnvelopeError, parseXml, type Envelope } from './crypto.ts';
import { adviceFor, createWecomApi, WecomApiError, type WecomApi } from './api.ts';
import { errorFields } from '../../../server/errors.ts';
import { splitText as splitShared, utf8Bytes } from '../text.ts';
import { readCapped, type FetchedMedia } from '../../../server/intake/media.ts';
import { readButton } from '../../buttons.ts';

/**
 * WeCom as a channel, equal to Telegram (ARCHITECTURE principle 1):
 * - households through 微信客服: the callback only says "pull"; messages come from `kf/sync_msg` with a cursor kept
 *   in the database, each recorded by its msgid and handled once; answers go out with `kf/send_msg`, a question
 *   and its choices packed into one `msgmenu`, never unprompted, never into a session a person has taken over;
 * - staff through the self-built app: text commands and taps on `template_card` buttons come to the app callback,
 *   messages go out with `message/send` (see `appSender`).
 * Every callback is checked (signature, envelope, receiver, XML), recorded, answered 200 at once, handled after.
 */

/** 微信客服 renders choices as menu items: at most 10 a message, one tap each (no toggling in place, no editing). */
export const KF_CAPS: Capabilities = { buttons: true, maxButtons: 10, buttonsPerRow: 1, multiSelect: false, staffDesk: false };
/** The self-built app: text, and cards of up to 6 buttons for staff actions. */
export const APP_CAPS: Capabilities = { buttons: true, maxButtons: 6, buttonsPerRow: 1, multiSelect: false };

export const KF_PATH = '/wecom/kf/callback';
export const APP_PATH = '/wecom/app/callback';
const TEXT_LIMIT = 2000; // bytes; the platform's limit is 2048
const MENU_HEAD_LIMIT = 1000; // bytes; head_content is limited to 1024
const MENU_ID_LIMIT = 64;
/** A customer message allows 5 answers in the next 48 hours. */
const ANSWERS_PER_MESSAGE = 5;
/** People whose messages of one pulled page are handled at the same time. */
const PAGE_CONCURRENCY = 16;

const bytes = utf8Bytes;

/** Splits text at line ends (or, for one very long line, anywhere) into parts of at most `limit` bytes. */
export function splitText(text: string, limit = TEXT_LIMIT): string[] {
  return splitShared(text, limit, utf8Bytes);
}

/** One engine message as 微信客服 messages: text parts, the last one carrying the choices as a menu. */
export function kfMessages(out: Outbound): Array<Record<string, unknown>> {
  const items = (out.buttons ?? []).flat().filter((b) => bytes(b.id) <= MENU_ID_LIMIT);
  if (items.length === 0) return splitText(out.text).map((content) => ({ msgtype: 'text', text: { content } }));
  // more choices than a menu holds: "back" and "skip" go (they can be typed), then the rest is cut
  let menu = items;
  if (menu.length > 10)
    menu = menu.filter((b) => {
      const tapped = readButton(b.id);
      return !(tapped.family === 'nav' && (tapped.to === 'back' || tapped.to === 'skip'));
    });
  if (menu.length > 10) menu = menu.slice(0, 10);
  const parts = splitText(out.text, MENU_HEAD_LIMIT);
  const head = parts.pop()!;
  return [
    ...parts.flatMap((p) => splitText(p)).map((content) => ({ msgtype: 'text', text: { content } })),
    { msgtype: 'msgmenu', msgmenu: { head_content: head, list: menu.map((b) => ({ type: 'click', click: { id: b.id, content: b.label.slice(0, 40) } })) } },
  ];
}

/** What a button_interaction template_card shows (the documented limits; what is over is cut by the platform). */
const CARD_TITLE_CHARS = 36;
const CARD_TEXT_CHARS = 160;
const CARD_BUTTONS = 6;
const BUTTON_TEXT_CHARS = 10;
const chars = (s: string) => [...s].length;
const cut = (s: string, n: number) => [...s].slice(0, n).join('');

/** A button card: the title, an optional text under it, at most 6 buttons. task_id is random (a repeat is refused with 42014). */
function card(title: string, text: string, buttons: Button[]): Record<string, unknown> {
  return {
    msgtype: 'template_card',
    template_card: {
      card_type: 'button_interaction',
      main_title: { title: cut(title, CARD_TITLE_CHARS), desc: '' },
      ...(text ? { sub_title_text: cut(text, CARD_TEXT_CHARS) } : {}),
      task_id: `t${randomBytes(12).toString('hex')}`,
      button_list: buttons.map((b, i) => ({ text: cut(b.label, BUTTON_TEXT_CHARS), style: i === 0 ? 1 : 2, key: b.id })),
    },
  };
}

/**
 * One engine message as messages of the self-built app, none over the platform's limits and nothing lost: text
 * alone as text messages (2,048 bytes each); with buttons, one card when the text fits a card (its first line
 * the title, the rest the text under it), else the text as text messages followed by a card with the buttons
 * under the first line; more than 6 buttons go on further cards.
 */
export function appMessages(out: Outbound): Array<Record<string, unknown>> {
  const texts = (text: string) => splitText(text).map((content) => ({ msgtype: 'text', text: { content } }));
  const buttons = (out.buttons ?? []).flat();
  if (buttons.length === 0) return texts(out.text);
  const lines = out.text.split('\n');
  const at = Math.max(0, lines.findIndex((l) => l.trim() !== ''));
  const title = lines[at]!.trim();
  const body = lines.slice(at + 1).join('\n').trim();
  const groups: Button[][] = [];
  for (let i = 0; i < buttons.length; i += CARD_BUTTONS) groups.push(buttons.slice(i, i + CARD_BUTTONS));
  if (chars(title) <= CARD_TITLE_CHARS && chars(body) <= CARD_TEXT_CHARS) return groups.map((g, i) => card(title, i === 0 ? body : '', g));
  return [...texts(out.text), ...groups.map((g) => card(title, '', g))];
}

type KfMessage = {
  msgid: string;
  open_kfid?: string;
  external_userid?: string;
  send_time?: number;
  origin?: number;
  msgtype: string;
  text?: { content?: string; menu_id?: string };
  image?: { media_id?: string };
  voice?: { media_id?: string };
  event?: { event_type?: string; open_kfid?: string; external_userid?: string; scene_param?: string; welcome_code?: string; fail_msgid?: string; fail_type?: number };
};

/** The inbound shape of one typed or tapped message. */
function textInput(content: string, menuId?: string): Inbound {
  if (menuId) return { kind: 'choice', id: menuId };
  const m = /^\/([a-z_]+)(?:\s+(.*))?$/is.exec(content.trim());
  if (m) return { kind: 'command', name: m[1]!.toLowerCase(), arg: (m[2] ?? '').trim() };
  return { kind: 'text', text: content };
}

export function kfInput(msg: KfMessage): Inbound | undefined {
  switch (msg.msgtype) {
    case 'text':
      return textInput(msg.text?.content ?? '', msg.text?.menu_id);
    case 'image':
      return msg.image?.media_id ? { kind: 'media', media: 'photo', fileId: msg.image.media_id } : { kind: 'unsupported' };
    case 'voice':
      return msg.voice?.media_id ? { kind: 'media', media: 'voice', fileId: msg.voice.media_id } : { kind: 'unsupported' };
    case 'event':
      return msg.event?.event_type === 'enter_session' ? { kind: 'command', name: 'start', arg: msg.event.scene_param ?? '' } : undefined;
    default:
      return { kind: 'unsupported' };
  }
}

/** msg_send_fail reasons (fail_type), for the dead-letter note. */
const FAIL_TYPES: Record<number, string> = {
  1: 'account deleted',
  2: 'app closed',
  4: 'over 48 hours since the customer wrote',
  5: 'session closed',
  6: 'over 5 messages',
  8: 'organization not verified',
  10: 'customer refused messages',
  12: 'message type not allowed',
};

export function createWecom(
  config: WecomConfig,
  deps: { db: Database; crypto: Crypto; conversations: Conversations; logger: Logger; fetch?: typeof fetch; sleep?: (ms: number) => Promise<void>; /** wall clock for callback timestamps */ now?: () => Date },
) {
  const { db, crypto, conversations, logger } = deps;
  const kfEnvelope = createEnvelope({ token: config.kf.callbackToken, encodingAesKey: config.kf.callbackAesKey, receiverId: config.corpId });
  const appEnvelope = createEnvelope({ token: config.callbackToken, encodingAesKey: config.callbackAesKey, receiverId: config.corpId });
  const apiDeps = { db, crypto, logger, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.sleep ? { sleep: deps.sleep } : {}) };
  const appApi: WecomApi = createWecomApi({ apiRoot: config.apiRoot, corpId: config.corpId, secret: config.agentSecret, name: `agent:${config.agentId}` }, apiDeps);
  // one secret serves both surfaces unless an older organization set a separate 微信客服 secret
  const kfApi: WecomApi = config.kf.secret === config.agentSecret ? appApi : createWecomApi({ apiRoot: config.apiRoot, corpId: config.corpId, secret: config.kf.secret, name: 'kf' }, apiDeps);

  const clock = deps.now ?? (() => new Date());

  /** The signature parameters of a callback's query, each given once (twice, or as a structure: refused). */
  function signed(req: Request, extra?: 'echostr') {
    const q = req.query as Record<string, unknown>;
    const one = (name: string): string | undefined => {
      const v = q[name];
      if (v !== undefined && typeof v !== 'string') throw new EnvelopeError('bad_query', `query parameter ${name} is not one value`);
      return v;
    };
    return { signature: one('msg_signature'), timestamp: one('timestamp'), nonce: one('nonce'), echostr: extra ? one(extra) : undefined };
  }

  /** The signature, then the signed timestamp: a correctly signed callback from outside ±10 minutes is a replay. */
  function verify(envelope: Envelope, p: ReturnType<typeof signed>, encrypted: string | undefined) {
    envelope.verify(p.signature, p.timestamp, p.nonce, encrypted);
    checkTimestamp(p.timestamp, clock().getTime());
  }

  /** Checks and opens a callback; throws EnvelopeError (answered 4xx, logged without the payload). */
  function open(envelope: Envelope, req: Request): Record<string, string> {
    const p = signed(req);
    const body = typeof req.body === 'string' ? req.body : '';
    const outer = parseXml(body);
    verify(envelope, p, outer.Encrypt);
    return parseXml(envelope.decrypt(outer.Encrypt!));
  }

  function verifyUrl(envelope: Envelope, route: string) {
    return (req: Request, res: Response) => {
      try {
        const p = signed(req, 'echostr');
        verify(envelope, p, p.echostr);
        res.type('text/plain').send(envelope.decrypt(p.echostr!));
      } catch (e) {
        refuse(route, res, e);
      }
    };
  }

  /** A refused callback: one log line with the route (never the request's own path or query) and the problem. */
  function refuse(route: string, res: Response, e: unknown) {
    if (e instanceof EnvelopeError) {
      logger.warn({ route, problem: e.problem }, 'wecom callback refused');
      res.status(e.problem === 'bad_signature' || e.problem === 'stale_timestamp' || e.problem === 'wrong_receiver' ? 403 : 400).type('text/plain').send('');
      return;
    }
    logger.error({ route, err: errorFields(e) }, 'wecom callback failed');
    res.status(500).type('text/plain').send('');
  }

  /** Records a callback once: true when it is new (to handle), false for a redelivery. */
  const recordCallback = (platformId: string, payload: Record<string, string>) => conversations.recordOnly('wecom-callback', platformId, payload);

  // One pull at a time per account; a callback during a pull makes it fetch again at once, without waiting for the
  // messages already fetched to be handled (they are handled meanwhile, each person's in order).
  const pulling = new Map<string, { again: boolean; token: string | undefined; done: Promise<boolean> }>();
  /** Resolves true when everything was pulled and handled; false when it failed (logged; pulled again later). */
  function pull(openKfId: string, token: string | undefined): Promise<boolean> {
    const running = pulling.get(openKfId);
    if (running) {
      running.again = true;
      running.token = token ?? running.token;
      return running.done;
    }
    const state = { again: false, token, done: Promise.resolve(true) };
    state.done = (async () => {
      const handling = createPageHandling(openKfId);
      try {
        let cursor = (await db.prisma.wecomCursor.findUnique({ where: { openKfId } }))?.cursor ?? '';
        // a callback that came while the last pages were being handled fetches again too
        do {
          do {
            state.again = false;
            cursor = await fetchPages(openKfId, cursor, state.token, handling);
          } while (state.again);
          await handling.settled();
        } while (state.again);
        return true;
      } catch (e) {
        await handling.settled().catch(() => undefined);
        logger.error({ openKfId, err: { ...errorFields(e), ...(e instanceof WecomApiError ? { errcode: e.errcode } : {}) } }, 'wecom kf pull failed; the next callback or sweep pulls again');
        return false;
      } finally {
        pulling.delete(openKfId);
      }
    })();
    pulling.set(openKfId, state);
    return state.done;
  }

  /** Fetches every page after `cursor`, hands each to `handling`, and returns the cursor after the last one. */
  async function fetchPages(openKfId: string, from: string, token: string | undefined, handling: ReturnType<typeof createPageHandling>): Promise<string> {
    let cursor = from;
    let useToken = token;
    for (;;) {
      let page: { next_cursor?: string; has_more?: number; msg_list?: KfMessage[] };
      try {
        page = await kfApi.post('kf/sync_msg', { cursor, ...(useToken ? { token: useToken } : {}), limit: 1000, open_kfid: openKfId });
      } catch (e) {
        if (e instanceof WecomApiError && e.errcode === 95007 && useToken) {
          useToken = undefined; // the callback's token has expired: pull without it
          continue;
        }
        throw e;
      }
      const next = page.next_cursor !== undefined && page.next_cursor !== cursor ? page.next_cursor : undefined;
      handling.page(page.msg_list ?? [], next);
      if (next !== undefined) cursor = next;
      if (!page.has_more) return cursor;
    }
  }

  /**
   * The messages of one pull's pages: each person's in the order they wrote them (across pages too), different
   * people side by side (at most PAGE_CONCURRENCY at once), as Telegram's webhook handles different people's
   * updates in parallel. The stored cursor moves past a page only once it and every page before it are handled:
   * after a failure it stays, and the next pull fetches again (each message is handled only once).
   */
  function createPageHandling(openKfId: string) {
    const limit = pLimit(PAGE_CONCURRENCY);
    const people = new Map<string, Promise<void>>();
    let saved: Promise<void> = Promise.resolve();
    return {
      page(list: KfMessage[], next: string | undefined) {
        const handled = list.map((msg) => {
          const who = msg.event?.external_userid ?? msg.external_userid ?? '';
          const mine = (people.get(who) ?? Promise.resolve()).then(() => limit(() => handleKf(openKfId, msg)));
          const tail = mine.catch(() => undefined);
          people.set(who, tail);
          void tail.then(() => {
            if (people.get(who) === tail) people.delete(who);
          });
          return mine;
        });
        const before = saved;
        saved = Promise.all([before, Promise.all(handled)]).then(async () => {
          if (next !== undefined) await db.prisma.wecomCursor.upsert({ where: { openKfId }, create: { openKfId, cursor: next, updatedAt: new Date() }, update: { cursor: next, updatedAt: new Date() } });
        });
        saved.catch(() => undefined); // awaited by settled()
      },
      /** Waits for every page handed over; rejects with the first failure. */
      settled: () => saved,
    };
  }

  async function handleKf(openKfId: string, msg: KfMessage) {
    const event = msg.msgtype === 'event' ? msg.event : undefined;
    if (event?.event_type === 'msg_send_fail') return sendFailed(event.fail_msgid, event.fail_type);
    if (!event && msg.origin !== 3) return; // what a servicer typed, or system notes
    const input = kfInput(msg);
    const externalUserId = event?.external_userid ?? msg.external_userid;
    if (!input || !externalUserId) return;
    const kfId = event?.open_kfid ?? msg.open_kfid ?? openKfId;
    await conversations.run(kfPort, {
      platformId: msg.msgid,
      payload: msg,
      userId: externalUserId,
      chatId: `${kfId}/${externalUserId}`,
      input,
      replyRef: event?.welcome_code ? { welcomeCode: event.welcome_code } : undefined,
    });
  }

  /**
   * One answer to a 微信客服 customer: only while the session is the API's (asked before an update's first answer),
   * within the 5 answers a customer message allows (1 on the welcome code); the platform's refusals are final.
   */
  async function kfSend(chatId: string, out: Outbound, reply?: ReplyTo): Promise<SendOutcome> {
    const [kfId = '', externalUserId = ''] = chatId.split('/');
    const welcomeCode = typeof reply?.ref?.welcomeCode === 'string' ? reply.ref.welcomeCode : undefined;
    try {
      if (!welcomeCode && (!reply || reply.used === 0)) {
        const state = await kfApi.post<{ service_state?: number }>('kf/service_state/get', { open_kfid: kfId, external_userid: externalUserId });
        // 2 queued for a person, 3 a person is answering: the conversation is theirs
        if (state.service_state === 2 || state.service_state === 3) return { ok: false, kind: 'unreachable', error: `session held by a person (state ${state.service_state})` };
      }
      const used = reply?.used ?? 0;
      const messages = kfMessages(out).slice(0, Math.max(0, (welcomeCode ? 1 : ANSWERS_PER_MESSAGE) - used));
      for (const [i, m] of messages.entries()) {
        // the same answer part always has the same id (a resend after a crash or a failure is recognised): the
        // update's row, the reply's place among its replies, the part's place in the reply
        const msgid = reply ? `r${reply.seq}-${reply.index}-${i}` : `o${randomBytes(8).toString('hex')}`;
        if (welcomeCode) await kfApi.post('kf/send_msg_on_event', { code: welcomeCode, msgid, ...m });
        else await kfApi.post('kf/send_msg', { touser: externalUserId, open_kfid: kfId, msgid, ...m });
      }
      return { ok: true, used: messages.length };
    } catch (e) {
      if (e instanceof WecomApiError && (KF_FINAL.includes(e.errcode) || adviceFor(e.errcode))) return { ok: false, kind: 'rejected', error: `${e.errcode} ${e.errmsg}` };
      return wecomOutcome(e);
    }
  }

  /** The platform says an answer it accepted was not delivered: recorded on the update, never retried. */
  async function sendFailed(failMsgid: string | undefined, failType: number | undefined) {
    const m = /^r(\d+)-\d+(?:-\d+)?$/.exec(failMsgid ?? '');
    const reason = `msg_send_fail ${failType ?? '?'}: ${FAIL_TYPES[failType ?? 0] ?? 'unknown reason'}`;
    if (m) await conversations.undelivered(BigInt(m[1]!), reason);
    logger.warn({ channel: 'wecom', failMsgid, reason }, 'wecom answer not delivered');
  }

  const textBody = express.text({ type: () => true, limit: '64kb' });
  /** The raw XML body, at most 64 KB; an oversized or unreadable body is refused like any bad callback. */
  const xmlBody = (route: string) => (req: Request, res: Response, next: () => void) =>
    textBody(req, res, (err?: unknown) => {
      if (!err) return next();
      const tooLarge = (err as { type?: string }).type === 'entity.too.large';
      logger.warn({ route, problem: tooLarge ? 'too_large' : 'bad_body' }, 'wecom callback refused');
      res.status(tooLarge ? 413 : 400).type('text/plain').send('');
    });

  /**
   * A POST callback: checked and opened, recorded, answered 200 at once (the platform retries after 5 s), handled
   * after; a redelivery is answered and not handled again; one that is not for us is answered and ignored.
   */
  function callbackRoute(envelope: Envelope, route: string, wanted: (msg: Record<string, string>) => boolean) {
    return async (req: Request, res: Response) => {
      let msg: Record<string, string>;
      try {
        msg = open(envelope, req);
      } catch (e) {
        return refuse(route, res, e);
      }
      if (!wanted(msg)) return void res.type('text/plain').send('');
      let fresh: boolean;
      try {
        fresh = await recordCallback(callbackId(msg), msg);
      } catch (e) {
        return refuse(route, res, e);
      }
      res.type('text/plain').send('');
      if (fresh) void handleCallback(msg).catch((e: unknown) => logger.error({ route, err: errorFields(e) }, 'wecom callback handling failed'));
    };
  }

  /** The dedupe key of a callback: the message id, or (events) who, when, which. */
  function callbackId(msg: Record<string, string>): string {
    if (msg.Event === 'kf_msg_or_event') return `kf:${msg.OpenKfId ?? ''}:${msg.Token ?? ''}:${msg.CreateTime ?? ''}`;
    return msg.MsgId ? `app:${msg.MsgId}` : `app:${msg.FromUserName ?? ''}:${msg.CreateTime ?? ''}:${msg.Event ?? ''}:${msg.TaskId ?? ''}:${msg.EventKey ?? ''}`;
  }

  async function handleCallback(msg: Record<string, string>): Promise<void> {
    const id = callbackId(msg);
    if (msg.Event === 'kf_msg_or_event') {
      if (!(await pull(msg.OpenKfId!, msg.Token))) return; // stays unhandled: the sweeper pulls again
    } else await handleApp(id, msg);
    await conversations.handled('wecom-callback', id);
  }

  /** Callbacks recorded but not handled (a crash, a failed pull), and answers not sent: handled again. */
  async function sweep(olderThanMs = 60_000): Promise<number> {
    const callbacks = (await conversations.unfinished('wecom-callback', olderThanMs)) as Array<Record<string, string>>;
    for (const msg of callbacks) await handleCallback(msg).catch((e: unknown) => logger.warn({ err: errorFields(e) }, 'wecom callback still failing; will try again'));
    const kf = (await conversations.unfinished('wecom', olderThanMs)) as KfMessage[];
    for (const msg of kf) await handleKf(msg.open_kfid ?? msg.event?.open_kfid ?? '', msg).catch((e: unknown) => logger.warn({ err: errorFields(e) }, 'wecom message still failing; will try again'));
    return callbacks.length + kf.length;
  }
  let sweeper: NodeJS.Timeout | undefined;

  /**
   * A photo or voice note a household sent to 微信客服, by its media id (valid 3 days): media/get with the 微信客服
   * token. Voice notes come as AMR; the keeper turns them into WAV.
   */
  async function fetchMedia(mediaId: string): Promise<FetchedMedia> {
    try {
      const { body, mime } = await kfApi.download('media/get', { media_id: mediaId }, (res) => readCapped(res));
      if (!body.ok) return { ok: false, final: true, error: body.error };
      return { ok: true, data: body.data, mime };
    } catch (e) {
      // 40007: the media id is unknown or expired; retrying cannot bring it back
      if (e instanceof WecomApiError) return { ok: false, final: e.errcode === 40007, error: `${e.errcode}` };
      return { ok: false, final: false, error: (e as Error).name };
    }
  }

  /** 微信客服: households. */
  const kfPort: ChannelPort = { channel: 'wecom', caps: KF_CAPS, send: kfSend, fetchMedia };
  /** The self-built app: staff (paced per member by the outbox: 30 messages a minute and 1,000 an hour). */
  // the platform allows a member 30 messages a minute and 1,000 an hour; an outbox message is at most two of them
  // (a text too long for a card, then the card with its buttons), so the outbox counts half of each
  const appPort: ChannelPort = { channel: 'wecom-app', caps: APP_CAPS, send: appSend, perChat: { perMinute: 15, perHour: 500 } };

  return {
    kf: kfPort,
    app: appPort,
    fetchMedia,
    kfApi,
    appApi,
    pull,
    mount(app: Express) {
      app.get(KF_PATH, verifyUrl(kfEnvelope, KF_PATH));
      app.get(APP_PATH, verifyUrl(appEnvelope, APP_PATH));
      app.post(KF_PATH, xmlBody(KF_PATH), callbackRoute(kfEnvelope, KF_PATH, (msg) => msg.Event === 'kf_msg_or_event' && Boolean(msg.OpenKfId)));
      app.post(APP_PATH, xmlBody(APP_PATH), callbackRoute(appEnvelope, APP_PATH, () => true));
    },

    sweep,
    /** Resolves when no pull is running (tests, and a clean stop). */
    async settled() {
      while (pulling.size > 0) await Promise.all([...pulling.values()].map((p) => p.done));
      await new Promise((r) => setImmediate(r));
    },
    /** Pulls every account seen before (what arrived while this instance was down), then sweeps every minute. */
    async start() {
      const accounts = await db.prisma.wecomCursor.findMany({ select: { openKfId: true } });
      for (const a of accounts) void pull(a.openKfId, undefined);
      sweeper = setInterval(() => void sweep().catch(() => {}), 60_000);
      sweeper.unref();
      logger.info({ corp: config.corpId, agent: config.agentId }, 'wecom channel on');
    },
    async stop() {
      if (sweeper) clearInterval(sweeper);
      await Promise.all([...pulling.values()].map((p) => p.done));
    },
  };

  async function handleApp(platformId: string, msg: Record<string, string>) {
    const userId = msg.FromUserName;
    if (!userId) return;
    let input: Inbound | undefined;
    if (msg.MsgType === 'text') input = textInput(msg.Content ?? '');
    else if (msg.MsgType === 'event' && msg.Event === 'template_card_event' && msg.EventKey) input = { kind: 'choice', id: msg.EventKey };
    else if (msg.MsgType === 'event' && msg.Event === 'enter_agent') input = { kind: 'command', name: 'start', arg: '' };
    if (!input) return;
    await conversations.run(appPort, { platformId, payload: msg, userId, chatId: userId, input, replyRef: msg.ResponseCode ? { responseCode: msg.ResponseCode } : undefined });
  }

  /**
   * One message of the self-built app to a member: the first answer to a tapped card replaces that card (its first
   * line and buttons; what does not fit follows as messages); anything else goes out as messages.
   */
  async function appSend(userId: string, out: Outbound, reply?: ReplyTo): Promise<SendOutcome> {
    try {
      let messages = appMessages(out);
      const responseCode = reply?.index === 0 ? reply.ref?.responseCode : undefined;
      if (typeof responseCode === 'string' && out.replace) {
        const i = messages.findIndex((m) => m.msgtype === 'template_card');
        const update = i >= 0 ? messages[i]! : card(out.text.trim().split('\n')[0] ?? '', '', []);
        const { template_card } = update as { template_card: Record<string, unknown> };
        // a response code is good for one update: when it has been used (a resend) or refused, the card goes out as
        // a new message instead
        const updated = await appApi.post('message/update_template_card', { userids: [userId], agentid: Number(config.agentId), response_code: responseCode, template_card }).then(
          () => true,
          (e: unknown) => {
            if (!(e instanceof WecomApiError)) throw e;
            return false;
          },
        );
        if (updated) messages = messages.filter((_, j) => j !== i);
        else if (i < 0) messages = [...messages, update];
      }
      for (const m of messages) {
        // a message sent in parts: if a later part fails, the retry sends the parts again, and the platform's
        // duplicate check (same content to the same member within 4 hours) drops those already delivered
        const once = !reply && messages.length > 1 && m.msgtype === 'text' ? { enable_duplicate_check: 1, duplicate_check_interval: 14_400 } : {};
        const r = await appApi.post<{ invaliduser?: string }>('message/send', { touser: userId, agentid: Number(config.agentId), ...m, ...once });
        if (r.invaliduser) return { ok: false, kind: 'unreachable', error: `invalid user ${r.invaliduser}` };
      }
      return { ok: true, used: messages.length };
    } catch (e) {
      return wecomOutcome(e);
    }
  }
}

/** 微信客服 errors that make an answer impossible (session closed, over the limits, no such customer): final. */
const KF_FINAL = [95001, 95002, 95013, 95018, 41050, 41051];

/** A WeCom API error as the outbox reads it. */
export function wecomOutcome(e: unknown): SendOutcome {
  if (e instanceof WecomApiError) {
    if (e.errcode === 45009) return { ok: false, kind: 'retry_after', retryAfterS: 60, error: `45009 ${e.errmsg}` };
    if (e.errcode === 60111 || e.errcode === 81013) return { ok: false, kind: 'unreachable', error: `${e.errcode} ${e.errmsg}` };
    return { ok: false, kind: 'error', error: `${e.errcode} ${e.errmsg}` };
  }
  return { ok: false, kind: 'error', error: `${(e as Error).name}: ${(e as Error).message}` };
}

export type Wecom = ReturnType<typeof createWecom>;
