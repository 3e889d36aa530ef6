import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import express, { Router, type Express, type Request, type Response } from 'express';
import helmet from 'helmet';
import compression from 'compression';
import busboy from 'busboy';
import { disableFS, imageSize } from 'image-size';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../../server/db/index.ts';
import type { Crypto } from '../../../server/crypto.ts';
import type { Logger } from '../../../server/log.ts';
import { REPO_ROOT } from '../../../server/config.ts';
import { errorFields } from '../../../server/errors.ts';
import { MEDIA_MAX_BYTES, type FetchedMedia } from '../../../server/intake/media.ts';
import type { Conversations } from '../../conversation.ts';
import type { Capabilities, Inbound, Outbound } from '../../engine/types.ts';
import type { ChannelPort, ReplyTo, SendOutcome } from '../port.ts';
import { memoT } from '../../../server/i18n.ts';
import { languageOf, renderPage, renderStatus, renderRefusal, type Screen } from './page.ts';

/**
 * The web page a village poster's QR code opens (`/r`, `/r?v=<village code>`): the same flow as the messengers,
 * one question per screen, in any phone browser (WeChat's own included), with no app and no account.
 *
 * - Identity: a random value in an HttpOnly cookie; the conversation is keyed by its keyed hash, so the same
 *   phone resumes its draft and the database never holds the cookie itself.
 * - Each answer is a plain form POST (then a redirect to the page: it works with no JavaScript); with htmx the
 *   page swaps in place. Every form carries a CSRF token (a keyed hash of the identity) and a random id: the
 *   update is recorded by it, so a double tap or a resent form is answered once.
 * - "Sending" a reply stores it as the browser's screen (`web_screen`): the next GET shows it. Any instance can
 *   serve any request.
 * - Limits per address and per browser are counted in the database (rate-limiter-flexible's PostgreSQL store), so
 *   every instance agrees; an address over its limit is refused in memory, without a query, until its block ends:
 *   a flood costs the others nothing.
 * - Photos: one file a request, at most 10 MB, read as a real image (its header parsed for a size), kept encrypted
 *   until the media keeper takes them into the lead.
 */

export const WEB_CHANNEL = 'web';
/** One question a screen, every choice a full-width button, toggles drawn in place; no voice notes, no staff desk. */
export const WEB_CAPS: Capabilities = { buttons: true, maxButtons: 60, buttonsPerRow: 1, multiSelect: true, staffDesk: false, voice: false };
export const WEB_PATH = '/r';
const COOKIE = 'rid';
const BIG_COOKIE = 'big';
const COOKIE_DAYS = 30;
/** Photos read at the same time by one instance (each held in memory while it is checked). */
const MAX_READING = 6;
/** How long a request count may take before the in-memory count stands in. */
const LIMIT_QUERY_MS = 500;
/** The largest photo taken, in pixels (a small file can claim a huge picture, to be drawn in staff's browsers). */
const MAX_PIXELS = 100_000_000;

/** An address, or for IPv6 its /64 (one household's line has a whole /64 to pick addresses from). */
export function networkOf(ip: string): string {
  if (!isIPv6(ip) || ip.startsWith('::ffff:')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Typed words as text: control characters (a NUL cannot be stored) and lone surrogates dropped. */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
}

/** A form's id: the page's random id, with a letter for its other forms (the photo, the choices, the foot's buttons). */
const FORM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-[pfc])?$/;
/** Photos a report takes (the flow stops at the same number). */
export const WEB_MAX_PHOTOS = 5;

/** How many requests pass, in the database's count shared by every instance. */
export type WebLimits = {
  /** requests from one address a minute (villagers behind one carrier address share it: generous) */
  perAddress: number;
  /** requests from one browser a minute (a person taps once a second at most) */
  perBrowser: number;
  /** browsers one address may begin an hour */
  newPerAddress: number;
  /** status look-ups from one address in 15 minutes */
  lookups: number;
  /** photos one browser may send an hour */
  uploads: number;
};
export const WEB_LIMITS: WebLimits = { perAddress: 300, perBrowser: 60, newPerAddress: 100, lookups: 10, uploads: 10 };

