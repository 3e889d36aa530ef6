import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import { createWecomApi } from '../../bot/channels/wecom/api.ts';
import { readButton } from '../../bot/buttons.ts';
import { createCrypto } from '../../server/crypto.ts';
import { zonedInstant } from '../../server/time.ts';
import { freshDatabase, testConfig, TEST_DB, TEST_ENCRYPTION_KEY, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { BOT_INFO, startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { buttons } from '../../bot/buttons.ts';
import { encryptedCallback, kfEventXml, OPEN_KFID, postCallback, startFakeWecom, bothChannels, WECOM, type FakeWecom } from '../fakes/wecom-api.ts';

// WeCom through its callbacks and a local fake of its API: households on 微信客服, staff on the self-built app.

const NOW = zonedInstant('2026-11-24', '10:00', 'Asia/Shanghai');

/** App callbacks are handled after their 200: wait (up to 5 s) until what they do can be seen. */
async function waitFor(check: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('waited 5 s in vain');
}

describe(`WeCom channel, ${TEST_DB}`, () => {
  let place: TestPlace;
  let fake: FakeWecom;
  let tg: FakeApi;
  let apps: Running[] = [];
  let clock = NOW;
  const log = memoryLogger();

  async function boot(extra: Record<string, string> = {}) {
    const config = testConfig(place, { ...bothChannels(fake, tg), ...extra });
    const app = await start(config, log.logger, { host: '127.0.0.1', now: () => clock, telegramBotInfo: BOT_INFO, scheduler: false, deliveryIntervalMs: 0 });
    apps.push(app);
    return app;
  }

  /** A WeChat user writing to the customer-service account: each message is queued, announced by a callback, pulled. */
  function customer(app: Running, id: string) {
    let seen = 0;
    const texts = () => {
      const sent = fake.sentTo(id).slice(seen);
      seen += sent.length;
      return sent.map((b) => (b.msgtype === 'msgmenu' ? String((b.msgmenu as { head_content: string }).head_content) : String((b.text as { content: string }).content)));
    };
    async function send(content: string, menuId?: string) {
      fake.queue(id, content, menuId);
      const res = await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()));
      expect(res.status).toBe(200);
      await app.wecom!.settled(); // the pull runs after the 200: wait for it
      return texts();
    }
    function lastMenu() {
      const menus = fake.sentTo(id).filter((b) => b.msgtype === 'msgmenu');
      return ((menus.at(-1)?.msgmenu as { list: Array<{ click: { id: string; content: string } }> } | undefined)?.list ?? []).map((i) => i.click);
    }
    return {
      send,
      say: (text: string) => send(text),
      tap: async (label: string) => {
        const item = lastMenu().find((c) => c.content.includes(label));
        if (!item) throw new Error(`no menu item "${label}" in: ${lastMenu().map((c) => c.content).join(' | ')}`);
        return send(item.content, item.id);
      },
      menu: () => lastMenu().map((c) => c.content),
    };
  }

  beforeEach(async () => {
    clock = NOW;
    place = await freshDatabase();
    fake = await startFakeWecom();
    tg = await startFakeBotApi();
  });
  afterEach(async () => {
    for (const app of apps) await app.stop();
    apps = [];
    await fake.close();
    await tg.close();
    await place.cleanup();
  });

  // The same report, step by step: [how, what], the details added after the receipt included. WeCom types the
  // several-answer questions as numbers.
  const script = (channel: 'wecom' | 'telegram'): Array<['say' | 'tap', string]> => [
    ['say', channel === 'wecom' ? '你好' : '/start'],
    ['tap', '开始申报'],
    ['tap', '我自己家'],
    ['tap', '勐库镇'],
    // 勐库镇 has 17 villages: 7 a page in 微信客服's menu, all at once on Telegram
    ...(channel === 'wecom' ? ([['tap', '下一页']] as Array<['tap', string]>) : []),
    ['tap', '冰岛村'],
    ['say', '李明'],
    ['say', '138 1234 5678'],
    ['tap', '同意，继续'],
    ...(channel === 'wecom'
      ? ([['say', '1、4']] as Array<['say' | 'tap', string]>)
      : ([
          ['tap', '有人生病'],
          ['tap', '遭了自然灾害'],
          ['tap', '选好了'],
        ] as Array<['say' | 'tap', string]>)),
    ['tap', '洪水'],
    ...(channel === 'wecom'
      ? ([['say', '1']] as Array<['say' | 'tap', string]>)
      : ([
          ['tap', '住房不安全'],
          ['tap', '选好了'],
        ] as Array<['say' | 'tap', string]>)),
    ['say', '七月发大水把房子冲坏了，父亲住院'],
    ['tap', '没问题'],
    ['tap', '我同意'],
    ['say', '李明'],
    ['tap', '现在补充'],
    ['say', '今年7月'],
    ['say', '四口人'],
    ['say', '2'],
    ['tap', '脱贫户'],
    ['say', '两万'],
    ['say', '3千'],
    ['say', '没有'],
    ['say', '3600'],
    ['say', '1,000'],
    ['tap', '跳过'],
    ['say', '1万2'],
    ['say', '都没有'],
  ];

  it('takes a whole self-report through 微信客服 (menu taps and typed answers) to a receipt; Telegram gives an equal lead', async () => {
    const app = await boot();
    const c = customer(app, 'wmCustomer001');
    const trace: string[] = [];
    let last: string[] = [];
    try {
      for (const [how, what] of script('wecom')) {
        last = how === 'say' ? await c.say(what) : await c.tap(what);
        trace.push(`> ${what}`, ...last);
        expect(last.length).toBeGreaterThan(0); // every message is answered
        expect(last.length).toBeLessThanOrEqual(5); // within the platform's 5 answers per customer message
      }
    } catch (e) {
      console.log(trace.join('\n'));
      throw e;
    }
    expect(trace.join('\n')).toMatch(/回执号：530925-20261124-0001/);
    expect(last[0]).toContain('已补充到申报里');
    // choices went out packed with their question, as menu items, never more than 10
    for (const call of fake.calls.filter((x) => x.path === 'kf/send_msg' && x.body.msgtype === 'msgmenu'))
      expect((call.body.msgmenu as { list: unknown[] }).list.length).toBeLessThanOrEqual(10);

    const p = telegramPerson(`${app.url}/telegram/webhook`, tg, 8801);
    for (const [how, what] of script('telegram')) await (how === 'say' ? p.say(what) : p.tap(what));
    const viaWecom = await app.db.prisma.lead.findFirstOrThrow({ where: { channel: 'wecom' } });
    const viaTelegram = await app.db.prisma.lead.findFirstOrThrow({ where: { channel: 'telegram' } });
    const same = (l: typeof viaWecom) => ({
      answers: l.answers,
      category: l.category,
      flags: l.flags,
      a33: String(l.a33),
      a34: String(l.a34),
      a37: String(l.a37),
      a38: String(l.a38),
      headName: l.headName,
      villageCode: l.villageCode,
      greenChannel: l.greenChannel,
    });
    expect(same(viaWecom)).toEqual(same(viaTelegram));
    expect(viaWecom.reporterId).toBe('wmCustomer001');
  });

  it('greets a person who scans a village\'s QR code once, with the welcome code, and pre-fills the village', async () => {
    const app = await boot();
    fake.queueEvent({ event_type: 'enter_session', external_userid: 'wmQr', scene: 'qr', scene_param: 'v530925102208', welcome_code: 'WELCOME-1' });
    await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()));
    await app.wecom!.settled();
    const welcome = fake.calls.filter((x) => x.ok && x.path === 'kf/send_msg_on_event');
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.body.code).toBe('WELCOME-1');
    expect(JSON.stringify(welcome[0]!.body)).toContain('村子已经选好：勐库镇冰岛村');
    expect(fake.sentTo('wmQr')).toHaveLength(0); // nothing else is sent unprompted
    const c = customer(app, 'wmQr');
    const start = (welcome[0]!.body.msgmenu as { list: Array<{ click: { id: string; content: string } }> }).list.find((i) => i.click.content.includes('开始申报'))!;
    await c.send(start.click.content, start.click.id);
    const out = await c.tap('我自己家');
    expect(out[0]).toMatch(/户主/); // the place question is skipped: the village came with the QR code
  });

  it('answers the URL verification with the decrypted echostr, and refuses a bad one', async () => {
    const app = await boot();
    const cb = encryptedCallback('5927782489442352469');
    const q = `msg_signature=${cb.signature}&timestamp=${cb.timestamp}&nonce=${cb.nonce}&echostr=${encodeURIComponent(cb.encrypted)}`;
    let res = await fetch(`${app.url}/wecom/kf/callback?${q}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('5927782489442352469');
    res = await fetch(`${app.url}/wecom/app/callback?${q}`);
    expect(await res.text()).toBe('5927782489442352469');
    const forged = `${cb.signature[0] === '0' ? '1' : '0'}${cb.signature.slice(1)}`;
    res = await fetch(`${app.url}/wecom/app/callback?${q.replace(cb.signature, forged)}`);
    expect(res.status).toBe(403);
  });

  it('refuses forged, foreign, truncated, entity-laden and oversized callbacks: 4xx, one log line, nothing handled', async () => {
    const app = await boot();
    const logged = log.lines().length;
    const good = encryptedCallback(kfEventXml());
    const cases: Array<[string, { query: string; body: string }, number]> = [
      ['bad signature', { ...good, query: good.query.replace(/msg_signature=[0-9a-f]/, 'msg_signature=z') }, 403],
      ['wrong receiver', encryptedCallback(kfEventXml(), { receiver: 'wwsomeoneelse000' }), 403],
      ['truncated ciphertext', (() => {
        const cut = good.encrypted.slice(0, 40);
        const q = encryptedCallback('x');
        return { query: good.query, body: good.body.replace(good.encrypted, cut), q };
      })(), 403], // the signature no longer matches the cut text
      ['entity expansion', { query: good.query, body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>` }, 400],
      ['not xml', { query: good.query, body: 'hello' }, 400],
      ['oversized', { query: good.query, body: `<xml><Encrypt>${'A'.repeat(70_000)}</Encrypt></xml>` }, 413],
    ];
    for (const [name, cb, status] of cases) {
      const res = await postCallback(app.url, '/wecom/kf/callback', cb);
      expect(res.status, name).toBe(status);
    }
    // a truncated ciphertext that is correctly signed: the envelope check itself refuses it
    const env = encryptedCallback(kfEventXml());
    const cut = env.encrypted.slice(0, 44);
    const { createEnvelope } = await import('../../bot/channels/wecom/crypto.ts');
    const signer = createEnvelope({ token: WECOM.WECOM_CALLBACK_TOKEN, encodingAesKey: WECOM.WECOM_CALLBACK_AES_KEY, receiverId: WECOM.WECOM_CORP_ID });
    const sig = signer.signature(env.timestamp, env.nonce, cut);
    const res = await postCallback(app.url, '/wecom/kf/callback', { query: `msg_signature=${sig}&timestamp=${env.timestamp}&nonce=${env.nonce}`, body: env.body.replace(env.encrypted, cut) });
    expect(res.status).toBe(400);
    expect(fake.calls.filter((x) => x.path === 'kf/sync_msg')).toHaveLength(0);
    expect(await app.db.prisma.inboundUpdate.count()).toBe(0);
    const lines = log.lines().slice(logged).filter((l) => l.msg === 'wecom callback refused');
    expect(lines).toHaveLength(7); // one line per refused callback
    expect(JSON.stringify(lines)).not.toContain(good.encrypted.slice(0, 20));
  });

  it('refuses a correctly signed callback dated outside ten minutes of now (a replay), POST and URL verification alike', async () => {
    const app = await boot();
    const logged = log.lines().length;
    fake.queue('wmReplay', '你好');
    const old = encryptedCallback(kfEventXml(), { timestamp: '1000000000' }); // 9 Sep 2001, signed with the right token
    expect((await postCallback(app.url, '/wecom/kf/callback', old)).status).toBe(403);
    const app2001 = encryptedCallback(`<xml><ToUserName>${WECOM.WECOM_CORP_ID}</ToUserName><FromUserName>someone</FromUserName><CreateTime>1000000000</CreateTime><MsgType>text</MsgType><Content>/tasks</Content><MsgId>1</MsgId><AgentID>1000002</AgentID></xml>`, { timestamp: '1000000000' });
    expect((await postCallback(app.url, '/wecom/app/callback', app2001)).status).toBe(403);
    const late = encryptedCallback(kfEventXml(), { timestamp: String(Math.floor(Date.now() / 1000) + 11 * 60) }); // 11 minutes ahead
    expect((await postCallback(app.url, '/wecom/kf/callback', late)).status).toBe(403);
    const echo = encryptedCallback('5927782489442352469', { timestamp: '1000000000' });
    const res = await fetch(`${app.url}/wecom/app/callback?msg_signature=${echo.signature}&timestamp=${echo.timestamp}&nonce=${echo.nonce}&echostr=${encodeURIComponent(echo.encrypted)}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('');
    expect(fake.calls.filter((x) => x.path === 'kf/sync_msg')).toHaveLength(0);
    expect(await app.db.prisma.inboundUpdate.count()).toBe(0);
    const lines = log.lines().slice(logged).filter((l) => String(l.msg).startsWith('wecom'));
    expect(lines.map((l) => [l.msg, l.problem])).toEqual(Array.from({ length: 4 }, () => ['wecom callback refused', 'stale_timestamp']));
    // within the window the same account's callback is handled, and its redelivery is still recognised
    const now = encryptedCallback(kfEventXml('tokNow'), { timestamp: String(Math.floor(Date.now() / 1000) - 9 * 60) });
    expect((await postCallback(app.url, '/wecom/kf/callback', now)).status).toBe(200);
    await app.wecom!.settled();
    expect((await postCallback(app.url, '/wecom/kf/callback', now)).status).toBe(200);
    await app.wecom!.settled();
    expect(fake.sentTo('wmReplay')).toHaveLength(1);
  });

  it('a query parameter given twice, or XML nested thousands deep, is refused 400 with one log line naming the route only', async () => {
    const app = await boot();
    const logged = log.lines().length;
    const good = encryptedCallback(kfEventXml());
    const twice = { query: `${good.query}&timestamp=2`, body: good.body };
    expect((await postCallback(app.url, '/wecom/kf/callback', twice)).status).toBe(400);
    const twoSignatures = { query: `${good.query}&msg_signature=${good.signature}`, body: good.body };
    expect((await postCallback(app.url, '/wecom/app/callback', twoSignatures)).status).toBe(400);
    const echo = `msg_signature=${good.signature}&timestamp=${good.timestamp}&nonce=${good.nonce}&nonce=1&echostr=${encodeURIComponent(good.encrypted)}`;
    expect((await fetch(`${app.url}/wecom/app/callback?${echo}`)).status).toBe(400);
    const deep = { query: good.query, body: `<xml>${'<a>'.repeat(5000)}x${'</a>'.repeat(5000)}<Encrypt><![CDATA[${good.encrypted}]]></Encrypt></xml>` };
    expect((await postCallback(app.url, '/wecom/kf/callback', deep)).status).toBe(400);
    // a path Express routes here anyway (trailing slash, other case) with something private in the query
    const odd = await fetch(`${app.url}/WeCom/KF/callback/?${good.query}&timestamp=2&phone=13812345678`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: good.body });
    expect(odd.status).toBe(400);
    expect(await app.db.prisma.inboundUpdate.count()).toBe(0);
    const lines = log.lines().slice(logged).filter((l) => String(l.msg).startsWith('wecom'));
    expect(lines.map((l) => [l.msg, l.route, l.problem])).toEqual([
      ['wecom callback refused', '/wecom/kf/callback', 'bad_query'],
      ['wecom callback refused', '/wecom/app/callback', 'bad_query'],
      ['wecom callback refused', '/wecom/app/callback', 'bad_query'],
      ['wecom callback refused', '/wecom/kf/callback', 'bad_xml'],
      ['wecom callback refused', '/wecom/kf/callback', 'bad_query'],
    ]);
    // nor does any other line of these requests (the request log names the route too)
    const text = JSON.stringify(log.lines().slice(logged));
    for (const secret of [good.signature, good.nonce, good.encrypted.slice(0, 20), '13812345678', 'WeCom/KF', 'timestamp']) expect(text).not.toContain(secret);
  });

  it('a redelivered callback is answered 200 and pulled once; a message pulled twice is handled once', async () => {
    const app = await boot();
    fake.queue('wmRedeliver', '你好');
    const cb = encryptedCallback(kfEventXml('sameToken', '1700000000'));
    expect((await postCallback(app.url, '/wecom/kf/callback', cb)).status).toBe(200);
    await app.wecom!.settled();
    expect((await postCallback(app.url, '/wecom/kf/callback', cb)).status).toBe(200);
    await app.wecom!.settled();
    expect(fake.calls.filter((x) => x.path === 'kf/sync_msg' && x.body.token === 'sameToken')).toHaveLength(1);
    expect(fake.sentTo('wmRedeliver')).toHaveLength(1);
    // the cursor is lost (an empty cursor replays three days): the same msgid is not answered again
    await app.db.prisma.wecomCursor.deleteMany();
    await app.wecom!.pull(OPEN_KFID, undefined);
    expect(fake.sentTo('wmRedeliver')).toHaveLength(1);
  });

  it('one message a page, two people at once: each person\'s messages are handled in the order written, and the cursor ends past them all', async () => {
    await fake.close();
    fake = await startFakeWecom({ pageSize: 1 });
    const app = await boot();
    const start = buttons.start.encode({ what: 'new' });
    // written in this order: A's greeting, B's greeting, A's tap on 开始申报, B's tap on it
    fake.queue('wmOrderA', '你好');
    fake.queue('wmOrderB', '你好');
    fake.queue('wmOrderA', '开始申报', start);
    fake.queue('wmOrderB', '开始申报', start);
    expect((await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()))).status).toBe(200);
    await app.wecom!.settled();
    expect(fake.calls.filter((x) => x.path === 'kf/sync_msg').length).toBeGreaterThanOrEqual(4); // a page a message
    for (const who of ['wmOrderA', 'wmOrderB']) {
      const heads = fake.sentTo(who).map((b) => String((b.msgmenu as { head_content?: string } | undefined)?.head_content ?? (b.text as { content: string }).content));
      // the welcome first, then the report's first question: the tap was not taken before the greeting
      expect(heads).toHaveLength(2);
      expect(heads[0]).toContain('申报');
      expect(heads[1]).toMatch(/谁/);
    }
    // everything is handled: the stored cursor is past the last page, and a pull from it finds nothing new
    const before = fake.calls.length;
    await app.wecom!.pull(OPEN_KFID, undefined);
    expect(fake.sentTo('wmOrderA')).toHaveLength(2);
    expect(fake.calls.slice(before).filter((x) => x.path === 'kf/sync_msg')).toHaveLength(1);
  });

  it('a message announced while the one before is still being answered is pulled too', async () => {
    let release!: () => void;
    let holding: (() => void) | undefined;
    const held = new Promise<void>((r) => (holding = r));
    await fake.close();
    fake = await startFakeWecom({
      // the first answer hangs until released: the pull is busy with its page when the second callback comes
      before: (path) => {
        if (path !== 'kf/send_msg' || !holding) return undefined;
        holding();
        holding = undefined;
        return new Promise<void>((r) => (release = r));
      },
    });
    const app = await boot();
    fake.queue('wmBusy', '你好');
    expect((await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()))).status).toBe(200);
    await held;
    fake.queue('wmBusy', '开始申报', buttons.start.encode({ what: 'new' }));
    expect((await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()))).status).toBe(200);
    release();
    await app.wecom!.settled();
    await waitFor(() => fake.sentTo('wmBusy').length === 2);
    expect(String((fake.sentTo('wmBusy')[1]!.msgmenu as { head_content?: string } | undefined)?.head_content ?? (fake.sentTo('wmBusy')[1]!.text as { content: string }).content)).toMatch(/谁/);
  });

  it('a restart between the callback and sync_msg loses nothing', async () => {
    let app = await boot();
    fake.queue('wmRestart', '你好');
    fake.fail('kf/sync_msg', -1, -1, -1, -1); // busy beyond the retries: the pull fails after the callback was recorded
    expect((await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()))).status).toBe(200);
    await app.wecom!.settled();
    expect(fake.sentTo('wmRestart')).toHaveLength(0);
    await app.stop();
    apps = [];
    app = await boot();
    expect(await app.wecom!.sweep(0)).toBe(1); // what the minute sweeper does: callbacks recorded and not handled are handled
    expect(fake.sentTo('wmRestart')).toHaveLength(1);
    expect(String((fake.sentTo('wmRestart')[0]!.msgmenu as { head_content: string }).head_content)).toContain('申报');
  });

  it('refreshes an expired access token once, and retries a busy platform', async () => {
    const app = await boot();
    const c = customer(app, 'wmToken');
    await c.say('你好');
    expect(fake.gettokens()).toBe(1);
    fake.expireTokens();
    fake.fail('kf/send_msg', -1, -1);
    const out = await c.say('你好');
    expect(out).toHaveLength(1);
    expect(fake.gettokens()).toBe(2);
  });

  it('two instances share one access token', async () => {
    const app = await boot({ DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY });
    const crypto = createCrypto(Buffer.from(TEST_ENCRYPTION_KEY, 'base64'));
    const apis = [app.wecom!.kfApi];
    if (TEST_DB === 'postgres') apis.push((await boot({ DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY })).wecom!.kfApi);
    else apis.push(createWecomApi({ apiRoot: fake.url, corpId: WECOM.WECOM_CORP_ID, secret: WECOM.WECOM_AGENT_SECRET, name: `agent:${WECOM.WECOM_AGENT_ID}` }, { db: app.db, crypto, logger: log.logger }));
    await Promise.all(apis.flatMap((api) => [api.post('kf/service_state/get', { open_kfid: OPEN_KFID, external_userid: 'a' }), api.post('kf/service_state/get', { open_kfid: OPEN_KFID, external_userid: 'b' })]));
    expect(fake.gettokens()).toBe(1);
  });

  it('95001, 95018 and msg_send_fail are final for that answer: recorded with the reason, not retried', async () => {
    const app = await boot();
    const c = customer(app, 'wmLimits');
    fake.fail('kf/send_msg', 95001);
    await c.say('你好');
    let row = await app.db.prisma.inboundUpdate.findFirstOrThrow({ where: { channel: 'wecom' }, orderBy: { id: 'desc' } });
    expect(row.error).toMatch(/^95001/);
    fake.fail('kf/send_msg', 95018);
    await c.say('在吗');
    row = await app.db.prisma.inboundUpdate.findFirstOrThrow({ where: { channel: 'wecom' }, orderBy: { id: 'desc' } });
    expect(row.error).toMatch(/^95018/);
    const sends = fake.calls.filter((x) => x.path === 'kf/send_msg').length;
    await app.wecom!.sweep(0);
    expect(fake.calls.filter((x) => x.path === 'kf/send_msg').length).toBe(sends); // no loop
    // an answer the platform accepted and later reports undelivered
    await c.say('申报');
    const sent = fake.sentTo('wmLimits').at(-1)!;
    fake.queueEvent({ event_type: 'msg_send_fail', external_userid: 'wmLimits', fail_msgid: sent.msgid, fail_type: 4 });
    await postCallback(app.url, '/wecom/kf/callback', encryptedCallback(kfEventXml()));
    await app.wecom!.settled();
    const failed = await app.db.prisma.inboundUpdate.findFirstOrThrow({ where: { id: BigInt(String(sent.msgid).slice(1).split('-')[0]!) } });
    expect(failed.error).toMatch(/msg_send_fail 4: over 48 hours/);
  });

  it('an answer in two messages whose second failed for now: the sweep sends only the second, under the id it had', async () => {
    const app = await boot();
    const c = customer(app, 'wmTwo');
    await c.say('你好');
    await c.tap('开始申报');
    const sends = () => fake.calls.filter((x) => x.path === 'kf/send_msg' && x.body.touser === 'wmTwo');
    const before = sends().length;
    // "my reports" in the middle of a report: the list, then the question again; the platform takes the first, fails the second
    fake.fail('kf/send_msg', 0, 99999);
    await c.say('/status');
    const tried = sends().slice(before);
    expect(tried).toHaveLength(2);
    const [first, second] = tried.map((x) => String(x.body.msgid));
    expect(first).not.toBe(second);
    expect(await app.wecom!.sweep(0)).toBeGreaterThan(0);
    const again = sends().slice(before + 2);
    expect(again.map((x) => String(x.body.msgid))).toEqual([second]); // only what had not gone out, recognisable as the same
    expect(again[0]!.body.msgtype).toBe('msgmenu');
    expect(await app.wecom!.sweep(0)).toBe(0);
  });

  it('leaves a session a person has taken over to the person', async () => {
    const app = await boot();
    const c = customer(app, 'wmHuman');
    fake.setServiceState('wmHuman', 3);
    expect(await c.say('你好')).toEqual([]);
    const row = await app.db.prisma.inboundUpdate.findFirstOrThrow({ where: { channel: 'wecom' } });
    expect(row.error).toMatch(/held by a person/);
  });

  it('a new report reaches the village cadre as an app card; a tap on it moves the lead with the cadre as actor', async () => {
    const app = await boot();
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', '王村长', clock);
    const join = encryptedCallback(`<xml><ToUserName>${WECOM.WECOM_CORP_ID}</ToUserName><FromUserName>wangcunzhang</FromUserName><CreateTime>1700000001</CreateTime><MsgType>text</MsgType><Content>/join ${code}</Content><MsgId>900000000000000001</MsgId><AgentID>1000002</AgentID></xml>`);
    expect((await postCallback(app.url, '/wecom/app/callback', join)).status).toBe(200);
    await waitFor(() => fake.calls.some((x) => x.path === 'message/send' && x.body.touser === 'wangcunzhang'));
    const joined = fake.calls.filter((x) => x.path === 'message/send' && x.body.touser === 'wangcunzhang');
    expect(JSON.stringify(joined[0]?.body)).toContain('加入成功');
    const lead = await app.intake.receiveLead(newLead({ villageCode: '530925102208', headName: '赵大山' }), clock);
    await app.deliveries.deliverDue(clock);
    const card = fake.calls.filter((x) => x.path === 'message/send' && x.body.msgtype === 'template_card').at(-1)!;
    const tc = card.body.template_card as { task_id: string; button_list: Array<{ text: string; key: string }>; main_title: { title: string }; sub_title_text: string };
    expect(tc.main_title.title).toContain(lead.receiptNo);
    expect(tc.sub_title_text).toContain('赵大山');
    const fits = tc.button_list.find((b) => {
      const tapped = readButton(b.key);
      return tapped.family === 'act' && tapped.action === 'fits';
    })!;
    const tap = encryptedCallback(
      `<xml><ToUserName>${WECOM.WECOM_CORP_ID}</ToUserName><FromUserName>wangcunzhang</FromUserName><CreateTime>1700000100</CreateTime><MsgType>event</MsgType><Event>template_card_event</Event><EventKey>${fits.key}</EventKey><TaskId>${tc.task_id}</TaskId><CardType>button_interaction</CardType><ResponseCode>rc-tap-1</ResponseCode><AgentID>1000002</AgentID></xml>`,
    );
    expect((await postCallback(app.url, '/wecom/app/callback', tap)).status).toBe(200);
    expect((await postCallback(app.url, '/wecom/app/callback', tap)).status).toBe(200); // redelivered: handled once
    await waitFor(() => fake.calls.some((x) => x.path === 'message/update_template_card'));
    await new Promise((r) => setTimeout(r, 100));
    const l = (await app.intake.leadWithClocks(lead.id))!.lead;
    const staff = await app.staff.byIdentity('wecom-app', 'wangcunzhang');
    expect(l.stage).toBe('visited');
    expect(l.events.at(-1)).toMatchObject({ actor: `staff:${staff!.id}`, toStage: 'visited' });
    const updates = fake.calls.filter((x) => x.path === 'message/update_template_card');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body.response_code).toBe('rc-tap-1');
    expect(JSON.stringify(updates[0]!.body)).toContain('已记录');
  });

  it('45009 pauses the app\'s sending until the window has passed', async () => {
    const app = await boot();
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', undefined, clock);
    await app.staff.join({ channel: 'wecom-app', userId: 'cadre45009', chatId: 'cadre45009', language: 'zh-CN' }, code, clock);
    fake.fail('message/send', 45009);
    await app.intake.receiveLead(newLead({ villageCode: '530925102208' }), clock);
    expect(await app.deliveries.deliverDue(clock)).toMatchObject({ paused: 1 });
    expect(await app.deliveries.deliverDue(new Date(clock.getTime() + 30_000))).toMatchObject({ sent: 0 });
    expect(await app.deliveries.deliverDue(new Date(clock.getTime() + 61_000))).toMatchObject({ sent: 1 });
  });

  it('a long reminder digest reaches a staff member on the app in pages within the platform\'s limits, nothing lost', async () => {
    const app = await boot();
    for (let i = 0; i < 65; i++) await app.intake.receiveLead(newLead({ villageCode: '530925102208' }), zonedInstant('2026-11-10', '10:00', 'Asia/Shanghai'));
    for (const [role, code, user] of [['village_cadre', '530925102208', 'cadreBingdao'], ['county_officer', '530925', 'countyOfficer']] as const) {
      const { code: invite } = await app.staff.createInvite(role, code, undefined, clock);
      expect((await app.staff.join({ channel: 'wecom-app', userId: user, chatId: user, language: 'zh-CN' }, invite, clock)).ok).toBe(true);
    }
    clock = zonedInstant('2026-11-30', '09:00', 'Asia/Shanghai'); // identification was due 25 Nov: overdue, escalated to the county
    expect((await app.scheduler.tick(clock)).due).toBe(2 * 66); // each: 65 leads and the campaign closing today
    for (let s = 0; s < 120; s++) {
      const r = await app.deliveries.deliverDue(new Date(clock.getTime() + s * 1000));
      if (r.sent + r.failed + r.dead + r.paused === 0) break;
    }
    expect(fake.overLimits).toEqual([]); // nothing the platform would cut
    for (const user of ['cadreBingdao', 'countyOfficer']) {
      const sent = fake.appSentTo(user);
      // what the member reads: the texts, and the cards' titles and text
      const shown = sent
        .map((b) => (b.msgtype === 'text' ? String((b.text as { content: string }).content) : `${(b.template_card as { main_title: { title: string } }).main_title.title}\n${(b.template_card as { sub_title_text?: string }).sub_title_text ?? ''}`))
        .join('\n');
      for (let n = 1; n <= 65; n++) expect(shown.split(`530925-20261110-${String(n).padStart(4, '0')}（`), `receipt ${n} to ${user}`).toHaveLength(2);
      expect(shown).toMatch(/「2026年防返贫集中排查数据录入」/);
      expect(shown).toMatch(/您有 66 条提醒（第 1\/\d+ 条消息）/);
      // every page has its card with buttons to its first leads and to the tasks
      const cards = sent.filter((b) => b.msgtype === 'template_card').map((b) => (b.template_card as { button_list: Array<{ key: string }> }).button_list);
      expect(cards.length).toBeGreaterThan(1);
      for (const buttons of cards) expect(readButton(buttons.at(-1)!.key)).toEqual({ family: 'tasks', page: 0 });
    }
    expect(fake.appSentTo('countyOfficer').map((b) => JSON.stringify(b)).join('').match(/📣 督办/g)).toHaveLength(65);
  });

  it('starts with the channel off when WECOM_CORP_ID is unset, and refuses a partial configuration by name', async () => {
    const { loadConfig } = await import('../../server/config.ts');
    expect(() => loadConfig({ DATA_DIR: place.dataDir, WECOM_CORP_ID: WECOM.WECOM_CORP_ID, WECOM_AGENT_ID: '1000002' })).toThrow(/WECOM_AGENT_SECRET: required when WECOM_CORP_ID is set/);
    expect(() => loadConfig({ DATA_DIR: place.dataDir, WECOM_AGENT_SECRET: 'x'.repeat(12) })).toThrow(/WECOM_CORP_ID: required when WECOM_AGENT_SECRET is set/);
  });
});
