import type { Database } from '../../../server/db/index.ts';
import type { Crypto } from '../../../server/crypto.ts';
import type { Logger } from '../../../server/log.ts';

/**
 * The WeCom server API: access tokens fetched with `gettoken`, kept in the database with their expiry (shared by
 * every instance, never one fetch per message) and refreshed once when the API says a token is invalid or
 * expired; errors read from `errcode`/`errmsg`. Busy (-1) is retried with backoff; too many concurrent calls
 * (45033) are retried with fewer in flight; everything else is thrown as a WecomApiError for the caller to
 * decide (45009 pauses sending; 60020 and invalid users are final, with a line saying what to fix).
 */

export class WecomApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(`${path}: ${errcode} ${errmsg}`);
  }
}

/** What an operator must do about an error that retrying cannot fix. */
export function adviceFor(errcode: number): string | undefined {
  switch (errcode) {
    case 60020:
      return "this server's public IP is not in the app's 企业可信IP: add it in the admin console (应用管理 → the app → 企业可信IP)";
    case 40001:
    case 40013:
      return 'WECOM_CORP_ID or the Secret is wrong (repeated wrong secrets block this IP for an hour)';
    case 60111:
    case 81013:
      return "the member is not in the organization or not in the app's visible range (应用管理 → the app → 可见范围)";
    case 95017:
      return 'the 微信客服 API switch is off: place the app under 微信客服 → 可调用接口的应用 and let it manage the accounts';
    default:
      return undefined;
  }
}

