import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import { TELEGRAM_CAPS } from '../../bot/channels/telegram/index.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { BOT_INFO, BOT_TOKEN, startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

type Person = ReturnType<typeof telegramPerson>;
const NOW = new Date('2026-11-24T02:00:00Z');

/** A plain report by the household itself, up to (and including) the question named by `until`. */
async function fillUpTo(p: Person, until?: string) {
  const script: Array<[string, () => Promise<unknown>]> = [
    ['start', () => p.say('/start')],
    ['begin', () => p.tap('开始申报')],
    ['reporter', () => p.tap('我自己家')],
    ['township', () => p.tap('沙河乡')],
    ['village', () => p.tap('平掌村')],
    ['headName', () => p.say('王芳')],
    ['phone', () => p.say('13987654321')],
    ['idNumber', () => p.tap('跳过')],
    ['householdSize', () => p.say('3')],
    ['labourers', () => p.say('1')],
    ['householdType', () => p.tap('一般农户')],
    ['sensitiveNotice', () => p.tap('同意，继续')],
    ['risks', () => p.tap('有人残疾')],
    ['risksDone', () => p.tap('选好了')],
    ['housingUnsafe', () => p.tap('不是')],
    ['childOutOfSchool', () => p.tap('不是')],
    ['waterUnsafe', () => p.tap('是')],
    ['noMedicalInsurance', () => p.tap('不是')],
    ['a28', () => p.say('8000')],
    ['a29', () => p.say('2000')],
    ['a30', () => p.say('0')],
    ['a31', () => p.say('3000')],
    ['a32', () => p.say('500')],
    ['a35', () => p.say('没有')],
    ['a36', () => p.say('两千')],
    ['exclusions', () => p.tap('选好了')],
    ['whatHappened', () => p.say('丈夫去年摔伤腿，干不了重活')],
    ['whenHappened', () => p.say('去年10月')],
    ['media', () => p.tap('没有，跳过')],
  ];
  for (const [name, act] of script) {
    if (name === until) return;
    await act();
  }
}

async function signAndSubmit(p: Person, name = '王芳') {
  await p.tap('没问题');
  await p.tap('我同意');
  return p.say(name);
}

