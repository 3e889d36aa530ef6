import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import { TELEGRAM_CAPS } from '../../bot/channels/telegram/index.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { BOT_INFO, BOT_TOKEN, startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

type Person = ReturnType<typeof telegramPerson>;
type Reply = Awaited<ReturnType<Person['say']>>;
const NOW = new Date('2026-11-24T02:00:00Z');

/** Walks a script of named steps from the step named by `from` (else the first) up to, not including, the one named by `until`; the last reply. */
async function walk(script: Array<[string, () => Promise<Reply>]>, until?: string, from?: string): Promise<Reply | undefined> {
  for (const name of [until, from]) if (name !== undefined && !script.some(([n]) => n === name)) throw new Error(`no step "${name}" in the script`);
  let last: Reply | undefined;
  let started = from === undefined;
  for (const [name, act] of script) {
    if (name === until) return last;
    if (name === from) started = true;
    if (started) last = await act();
  }
  return last;
}

/** The short report by the household itself (8 numbered steps), up to (not including) the step named by `until`; else to the summary. */
async function fillUpTo(p: Person, until?: string) {
  return walk(
    [
      ['start', () => p.say('/start')],
      ['begin', () => p.tap('开始申报')],
      ['reporter', () => p.tap('我自己家')],
      ['township', () => p.tap('沙河乡')],
      ['village', () => p.tap('平掌村')],
      ['headName', () => p.say('王芳')],
      ['phone', () => p.say('13987654321')],
      ['sensitiveNotice', () => p.tap('同意，继续')],
      ['risks', () => p.tap('有人残疾')],
      ['risksDone', () => p.tap('选好了')],
      ['conditions', () => p.tap('吃水难')],
      ['conditionsDone', () => p.tap('选好了')],
      ['whatHappened', () => p.say('丈夫去年摔伤腿，干不了重活')],
    ],
    until,
  );
}

async function signAndSubmit(p: Person, name = '王芳') {
  await p.tap('没问题');
  await p.tap('我同意');
  return p.say(name);
}

/**
 * The details after the receipt ("现在补充", 补充情况 第 n/12 步), from the step named by `from` up to (not
 * including) the one named by `until`; else all of them, the last reply being "已补充到申报里".
 */
