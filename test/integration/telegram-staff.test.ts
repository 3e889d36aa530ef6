import { buttons } from '../../bot/buttons.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Running } from '../../server/main.ts';
import { zonedInstant } from '../../server/time.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

// Staff on the bot, through the Telegram adapter: joining, new-report cards, taps that move a lead, scope,
// tasks, contact-person follow-ups, and the platform's limits (429 retry_after, 403 blocked).

const V1 = '530925102208'; // 勐库镇冰岛村
const V2 = '530925102212'; // 勐库镇公弄村
const T1 = '530925102';
const C = '530925';
const at = (date: string, time = '10:00') => zonedInstant(date, time, 'Asia/Shanghai');

describe(`staff on Telegram, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let running: Running | undefined;
  let clock = at('2026-11-24');
  let fail: (method: string, payload: Record<string, unknown>) => number | { status: number; retryAfter: number } | false = () => false;
  const log = memoryLogger();

  async function boot() {
    running = await startWithTelegram(place, api, log.logger, () => clock, { manual: true });
    return running;
  }
  const person = (app: Running, id: number) => telegramPerson(`${app.url}/telegram/webhook`, api, id);

  async function join(app: Running, role: string, placeCode: string, id: number, name?: string) {
    const { code } = await app.staff.createInvite(role, placeCode, name, clock);
    const p = person(app, id);
    const r = await p.say(`/join ${code}`);
    expect(r.texts[0]).toMatch(/加入成功/);
    return p;
  }

  /** The staff message worker, second by second, until nothing is left. */
  async function drain(app: Running) {
    for (let i = 0; i < 30; i++) {
      const r = await app.deliveries.deliverDue(clock);
      clock = new Date(clock.getTime() + 1000);
      if (r.sent + r.failed + r.dead + r.paused === 0) return;
    }
  }

  beforeEach(async () => {
    clock = at('2026-11-24');
    fail = () => false;
    place = await freshDatabase();
    api = await startFakeBotApi({ failNext: (m, p) => fail(m, p) });
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await api.close();
    await place.cleanup();
  });

  it('joins with a good code; used, expired and wrong codes get clear answers; repeated failures are slowed down', async () => {
    const app = await boot();
    const { code } = await app.staff.createInvite('village_cadre', V1, '王村长', clock);
    const cadre = person(app, 7001);
    let r = await cadre.say('/join');
    expect(r.texts[0]).toMatch(/请把邀请码一起发来/);
    r = await cadre.say(`/join ${code.toLowerCase().replace('-', ' ')}`);
    expect(r.texts[0]).toBe('✅ 加入成功：您是勐库镇冰岛村的村干部。');
    expect(cadre.buttons()).toEqual(['我的待办', '替农户申报', '在电脑上打开', 'English']);
    // "在电脑上打开" sends a one-time log-in link to the console, at the address people reach the product at
    r = await cadre.tap('在电脑上打开');
    expect(r.texts[0]).toMatch(/工作台登录链接（\d\d:\d\d 前有效，只能用一次/);
    expect(r.texts[0]).toMatch(/\/console\/login\?t=[A-Za-z0-9_-]{20,}/);
    r = await cadre.say('你好');
    expect(r.texts[0]).toMatch(/您好王村长！您是勐库镇冰岛村的村干部/);

    const other = person(app, 7002);
    r = await other.say(`/join ${code}`);
    expect(r.texts[0]).toMatch(/这个邀请码已经用过了/);
    const old = await app.staff.createInvite('township_reviewer', T1, undefined, new Date(clock.getTime() - 8 * 86_400_000));
    r = await other.say(`/join ${old.code}`);
    expect(r.texts[0]).toMatch(/已经过期（有效期 7 天）/);
    r = await other.say('/join ZZZZ-ZZZZ');
    expect(r.texts[0]).toMatch(/这个邀请码不对/);
    // three failures: now even a good code must wait
    const good = await app.staff.createInvite('township_reviewer', T1, undefined, clock);
    r = await other.say(`/join ${good.code}`);
    expect(r.texts[0]).toMatch(/请 1 分钟后再试/);
    expect(await app.staff.byIdentity('telegram', '7002')).toBeUndefined();
    clock = new Date(clock.getTime() + 61_000);
    r = await other.say(`/join ${good.code}`);
    expect(r.texts[0]).toBe('✅ 加入成功：您是勐库镇的乡镇审核人员。');
    // a household member is not affected by any of this: they get the self-report welcome
    const household = person(app, 7003);
    r = await household.say('/start');
    expect(r.texts[0]).toMatch(/这里可以申报家里遇到的困难/);
  });

  it('a new report reaches the village cadre with its next moves; taps move it with the cadre as actor; scope holds', async () => {
    const app = await boot();
    const cadre = await join(app, 'village_cadre', V1, 7101, '王村长');
    const otherCadre = await join(app, 'village_cadre', V2, 7102);
    const reviewer = await join(app, 'township_reviewer', T1, 7103);
    const officer = await join(app, 'county_officer', C, 7104);
    const lead = await app.intake.receiveLead(newLead({ villageCode: V1, phone: '13912345678', headName: '赵大山', idNumber: '530925198001011234' }), clock);
    await drain(app);

    const notices = api.textsTo(7101).filter((t) => t.startsWith('【新申报】'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(lead.receiptNo);
    expect(notices[0]).toContain('勐库镇冰岛村 · 户主 赵大山 · 家庭 3 人');
    expect(notices[0]).toContain('联系电话：13912345678');
    expect(notices[0]).not.toContain('530925198001011234'); // never the ID number
    expect(notices[0]).toMatch(/识别期限：2026-12-09（还有 15 天）/);
    expect(cadre.buttons()).toEqual(['已联系', '已入户核查·初判符合', '已入户核查·初判不符合']);
    // the other village's cadre, the township and the county are not sent village work
    expect(api.textsTo(7102).some((t) => t.startsWith('【新申报】'))).toBe(false);
    expect(api.textsTo(7104).some((t) => t.startsWith('【新申报】'))).toBe(false);

    // a cadre of another village cannot act on it, even with a made-up tap
    const forged = await otherCadre.deliver({
      update_id: 990001,
      callback_query: { id: 'x', from: { id: 7102, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: `act:${lead.id}:fits`, message: { message_id: 1, date: 0, chat: { id: 7102, type: 'private' }, text: '' } },
    });
    expect(forged.texts[0]).toBe('没有这条申报，或不在您负责的范围内。');
    expect((await app.intake.leadWithClocks(lead.id))!.lead.stage).toBe('received');
    // nor open its card (name and phone) with a made-up "open" tap, old style or new
    for (const [n, data] of [`lead:${lead.id}`, buttons.lead.encode({ leadId: lead.id })].entries()) {
      const peek = await otherCadre.deliver({
        update_id: 990101 + n,
        callback_query: { id: `y${n}`, from: { id: 7102, is_bot: false, first_name: 'T' }, chat_instance: 'c', data, message: { message_id: 1, date: 0, chat: { id: 7102, type: 'private' }, text: '' } },
      });
      expect(peek.texts[0]).toBe('没有这条申报，或不在您负责的范围内。');
      expect(peek.texts.join('\n')).not.toContain('13912345678');
      expect(peek.texts.join('\n')).not.toContain('赵大山');
    }

    let r = await cadre.tap('初判符合');
    expect(r.calls.some((c) => c.method === 'editMessageText')).toBe(true); // the card itself is updated
    expect(r.texts[0]).toMatch(/^✅ 已记录：已入户核查·初判符合/);
    expect(r.texts[0]).toMatch(/当前环节：已入户核查/);
    expect(r.texts[0]).toMatch(/这一步由其他层级办理/);
    const after = (await app.intake.leadWithClocks(lead.id))!.lead;
    expect(after.stage).toBe('visited');
    const staffId = (await app.staff.byIdentity('telegram', '7101'))!.id;
    expect(after.events.at(-1)).toMatchObject({ actor: `staff:${staffId}`, toStage: 'visited', data: { judgement: 'fits' } });
    // who was shown the household's details is logged, like an API read
    const reads = await app.db.prisma.accessLog.findMany({ where: { leadId: lead.id, staffId }, orderBy: { id: 'asc' } });
    expect(reads.map((r) => r.action)).toEqual(['notice', 'card']);

    // the township reviewer cannot confirm (a county step), even with a made-up tap
    r = await reviewer.deliver({
      update_id: 990002,
      callback_query: { id: 'y', from: { id: 7103, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: `act:${lead.id}:cat_marginal`, message: { message_id: 1, date: 0, chat: { id: 7103, type: 'private' }, text: '' } },
    });
    expect(r.texts[0]).toMatch(/这一步不由您办理/);
    expect((await app.intake.leadWithClocks(lead.id))!.lead.stage).toBe('visited');

    // the county officer finds it in /tasks (no phone number at county level) and records the data comparison
    r = await officer.say('/tasks');
    expect(r.texts[0]).toMatch(/我的待办（共 1 件/);
    expect(r.texts[0]).toContain(`1. ${lead.receiptNo} 勐库镇冰岛村 赵大山 · 已入户核查 · 识别期限 2026-12-09（还有 15 天）`);
    r = await officer.tap('打开');
    expect(r.texts[0]).not.toContain('13912345678');
    r = await officer.tap('数据比对完成');
    expect(r.texts[0]).toMatch(/✅ 已记录：数据比对完成/);
    expect((await app.intake.leadWithClocks(lead.id))!.lead.stage).toBe('compared');
  });

  it('"does not fit" asks for the reason in words and records it; a too-short reason is asked again', async () => {
    const app = await boot();
    const cadre = await join(app, 'village_cadre', V1, 7201);
    const lead = await app.intake.receiveLead(newLead({ villageCode: V1 }), clock);
    await drain(app);
    let r = await cadre.tap('初判不符合');
    expect(r.texts[0]).toMatch(/请用一句话写明原因/);
    r = await cadre.say('无');
    expect(r.texts[0]).toMatch(/原因写得太短了/);
    expect((await app.intake.leadWithClocks(lead.id))!.lead.stage).toBe('received');
    r = await cadre.say('家里两人在外务工，收入稳定');
    expect(r.texts[0]).toMatch(/✅ 已记录：已入户核查·初判不符合/);
    const l = (await app.intake.leadWithClocks(lead.id))!.lead;
    expect(l.stage).toBe('visited');
    expect(l.events.at(-1)?.data).toMatchObject({ judgement: 'does_not_fit', reason: '家里两人在外务工，收入稳定' });
  });

  it('after confirmation the cadre names the contact person, who is reminded monthly and records 已跟进 with a note', async () => {
    const app = await boot();
    const cadre = await join(app, 'village_cadre', V1, 7301);
    const contact = await join(app, 'contact_person', V1, 7302, '李联系');
    const lead = await app.intake.receiveLead(newLead({ villageCode: V1 }), clock);
    // through the procedure to confirmation (publicity 24–30 Nov: 5 working days)
    const moves = [
      { to: 'visited', judgement: 'fits' },
      { to: 'compared' },
      { to: 'publicized', publicityStart: '2026-11-24', publicityEnd: '2026-11-30' },
    ] as const;
    for (const m of moves) expect((await app.intake.move(lead.id, { ...m }, 'test', clock)).ok).toBe(true);
    clock = at('2026-12-01');
    expect((await app.intake.move(lead.id, { to: 'township_reviewed' }, 'test', clock)).ok).toBe(true);
    expect((await app.intake.move(lead.id, { to: 'confirmed', category: 'marginal' }, 'test', clock)).ok).toBe(true);

    let r = await cadre.say('/tasks');
    expect(r.texts[0]).toMatch(/定联系人和帮扶计划期限 2026-12-11（还有 10 天）/);
    await cadre.tap('打开');
    r = await cadre.tap('指定监测联系人');
    expect(r.texts[0]).toMatch(/请选择回执号 .* 这户的监测联系人/);
    r = await cadre.tap('李联系');
    expect(r.texts[0]).toMatch(/✅ 已记录：指定监测联系人/);
    expect(r.texts[0]).toMatch(/下次跟进：2027-01-01/);

    // 1 Jan 2027 is a holiday: the reminder comes on the next working day
    clock = at('2027-01-04', '09:00');
    const tick = await app.scheduler.tick(clock);
    expect(tick.due).toBe(1);
    await drain(app);
    expect(api.textsTo(7302).at(-1)).toMatch(/该跟进了：.*勐库镇冰岛村 李明.*跟进日期 2027-01-01/);
    await contact.tap('打开');
    r = await contact.tap('已跟进');
    expect(r.texts[0]).toMatch(/✅ 已记录：已跟进/);
    expect(r.texts[0]).toMatch(/下次跟进：2027-02-04/);
    expect(r.texts[1]).toMatch(/要补一句备注吗/);
    r = await contact.say('电话回访，孩子已复学');
    expect(r.texts[0]).toBe('备注已保存。');
    const events = (await app.intake.leadWithClocks(lead.id))!.lead.events.map((e) => [e.kind, e.note]);
    expect(events.slice(-2)).toEqual([
      ['follow_up', null],
      ['note', '电话回访，孩子已复学'],
    ]);
    // no more reminders until the next due date
    expect(await app.scheduler.preview(at('2027-01-11', '09:00'))).toEqual([]);
  });

  it('obeys Telegram\'s 429 retry_after for the whole bot, then sends', async () => {
    const app = await boot();
    await join(app, 'village_cadre', V1, 7401);
    await join(app, 'village_cadre', V1, 7402);
    let limited = 1;
    fail = (method) => (method === 'sendMessage' && limited-- > 0 ? { status: 429, retryAfter: 5 } : false);
    await app.intake.receiveLead(newLead({ villageCode: V1 }), clock);
    const t0 = clock;
    const first = await app.deliveries.deliverDue(t0);
    // the two notices went out together; one was refused with retry_after 5: the whole channel waits 5 s
    expect(first).toMatchObject({ sent: 1, paused: 1 });
    const notices = () => api.calls.filter((c) => c.method === 'sendMessage' && String(c.payload.text).startsWith('【新申报】')).length;
    const before = notices();
    expect((await app.deliveries.deliverDue(new Date(t0.getTime() + 2000))).sent).toBe(0);
    expect((await app.deliveries.deliverDue(new Date(t0.getTime() + 4000))).sent).toBe(0);
    expect(notices()).toBe(before);
    expect((await app.deliveries.deliverDue(new Date(t0.getTime() + 5000))).sent).toBe(1);
    expect(notices()).toBe(before + 1);
    expect(await app.db.prisma.outbox.count({ where: { kind: 'staff', state: 'sent' } })).toBe(2);
  });

  it('a cadre who blocked the bot is marked unreachable and the township reviewer is told', async () => {
    const app = await boot();
    await join(app, 'village_cadre', V1, 7501, '王村长');
    await join(app, 'township_reviewer', T1, 7502);
    fail = (method, payload) => (method === 'sendMessage' && payload.chat_id === 7501 ? 403 : false);
    await app.intake.receiveLead(newLead({ villageCode: V1 }), clock);
    await drain(app);
    expect(api.textsTo(7502).at(-1)).toMatch(/勐库镇冰岛村的村干部 王村长 收不到机器人的消息/);
    const cadre = await app.staff.byIdentity('telegram', '7501');
    expect(cadre?.unreachableAt).toBeInstanceOf(Date);
    // writing to the bot again makes them reachable
    fail = () => false;
    await person(app, 7501).say('/tasks');
    expect((await app.staff.byIdentity('telegram', '7501'))?.unreachableAt).toBeNull();
  });
});