describe(`Telegram conversation, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let running: Running | undefined;
  const log = memoryLogger();

  async function boot() {
    running = await startWithTelegram(place, api, log.logger, NOW);
    return running;
  }
  const personOn = (app: Running, id: number, lang?: string) => telegramPerson(`${app.url}/telegram/webhook`, api, id, lang);

  beforeEach(async () => {
    place = await freshDatabase();
    api = await startFakeBotApi();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await api.close();
    await place.cleanup();
  });

  it('files a whole report in English, chosen from Telegram\'s language code', async () => {
    const p = personOn(await boot(), 6001, 'en-US');
    expect((await p.say('/start')).texts[0]).toContain('Reporting is free');
    expect((await p.tap('Start a report')).texts[0]).toMatch(/^Step 1 of \d+\nWho is reporting\?/);
    await p.tap('My own household');
    await p.tap('勐勐镇');
    await p.tap('彝家村');
    await p.say('Li Ming');
    expect((await p.say('12345')).texts[0]).toContain('A mobile number has 11 digits.');
    await p.say('+86 138 0013 8000');
    expect((await p.say('530925199001011230')).texts[0]).toContain('One character of the ID number is wrong');
    await p.tap('Skip');
    await p.say('2');
    await p.say('0');
    await p.tap('Not sure');
    await p.tap('I agree, continue');
    await p.tap('Accident');
    await p.tap('Done');
    for (let i = 0; i < 4; i++) await p.tap('No');
    for (const a of ['1000', '0', '0', '1200', '0', '0', '0']) await p.say(a);
    await p.tap('None of these');
    await p.tap('Done');
    await p.say('I fell from a ladder and broke my leg');
    expect((await p.say('next week')).texts[0]).toContain('I could not understand that date.');
    await p.say('2026-11-02');
    const summary = await p.tap('None, skip');
    expect(summary.texts[0]).toContain('Please check your answers:');
    expect(summary.texts[0]).toContain('Phone: 13800138000');
    expect(summary.texts[0]).toContain('Wage income: 1,000 yuan');
    expect((await p.tap('All correct')).texts[0]).toContain('Commitment and authorization');
    await p.tap('I agree');
    const done = await p.say('Li Ming');
    expect(done.texts[0]).toMatch(/Receipt number: 530925-20261124-\d{4}/);
    const lead = await running!.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.category).toBe('marginal'); // 2,200 a year for 2 people, well under the line
    expect(lead.consent).toMatchObject({ language: 'en', textVersion: 'v1', typedName: 'Li Ming', proxyRelation: null });
  });

  it('a proxy report records the relation, and needs the household to agree', async () => {
    const p = personOn(await boot(), 6002);
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('替家里人');
    expect((await p.tap('我是他们的子女')).texts[0]).toContain('他们知道并同意吗');
    expect((await p.tap('还没问过')).texts[0]).toContain('没有对方同意');
    await p.tap('返回上一步');
    const next = await p.tap('知道，也同意');
    expect(next.texts[0]).toContain('哪个乡镇');
    await p.tap('勐勐镇');
    await p.tap('千福村');
    for (const a of ['张老汉', '13700001111']) await p.say(a);
    await p.tap('跳过');
    await p.say('2');
    await p.say('0');
    await p.tap('脱贫户');
    await p.tap('同意，继续');
    await p.tap('有人生病');
    await p.tap('缺劳动力');
    await p.tap('选好了');
    for (let i = 0; i < 4; i++) await p.tap('不是');
    for (const a of ['0', '1000', '0', '4800', '200', '0', '6000']) await p.say(a);
    await p.tap('选好了');
    await p.say('父亲 78 岁，常年吃药，母亲腿脚不便');
    await p.say('今年');
    await p.tap('没有，跳过');
    const done = await signAndSubmit(p, '张小军');
    expect(done.texts[0]).toContain('回执号');
    const lead = await running!.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.reporterRelation).toBe('family:child');
    expect(lead.headName).toBe('张老汉');
    expect(lead.consent).toMatchObject({ typedName: '张小军', proxyRelation: 'family:child' });
    expect(lead.category).toBe('unstable_escaped'); // A34 = 2,800, A38 = −200 per person
  });

  it('every income "不知道" is stored as unknown, not 0', async () => {
    const p = personOn(await boot(), 6003);
    await fillUpTo(p, 'a28');
    for (let i = 0; i < 7; i++) await p.say('不知道');
    await p.tap('选好了');
    await p.say('家里没收入了');
    await p.say('上个月');
    const summary = await p.tap('没有，跳过');
    expect(summary.texts[0]).toContain('工资性收入：不知道');
    await signAndSubmit(p);
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    expect(lead).toMatchObject({ a33: null, a34: null, a37: null, a38: null, category: 'unknown' });
    expect((lead.answers as Record<string, unknown>).a28).toEqual({ kind: 'unknown' });
    expect(lead.flags).toContain('income_incomplete');
  });

  it('takes money and dates as an old farmer says them: ranges, a month\'s figure, a season; the third unplaceable date is kept as said', async () => {
    const p = personOn(await boot(), 6013);
    await fillUpTo(p, 'a28');
    await p.say('七八千吧'); // wages
    await p.say('一个月一千多'); // production
    for (const a of ['没有', '三千', '五百', '没有', '两千']) await p.say(a);
    await p.tap('选好了');
    await p.say('丈夫去年摔伤腿，干不了重活');
    let r = await p.say('那会儿');
    expect(r.texts[0]).toContain('❗ ');
    r = await p.say('忘了');
    expect(r.texts[0]).toContain('❗ ');
    await p.say('栽秧子那阵'); // the third time: kept as the person's words
    const summary = await p.tap('没有，跳过');
    expect(summary.texts[0]).toContain('约 7,000–8,000 元');
    expect(summary.texts[0]).toContain('每月约 1,000–2,000 元，全年约 12,000–24,000 元');
    expect(summary.texts[0]).toContain('栽秧子那阵');
    await signAndSubmit(p);
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    const answers = lead.answers as Record<string, unknown>;
    expect(answers.a28).toEqual({ kind: 'range', from: 7000, to: 8000, approximate: true });
    expect(answers.a29).toEqual({ kind: 'range', from: 1000, to: 2000, approximate: true, perMonth: true });
    expect(answers.whenHappened).toEqual({ precision: 'unknown', words: '栽秧子那阵' });
    // counted at the ranges' middles, the month's figure ×12: 7,500 + 18,000 + 0 + 3,000 − 500 = 28,000 for 3 people
    expect(Number(lead.a33)).toBe(28000);
    expect(Number(lead.a34)).toBeCloseTo(9333.33, 2);
    expect(lead.flags).toContain('income_approximate');
    expect(lead.flags).not.toContain('income_incomplete');
  });

  it('places "前年秋收的时候" at a season', async () => {
    const p = personOn(await boot(), 6014);
    await fillUpTo(p, 'whenHappened');
    await p.say('前年秋收的时候');
    const summary = await p.tap('没有，跳过');
    expect(summary.texts[0]).toMatch(/2024/);
    await signAndSubmit(p);
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    expect((lead.answers as Record<string, unknown>).whenHappened).toEqual({ date: expect.stringMatching(/^2024-09/), precision: 'season' });
    expect(lead.flags).not.toContain('income_approximate');
  });

  it('re-asks wrong answers with a reason and an example, and keeps what was entered', async () => {
    const p = personOn(await boot(), 6004);
    await fillUpTo(p, 'householdSize');
    let r = await p.say('一家子');
    expect(r.texts[0]).toMatch(/^❗ /);
    expect(r.texts[0]).toContain('例如：4 或 四口人');
    expect(r.texts[0]).toContain('家里一共几口人');
    await p.say('3');
    r = await p.say('5');
    expect(r.texts[0]).toContain('❗ 这个数不对');
    await p.say('1');
    r = await p.say('随便');
    expect(r.texts[0]).toContain('❗ ');
    expect(r.texts[0]).toContain('这户人家现在是哪一类');
    await p.tap('一般农户');
    await p.tap('同意，继续');
    r = await p.tap('选好了');
    expect(r.texts[0]).toContain('❗ 请至少选一项');
    await p.tap('有人残疾');
    await p.tap('选好了');
    r = await p.say('也许吧');
    expect(r.texts[0]).toContain('❗ 请回答“是”或“不是”');
    for (let i = 0; i < 4; i++) await p.tap('不是');
    r = await p.say('abc');
    expect(r.texts[0]).toContain('❗ 请填一个数字');
    await p.say('abc');
    r = await p.say('abc');
    expect(r.texts[0]).toContain('这个问题不知道可以跳过');
    expect(p.buttons()).toContain('跳过');
    await p.tap('跳过');
    for (const a of ['0', '0', '0', '0', '0', '0']) await p.say(a);
    await p.tap('选好了');
    r = await p.say('摔');
    expect(r.texts[0]).toContain('再多写几个字');
    await p.say('腿摔断了干不了活');
    r = await p.say('明年');
    expect(r.texts[0]).toContain('❗ ');
    r = await p.say('2099-01-01');
    expect(r.texts[0]).toContain('这个日期还没到');
    await p.say('上周');
    r = await p.sticker();
    expect(r.texts[0]).toContain('请用文字或点按钮回答');
    const summary = await p.tap('没有，跳过');
    expect(summary.texts[0]).toContain('户主姓名：王芳');
    expect(summary.texts[0]).toContain('家庭人口：3');
    expect(summary.texts[0]).toContain('工资性收入：不知道');
  });

  it('goes back a step, edits from the summary, and every tap is answered', async () => {
    const p = personOn(await boot(), 6005);
    await fillUpTo(p, 'idNumber');
    let r = await p.say('返回');
    expect(r.texts[0]).toContain('留一个能打通的手机号');
    r = await p.tap('返回上一步');
    expect(r.texts[0]).toContain('户主叫什么名字');
    await p.say('王芳芳');
    await p.say('13987654321');
    await fillRest(p);
    r = await p.tap('修改');
    expect(r.texts[0]).toContain('要修改哪一项');
    r = await p.tap('联系电话');
    expect(r.texts[0]).toContain('手机号');
    r = await p.say('13600000000');
    expect(r.texts[0]).toContain('请核对您填的内容');
    expect(r.texts[0]).toContain('联系电话：13600000000');
    expect(r.texts[0]).toContain('户主姓名：王芳芳');
    // Every tapped button was answered (no spinner left on the phone).
    expect(api.calls.filter((c) => c.method === 'answerCallbackQuery')).toHaveLength(p.taps());
    await signAndSubmit(p, '王芳芳');
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    expect(lead.headName).toBe('王芳芳');
  });

  async function fillRest(p: Person) {
    await p.tap('跳过');
    await p.say('3');
    await p.say('1');
    await p.tap('一般农户');
    await p.tap('同意，继续');
    await p.tap('有人残疾');
    await p.tap('选好了');
    for (let i = 0; i < 4; i++) await p.tap('不是');
    for (const a of ['8000', '2000', '0', '3000', '500', '0', '0']) await p.say(a);
    await p.tap('选好了');
    await p.say('丈夫去年摔伤腿，干不了重活');
    await p.say('去年10月');
    return p.tap('没有，跳过');
  }

  it('cancels with confirmation, keeps the draft, and resumes where it stopped', async () => {
    const p = personOn(await boot(), 6006);
    await fillUpTo(p, 'householdSize');
    let r = await p.say('/cancel');
    expect(r.texts[0]).toContain('确定要取消这次申报吗');
    r = await p.tap('是的，取消');
    expect(r.texts[0]).toContain('已填的内容保留 30 天');
    r = await p.say('/start');
    expect(p.buttons()).toContain('继续上次没填完的申报');
    r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toContain('家里一共几口人');
    await p.say('3');
    const conv = await running!.db.prisma.conversation.findFirstOrThrow();
    expect(conv.status).toBe('active');

    // A draft left alone for 30 days is deleted.
    await p.say('/cancel');
    await p.tap('是的，取消');
    expect(await running!.conversations.purgeDrafts(new Date(NOW.getTime() + 29 * 86_400_000))).toBe(0);
    expect(await running!.conversations.purgeDrafts(new Date(NOW.getTime() + 31 * 86_400_000))).toBe(1);
    await p.say('/start');
    expect(p.buttons()).not.toContain('继续上次没填完的申报');
    expect(p.buttons()).toContain('开始申报');
  });

  it('answers a redelivered update once, and sends replies owed after a crash between saving and sending', async () => {
    const app = await boot();
    const p = personOn(app, 6007);
    await fillUpTo(p, 'headName');
    const update = p.textUpdate('王芳');
    const first = await p.deliver(update);
    expect(first.texts[0]).toContain('手机号');
    const again = await p.deliver(update);
    expect(again.status).toBe(200);
    expect(again.texts).toEqual([]);

    // The same update delivered twice at once (a webhook retried while the first is still running): one answer.
    const racing = p.textUpdate('13987654321');
    const callsBefore = api.calls.length;
    const both = await Promise.all([p.deliver(racing), p.deliver(racing)]);
    expect(both.map((b) => b.status)).toEqual([200, 200]);
    const sent = api.calls.slice(callsBefore).filter((c) => c.method === 'sendMessage');
    expect(sent).toHaveLength(1);
    expect(String(sent[0]!.payload.text)).toContain('身份证号');
    expect((await p.say('返回')).texts[0]).toContain('手机号');
    await p.say('13987654321');

    // The process saved the answer and its reply, then died before sending it.
    await p.say('返回');
    const lost = p.textUpdate('13987654321');
    const parsed = { kind: 'text' as const, text: '13987654321' };
    const who = { channel: 'telegram', userId: '6007', chatId: '6007', languageCode: 'zh-hans' };
    await app.conversations.turn({ who, platformId: String(lost.update_id), payload: lost, input: parsed, caps: TELEGRAM_CAPS });
    const redelivered = await p.deliver(lost);
    expect(redelivered.texts).toHaveLength(1);
    expect(redelivered.texts[0]).toContain('身份证号');
    expect((await p.deliver(lost)).texts).toEqual([]);
    // The answer was applied once: the next answer goes to the ID question.
    expect((await p.tap('跳过')).texts[0]).toContain('几口人');
  });

  it('survives a restart of the whole app in the middle of a report', async () => {
    const first = await boot();
    let p = personOn(first, 6008);
    await fillUpTo(p, 'a28');
    await first.stop();
    running = undefined;
    const second = await boot();
    p = personOn(second, 6008);
    const r = await p.say('8000');
    expect(r.texts[0]).toContain('种地、养殖、做小生意');
    for (const a of ['2000', '0', '3000', '500', '0', '0']) await p.say(a);
    await p.tap('选好了');
    await p.say('丈夫去年摔伤腿，干不了重活');
    await p.say('去年10月');
    await p.tap('没有，跳过');
    const done = await signAndSubmit(p);
    expect(done.texts[0]).toContain('回执号：530925-20261124-0001');
  });

  it('shows the person\'s reports with /status and withdraws one with confirmation', async () => {
    const p = personOn(await boot(), 6009);
    expect((await p.say('/status')).texts[0]).toContain('您还没有申报过');
    await fillUpTo(p);
    await signAndSubmit(p);
    let r = await p.say('/status');
    expect(r.texts[0]).toContain('530925-20261124-0001（2026-11-24）：已收到，等村干部联系');
    r = await p.say('/withdraw');
    expect(r.texts[0]).toContain('要撤回哪一份申报');
    r = await p.tap('530925-20261124-0001');
    expect(r.texts[0]).toContain('确定撤回申报 530925-20261124-0001 吗');
    r = await p.tap('是的，撤回');
    expect(r.texts[0]).toContain('已撤回');
    expect((await p.say('/status')).texts[0]).toContain('：已撤回');
    expect((await p.say('/withdraw')).texts[0]).toContain('没有可以撤回的申报');
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    expect(lead.stage).toBe('withdrawn');
    expect(lead.withdrawnAt).not.toBeNull();
  });

  it('a withdrawal left half-way never withdraws by accident, and never mixes with a draft or a cancel', async () => {
    const p = personOn(await boot(), 6013);
    await fillUpTo(p);
    await signAndSubmit(p);
    await fillUpTo(p, 'householdSize'); // a second report in progress
    await p.say('/withdraw');
    await p.tap('530925-20261124-0001');
    await p.say('/start');
    let r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toContain('家里一共几口人');
    r = await p.say('好');
    expect(r.texts[0]).toContain('❗');
    expect((await running!.db.prisma.lead.findFirstOrThrow()).stage).toBe('received');

    await p.say('/cancel');
    await p.say('/withdraw');
    r = await p.tap('不撤回了');
    expect(r.texts[0]).toContain('好的，没有撤回');
    r = await p.tap('不取消，接着填');
    expect(r.texts[0]).toContain('家里一共几口人');
    expect(await running!.db.prisma.lead.count()).toBe(1);
  });

  it('a village QR poster link starts with the village chosen, still editable', async () => {
    const p = personOn(await boot(), 6010);
    const r = await p.say('/start v530925203206');
    expect(r.texts[0]).toContain('村子已经选好：忙糯乡巴哈村');
    await p.tap('开始申报');
    const next = await p.tap('我自己家');
    expect(next.texts[0]).toContain('户主叫什么名字');
    await p.say('王芳');
    await p.say('13987654321');
    const summary = await fillRest(p);
    expect(summary.texts[0]).toContain('住址：忙糯乡 巴哈村');
    await p.tap('修改');
    await p.tap('住址');
    await p.tap('邦丙乡');
    const back = await p.tap('南协村');
    expect(back.texts[0]).toContain('住址：邦丙乡 南协村');
  });

  it('switches language with /lang, and refuses webhook calls without the secret', async () => {
    const app = await boot();
    const p = personOn(app, 6011);
    await p.say('/start');
    expect((await p.say('/lang')).texts[0]).toBe('Switched to English.');
    expect((await p.say('/start')).texts[0]).toContain('Reporting is free');
    const bad = await p.deliver({ update_id: 999_999, message: { message_id: 1, date: 0, chat: { id: 6011, type: 'private' }, from: { id: 6011, is_bot: false, first_name: 'x' }, text: '/start' } }, 'wrong-secret-0000000');
    expect(bad.status).toBe(401);
    expect(bad.calls).toEqual([]);
    expect(await app.db.prisma.inboundUpdate.count({ where: { platformId: '999999' } })).toBe(0);
  });

  it('keeps phone numbers, ID numbers and answers out of the logs and out of plain sight in the database', async () => {
    const app = await boot();
    const p = personOn(app, 6012);
    await fillUpTo(p, 'idNumber');
    await p.say('530925199001011235');
    const rows = await app.db.prisma.$queryRawUnsafe<Array<{ t: string }>>(
      "SELECT encode(state, 'escape') AS t FROM conversation UNION ALL SELECT encode(payload, 'escape') FROM inbound_update",
    );
    for (const r of rows) {
      expect(r.t).not.toContain('13987654321');
      expect(r.t).not.toContain('王芳');
    }
    expect(log.text()).not.toMatch(/13987654321|530925199001011235|王芳/);
  });
});

describe(`Telegram long polling, ${TEST_DB}`, () => {
  it('receives updates by polling, records them once, and stops cleanly', async () => {
    const place = await freshDatabase();
    const api = await startFakeBotApi();
    const running = await start(testConfig(place, { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: api.url }), memoryLogger().logger, {
      host: '127.0.0.1',
      telegramBotInfo: BOT_INFO,
    });
    try {
      const chat = { id: 7001, type: 'private', first_name: 'P' };
      api.queueUpdate({ update_id: 500, message: { message_id: 1, date: 0, chat, from: { id: 7001, is_bot: false, first_name: 'P' }, text: '/start' } });
      await vi.waitFor(() => expect(api.textsTo(7001)).toHaveLength(1), { timeout: 10_000, interval: 20 });
      expect(api.textsTo(7001)[0]).toContain('申报不收任何费用');
      // a second update after it: once it is answered, the first has had every chance to be answered twice
      api.queueUpdate({ update_id: 501, message: { message_id: 2, date: 0, chat, from: { id: 7001, is_bot: false, first_name: 'P' }, text: '/help' } });
      await vi.waitFor(() => expect(api.textsTo(7001)).toHaveLength(2), { timeout: 10_000, interval: 20 });
      expect(api.textsTo(7001)[0]).toContain('申报不收任何费用');
      expect(await running.db.prisma.inboundUpdate.count()).toBe(2);
    } finally {
      await running.stop();
      await api.close();
      await place.cleanup();
    }
  });
});

describe(`Telegram replies that could not be sent, ${TEST_DB}`, () => {
  it('are sent by the sweeper later, once', async () => {
    const place = await freshDatabase();
    let failures = 4; // the first send and the adapter's three retries
    // Telegram failing for now (a 5xx): the replies are kept for a retry (a 400 would be final: see below)
    const api = await startFakeBotApi({ failNext: (method) => (method === 'sendMessage' && failures-- > 0 ? 502 : false) });
    const running = await startWithTelegram(place, api, memoryLogger().logger, NOW);
    try {
      const p = telegramPerson(`${running.url}/telegram/webhook`, api, 7100);
      const first = await p.say('/start');
      expect(first.status).toBe(500); // Telegram will redeliver; the sweeper does not wait for that
      expect(api.textsTo(7100)).toEqual([]);
      expect(await running.telegram!.sweep(0)).toBe(1);
      expect(api.textsTo(7100)).toHaveLength(1);
      expect(api.textsTo(7100)[0]).toContain('申报不收任何费用');
      expect(await running.telegram!.sweep(0)).toBe(0);
      await p.deliver(first.update); // Telegram's own redelivery comes too late to answer twice
      expect(api.textsTo(7100)).toHaveLength(1);
    } finally {
      await running.stop();
      await api.close();
      await place.cleanup();
    }
  });
});

describe(`a reply Telegram refuses (400), ${TEST_DB}`, () => {
  it('is dead-lettered with the reason, not retried', async () => {
    const place = await freshDatabase();
    const api = await startFakeBotApi({ failNext: (method) => (method === 'sendMessage' ? 400 : false) });
    const log = memoryLogger();
    const running = await startWithTelegram(place, api, log.logger, NOW);
    try {
      const p = telegramPerson(`${running.url}/telegram/webhook`, api, 7150);
      const first = await p.say('/start');
      expect(first.status).toBe(200); // handled; sending it again cannot help, so Telegram need not redeliver
      const row = await running.db.prisma.inboundUpdate.findFirstOrThrow({ where: { platformId: String(first.update.update_id) } });
      expect(row.deadAt).not.toBeNull();
      expect(row.error).toContain('GrammyError');
      expect(await running.telegram!.sweep(-60_000)).toBe(0);
      expect(log.lines().filter((l) => l.msg === 'telegram refused a reply; dead-lettered')).toHaveLength(1);
    } finally {
      await running.stop();
      await api.close();
      await place.cleanup();
    }
  });
});

describe(`a person who blocked the bot, ${TEST_DB}`, () => {
  it('gets nothing resent: the replies are dropped once and the webhook is not retried', async () => {
    const place = await freshDatabase();
    const api = await startFakeBotApi({ failNext: (method) => (method === 'sendMessage' ? 403 : false) });
    const log = memoryLogger();
    const running = await startWithTelegram(place, api, log.logger, NOW);
    try {
      const p = telegramPerson(`${running.url}/telegram/webhook`, api, 7200);
      expect((await p.say('/start')).status).toBe(200);
      expect(await running.telegram!.sweep(0)).toBe(0);
      expect(log.lines().some((l) => l.msg === 'recipient unreachable (blocked the bot); replies dropped')).toBe(true);
    } finally {
      await running.stop();
      await api.close();
      await place.cleanup();
    }
  });
});
