import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { start, type Running } from '../../server/main.ts';
import { createWeb, networkOf, plainText, type WebLimits } from '../../bot/channels/web/index.ts';
import { newLead } from '../helpers/leads.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { ONE_PIXEL_PNG, webBrowser } from '../helpers/web.ts';
import { tFor } from '../../server/i18n.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';

// The web page over HTTP, as a phone's browser and as a hostile caller would use it: answers recorded once, forms
// of another browser or of no page refused, limits counted in the database, photos read as images, the status
// looked up by receipt and phone tail only, a draft kept across a restart, nothing personal in the log.

const NOW = new Date('2026-12-01T02:00:00Z');
const VILLAGE = '530925102212'; // 勐库镇公弄村
const t = tFor('zh-CN', 'bot');
const SHORT = ['开始申报', '我自己家', '=王老汉', '=13812345678', '同意，继续', '有人生病', '选好了', '都没有', '选好了'];

describe(`the web page over HTTP, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  const log = memoryLogger();
  const limits = { perAddress: 1000, perBrowser: 1000, newPerAddress: 1000, lookups: 3, uploads: 1000 };

  beforeAll(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place, { TRUST_PROXY: 'loopback' }), log.logger, { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0, webLimits: limits });
  });
  afterAll(async () => {
    await app?.stop();
    await place?.cleanup();
  });

  it('walks a report from a poster to the receipt, the village filled in, and the lead has the answers', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.1' });
    await b.open(`/r?v=${VILLAGE}`);
    expect(b.text()).toContain(t('welcome.village_from_link', { village: '勐库镇公弄村' }));
    expect(b.page.headers.get('cache-control')).toBe('no-store');
    await b.walk([...SHORT, '=老伴住院花了七八千', '✅ 没问题', '✅ 我同意', '=王老汉']);
    const receipt = /class="receipt-no">([^<]+)</.exec(b.page.html)?.[1];
    expect(receipt).toMatch(/^530925-\d{8}-\d{4}$/);
    expect(b.text()).toContain(t('web.receipt_screenshot'));
    // the chat's "发 /status" is the page's own button here
    expect(b.text()).not.toContain('/status');
    expect(b.text()).toContain(t('web.command_words.0.1'));
    const lead = await app.db.prisma.lead.findUniqueOrThrow({ where: { receiptNo: receipt! } });
    expect(lead).toMatchObject({ channel: 'web', villageCode: VILLAGE, headName: '王老汉' });
    expect(lead.answers).toMatchObject({ risks: ['illness'], whatHappened: '老伴住院花了七八千' });
    // nothing the person typed is in the log
    expect(log.text()).not.toContain('13812345678');
    expect(log.text()).not.toContain('王老汉');
  });

  it('answers a form sent twice once: a double tap on a tick leaves it ticked', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.2' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk(SHORT.slice(0, 5));
    const form = { csrf: b.field('csrf'), u: b.field('u'), c: b.buttonId('有人生病') };
    await b.post(form);
    expect(b.page.html).toMatch(/aria-pressed="true"><span class="box" aria-hidden="true">✓<\/span><span>有人生病/);
    // the same form again (a double tap, or the browser resending it): recorded once, not toggled off
    await b.post(form);
    expect(b.page.html).toMatch(/aria-pressed="true"><span class="box" aria-hidden="true">✓<\/span><span>有人生病/);
    // a new tap (a new form id) does toggle it
    await b.tap('有人生病');
    expect(b.page.html).not.toContain('aria-pressed="true"');
  });

  it('refuses a form without its token, or with another browser\'s, in words, and loses nothing', async () => {
    const a = webBrowser(app.url, { address: '10.0.0.3' });
    const other = webBrowser(app.url, { address: '10.0.0.3' });
    await a.open(`/r?v=${VILLAGE}`);
    await a.walk(['开始申报', '我自己家', '=王老汉']);
    const question = a.text();
    await other.open('/r');
    // no token
    let r = await a.post({ csrf: '', t: '13812345678' });
    expect(r.status).toBe(403);
    expect(a.text()).toContain(t('web.stale'));
    expect(a.text()).toContain(t('web.nothing_lost'));
    // another browser's token, sent with this browser's cookie (a page elsewhere posting on its behalf)
    r = await a.post({ csrf: other.field('csrf'), u: crypto.randomUUID(), t: '13812345678' });
    expect(r.status).toBe(403);
    // no cookie at all
    const stranger = webBrowser(app.url, { address: '10.0.0.3' });
    r = await stranger.post({ csrf: a.field('csrf', question), t: '13812345678' });
    expect(r.status).toBe(403);
    await a.open('/r');
    expect(a.text()).toBe(question);
  });

  it('turns away a browser over its limit with how long to wait, and not the others; counts are shared by every instance', async () => {
    // a second instance of the page over the same database, as behind a load balancer
    const second = express();
    second.set('trust proxy', 'loopback');
    createWeb({ db: app.db, crypto: createCryptoOf(app), conversations: app.conversations, logger: log.logger, stageByReceipt: async () => undefined, baseUrl: () => '', limits: { ...limits, perBrowser: 6 } }).mount(second);
    const server: Server = await new Promise((resolve) => {
      const s = second.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const secondUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const b = webBrowser(app.url, { address: '10.0.0.4' });
      await b.open(`/r?v=${VILLAGE}`);
      // the poster's link and 4 answers through the first instance (its limit is 1000): 5, counted in the database
      for (const label of ['开始申报', '我自己家', '⬅️ 返回上一步', '我自己家']) expect((await b.tap(label)).status).toBe(200);
      // the second instance allows 6 a minute for a browser: the 6th passes, the 7th is refused, because it sees the 5
      const there = webBrowser(secondUrl, { address: '10.0.0.4' });
      for (const [k, v] of b.jar) there.jar.set(k, v);
      await there.open('/r');
      let r = await there.tap('⬅️ 返回上一步');
      expect(r.status).toBe(200);
      r = await there.tap('我自己家');
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(there.text()).toContain(t('web.too_many', { seconds: Number(r.headers.get('retry-after')) }));
      // another browser at the same address is not held back by it
      const neighbour = webBrowser(secondUrl, { address: '10.0.0.4' });
      await neighbour.open(`/r?v=${VILLAGE}`);
      expect((await neighbour.tap('开始申报')).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps a photo sent from the page as a real image, and refuses what is not one, in words', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.5' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk(SHORT);
    expect(b.page.html).toContain('type="file" accept="image/*"');
    expect(b.page.html).not.toMatch(/type="file"[^>]*multiple/);
    // a script named .jpg
    let r = await b.photo(Buffer.from('<script>alert(1)</script>'), 'evil.jpg');
    expect(r.status).toBe(415);
    expect(b.text()).toContain(t('web.photo_not_image'));
    // more than 10 MB (refused by its declared size, before it is read)
    await b.open('/r');
    const big = Buffer.concat([ONE_PIXEL_PNG, Buffer.alloc(10 * 1024 * 1024 + 10)]);
    r = await b.photo(big, 'big.png', 'image/png');
    expect(r.status).toBe(413);
    expect(b.text()).toContain(t('web.photo_too_big', { mb: 10 }));
    // the question is still there, and a real photo is taken
    await b.open('/r');
    r = await b.photo(ONE_PIXEL_PNG, 'house.png', 'image/png');
    expect(r.status).toBe(200);
    expect(b.text()).toContain(t('engine.story_media_received', { count: 1 }));
    const uploads = await app.db.prisma.webUpload.findMany({});
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.mime).toBe('image/png');
    // kept encrypted: the PNG's own bytes are not in the row
    expect(Buffer.from(uploads[0]!.data).includes(ONE_PIXEL_PNG.subarray(0, 8))).toBe(false);
    await b.walk(['发好了', '✅ 没问题', '✅ 我同意', '=王老汉']);
    const receipt = /class="receipt-no">([^<]+)</.exec(b.page.html)![1]!;
    const lead = await app.db.prisma.lead.findUniqueOrThrow({ where: { receiptNo: receipt }, include: { attachments: true } });
    expect(lead.attachments.map((a) => [a.channel, a.kind, a.fileId])).toEqual([['web', 'photo', uploads[0]!.id]]);
    // the media keeper takes it from the page's store like from any channel
    await app.media.keepDue(NOW);
    const kept = await app.db.prisma.attachment.findFirstOrThrow({ where: { leadId: lead.id } });
    expect(kept.mime).toBe('image/png');
    expect(kept.fetchedAt).not.toBeNull();
  });

  it('shows a report\'s stage by receipt and phone tail, nothing personal, and stops a guesser', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.6' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk([...SHORT, '跳过', '✅ 没问题', '✅ 我同意', '=王老汉']);
    const receipt = /class="receipt-no">([^<]+)</.exec(b.page.html)![1]!;
    const asker = webBrowser(app.url, { address: '10.0.0.7' });
    await asker.open(`/r/status?receipt=${receipt}`);
    expect(asker.page.html).toContain(`value="${receipt}"`);
    let r = await asker.post({ receipt, tail: '5678' }, { path: '/r/status' });
    expect(r.status).toBe(200);
    expect(asker.text()).toContain(t('web.status_stage', { stage: t('stage.received') }));
    expect(asker.page.html).not.toContain('王老汉');
    expect(asker.page.html).not.toContain('1381234');
    r = await asker.post({ receipt, tail: '1234' }, { path: '/r/status' });
    expect(r.status).toBe(404);
    expect(asker.text()).toContain(t('web.status_not_found'));
    expect(asker.text()).not.toContain(t('stage.received'));
    // tries on one receipt are counted (3 here): the right tail is refused too once they are spent
    r = await asker.post({ receipt, tail: '0000' }, { path: '/r/status' });
    r = await asker.post({ receipt, tail: '5678' }, { path: '/r/status' });
    expect(r.status).toBe(429);
    // from another address as well: the receipt's own count stops a guesser that changes addresses
    const elsewhere = webBrowser(app.url, { address: '10.0.0.8' });
    r = await elsewhere.post({ receipt, tail: '5678' }, { path: '/r/status' });
    expect(r.status).toBe(429);
  });

  it('refuses a body over its limit and a form of no page, without a 500', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.9' });
    await b.open('/r');
    const r = await b.post({ t: 'x'.repeat(40_000) });
    expect(r.status).toBe(413);
    const odd = await fetch(`${app.url}/r/photo`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-forwarded-for': '10.0.0.9' }, body: 'x' });
    expect(odd.status).toBe(403);
  });

  it('forgets a page nobody came back to after the draft period, and its photos', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.11' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk(SHORT.slice(0, 3));
    expect(await app.web.purge(new Date(Date.now() + 29 * 86_400_000), 30)).toBe(0);
    expect(await app.web.purge(new Date(Date.now() + 31 * 86_400_000), 30)).toBeGreaterThan(0);
    expect(await app.db.prisma.webScreen.count()).toBe(0);
    expect(await app.db.prisma.webUpload.count()).toBe(0);
  });

  /** A second instance of the page over the same database, with its own limits. */
  async function secondInstance(own: Partial<WebLimits>): Promise<{ url: string; close(): Promise<void> }> {
    const second = express();
    second.set('trust proxy', 'loopback');
    createWeb({ db: app.db, crypto: createCryptoOf(app), conversations: app.conversations, logger: log.logger, stageByReceipt: (r, tail) => app.intake.stageByReceipt(r, tail), baseUrl: () => '', limits: { ...limits, ...own } }).mount(second);
    const server: Server = await new Promise((resolve) => {
      const s = second.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it('gives a browser an HttpOnly cookie of its own; a made-up cookie is a new browser, counted as one', async () => {
    const b = webBrowser(app.url, { address: '10.0.1.1' });
    await b.open('/r');
    const set = b.page.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^rid=[A-Za-z0-9_-]{43}\.[0-9a-f]{32}; Max-Age=2592000; Path=\/r; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    expect(b.page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const second = await secondInstance({ newPerAddress: 2 });
    try {
      const made = webBrowser(second.url, { address: '10.0.1.2' });
      // a value of the right shape, not made here: not an identity, so a new one is given (and counted)
      made.jar.set('rid', `${'A'.repeat(43)}.${'0'.repeat(32)}`);
      await made.open('/r');
      expect(made.jar.get('rid')).not.toBe(`${'A'.repeat(43)}.${'0'.repeat(32)}`);
      await webBrowser(second.url, { address: '10.0.1.2' }).open('/r');
      // the third new browser of the address within the hour is turned away, in words
      const third = webBrowser(second.url, { address: '10.0.1.2' });
      const r = await third.open('/r');
      expect(r.status).toBe(429);
      expect(r.html).toContain(t('web.too_many', { seconds: Number(r.headers.get('retry-after')) }));
      // one at another address is not
      expect((await webBrowser(second.url, { address: '10.0.1.3' }).open('/r')).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('takes a photo only where one is asked, with the browser\'s own token, and so many an hour', async () => {
    const second = await secondInstance({ uploads: 1 });
    try {
      const b = webBrowser(second.url, { address: '10.0.1.4' });
      await b.open(`/r?v=${VILLAGE}`);
      const before = await app.db.prisma.webUpload.count();
      // at the welcome, nothing asks for a photo
      let r = await b.photo(ONE_PIXEL_PNG, 'a.png', 'image/png', { csrf: b.field('csrf') });
      expect(r.status).toBe(409);
      expect(b.text()).toContain(t('web.photo_not_now'));
      await b.open('/r');
      await b.walk(SHORT);
      // another browser's token
      const other = webBrowser(second.url, { address: '10.0.1.4' });
      await other.open('/r');
      r = await b.photo(ONE_PIXEL_PNG, 'a.png', 'image/png', { csrf: other.field('csrf') });
      expect(r.status).toBe(403);
      expect(await app.db.prisma.webUpload.count()).toBe(before);
      await b.open('/r');
      expect((await b.photo(ONE_PIXEL_PNG, 'a.png', 'image/png')).status).toBe(200);
      // the same form sent again is the same photo, not a second one
      const again = await b.photo(ONE_PIXEL_PNG, 'a.png', 'image/png', { u: /name="u" value="([^"]+)"/.exec(b.page.html)![1]! });
      expect([200, 429]).toContain(again.status);
      await b.open('/r');
      r = await b.photo(ONE_PIXEL_PNG, 'b.png', 'image/png');
      expect(r.status).toBe(429);
      expect(await app.db.prisma.webUpload.count()).toBe(before + 1);
    } finally {
      await second.close();
    }
  });

  it('shows typed words as words (never as markup), drops what cannot be stored, and sends /r/big nowhere else', async () => {
    const b = webBrowser(app.url, { address: '10.0.1.5' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk([...SHORT, '=<b>牛</b>"死了\u0000']);
    expect(b.page.html).toContain('&lt;b&gt;牛&lt;/b&gt;&quot;死了');
    expect(b.page.html).not.toContain('<b>牛</b>');
    await b.walk(['✅ 没问题', '✅ 我同意', '=王老汉']);
    const receipt = /class="receipt-no">([^<]+)</.exec(b.page.html)![1]!;
    const lead = await app.db.prisma.lead.findUniqueOrThrow({ where: { receiptNo: receipt } });
    expect((lead.answers as { whatHappened: string }).whatHappened).toBe('<b>牛</b>"死了');
    const big = await fetch(`${app.url}/r/big?back=https://evil.example/`, { redirect: 'manual', headers: { 'x-forwarded-for': '10.0.1.5' } });
    expect(big.headers.get('location')).toBe('/r');
    expect((await fetch(`${app.url}/r/assets/constructor`)).status).toBe(404);
    expect(plainText('a\u0000b\u0007c\nd\te')).toBe('abc\nd\te');
    expect(plainText('x\ud800y\ud83d\ude00')).toBe('xy\ud83d\ude00');
  });

  it('makes one lead of a signature sent twice at once from two forms (a reload, two tabs)', async () => {
    const b = webBrowser(app.url, { address: '10.0.1.6' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk([...SHORT, '跳过', '✅ 没问题', '✅ 我同意']);
    const leadsBefore = await app.db.prisma.lead.count();
    const csrf = b.field('csrf');
    await Promise.all([b.post({ csrf, u: crypto.randomUUID(), t: '王老汉' }), b.post({ csrf, u: crypto.randomUUID(), t: '王老汉' }), b.post({ csrf, u: crypto.randomUUID(), t: '王老汉' })]);
    expect(await app.db.prisma.lead.count()).toBe(leadsBefore + 1);
  });

  it('finds a report by the proxy\'s own phone too, and counts an IPv6 line by its /64', async () => {
    const lead = newLead({ phone: '13900001111', reporterPhone: '13722223333', reporterRelation: 'family:child' });
    const got = await app.intake.receiveLead(lead, NOW);
    expect(await app.intake.stageByReceipt(got.receiptNo, '3333')).toMatchObject({ stage: 'received' });
    expect(await app.intake.stageByReceipt(got.receiptNo, '1111')).toMatchObject({ stage: 'received' });
    expect(await app.intake.stageByReceipt(got.receiptNo, '2222')).toBeUndefined();
    expect(await app.intake.stageByReceipt(got.receiptNo, '')).toBeUndefined();
    expect(networkOf('2408:8456:f10:1a2b:1:2:3:4')).toBe(networkOf('2408:8456:0f10:1a2b::99'));
    expect(networkOf('2408:8456:f10:1a2c::1')).not.toBe(networkOf('2408:8456:f10:1a2b::1'));
    expect(networkOf('10.1.2.3')).toBe('10.1.2.3');
  });

  it('keeps a draft across a restart: the same browser comes back to the same question', async () => {
    const b = webBrowser(app.url, { address: '10.0.0.10' });
    await b.open(`/r?v=${VILLAGE}`);
    await b.walk(SHORT.slice(0, 4));
    const question = b.text();
    expect(question).toContain(t('steps.sensitiveNotice.yes'));
    await app.stop();
    app = await start(testConfig(place, { TRUST_PROXY: 'loopback' }), log.logger, { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0, webLimits: limits });
    const again = webBrowser(app.url, { address: '10.0.0.10' });
    for (const [k, v] of b.jar) again.jar.set(k, v);
    await again.open('/r');
    expect(again.text()).toBe(question);
    await again.walk(SHORT.slice(4));
    expect(again.text()).toContain(t('steps.whatHappened.prompt_photos').split('\n')[0]!);
    // no voice is offered on the page
    expect(again.text()).not.toContain('语音');
  });
});

/** The same keys as the running app's (its configured key, or the key file in its DATA_DIR). */
function createCryptoOf(app: Running) {
  const c = app.config;
  return createCrypto(resolveMasterKey({ configured: c.encryptionKey, dataDir: c.dataDir, embedded: app.db.kind === 'pglite' }).key);
}