async function detailsUpTo(p: Person, until?: string, from?: string) {
  const money = (a: string) => () => p.say(a);
  return walk(
    [
      ['now', () => p.tap('现在补充')],
      ['whenHappened', () => p.say('去年10月')],
      ['householdSize', () => p.say('3')],
      ['labourers', () => p.say('1')],
      ['householdType', () => p.tap('一般农户')],
      ['a28', money('8000')],
      ['a29', money('2000')],
      ['a30', money('0')],
      ['a31', money('3000')],
      ['a32', money('500')],
      ['a35', money('没有')],
      ['a36', money('两千')],
      ['exclusions', () => p.tap('选好了')],
    ],
    until,
    from,
  );
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
  const theLead = () => running!.db.prisma.lead.findFirstOrThrow();

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

  it('files a whole report in English, chosen from Telegram\'s language code, and adds its details in English', async () => {
    const p = personOn(await boot(), 6001, 'en-US');
    expect((await p.say('/start')).texts[0]).toContain('Reporting is free');
    expect((await p.tap('Start a report')).texts[0]).toBe('Step 1 of 8\nWho is reporting?');
    await p.tap('My own household');
    await p.tap('勐勐镇');
    await p.tap('彝家村');
    expect((await p.say('L')).texts[0]).toContain('A name has at least two characters.');
    await p.say('Li Ming');
    expect((await p.say('12345')).texts[0]).toContain('A mobile number has 11 digits.');
    expect((await p.say('+86 138 0013 8000')).texts[0]).toMatch(/^Step 5 of 8\nNext come questions about the difficulties of your household/);
    // a word the notice does not offer: the re-ask names its buttons, in English
    expect((await p.say('maybe')).texts[0]).toMatch(/^❗ Please tap "I agree, continue" or "I do not agree"\./);
    await p.tap('I agree, continue');
    await p.tap('Accident');
    expect((await p.tap('Done')).texts[0]).toMatch(/^Step 6 of 8\nDoes any of these apply to your household\?/);
    await p.tap('None of these');
    expect((await p.tap('Done')).texts[0]).toMatch(/^Step 7 of 8\nIn a sentence or two, what happened\?/);
    const summary = await p.say('I fell from a ladder and broke my leg');
    expect(summary.texts[0]).toMatch(/^Step 8 of 8\nPlease check your answers:/);
    expect(summary.texts[0]).toContain('Phone: 13800138000');
    expect(summary.texts[0]).toContain('Any of these: None');
    expect(summary.texts[0]).toContain('What happened: I fell from a ladder and broke my leg');
    expect((await p.tap('All correct')).texts[0]).toContain('Commitment and authorization');
    await p.tap('I agree');
    const done = await p.say('Li Ming');
    expect(done.texts[0]).toMatch(/Receipt number: 530925-20261124-\d{4}/);
    expect(done.texts[0]).toContain('Add the household\'s details (about 3 minutes)');
    expect(p.buttons()).toEqual(['Add them now (about 3 minutes)', 'Later']);

    // the details, in English too
    const first = await p.tap('Add them now');
    expect(first.texts[1]).toBe('Details, step 1 of 12\nWhen did it happen? Roughly is fine.');
    expect((await p.say('next week')).texts[0]).toContain('I could not understand that date.');
    expect((await p.say('2026-11-02')).texts[0]).toMatch(/^Details, step 2 of 12\nHow many people are in your household/);
    await p.say('2');
    await p.say('0');
    await p.tap('Not sure');
    for (const a of ['1000', '0', '0', '1200', '0', '0', '0']) await p.say(a);
    await p.tap('None of these');
    expect((await p.tap('Done')).texts[0]).toContain('✅ Added to the report');
    const lead = await running!.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.category).toBe('marginal'); // 2,200 a year for 2 people, well under the line
    expect((lead.answers as Record<string, unknown>).a28).toEqual({ kind: 'amount', yuan: 1000 });
    expect((lead.answers as Record<string, unknown>).whenHappened).toMatchObject({ date: '2026-11-02' });
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
    await p.say('张老汉');
    expect((await p.say('13700001111')).texts[0]).toMatch(/^第 4\/8 步\n您父母家有能打通的手机吗？/);
    // no phone of their own: the son's is the one to call
    await p.tap('跳过');
    await p.tap('同意，继续');
    await p.tap('有人生病');
    await p.tap('缺劳动力');
    await p.tap('选好了');
    await p.tap('都没有');
    await p.tap('选好了');
    const summary = await p.say('父亲 78 岁，常年吃药，母亲腿脚不便');
    expect(summary.texts[0]).toContain('• 和这户的关系：我是他们的子女');
    expect(summary.texts[0]).toContain('• 您的电话：13700001111');
    expect(summary.texts[0]).toContain('• 您父母家的电话：没填');
    const done = await signAndSubmit(p, '张小军');
    expect(done.texts[0]).toContain('回执号');
    expect(done.texts[0]).toContain('上门时会请户主本人签字同意');
    let lead = await running!.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.reporterRelation).toBe('family:child');
    expect(lead.headName).toBe('张老汉');
    expect(lead.consent).toMatchObject({ typedName: '张小军', proxyRelation: 'family:child' });
    expect(lead.category).toBe('unknown');

    // the details, asked of the son about his parents' household
    const first = await p.tap('现在补充');
    expect(first.texts[1]).toBe('补充情况 第 1/12 步\n这事是什么时候发生的？说个大概就行。');
    await p.say('今年');
    expect((await p.say('2')).texts[0]).toContain('能干活挣钱的劳动力');
    await p.say('0');
    expect(p.buttons()).toContain('脱贫户');
    await p.tap('脱贫户');
    for (const a of ['0', '1000', '0', '4800', '200', '0', '6000']) await p.say(a);
    expect((await p.tap('选好了')).texts[0]).toContain('已补充到申报里');
    lead = await running!.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.category).toBe('unstable_escaped'); // A34 = 2,800, A38 = −200 per person
  });

  it('every income "不知道" (in the details after the receipt) is stored as unknown, not 0', async () => {
    const p = personOn(await boot(), 6003);
    await fillUpTo(p);
    await signAndSubmit(p);
    // before the details the incomes are missing, not "不知道"
    expect((await theLead()).answers as Record<string, unknown>).not.toHaveProperty('a28');
    await detailsUpTo(p, 'a28');
    for (let i = 0; i < 7; i++) {
      const r = await p.say('不知道');
      expect(r.texts[0]).not.toContain('❗');
    }
    expect((await p.tap('选好了')).texts[0]).toContain('已补充到申报里');
    const lead = await theLead();
    expect(lead).toMatchObject({ a33: null, a34: null, a37: null, a38: null, category: 'unknown' });
    const answers = lead.answers as Record<string, unknown>;
    expect(answers.householdSize).toBe(3);
    for (const f of ['a28', 'a29', 'a30', 'a31', 'a32', 'a35', 'a36']) expect(answers[f], f).toEqual({ kind: 'unknown' });
    expect(lead.flags).toContain('income_incomplete');
    expect(lead.flags).not.toContain('details_pending');
  });

  it('takes money and dates as an old farmer says them, in the details: ranges, a month\'s figure; the third unplaceable date is kept as said', async () => {
    const p = personOn(await boot(), 6013);
    await fillUpTo(p);
    await signAndSubmit(p);
    await detailsUpTo(p, 'whenHappened');
    let r = await p.say('那会儿');
    expect(r.texts[0]).toContain('❗ ');
    expect(r.texts[0]).toContain('补充情况 第 1/12 步');
    r = await p.say('忘了');
    expect(r.texts[0]).toContain('❗ ');
    r = await p.say('栽秧子那阵'); // the third time: kept as the person's words
    expect(r.texts[0]).toMatch(/^补充情况 第 2\/12 步\n您家一共几口人/);
    await p.say('3');
    await p.say('1');
    await p.tap('一般农户');
    await p.say('七八千吧'); // wages
    r = await p.say('一个月一千多'); // production
    expect(r.texts[0]).not.toContain('❗');
    for (const a of ['没有', '三千', '五百', '没有', '两千']) await p.say(a);
    expect((await p.tap('选好了')).texts[0]).toContain('已补充到申报里');
    const lead = await theLead();
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
    await fillUpTo(p);
    await signAndSubmit(p);
    await detailsUpTo(p, 'whenHappened');
    const r = await p.say('前年秋收的时候');
    expect(r.texts[0]).not.toContain('❗');
    expect(r.texts[0]).toMatch(/^补充情况 第 2\/12 步/);
    // the rest of the details as the script gives them (exact amounts)
    expect((await detailsUpTo(p, undefined, 'householdSize'))!.texts[0]).toContain('已补充到申报里');
    const lead = await theLead();
    expect((lead.answers as Record<string, unknown>).whenHappened).toEqual({ date: expect.stringMatching(/^2024-09/), precision: 'season' });
    expect(lead.flags).not.toContain('income_approximate');
  });

  it('re-asks wrong answers with a reason and an example, and keeps what was entered', async () => {
    const p = personOn(await boot(), 6004);
    await fillUpTo(p, 'sensitiveNotice');
    // a notice answered with a word it does not offer: the re-ask names its buttons
    let r = await p.say('也许吧');
    expect(r.texts[0]).toMatch(/^❗ 请点 “同意，继续”或“不同意”。\n\n第 5\/8 步\n接下来问您家的困难/);
    await p.tap('同意，继续');
    r = await p.tap('选好了');
    expect(r.texts[0]).toContain('❗ 请至少选一项');
    expect(r.texts[0]).toContain('您家遇到了什么困难');
    await p.tap('有人残疾');
    await p.tap('选好了');
    r = await p.tap('选好了');
    expect(r.texts[0]).toContain('❗ 请至少选一项');
    r = await p.say('也许吧');
    expect(r.texts[0]).toMatch(/^❗ 请点 “住房不安全（危房、墙裂、漏雨）”或.*“都没有”或“选好了”。/);
    expect(r.texts[0]).toContain('您家有没有下面这些情况');
    await p.say('都没有');
    r = await p.say('摔');
    expect(r.texts[0]).toContain('再多写几个字');
    expect(r.texts[0]).toContain('例如：父亲 10 月住院做手术');
    r = await p.sticker();
    expect(r.texts[0]).toContain('请用文字或点按钮回答');
    const summary = await p.say('腿摔断了干不了活');
    expect(summary.texts[0]).toContain('户主姓名：王芳');
    expect(summary.texts[0]).toContain('• 遇到的困难：有人残疾');
    expect(summary.texts[0]).toContain('• 有没有这些情况：无');
    expect(summary.texts[0]).toContain('• 发生了什么：腿摔断了干不了活');
    await signAndSubmit(p);

    // the details are re-asked the same way
    await detailsUpTo(p, 'whenHappened');
    r = await p.say('明年');
    expect(r.texts[0]).toContain('❗ ');
    r = await p.say('2099-01-01');
    expect(r.texts[0]).toContain('这个日期还没到');
    await p.say('上周');
    r = await p.say('一家子');
    expect(r.texts[0]).toMatch(/^❗ /);
    expect(r.texts[0]).toContain('例如：4 或 四口人');
    expect(r.texts[0]).toContain('您家一共几口人');
    await p.say('3');
    r = await p.say('5');
    expect(r.texts[0]).toContain('❗ 这个数不对');
    expect(r.texts[0]).toContain('3 口人里');
    await p.say('1');
    r = await p.say('随便');
    expect(r.texts[0]).toMatch(/^❗ 请点 “一般农户”或“脱贫户”或“已经是监测对象”或“不清楚”。/);
    expect(r.texts[0]).toContain('您家现在是哪一类');
    await p.tap('一般农户');
    r = await p.say('abc');
    expect(r.texts[0]).toContain('❗ 请填一个数字');
    await p.say('abc');
    r = await p.say('abc');
    expect(r.texts[0]).toContain('这个问题不知道可以跳过');
    expect(p.buttons()).toContain('跳过');
    await p.tap('跳过');
    for (const a of ['0', '0', '0', '0', '0', '0']) await p.say(a);
    expect((await p.tap('选好了')).texts[0]).toContain('已补充到申报里');
    const lead = await theLead();
    expect(lead.headName).toBe('王芳');
    expect(lead.answers).toMatchObject({ householdSize: 3, labourers: 1, householdType: 'ordinary', a28: { kind: 'unknown' }, a29: { kind: 'amount', yuan: 0 }, whatHappened: '腿摔断了干不了活', risks: ['disability'] });
  });

  it('goes back a step, edits from the summary, and every tap is answered', async () => {
    const p = personOn(await boot(), 6005);
    await fillUpTo(p, 'sensitiveNotice');
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
    await signAndSubmit(p, '王芳芳');
    const lead = await theLead();
    expect(lead.headName).toBe('王芳芳');

    // back in the details: the answer given again replaces the first
    await detailsUpTo(p, 'labourers');
    r = await p.say('返回');
    expect(r.texts[0]).toBe('补充情况 第 2/12 步\n您家一共几口人？（户口本上的人数）');
    await p.say('4');
    r = await p.say('2');
    expect(r.texts[0]).toContain('您家现在是哪一类');
    await p.say('取消');
    await p.tap('先停下');
    expect((await theLead()).answers).toMatchObject({ householdSize: 4, labourers: 2 });
    // Every tapped button was answered (no spinner left on the phone).
    expect(api.calls.filter((c) => c.method === 'answerCallbackQuery')).toHaveLength(p.taps());
  });

  /** From the sensitive notice to the summary. */
  async function fillRest(p: Person) {
    await p.tap('同意，继续');
    await p.tap('有人残疾');
    await p.tap('选好了');
    await p.tap('都没有');
    await p.tap('选好了');
    return p.say('丈夫去年摔伤腿，干不了重活');
  }

  it('cancels as a pause with a choice, keeps the draft, resumes where it stopped, and deletes it when asked', async () => {
    const p = personOn(await boot(), 6006);
    await fillUpTo(p, 'conditions');
    let r = await p.say('/cancel');
    expect(r.texts[0]).toContain('要先停下吗？已填的内容保留 30 天');
    expect(p.buttons()).toEqual(['先停下，以后接着填', '删掉这份没交的申报', '不停，接着填']);
    r = await p.tap('先停下');
    expect(r.texts[0]).toContain('已填的内容保留 30 天');
    r = await p.say('/start');
    expect(p.buttons()).toContain('继续上次没填完的申报');
    r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toContain('第 6/8 步\n您家有没有下面这些情况？');
    r = await p.say('没有');
    expect(r.texts[0]).toContain('第 7/8 步\n用一两句话说说发生了什么事');
    const conv = await running!.db.prisma.conversation.findFirstOrThrow();
    expect(conv.status).toBe('active');

    // A draft left alone for 30 days is deleted.
    await p.say('/cancel');
    await p.tap('先停下');
    expect(await running!.conversations.purgeDrafts(new Date(NOW.getTime() + 29 * 86_400_000))).toBe(0);
    expect(await running!.conversations.purgeDrafts(new Date(NOW.getTime() + 31 * 86_400_000))).toBe(1);
    await p.say('/start');
    expect(p.buttons()).not.toContain('继续上次没填完的申报');
    expect(p.buttons()).toContain('开始申报');

    // "删掉这份没交的申报" throws the draft away at once, and nothing was sent
    await fillUpTo(p, 'conditions');
    await p.say('取消');
    r = await p.tap('删掉这份没交的申报');
    expect(r.texts[0]).toContain('这份没交的申报已经删掉了');
    await p.say('/start');
    expect(p.buttons()).not.toContain('继续上次没填完的申报');
    expect(p.buttons()).toContain('开始申报');
    expect(await running!.db.prisma.lead.count()).toBe(0);
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
    expect(String(sent[0]!.payload.text)).toMatch(/^第 5\/8 步\n接下来问您家的困难/);
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
    expect(redelivered.texts[0]).toMatch(/^第 5\/8 步\n接下来问您家的困难/);
    expect((await p.deliver(lost)).texts).toEqual([]);
    // The answer was applied once: the number was not taken again as an answer to the notice (a re-ask), and the
    // notice is answered next.
    expect(api.textsTo(6007).filter((t) => t.startsWith('❗'))).toEqual([]);
    expect((await p.tap('同意，继续')).texts[0]).toContain('您家遇到了什么困难');
  });

  it('survives a restart of the whole app in the middle of a report, and in the middle of its details', async () => {
    const first = await boot();
    let p = personOn(first, 6008);
    await fillUpTo(p, 'conditions');
    await first.stop();
    running = undefined;
    const second = await boot();
    p = personOn(second, 6008);
    let r = await p.say('都没有');
    expect(r.texts[0]).toContain('用一两句话说说发生了什么事');
    await p.say('丈夫去年摔伤腿，干不了重活');
    const done = await signAndSubmit(p);
    expect(done.texts[0]).toContain('回执号：530925-20261124-0001');

    await detailsUpTo(p, 'a28');
    await second.stop();
    running = undefined;
    const third = await boot();
    p = personOn(third, 6008);
    r = await p.say('8000');
    expect(r.texts[0]).toContain('种地、养殖、做小生意');
    r = (await detailsUpTo(p, undefined, 'a29'))!;
    expect(r.texts[0]).toContain('已补充到申报里');
    expect((await theLead()).answers).toMatchObject({ householdSize: 3, a28: { kind: 'amount', yuan: 8000 }, a29: { kind: 'amount', yuan: 2000 } });
  });

  it('shows the person\'s reports with /status and withdraws one with confirmation', async () => {
    const p = personOn(await boot(), 6009);
    expect((await p.say('/status')).texts[0]).toContain('您还没有申报过');
    await fillUpTo(p);
    await signAndSubmit(p);
    let r = await p.say('/status');
    expect(r.texts[0]).toContain('530925-20261124-0001（2026-11-24）：已收到，等村干部联系；家庭情况还没补充');
    expect(p.buttons()).toEqual(['补充 530925-20261124-0001 的家庭情况']);
    r = await p.say('/withdraw');
    expect(r.texts[0]).toContain('要撤回哪一份申报');
    r = await p.tap('530925-20261124-0001');
    expect(r.texts[0]).toContain('确定撤回申报 530925-20261124-0001 吗');
    r = await p.tap('是的，撤回');
    expect(r.texts[0]).toContain('已撤回');
    r = await p.say('/status');
    expect(r.texts[0]).toMatch(/530925-20261124-0001（2026-11-24）：已撤回$/);
    expect(r.texts[0]).not.toContain('家庭情况还没补充');
    expect(r.last?.reply_markup).toBeUndefined();
    expect((await p.say('/withdraw')).texts[0]).toContain('没有可以撤回的申报');
    const lead = await theLead();
    expect(lead.stage).toBe('withdrawn');
    expect(lead.withdrawnAt).not.toBeNull();
  });

  it('a withdrawal left half-way never withdraws by accident, and never mixes with a draft or a cancel', async () => {
    const p = personOn(await boot(), 6013);
    await fillUpTo(p);
    await signAndSubmit(p);
    await fillUpTo(p, 'conditions'); // a second report in progress
    await p.say('/withdraw');
    await p.tap('530925-20261124-0001');
    await p.say('/start');
    let r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toContain('您家有没有下面这些情况');
    r = await p.say('好');
    expect(r.texts[0]).toContain('❗');
    expect((await theLead()).stage).toBe('received');

    await p.say('/cancel');
    await p.say('/withdraw');
    r = await p.tap('不撤回了');
    expect(r.texts[0]).toContain('好的，没有撤回');
    r = await p.tap('不停，接着填');
    expect(r.texts[0]).toContain('您家有没有下面这些情况');
    expect(await running!.db.prisma.lead.count()).toBe(1);
    expect((await theLead()).stage).toBe('received');
  });

  it('a village QR poster link starts with the village chosen, still editable', async () => {
    const p = personOn(await boot(), 6010);
    const r = await p.say('/start v530925203206');
    expect(r.texts[0]).toContain('村子已经选好：忙糯乡巴哈村');
    await p.tap('开始申报');
    const next = await p.tap('我自己家');
    expect(next.texts[0]).toBe('第 3/8 步\n户主叫什么名字？');
    await p.say('王芳');
    await p.say('13987654321');
    const summary = await fillRest(p);
    expect(summary.texts[0]).toContain('住址：忙糯乡 巴哈村');
    await p.tap('修改');
    await p.tap('住址');
    await p.tap('邦丙乡');
    const back = await p.tap('南协村');
    expect(back.texts[0]).toContain('住址：邦丙乡 南协村');
    await signAndSubmit(p);
    expect((await theLead()).villageCode).toBe('530925205202');
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
    await fillUpTo(p, 'whatHappened');
    // the ID number is no longer asked; one told in the story is kept like any answer
    await p.say('丈夫摔伤了，他的身份证是 530925199001011235');
    const rows = await app.db.prisma.$queryRawUnsafe<Array<{ t: string }>>(
      "SELECT encode(state, 'escape') AS t FROM conversation UNION ALL SELECT encode(payload, 'escape') FROM inbound_update",
    );
    for (const r of rows) {
      expect(r.t).not.toContain('13987654321');
      expect(r.t).not.toContain('王芳');
      expect(r.t).not.toContain('530925199001011235');
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
