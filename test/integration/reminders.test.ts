import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import type { Outbound } from '../../bot/engine/types.ts';
import { readButton } from '../../bot/buttons.ts';
import type { SendOutcome } from '../../server/staff/deliveries.ts';
import { zonedInstant } from '../../server/time.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { startFakeBotApi, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

// The scheduler and the staff outbox on a real database: ticks with a fake clock, messages handed to a recording
// sender instead of a messenger.

const V1 = '530925102208';
const V2 = '530925102212';
const T1 = '530925102';
const C = '530925';
const at = (date: string, time = '09:00') => zonedInstant(date, time, 'Asia/Shanghai');

describe(`reminders on ${TEST_DB}`, () => {
  let place: TestPlace;
  let running: Running[] = [];
  let apis: FakeApi[] = [];
  const log = memoryLogger();
  let sent: Array<{ chatId: string; message: Outbound }> = [];
  let answer: (chatId: string) => SendOutcome = () => ({ ok: true });

  async function boot() {
    const app = await start(testConfig(place), log.logger, { host: '127.0.0.1', scheduler: false, deliveryIntervalMs: 0 });
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 25,
      send: async (chatId, message) => {
        const r = answer(chatId);
        if (r.ok) sent.push({ chatId, message });
        return r;
      },
    });
    running.push(app);
    return app;
  }

  async function staffMember(app: Running, role: string, placeCode: string, user: string, now: Date) {
    const { code } = await app.staff.createInvite(role, placeCode, `name-${user}`, now);
    const r = await app.staff.join({ channel: 'telegram', userId: user, chatId: user, language: 'zh-CN' }, code, now);
    if (!r.ok) throw new Error(`join failed: ${r.reason}`);
    return r.staff;
  }

  /** Runs the staff message worker second by second (one message per chat per round) until nothing is left. */
  async function drain(app: Running, from: Date) {
    for (let t = from.getTime(), i = 0; i < 60; i++, t += 1000) {
      const r = await app.deliveries.deliverDue(new Date(t));
      if (r.sent + r.failed + r.dead + r.paused === 0) return;
    }
  }

  /** Leads received on `day` in a village (identification due 15 days later). */
  async function leadsOn(app: Running, day: string, n: number, village = V1) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await app.intake.receiveLead(newLead({ villageCode: village }), at(day, '10:00'))).id);
    return ids;
  }

  beforeEach(async () => {
    place = await freshDatabase();
    sent = [];
    answer = () => ({ ok: true });
  });
  afterEach(async () => {
    for (const app of running) await app.stop();
    running = [];
    for (const api of apis) await api.close(); // fails if Telegram would have refused anything
    apis = [];
    await place.cleanup();
  });

  it('stores each reminder once and sends one message per person; a second tick sends nothing twice', async () => {
    const app = await boot();
    const setup = at('2026-11-10');
    await staffMember(app, 'village_cadre', V1, 'c1', setup);
    await staffMember(app, 'village_cadre', V2, 'c2', setup);
    await leadsOn(app, '2026-11-10', 3, V1); // identification due 25 Nov (Wed): 5 days before is Fri 20 Nov
    await leadsOn(app, '2026-11-10', 1, V2);
    await drain(app, at('2026-11-10', '10:05')); // the new-report notices
    sent = [];

    const now = at('2026-11-20');
    const first = await app.scheduler.tick(now);
    expect(first).toMatchObject({ ran: true, due: 4, messages: 2 });
    const second = await app.scheduler.tick(new Date(now.getTime() + 60_000));
    expect(second).toMatchObject({ ran: true, due: 0, messages: 0 });

    await drain(app, now);
    expect(sent.map((s) => s.chatId).sort()).toEqual(['c1', 'c2']);
    const toC1 = sent.find((s) => s.chatId === 'c1')!.message;
    expect(toC1.text).toMatch(/您有 3 条提醒/);
    expect(toC1.text.match(/识别期限 2026-11-25，还有 5 天/g)).toHaveLength(3);
    expect(toC1.buttons?.flat().map((b) => b.label)).toContain('我的待办');
    const toC2 = sent.find((s) => s.chatId === 'c2')!.message.text;
    expect(toC2).toMatch(/^⏰ 530925-20261110-0004（勐库镇公弄村 李明）识别期限 2026-11-25，还有 5 天。$/);

    await app.deliveries.deliverDue(new Date(now.getTime() + 5000));
    expect(sent).toHaveLength(2);
  });

  it('a digest too long for one Telegram message comes in pages, each within Telegram\'s limits, every reminder once', async () => {
    const api = await startFakeBotApi();
    apis.push(api);
    let clock = at('2026-11-10');
    const app = await startWithTelegram(place, api, log.logger, () => clock, { manual: true });
    running.push(app);
    await leadsOn(app, '2026-11-10', 65); // identification due 25 Nov; by Mon 30 Nov overdue long enough for the county
    for (const [role, code, user] of [['village_cadre', V1, '7001'], ['county_officer', C, '7002']] as const) {
      const { code: invite } = await app.staff.createInvite(role, code, undefined, clock);
      expect((await app.staff.join({ channel: 'telegram', userId: user, chatId: user, language: 'zh-CN' }, invite, clock)).ok).toBe(true);
    }
    clock = at('2026-11-30');
    const r = await app.scheduler.tick(clock);
    expect(r.due).toBe(2 * 66); // each: 65 leads (overdue; escalated) and the campaign closing today
    await drain(app, clock);
    for (const chat of [7001, 7002]) {
      const texts = api.textsTo(chat);
      expect(texts.length).toBeGreaterThan(1); // 66 lines do not fit one message
      for (const t of texts) expect(t.length).toBeLessThanOrEqual(4096);
      texts.forEach((t, i) => expect(t).toMatch(new RegExp(`^您有 66 条提醒（第 ${i + 1}/${texts.length} 条消息）`)));
      const all = texts.join('\n');
      for (let n = 1; n <= 65; n++) expect(all.split(`530925-20261110-${String(n).padStart(4, '0')}（`)).toHaveLength(2);
      expect(all).toMatch(/「2026年防返贫集中排查数据录入」/); // and the campaign
    }
    expect(api.textsTo(7002).join('\n').match(/📣 督办/g)).toHaveLength(65);
    // the numbered lines run on from page to page, and each page has buttons to its first five leads and to the tasks
    const pages = api.calls.filter((c) => c.method === 'sendMessage' && c.payload.chat_id === 7002);
    const numbers = pages.flatMap((c) => [...String(c.payload.text).matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1])));
    expect(numbers).toEqual(Array.from({ length: 66 }, (_, i) => i + 1));
    for (const c of pages) {
      const buttons = (c.payload.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> }).inline_keyboard.flat();
      expect(readButton(buttons.at(-1)!.callback_data)).toEqual({ family: 'tasks', page: 0 });
      const leadLines = String(c.payload.text).match(/530925-20261110-\d{4}（/g)?.length ?? 0;
      expect(buttons.filter((b) => readButton(b.callback_data).family === 'lead')).toHaveLength(Math.min(5, leadLines));
    }
  });

  it('a staff message over 4,096 characters reaches Telegram in parts at line ends, its buttons on the last part', async () => {
    const api = await startFakeBotApi();
    apis.push(api);
    const app = await startWithTelegram(place, api, log.logger, at('2026-11-10'), { manual: true });
    running.push(app);
    const text = Array.from({ length: 120 }, (_, i) => `${i + 1}. ${'很长的一行内容'.repeat(7)}`).join('\n');
    const buttons = [[{ id: 'tasks:0', label: '我的待办' }]];
    await app.db.prisma.$transaction((tx) => app.deliveries.enqueue(tx, { key: 'long-1', channel: 'telegram', chatId: '7003', staffId: null, message: { text, buttons } }, at('2026-11-10')));
    expect(await app.deliveries.deliverDue(at('2026-11-10', '10:00'))).toMatchObject({ sent: 1 });
    const parts = api.calls.filter((c) => c.method === 'sendMessage' && c.payload.chat_id === 7003);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((c) => String(c.payload.text)).join('')).toBe(text);
    expect(parts.every((c) => String(c.payload.text).length <= 4096)).toBe(true);
    expect(parts.map((c) => Boolean(c.payload.reply_markup))).toEqual([...parts.slice(1).map(() => false), true]);
  });

  it('two ticks at once: only one sends', async () => {
    const app = await boot();
    // a second instance on the same database (the embedded database is one process's: there, two ticks of one app)
    const other = TEST_DB === 'postgres' ? await boot() : app;
    const setup = at('2026-11-10');
    await staffMember(app, 'village_cadre', V1, 'c1', setup);
    await staffMember(app, 'township_reviewer', T1, 't1', setup);
    await leadsOn(app, '2026-11-10', 5);
    const now = at('2026-11-20');
    const [a, b] = await Promise.all([app.scheduler.tick(now), other.scheduler.tick(now)]);
    // PostgreSQL: the advisory lock makes one of them skip. PGlite (one connection): they run one after the other
    // and the second finds every reminder stored.
    expect(a.due + b.due).toBe(5);
    expect([a.messages, b.messages].sort()).toEqual([0, 1]);
    if (TEST_DB === 'postgres') expect([a.ran, b.ran].sort()).toEqual([false, true]);
    const reminders = await app.db.prisma.reminder.count();
    expect(reminders).toBe(5);
    const deliveries = await app.db.prisma.outbox.count({ where: { kind: 'staff', key: { startsWith: 'reminders:' } } });
    expect(deliveries).toBe(1);
  });

  it('after 3 days of downtime, one message per person sums up what they missed', async () => {
    const app = await boot();
    const setup = at('2026-11-05');
    await staffMember(app, 'village_cadre', V1, 'c1', setup);
    await staffMember(app, 'township_reviewer', T1, 't1', setup);
    await leadsOn(app, '2026-11-08', 2); // due 23 Nov (Mon)
    await leadsOn(app, '2026-11-10', 1); // due 25 Nov (Wed)
    await app.scheduler.tick(at('2026-11-20')); // the last tick before the downtime
    await drain(app, at('2026-11-20'));
    sent = [];
    // nothing runs on Sat 21, Sun 22, Mon 23 Nov
    const now = at('2026-11-24');
    const r = await app.scheduler.tick(now);
    await drain(app, now);
    const toCadre = sent.filter((s) => s.chatId === 'c1');
    expect(toCadre).toHaveLength(1);
    // the two overdue leads, the one due tomorrow, and the campaign closing 30 Nov (its 7-days-before day was Mon 23)
    expect(toCadre[0]!.message.text).toMatch(/您有 4 条提醒/);
    expect(toCadre[0]!.message.text).toMatch(/「2026年防返贫集中排查数据录入」截止 2026-11-30 24:00，还有 6 天。您还有 3 件没办完/);
    expect(toCadre[0]!.message.text.match(/已超期 1 天/g)).toHaveLength(2);
    expect(toCadre[0]!.message.text).toMatch(/还有 1 天/);
    // the township reviewer is told once about the two overdue leads, in one message
    const toReviewer = sent.filter((s) => s.chatId === 't1');
    expect(toReviewer).toHaveLength(1);
    expect(toReviewer[0]!.message.text.match(/督办/g)).toHaveLength(2);
    expect(r.messages).toBe(2);
  });

  it('messages written before a crash are sent after the restart, once', async () => {
    let app = await boot();
    const setup = at('2026-11-10');
    await staffMember(app, 'village_cadre', V1, 'c1', setup);
    await leadsOn(app, '2026-11-10', 1);
    await app.scheduler.tick(at('2026-11-20'));
    await app.stop(); // nothing was sent
    running = [];
    expect(sent).toHaveLength(0);
    app = await boot();
    await drain(app, at('2026-11-20', '09:01'));
    // the new-report notice and the reminder
    expect(sent.map((s) => s.message.text.split(' ')[0])).toEqual(['【新申报】回执号', '⏰']);
    await app.deliveries.deliverDue(at('2026-11-20', '09:02'));
    expect(sent).toHaveLength(2);
  });

  it('sends nothing in quiet hours; what is waiting goes out at 08:00', async () => {
    const app = await boot();
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 1);
    expect(await app.deliveries.deliverDue(at('2026-11-10', '22:00'))).toMatchObject({ sent: 0 });
    expect(await app.deliveries.deliverDue(at('2026-11-11', '07:59'))).toMatchObject({ sent: 0 });
    expect(await app.deliveries.deliverDue(at('2026-11-11', '08:00'))).toMatchObject({ sent: 1 });
  });

  it('keeps each channel under its rate and each chat to one message at a time', async () => {
    const app = await boot();
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 2,
      send: async (chatId, message) => {
        sent.push({ chatId, message });
        return { ok: true };
      },
    });
    for (let i = 0; i < 4; i++) await staffMember(app, 'village_cadre', V1, `c${i}`, at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 1); // four notices, one per cadre
    const t0 = at('2026-11-10', '10:00');
    expect((await app.deliveries.deliverDue(t0)).sent).toBe(2);
    expect((await app.deliveries.deliverDue(new Date(t0.getTime() + 500))).sent).toBe(0); // same second: budget used
    expect((await app.deliveries.deliverDue(new Date(t0.getTime() + 1000))).sent).toBe(2);
    expect(new Set(sent.map((s) => s.chatId)).size).toBe(4);
  });

  it('keeps a chat under a per-minute cap where the platform drops what is over', async () => {
    const app = await boot();
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 25,
      perChat: { perMinute: 2, perHour: 1000 },
      send: async (chatId, message) => {
        sent.push({ chatId, message });
        return { ok: true };
      },
    });
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 3); // three notices to one cadre
    const t0 = at('2026-11-10', '10:00');
    for (let s = 0; s < 10; s++) await app.deliveries.deliverDue(new Date(t0.getTime() + s * 1000));
    expect(sent).toHaveLength(2);
    await app.deliveries.deliverDue(new Date(t0.getTime() + 61_000));
    expect(sent).toHaveLength(3);
  });

  it('a chat with a backlog at its cap does not hold back another chat behind it', async () => {
    const app = await boot();
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 2,
      perChat: { perMinute: 1, perHour: 1000 },
      send: async (chatId, message) => {
        sent.push({ chatId, message });
        return { ok: true };
      },
    });
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 10); // ten notices to c1, more than the budget's worth of candidates
    await staffMember(app, 'village_cadre', V2, 'c2', at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 1, V2); // then one to c2
    const t0 = at('2026-11-10', '10:00');
    for (let s = 0; s < 3; s++) await app.deliveries.deliverDue(new Date(t0.getTime() + s * 1000));
    expect(sent.map((s) => s.chatId).sort()).toEqual(['c1', 'c2']);
  });

  it('a person who blocked the bot is marked unreachable and their township reviewer is told once', async () => {
    const app = await boot();
    const cadre = await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await staffMember(app, 'township_reviewer', T1, 't1', at('2026-11-10'));
    answer = (chatId) => (chatId === 'c1' ? { ok: false, kind: 'unreachable', error: '403 Forbidden: bot was blocked by the user' } : { ok: true });
    await leadsOn(app, '2026-11-10', 2);
    const t0 = at('2026-11-10', '10:00');
    await app.deliveries.deliverDue(t0);
    await app.deliveries.deliverDue(new Date(t0.getTime() + 1000));
    await app.deliveries.deliverDue(new Date(t0.getTime() + 2000));
    expect((await app.staff.byId(cadre.id))?.unreachableAt).toBeInstanceOf(Date);
    const told = sent.filter((s) => s.chatId === 't1' && /收不到机器人的消息/.test(s.message.text));
    expect(told).toHaveLength(1);
    expect(told[0]!.message.text).toMatch(/勐库镇冰岛村的村干部 name-c1/);
    expect(await app.db.prisma.outbox.count({ where: { kind: 'staff', state: 'dead', lastError: { contains: 'blocked' } } })).toBe(2);
    // reminders now go to the reviewer instead of the cadre who cannot be reached
    const r = await app.scheduler.preview(at('2026-11-20'));
    expect(new Set(r.map((x) => x.to.staff))).not.toContain(cadre.id);
    expect(r.filter((x) => x.kind === 'deadline.identify').map((x) => x.to.role)).toEqual(['township_reviewer', 'township_reviewer']);
  });

  it('deletes staff messages 30 days after they were made, and keeps reminder keys for 180 days', async () => {
    const app = await boot();
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await leadsOn(app, '2026-11-10', 1);
    await app.scheduler.tick(at('2026-11-20'));
    await drain(app, at('2026-11-20', '10:00'));
    expect(await app.db.prisma.outbox.count({ where: { kind: 'staff' } })).toBe(2);
    expect(await app.outbox.purge(at('2026-12-09'))).toBe(0);
    expect(await app.outbox.purge(at('2026-12-21'))).toBe(2);
    expect(await app.scheduler.purge(at('2027-01-20'))).toBe(0);
    expect(await app.db.prisma.reminder.count()).toBe(1);
    expect(await app.scheduler.purge(at('2027-05-20'))).toBe(1);
  });

  it('preview lists what a tick would send without storing or sending anything', async () => {
    const app = await boot();
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    const [id] = await leadsOn(app, '2026-11-10', 1);
    const rows = await app.scheduler.preview(at('2026-11-20'));
    expect(rows).toEqual([
      expect.objectContaining({ kind: 'deadline.identify', lead: id, dueOn: '2026-11-20', textKey: 'reminders.identify.before', to: expect.objectContaining({ role: 'village_cadre', place: V1, channel: 'telegram' }) }),
    ]);
    expect(await app.db.prisma.reminder.count()).toBe(0);
    expect(await app.scheduler.preview(at('2026-11-20', '22:00'))).toEqual([]); // quiet hours
  });

  it('a campaign counts down with each person\'s open items, or thanks them once', async () => {
    const app = await boot();
    // the sample deployment's campaign closes 2026-11-30 24:00 for cadres, township and county
    await staffMember(app, 'village_cadre', V1, 'c1', at('2026-11-10'));
    await staffMember(app, 'village_cadre', V2, 'c2', at('2026-11-10'));
    await staffMember(app, 'county_officer', C, 'k1', at('2026-11-10'));
    await leadsOn(app, '2026-11-20', 2, V1);
    await drain(app, at('2026-11-20', '10:01'));
    sent = [];
    await app.scheduler.tick(at('2026-11-23')); // 7 days before 30 Nov
    await drain(app, at('2026-11-23'));
    const text = (chat: string) => sent.filter((s) => s.chatId === chat).map((s) => s.message.text).join('\n');
    expect(text('c1')).toMatch(/截止 2026-11-30 24:00，还有 7 天。您还有 2 件没办完/);
    expect(text('c2')).toMatch(/没有未办事项，辛苦了/);
    expect(text('k1')).toMatch(/没有未办事项/);
    sent = [];
    await app.scheduler.tick(at('2026-11-27')); // 3 days before
    await drain(app, at('2026-11-27'));
    expect(text('c1')).toMatch(/还有 3 天/);
    expect(text('c2')).toBe(''); // thanked once already
  });
});
