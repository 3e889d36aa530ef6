import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { start, type Running } from '../../server/main.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { freshDatabase, testConfig, TEST_DB, TEST_ENCRYPTION_KEY, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { BOT_INFO, BOT_TOKEN, startFakeBotApi, telegramPerson, WEBHOOK_SECRET, type FakeApi } from '../fakes/bot-api.ts';

// Logging in to the county console over HTTP, as a browser does, on both databases: links from the bot, the
// session cookie, the limits on links and sessions, the headers every page carries. (The pages themselves are
// walked in Chromium: test/browser/console.test.ts.)
const START = new Date('2026-12-02T01:00:00Z'); // 09:00 in Yunnan
const MINUTE = 60_000;

describe(`console log-in, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let clock = START;
  const apps: Running[] = [];
  const log = memoryLogger();
  let nextUser = 8100;

  async function boot(env: Record<string, string> = {}) {
    const config = testConfig(place, { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, TELEGRAM_API_ROOT: api.url, ...env });
    const app = await start(config, log.logger, { host: '127.0.0.1', now: () => clock, telegramBotInfo: BOT_INFO, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0 });
    apps.push(app);
    return app;
  }

  async function member(app: Running, role: string, placeCode: string, name: string) {
    const person = telegramPerson(`${app.url}/telegram/webhook`, api, nextUser++);
    const { code } = await app.staff.createInvite(role, placeCode, name, clock);
    await person.say(`/join ${code}`);
    const m = await app.staff.byIdentity('telegram', String(person.userId));
    if (!m) throw new Error('join failed');
    return { ...person, id: m.id };
  }

  /** What the bot answers to /web: the link (if any) and the whole text. */
  async function askLink(p: { say(text: string): Promise<{ texts: string[] }> }) {
    const text = (await p.say('/web')).texts.join('\n');
    return { text, link: /https?:\/\/\S+\/console\/login\?t=([\w-]+)/.exec(text) };
  }

  /** Opens a link as the browser does (GET shows a button, the button POSTs): the session cookie, or where it went. */
  async function redeem(app: Running, token: string) {
    const page = await fetch(`${app.url}/console/login?t=${token}`);
    expect(await page.text()).toContain(`value="${token}"`);
    const res = await fetch(`${app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), redirect: 'manual' });
    const setCookie = res.headers.get('set-cookie') ?? '';
    const cookie = /fp_console=([^;]+)/.exec(setCookie)?.[0];
    return { res, setCookie, cookie, body: res.status === 303 ? '' : await res.text() };
  }

  /** The log-in POST with extra headers (as a reverse proxy adds them): the answer's headers. */
  async function redeemVia(app: Running, token: string, headers: Record<string, string>) {
    const res = await fetch(`${app.url}/console/login`, { method: 'POST', body: new URLSearchParams({ t: token }), redirect: 'manual', headers });
    expect(res.status, res.status === 303 ? '' : await res.text()).toBe(303);
    return res.headers;
  }

  const get = (app: Running, path: string, cookie?: string) => fetch(`${app.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });

  beforeEach(async () => {
    clock = START;
    place = await freshDatabase();
    api = await startFakeBotApi();
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop();
    await api.close();
    await place.cleanup();
  });

  it('builds the link on PUBLIC_BASE_URL; the cookie is HttpOnly, SameSite=Lax and Secure over https; pages carry a CSP with no inline script', async () => {
    const app = await boot({ PUBLIC_BASE_URL: 'https://fanpin.example.gov.cn' });
    const officer = await member(app, 'county_officer', '530925', '县干部周');
    const { text, link } = await askLink(officer);
    expect(text).toMatch(/^工作台登录链接（09:10 前有效，只能用一次，不要转给别人）：\nhttps:\/\/fanpin\.example\.gov\.cn\/console\/login\?t=/);
    const { res, setCookie, cookie } = await redeem(app, link![1]!);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/Path=\/console/);

    for (const path of ['/console', '/console/leads', '/console/blank', '/console/staff', '/console/access', '/console/login']) {
      const page = await get(app, path, cookie);
      expect(page.status, path).toBe(200);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(page.headers.get('strict-transport-security'), path).toContain('max-age=');
      expect(page.headers.get('cache-control'), path).toBe('no-store');
      const html = await page.text();
      // every script has a src: nothing inline the policy would have to allow
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g), path).toBeNull();
      expect(html, path).not.toMatch(/\son[a-z]+=/i);
    }
    // compressed for slow county networks
    const gz = await fetch(`${app.url}/console/leads`, { headers: { cookie: cookie!, 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
  });

  it('over plain http the cookie is not Secure, and a proxy\'s X-Forwarded-Proto is believed only with TRUST_PROXY', async () => {
    const app = await boot();
    const cadre = await member(app, 'village_cadre', '530925102208', '冰岛村李书记');
    const { link } = await askLink(cadre);
    expect(link![0]).toMatch(/^http:\/\/localhost:\d+\/console\/login\?t=/);
    const { setCookie } = await redeem(app, link![1]!);
    expect(setCookie).not.toMatch(/Secure/i);
    // a forged X-Forwarded-Proto from a client that is no proxy of ours changes nothing
    const forged = await redeemVia(app, (await askLink(cadre)).link![1]!, { 'x-forwarded-proto': 'https' });
    expect(forged.get('set-cookie')).not.toMatch(/Secure/i);
    expect(forged.get('strict-transport-security')).toBeNull();
    await app.stop();
    apps.pop();
    // behind a TLS-terminating proxy on this machine, believed with TRUST_PROXY: the cookie is Secure
    const proxied = await boot({ TRUST_PROXY: 'loopback' });
    const behind = await redeemVia(proxied, (await askLink(telegramPerson(`${proxied.url}/telegram/webhook`, api, cadre.userId))).link![1]!, { 'x-forwarded-proto': 'https' });
    expect(behind.get('set-cookie')).toMatch(/Secure/i);
    expect(behind.get('strict-transport-security')).toContain('max-age=');
  });

  it('links: used once, for 10 minutes; at most five in ten minutes per person, then told when to ask again; another person is not held back', async () => {
    const app = await boot();
    const cadre = await member(app, 'village_cadre', '530925102208', '冰岛村李书记');
    const reviewer = await member(app, 'township_reviewer', '530925102', '乡镇审核吴');
    const links: string[] = [];
    for (let i = 0; i < 5; i++) links.push((await askLink(cadre)).link![1]!);
    const sixth = await askLink(cadre);
    expect(sixth.link).toBeNull();
    expect(sixth.text).toBe('登录链接要得太频繁了，请 10 分钟后再要。');
    expect((await askLink(reviewer)).link).not.toBeNull();
    // each of the five works once
    const first = await redeem(app, links[0]!);
    expect(first.res.status).toBe(303);
    const again = await redeem(app, links[0]!);
    expect(again.res.status).toBe(400);
    expect(again.body).toContain('这个登录链接已经用过了');
    // ten minutes later: the unused links have expired, and a new one may be asked for
    clock = new Date(START.getTime() + 10 * MINUTE);
    const late = await redeem(app, links[1]!);
    expect(late.body).toContain('这个登录链接已经过期（有效 10 分钟）');
    expect(late.cookie).toBeUndefined();
    expect((await askLink(cadre)).link).not.toBeNull();
    // a made-up token is told apart from a used one
    const made = await redeem(app, 'A'.repeat(43));
    expect(made.body).toContain('这个登录链接不对');
  });

  it('a session ends after 30 idle minutes, and after 12 hours even when used all along; each time the log-in page says why', async () => {
    const app = await boot();
    const cadre = await member(app, 'village_cadre', '530925102208', '冰岛村李书记');
    let { cookie } = await redeem(app, (await askLink(cadre)).link![1]!);
    // used every 25 minutes for 11 h 50 min: still in
    for (let t = 25; t <= 710; t += 25) {
      clock = new Date(START.getTime() + t * MINUTE);
      expect((await get(app, '/console/leads', cookie)).status, `after ${t} minutes`).toBe(200);
    }
    clock = new Date(START.getTime() + 12 * 60 * MINUTE);
    const out = await get(app, '/console/leads', cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/login?why=long');
    expect(await (await get(app, '/console/login?why=long')).text()).toContain('您登录已满 12 小时，为了安全已自动退出');
    // the ended session stays ended, even within the idle limit
    expect((await get(app, '/console', cookie)).headers.get('location')).toBe('/console/login?why=ended');

    ({ cookie } = await redeem(app, (await askLink(cadre)).link![1]!));
    clock = new Date(clock.getTime() + 30 * MINUTE);
    const idle = await get(app, '/console', cookie);
    expect(idle.headers.get('location')).toBe('/console/login?why=idle');
    // htmx asks for a redirect header instead of a page
    const hx = await fetch(`${app.url}/console/leads`, { headers: { cookie: cookie!, 'hx-request': 'true' }, redirect: 'manual' });
    expect(hx.status).toBe(401);
    expect(hx.headers.get('hx-redirect')).toMatch(/^\/console\/login/);
  });

  it('a removed member\'s link does not open, and their session ends at once', async () => {
    const app = await boot();
    const cadre = await member(app, 'village_cadre', '530925102208', '冰岛村李书记');
    const { cookie } = await redeem(app, (await askLink(cadre)).link![1]!);
    const unused = (await askLink(cadre)).link![1]!;
    await app.staff.remove(cadre.id, clock);
    expect((await get(app, '/console', cookie)).headers.get('location')).toBe('/console/login?why=ended');
    const r = await redeem(app, unused);
    expect(r.cookie).toBeUndefined();
    expect(r.body).toContain('您的工作人员账号已被移除');
  });

  it('a restart keeps a link and a session that are still valid: the start-up purge reads the product\'s clock', async () => {
    // the clock stands days before the wall clock: a purge on the wall clock would think both long expired
    clock = new Date(Date.now() - 5 * 86_400_000);
    let app = await boot();
    const cadre = await member(app, 'village_cadre', '530925102208', '冰岛村李书记');
    const link = (await askLink(cadre)).link![1]!;
    const { cookie } = await redeem(app, (await askLink(cadre)).link![1]!);
    await app.stop();
    apps.pop();
    // a start purges in the background and a stop waits for it: after this the purge has run
    await (await boot()).stop();
    apps.pop();
    app = await boot();
    expect((await get(app, '/console', cookie)).status).toBe(200);
    expect((await redeem(app, link)).res.status).toBe(303);
  });

  it('`npm run cli -- console link --staff <id>` prints a link for the first officer that opens the console', async () => {
    let app = await boot({ PUBLIC_BASE_URL: 'http://console.test' });
    const officer = await member(app, 'county_officer', '530925', '县干部周');
    await app.stop(); // the embedded database is one process's at a time
    apps.pop();
    const env = { ...process.env, DATA_DIR: place.dataDir, PUBLIC_BASE_URL: 'http://console.test', ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl, DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {}) };
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'cli.ts', 'console', 'link', '--staff', officer.id], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const m = /^http:\/\/console\.test\/console\/login\?t=([\w-]+)\nValid until .* \(10 minutes\), once, for county_officer at 530925\.$/m.exec(cli.stdout);
    expect(m, cli.stdout).not.toBeNull();
    const unknown = spawnSync(process.execPath, ['--import', 'tsx', 'cli.ts', 'console', 'link', '--staff', '00000000-0000-4000-8000-000000000000'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('No active staff member');
    // the CLI's link is made on the wall clock: the server reads it on the same clock
    clock = new Date();
    app = await boot({ PUBLIC_BASE_URL: 'http://console.test' });
    const { res, cookie } = await redeem(app, m![1]!);
    expect(res.status).toBe(303);
    const home = await get(app, '/console', cookie);
    expect(await home.text()).toContain('县干部周');
  });
});
