import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Running } from '../../server/main.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

// /restart ("从头重新填", locales/*/bot.json commands.restart and the help text) in the middle of a report: every
// answer so far is dropped and the report starts again from its first question, as on a new report.

type Person = ReturnType<typeof telegramPerson>;
const NOW = new Date('2026-11-24T02:00:00Z');

/** A report for a relative (their own phone beside the son's), with a natural disaster, up to the 有没有这些情况 question. */
async function proxyReportSoFar(p: Person) {
  await p.tap('替家里人');
  await p.tap('我是他们的子女');
  await p.tap('知道，也同意');
  await p.tap('沙河乡');
  await p.tap('平掌村');
  await p.say('王芳');
  await p.say('13987654321');
  await p.say('13600002222');
  await p.tap('同意，继续');
  await p.tap('遭了自然灾害');
  await p.tap('选好了');
  const r = await p.tap('洪水');
  expect(r.texts[0]).toMatch(/^第 6\/8 步\n您父母家有没有下面这些情况？/);
}

/** The household's own report, from the township question to the summary. */
async function ownReportFromPlace(p: Person) {
  await p.tap('勐库镇');
  await p.tap('冰岛村');
  await p.say('张三丰');
  await p.say('13711112222');
  await p.tap('同意，继续');
  await p.tap('有人生病');
  await p.tap('选好了');
  await p.tap('都没有');
  await p.tap('选好了');
  return p.say('老伴住院，花了很多钱');
}

describe(`/restart on Telegram, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let running: Running | undefined;

  beforeEach(async () => {
    place = await freshDatabase();
    api = await startFakeBotApi();
    running = await startWithTelegram(place, api, memoryLogger().logger, NOW);
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await api.close();
    await place.cleanup();
  });

  const person = (id: number) => telegramPerson(`${running!.url}/telegram/webhook`, api, id);

  it('drops every answer and asks the first question again, as on a new report', async () => {
    const p = person(8001);
    await p.say('/start');
    const first = await p.tap('开始申报');
    const firstButtons = p.buttons();
    expect(first.texts[0]).toMatch(/^第 1\/\d+ 步\n谁来申报？/);
    await proxyReportSoFar(p);

    const r = await p.say('/restart');
    // the same first question, with the same step count: nothing answered before counts any more (a kept answer
    // "for a relative" or "natural disaster" would add their questions to the count)
    expect(r.texts).toEqual([first.texts[0]]);
    expect(p.buttons()).toEqual(firstButtons);
    expect((await p.say('返回')).texts[0]).toContain('这已经是第一步了。');

    // asked about one's own household (您家), not the parents' (您父母家) any more, and as step 2 of 8
    const next = await p.tap('我自己家');
    expect(next.texts[0]).toMatch(/^第 2\/8 步\n您家住在哪个乡镇？/);
    const summary = (await ownReportFromPlace(p)).texts[0]!;
    expect(summary).toContain('户主姓名：张三丰');
    expect(summary).toContain('勐库镇 冰岛村');
    expect(summary).toContain('联系电话：13711112222');
    for (const old of ['王芳', '平掌村', '13987654321', '13600002222', '洪水', '自然灾害', '子女', '父母', '您的电话', '和这户的关系']) expect(summary).not.toContain(old);

    await p.tap('没问题');
    await p.tap('我同意');
    const done = await p.say('张三丰');
    expect(done.texts[0]).toContain('回执号：530925-20261124-0001');
    const lead = await running!.db.prisma.lead.findFirstOrThrow();
    expect(lead).toMatchObject({ headName: '张三丰', villageCode: '530925102208', reporterRelation: null, reporterPhoneEnc: null, idNumberEnc: null });
    expect((lead.answers as Record<string, unknown>).risks).toEqual(['illness']);
    expect((lead.answers as Record<string, unknown>).disasterType).toBeUndefined();
    expect((lead.answers as Record<string, unknown>).householdPhone).toBeUndefined();
  });

  it('typing 重新开始 at the signature submits nothing and starts again', async () => {
    const p = person(8002);
    await p.say('/start');
    const first = await p.tap('开始申报');
    await p.tap('我自己家');
    await ownReportFromPlace(p);
    await p.tap('没问题');
    const signature = await p.tap('我同意');
    expect(signature.texts[0]).toMatch(/签名|名字/);
    const r = await p.say('重新开始');
    expect(r.texts).toEqual([first.texts[0]]);
    expect(await running!.db.prisma.lead.count()).toBe(0);
    // the name typed now is not a signature: the report starts over with nothing submitted
    await p.tap('我自己家');
    expect((await p.say('张三丰')).texts[0]).toContain('❗');
    expect(await running!.db.prisma.lead.count()).toBe(0);
  });

  it('after /cancel, /restart starts a new report rather than offering the kept draft', async () => {
    const p = person(8003);
    await p.say('/start');
    const first = await p.tap('开始申报');
    await proxyReportSoFar(p);
    await p.say('/cancel');
    expect((await p.tap('先停下')).texts[0]).toContain('已填的内容保留 30 天');
    const r = await p.say('/restart');
    expect(r.texts).toEqual([first.texts[0]]);
    expect(p.buttons()).not.toContain('继续上次没填完的申报');
  });

  it('keeps the village a QR poster filled in', async () => {
    const p = person(8004);
    await p.say('/start v530925102208');
    const first = await p.tap('开始申报');
    await p.tap('我自己家');
    const again = await p.say('/restart');
    expect(again.texts).toEqual([first.texts[0]]);
    const next = await p.tap('我自己家');
    expect(next.texts[0]).not.toContain('哪个乡镇');
    expect(next.texts[0]).toContain('户主');
  });
});