export type WebDeps = {
  db: Database;
  crypto: Crypto;
  conversations: Conversations;
  logger: Logger;
  /** a report's stage by its receipt and the last 4 digits of its phone (nothing personal) */
  stageByReceipt: (receiptNo: string, phoneTail: string) => Promise<{ stage: string; reportedOn: string } | undefined>;
  /** where people reach the product (PUBLIC_BASE_URL): https there makes the cookie Secure */
  baseUrl: () => string;
  limits?: Partial<WebLimits>;
};

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'web.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'bot/channels/web/assets/web.css')) },
  'web.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'bot/channels/web/assets/web.js')) },
  'htmx.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')) },
};

/** A refusal the page explains in words (the limits, a stale form, a file that is not a photo). */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly key: string,
    readonly params: Record<string, unknown> = {},
  ) {
    super(key);
  }
}

export function createWeb(deps: WebDeps) {
  const { db, crypto, conversations, logger } = deps;
  const limits = { ...WEB_LIMITS, ...deps.limits };

  // ---- the port: a reply is the browser's next screen
  async function send(chatId: string, out: Outbound, reply?: ReplyTo): Promise<SendOutcome> {
    try {
      const seq = reply ? reply.seq : null;
      if (reply && reply.index === 0) {
        await db.sql`
          INSERT INTO web_screen (chat_id, seq, replies, updated_at) VALUES (${chatId}::text, ${seq}::bigint, ${crypto.encryptJson([out])}::bytea, now())
          ON CONFLICT (chat_id) DO UPDATE SET seq = EXCLUDED.seq, replies = EXCLUDED.replies, updated_at = now()`;
        return { ok: true };
      }
      // a later reply of the same answer joins the screen; a message that answers nothing is added to what is shown
      const rows = await db.sql<{ seq: string; replies: Uint8Array }>`SELECT seq::text AS seq, replies FROM web_screen WHERE chat_id = ${chatId}::text`;
      const shown = rows[0] && (seq === null || BigInt(rows[0].seq) === seq) ? crypto.decryptJson<Outbound[]>(rows[0].replies) : [];
      const next = [...shown, out].slice(-10);
      await db.sql`
        INSERT INTO web_screen (chat_id, seq, replies, updated_at) VALUES (${chatId}::text, ${seq ?? (rows[0] ? BigInt(rows[0].seq) : 0n)}::bigint, ${crypto.encryptJson(next)}::bytea, now())
        ON CONFLICT (chat_id) DO UPDATE SET seq = EXCLUDED.seq, replies = EXCLUDED.replies, updated_at = now()`;
      return { ok: true };
    } catch (e) {
      return { ok: false, kind: 'error', error: JSON.stringify(errorFields(e)).slice(0, 300) };
    }
  }

  async function fetchMedia(fileId: string): Promise<FetchedMedia> {
    if (!/^[0-9a-f-]{36}$/.test(fileId)) return { ok: false, final: true, error: 'not_found' };
    const row = await db.prisma.webUpload.findUnique({ where: { id: fileId }, select: { data: true, mime: true } });
    if (!row) return { ok: false, final: true, error: 'not_found' };
    return { ok: true, data: crypto.decryptBytes(row.data), mime: row.mime };
  }

  const port: ChannelPort = { channel: WEB_CHANNEL, caps: WEB_CAPS, send, fetchMedia: (id) => fetchMedia(id), mount };

  // ---- limits, counted in the database
  // a count that does not come back quickly is an error: the in-memory limiter takes over, the page does not wait
  const store = {
    query: (q: { text: string; values?: unknown[] }) =>
      new Promise<{ rows: unknown[]; rowCount: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('rate limit store too slow')), LIMIT_QUERY_MS);
        db.query(q.text, q.values ?? []).then(
          (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      }),
  };
  const limiter = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterPostgres({
      storeClient: store,
      storeType: 'pool',
      tableName: 'rate_limit',
      tableCreated: true,
      clearExpiredByTimeout: true,
      keyPrefix,
      points,
      duration,
      // over the limit, an address is turned away in memory until its block ends: no query per request of a flood
      inMemoryBlockOnConsumed: points,
      inMemoryBlockDuration: duration,
      // the database not answering must not close the page: each instance counts alone meanwhile
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  const byAddress = limiter('web_ip', limits.perAddress, 60);
  const byBrowser = limiter('web_id', limits.perBrowser, 60);
  const newByAddress = limiter('web_new', limits.newPerAddress, 3600);
  const lookups = limiter('web_status', limits.lookups, 900);
  const uploads = limiter('web_photo', limits.uploads, 3600);
  const uploadsByAddress = limiter('web_photo_ip', limits.uploads * 4, 3600);
  /** photos being read now, in this instance (each is held in memory, up to 10 MB) */
  let reading = 0;

  /**
   * One request counted against `key`. Counts of one key are made one after another in this instance: a flood from
   * one address waits here, in memory, rather than in the database's pool behind the lock on its one row.
   */
  const counting = new Map<string, Promise<unknown>>();
  async function take(l: RateLimiterAbstract, key: string): Promise<void> {
    const k = `${l.keyPrefix}:${key}`;
    const mine = (counting.get(k) ?? Promise.resolve()).catch(() => undefined).then(() => l.consume(key));
    counting.set(k, mine);
    try {
      await mine;
    } catch (e) {
      if (e instanceof RateLimiterRes) throw new Refused(429, 'web.too_many', { seconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) });
      throw e;
    } finally {
      if (counting.get(k) === mine) counting.delete(k);
    }
  }

  // ---- identity
  const idOf = (cookie: string) => `w${crypto.lookupHash('web_browser', cookie).slice(0, 40)}`;
  // the cookie is a random value and its keyed hash: a value made up elsewhere is a new browser (and counted as one)
  const signed = (value: string) => `${value}.${crypto.lookupHash('web_cookie', value).slice(0, 32)}`;
  const csrfOf = (id: string) => crypto.lookupHash('web_form', id).slice(0, 32);
  const secure = (req: Request) => deps.baseUrl().startsWith('https:') || req.secure;
  function cookieOf(req: Request, name: string): string | undefined {
    for (const part of (req.get('cookie') ?? '').split(';')) {
      const at = part.indexOf('=');
      if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
    }
    return undefined;
  }
  /** The browser's identity: its cookie's, or a new one (counted against the address) set on this response. */
  async function browser(req: Request, res: Response, create: boolean): Promise<string | undefined> {
    const have = cookieOf(req, COOKIE);
    const value = have && /^[A-Za-z0-9_-]{43}\.[0-9a-f]{32}$/.test(have) ? have.slice(0, 43) : undefined;
    if (value && sameToken(have!, signed(value))) return idOf(value);
    if (!create) return undefined;
    await take(newByAddress, address(req));
    const fresh = randomBytes(32).toString('base64url');
    res.cookie(COOKIE, signed(fresh), { httpOnly: true, sameSite: 'lax', secure: secure(req), path: WEB_PATH, maxAge: COOKIE_DAYS * 86_400_000 });
    return idOf(fresh);
  }
  const address = (req: Request) => networkOf(req.ip ?? 'unknown');
  const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  // ---- a turn of the conversation, as the messengers' are
  /** One answer through the conversation; the replies it sent (the new screen), or undefined for a form sent again. */
  async function turn(req: Request, id: string, platformId: string, input: Inbound): Promise<Outbound[] | undefined> {
    const r = await conversations.run(port, {
      platformId: `${id}:${platformId}`,
      payload: { input },
      userId: id,
      chatId: id,
      languageCode: req.acceptsLanguages('zh-CN', 'zh', 'en') || undefined,
      input,
    });
    return r.duplicate || r.replies.length === 0 ? undefined : r.replies;
  }

  async function screenOf(id: string): Promise<Outbound[] | undefined> {
    const rows = await db.sql<{ replies: Uint8Array }>`SELECT replies FROM web_screen WHERE chat_id = ${id}::text`;
    return rows[0] ? crypto.decryptJson<Outbound[]>(rows[0].replies) : undefined;
  }

  function view(req: Request, id: string): Screen {
    return { lng: languageOf(req), big: cookieOf(req, BIG_COOKIE) === '1', csrf: csrfOf(id), nonce: randomUUID(), maxPhotos: WEB_MAX_PHOTOS };
  }

  async function showPage(req: Request, res: Response, id: string, shown?: Outbound[]): Promise<void> {
    let replies = shown ?? (await screenOf(id));
    if (!replies) {
      await turn(req, id, `open:${randomUUID()}`, { kind: 'command', name: 'start', arg: '' });
      replies = (await screenOf(id)) ?? [];
    }
    res.setHeader('cache-control', 'no-store');
    res.type('html').send(renderPage(view(req, id), replies));
  }

  function refuse(req: Request, res: Response, e: unknown): void {
    if (e instanceof Refused) {
      if (e.status === 429 || e.status === 503) res.setHeader('retry-after', String(e.params.seconds ?? 60));
      // a flood's answer costs as little as possible: the words alone
      if (e.status === 429) return void res.status(429).type('text/plain').send(memoT(languageOf(req), 'bot')(e.key, e.params));
      res.status(e.status).type('html').send(renderRefusal({ lng: languageOf(req), big: cookieOf(req, BIG_COOKIE) === '1' }, e.key, e.params));
      return;
    }
    logger.error({ channel: WEB_CHANNEL, err: errorFields(e) }, 'web page failed');
    res.status(503).type('html').send(renderRefusal({ lng: languageOf(req), big: cookieOf(req, BIG_COOKIE) === '1' }, 'web.failed'));
  }

  /** After an answer: htmx swaps the new screen in; a plain form is sent to the page (POST, redirect, GET). */
  async function answered(req: Request, res: Response, id: string, shown: Outbound[] | undefined): Promise<void> {
    // the screen just stored is drawn from what the turn said, without reading it back
    if (req.get('hx-request') === 'true') return showPage(req, res, id, shown);
    res.redirect(303, WEB_PATH);
  }

  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  /** A form's identity, CSRF token and id, checked; the address and the browser counted. */
  async function posted(req: Request, res: Response): Promise<{ id: string; nonce: string }> {
    const id = await browser(req, res, false);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const csrf = typeof body.csrf === 'string' ? body.csrf : '';
    if (!id || !sameToken(csrf, csrfOf(id))) {
      await take(byAddress, address(req));
      throw new Refused(403, 'web.stale');
    }
    // both counts at once: one round trip's wait
    await Promise.all([take(byAddress, address(req)), take(byBrowser, id)]);
    const nonce = typeof body.u === 'string' && FORM_ID.test(body.u) ? body.u : randomUUID();
    return { id, nonce };
  }

  function mount(app: Express): void {
    const r = Router();
    // an address over its limit is answered before anything else is done for it (from memory: no query, no page)
    r.use((req, res, next) => {
      const blocked = (byAddress as unknown as { getInMemoryBlockMsBeforeExpire(key: string): number }).getInMemoryBlockMsBeforeExpire(byAddress.getKey(address(req)));
      if (blocked > 0) return refuse(req, res, new Refused(429, 'web.too_many', { seconds: Math.ceil(blocked / 1000) }));
      next();
    });
    r.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'"],
            imgSrc: ["'self'", 'data:'],
            formAction: ["'self'"],
            frameAncestors: ["'none'"],
            baseUri: ["'none'"],
            objectSrc: ["'none'"],
          },
        },
        strictTransportSecurity: false,
        crossOriginEmbedderPolicy: false,
        referrerPolicy: { policy: 'same-origin' },
      }),
    );
    r.use(compression({ filter: (_req, res) => res.statusCode < 400 && /^text\/(html|css|javascript)/.test(String(res.getHeader('content-type') ?? '')) }));

    r.get('/assets/:name', (req, res) => {
      const a = Object.hasOwn(ASSETS, req.params.name) ? ASSETS[req.params.name] : undefined;
      if (!a) return void res.status(404).end();
      res.setHeader('content-type', a.type);
      res.setHeader('cache-control', 'public, max-age=3600');
      res.send(a.body);
    });

    r.get('/', async (req, res) => {
      try {
        await take(byAddress, address(req));
        const id = (await browser(req, res, true))!;
        const v = typeof req.query.v === 'string' ? req.query.v : '';
        if (/^\d{12}$/.test(v)) {
          await take(byBrowser, id);
          // from a poster: the welcome with the village filled in, then the plain address (a reload starts nothing)
          await turn(req, id, `start:${randomUUID()}`, { kind: 'command', name: 'start', arg: `v${v}` });
          return res.redirect(303, WEB_PATH);
        }
        await showPage(req, res, id);
      } catch (e) {
        refuse(req, res, e);
      }
    });

    r.post('/', form, async (req, res) => {
      try {
        const { id, nonce } = await posted(req, res);
        const body = req.body as Record<string, unknown>;
        const choice = typeof body.c === 'string' ? body.c.slice(0, 200) : undefined;
        const text = typeof body.t === 'string' ? body.t : undefined;
        // the page's own two buttons are the chat's /start and /status
        const input: Inbound | undefined = choice
          ? choice === 'home' || choice === 'mine'
            ? { kind: 'command', name: choice === 'home' ? 'start' : 'status', arg: '' }
            : { kind: 'choice', id: choice }
          : text !== undefined
            ? { kind: 'text', text: plainText(text.slice(0, 2000)) }
            : undefined;
        await answered(req, res, id, input ? await turn(req, id, nonce, input) : undefined);
      } catch (e) {
        refuse(req, res, e);
      }
    });

    r.post('/photo', async (req, res) => {
      let counted = false;
      try {
        await take(byAddress, address(req));
        // everything is checked before the body is read: the browser, its form's token (in the form's address), the
        // size it declares, the limits, and that its screen asks for a photo at all
        const id = await browser(req, res, false);
        const csrf = typeof req.query.csrf === 'string' ? req.query.csrf : '';
        if (!id || !sameToken(csrf, csrfOf(id))) throw new Refused(403, 'web.stale');
        if (Number(req.get('content-length') ?? 0) > MEDIA_MAX_BYTES + 64 * 1024) throw new Refused(413, 'web.photo_too_big', { mb: MEDIA_MAX_BYTES / 1024 / 1024 });
        await take(byBrowser, id);
        if (!(await screenOf(id))?.at(-1)?.ask?.media) throw new Refused(409, 'web.photo_not_now');
        await take(uploads, id);
        await take(uploadsByAddress, address(req));
        if (reading >= MAX_READING) throw new Refused(503, 'web.busy', { seconds: 5 });
        reading++;
        counted = true;
        const got = await readPhoto(req);
        reading--;
        counted = false;
        if (!got.file) throw new Refused(400, 'web.photo_none');
        const upload = await db.prisma.webUpload.create({ data: { chatId: id, mime: got.file.mime, data: crypto.encryptBytes(got.file.data), createdAt: new Date() } });
        const nonce = got.fields.u && FORM_ID.test(got.fields.u) ? got.fields.u : randomUUID();
        await answered(req, res, id, await turn(req, id, nonce, { kind: 'media', media: 'photo', fileId: upload.id }));
      } catch (e) {
        if (counted) reading--;
        // a refused upload's body is not read: the connection is closed after the answer
        if (!req.complete) res.setHeader('connection', 'close');
        refuse(req, res, e);
      }
    });

    r.get('/big', async (req, res) => {
      const on = cookieOf(req, BIG_COOKIE) !== '1';
      res.cookie(BIG_COOKIE, on ? '1' : '0', { sameSite: 'lax', secure: secure(req), path: WEB_PATH, maxAge: 365 * 86_400_000 });
      res.redirect(303, req.query.back === 'status' ? `${WEB_PATH}/status` : WEB_PATH);
    });

    r.get('/status', async (req, res) => {
      const receipt = typeof req.query.receipt === 'string' ? req.query.receipt.slice(0, 40) : '';
      res.setHeader('cache-control', 'no-store');
      res.type('html').send(renderStatus({ lng: languageOf(req), big: cookieOf(req, BIG_COOKIE) === '1' }, { receipt }));
    });

    r.post('/status', form, async (req, res) => {
      try {
        await take(byAddress, address(req));
        const body = req.body as Record<string, unknown>;
        const receipt = typeof body.receipt === 'string' ? body.receipt.trim().toUpperCase().slice(0, 40) : '';
        const tail = typeof body.tail === 'string' ? body.tail.trim() : '';
        const page = { lng: languageOf(req), big: cookieOf(req, BIG_COOKIE) === '1' };
        if (!receipt || !/^\d{4}$/.test(tail)) return void res.status(400).type('html').send(renderStatus(page, { receipt, error: 'web.status_fill' }));
        // guessing is counted by address and by receipt: a receipt's phone cannot be found by trying 10,000 tails
        await take(lookups, address(req));
        await take(lookups, `r:${createHash('sha256').update(receipt).digest('hex').slice(0, 32)}`);
        const found = await deps.stageByReceipt(receipt, tail);
        if (!found) return void res.status(404).type('html').send(renderStatus(page, { receipt, error: 'web.status_not_found' }));
        res.setHeader('cache-control', 'no-store');
        res.type('html').send(renderStatus(page, { receipt, found }));
      } catch (e) {
        refuse(req, res, e);
      }
    });

    app.use(WEB_PATH, r);
  }

  /**
   * Deletes what the page kept for browsers gone quiet for `days` (a screen holds a draft's words; a photo is in its
   * lead's files once the media keeper has taken it): never kept longer than a draft.
   */
  async function purge(now: Date, days: number): Promise<number> {
    const before = new Date(now.getTime() - days * 86_400_000);
    const screens = await db.prisma.webScreen.deleteMany({ where: { updatedAt: { lt: before } } });
    const photos = await db.prisma.webUpload.deleteMany({ where: { createdAt: { lt: before } } });
    return screens.count + photos.count;
  }

  return { port, mount, limits, purge };
}