const TOKEN_INVALID = new Set([40014, 42001]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type WecomApi = ReturnType<typeof createWecomApi>;

export function createWecomApi(
  opts: { apiRoot: string; corpId: string; secret: string; name: string },
  deps: { db: Database; crypto: Crypto; logger: Logger; fetch?: typeof fetch; sleep?: (ms: number) => Promise<void> },
) {
  const { db, crypto, logger } = deps;
  const doFetch = deps.fetch ?? fetch;
  const wait = deps.sleep ?? sleep;
  const key = `${opts.corpId}:${opts.name}`;
  let inFlight = 0;
  let maxInFlight = 8;
  let fetching: Promise<string> | undefined;
  let known: { token: string; expiresAt: number } | undefined;

  async function gettoken(): Promise<{ token: string; expiresIn: number }> {
    const url = `${opts.apiRoot}/cgi-bin/gettoken?corpid=${encodeURIComponent(opts.corpId)}&corpsecret=${encodeURIComponent(opts.secret)}`;
    const res = await doFetch(url, { signal: AbortSignal.timeout(10_000) });
    const json = (await res.json()) as { errcode?: number; errmsg?: string; access_token?: string; expires_in?: number };
    if (json.errcode || !json.access_token) {
      const err = new WecomApiError(json.errcode ?? -1, json.errmsg ?? 'no access_token', 'gettoken');
      const advice = adviceFor(err.errcode);
      logger.error({ wecom: opts.name, errcode: err.errcode, ...(advice ? { fix: advice } : {}) }, 'wecom gettoken failed');
      throw err;
    }
    return { token: json.access_token, expiresIn: json.expires_in ?? 7200 };
  }

  /**
   * The current token: the one stored in the database while it has more than a minute left (this process keeps the
   * copy it read until then, or until the API refuses it); otherwise one instance fetches a new one under a row
   * lock while the others wait for it, then read it. `stale`: a token the API refused; replaced unless another
   * caller has replaced it already.
   */
  async function token(stale?: string): Promise<string> {
    const now = Date.now();
    // the token this process last read from the database, until it is refused or near its expiry
    if (known && known.token !== stale && known.expiresAt > now + 60_000) return known.token;
    const row = await db.prisma.wecomToken.findUnique({ where: { key } });
    if (row && row.expiresAt.getTime() > now + 60_000) {
      const current = crypto.decrypt(row.tokenEnc);
      if (current !== stale) {
        known = { token: current, expiresAt: row.expiresAt.getTime() };
        return current;
      }
    }
    // one fetch per process at a time; across processes, the row lock below
    fetching ??= (async () => {
      try {
        return await db.prisma.$transaction(
          async (tx) => {
            await tx.$executeRaw`INSERT INTO wecom_token (key, token_enc, expires_at, fetched_at) VALUES (${key}, ${Buffer.alloc(0)}, ${new Date(0)}, ${new Date(0)}) ON CONFLICT (key) DO NOTHING`;
            const locked = await tx.$queryRaw<Array<{ token_enc: Uint8Array; expires_at: Date }>>`SELECT token_enc, expires_at FROM wecom_token WHERE key = ${key} FOR UPDATE`;
            const r = locked[0]!;
            if (r.token_enc.length > 0 && r.expires_at.getTime() > Date.now() + 60_000) {
              const current = crypto.decrypt(r.token_enc);
              if (current !== stale) {
                known = { token: current, expiresAt: r.expires_at.getTime() };
                return current;
              }
            }
            const fresh = await gettoken();
            const at = new Date();
            known = { token: fresh.token, expiresAt: at.getTime() + fresh.expiresIn * 1000 };
            await tx.wecomToken.update({ where: { key }, data: { tokenEnc: crypto.encrypt(fresh.token), fetchedAt: at, expiresAt: new Date(at.getTime() + fresh.expiresIn * 1000) } });
            logger.info({ wecom: opts.name }, 'wecom access token fetched');
            return fresh.token;
          },
          { timeout: 20_000, maxWait: 20_000 },
        );
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  }

  /** POST a JSON body to /cgi-bin/<path>; returns the answer when errcode is 0. */
  async function post<T extends Record<string, unknown>>(path: string, body: unknown): Promise<T> {
    let tok = await token();
    let refreshed = false;
    let busy = 0;
    let crowded = 0;
    for (;;) {
      while (inFlight >= maxInFlight) await wait(20);
      inFlight++;
      let json: { errcode?: number; errmsg?: string } & Record<string, unknown>;
      try {
        const res = await doFetch(`${opts.apiRoot}/cgi-bin/${path}?access_token=${encodeURIComponent(tok)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        json = (await res.json()) as typeof json;
      } finally {
        inFlight--;
      }
      const code = json.errcode ?? 0;
      if (code === 0) {
        if (crowded > 0 && maxInFlight < 8) maxInFlight++;
        return json as T;
      }
      if (TOKEN_INVALID.has(code) && !refreshed) {
        refreshed = true;
        tok = await token(tok);
        continue;
      }
      if (code === -1 && busy < 3) {
        await wait(200 * 2 ** busy++);
        continue;
      }
      if (code === 45033 && crowded < 3) {
        maxInFlight = Math.max(1, Math.floor(maxInFlight / 2));
        await wait(300 * ++crowded);
        continue;
      }
      const advice = adviceFor(code);
      if (advice) logger.error({ wecom: opts.name, path, errcode: code, fix: advice }, 'wecom call refused');
      throw new WecomApiError(code, String(json.errmsg ?? ''), path);
    }
  }

  /**
   * GET /cgi-bin/<path> for a file (media/get): the file with its content type, or the API's error as a
   * WecomApiError (a JSON answer instead of a file). An invalid or expired token is replaced once.
   */
  async function download(path: string, query: Record<string, string>, read: (res: Response) => Promise<{ ok: true; data: Buffer } | { ok: false; error: string }>) {
    let tok = await token();
    for (let refreshed = false; ; refreshed = true) {
      const params = new URLSearchParams({ ...query, access_token: tok });
      const res = await doFetch(`${opts.apiRoot}/cgi-bin/${path}?${params}`, { signal: AbortSignal.timeout(60_000) });
      const type = res.headers.get('content-type') ?? '';
      if (/json|text\/plain/i.test(type)) {
        const json = (await res.json().catch(() => ({}))) as { errcode?: number; errmsg?: string };
        const code = json.errcode ?? -1;
        if (TOKEN_INVALID.has(code) && !refreshed) {
          tok = await token(tok);
          continue;
        }
        throw new WecomApiError(code, String(json.errmsg ?? ''), path);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new WecomApiError(-1, `http ${res.status}`, path);
      }
      return { body: await read(res), mime: type.split(';')[0]!.trim() || 'application/octet-stream' };
    }
  }

  return { post, token, download };
}