// photos are read from the request's bytes, never from a path
disableFS(true);

/** The photo types a phone's camera or gallery gives, as image-size names them. */
const PHOTO_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', heif: 'image/heic' };

/** One photo from a multipart form: the fields, and the file when it is a real image of at most 10 MB. */
function readPhoto(req: Request): Promise<{ fields: Record<string, string>; file?: { data: Buffer; mime: string } }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: MEDIA_MAX_BYTES, files: 1, fields: 5, fieldSize: 200, parts: 8 } });
    } catch {
      return reject(new Refused(400, 'web.photo_none'));
    }
    const fields: Record<string, string> = {};
    let file: { data: Buffer; mime: string } | undefined;
    let failed: Refused | undefined;
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (_name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => {
        failed = new Refused(413, 'web.photo_too_big', { mb: MEDIA_MAX_BYTES / 1024 / 1024 });
        stream.resume();
      });
      stream.on('end', () => {
        if (failed || chunks.length === 0) return;
        const data = Buffer.concat(chunks);
        try {
          // read as an image: its header parsed for a known type and a size (a renamed file or a script is refused)
          const size = imageSize(data);
          const mime = size.type ? PHOTO_TYPES[size.type] : undefined;
          if (!mime || !size.width || !size.height || size.width * size.height > MAX_PIXELS) throw new Error('not an image');
          file = { data, mime };
        } catch {
          failed = new Refused(415, 'web.photo_not_image');
        }
      });
    });
    bb.on('error', () => reject(new Refused(400, 'web.photo_none')));
    bb.on('close', () => (failed ? reject(failed) : resolve({ fields, ...(file ? { file } : {}) })));
    req.pipe(bb);
  });
}

export type Web = ReturnType<typeof createWeb>;
