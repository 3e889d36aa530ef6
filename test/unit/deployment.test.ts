import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { incomeLineFor, loadDeployment, parseDeployment, placeIndex } from '../../server/deployment.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const good = `
version: 1
name: test county
counties:
  - code: "530925"
    name: 双江县
    province: { code: "530000", name: 云南省 }
    city: { code: "530900", name: 临沧市 }
    townships:
      - code: "530925101"
        name: 勐勐镇
        villages:
          - { code: "530925101211", name: 甲村 }
incomeLines:
  - { province: "530000", year: 2020, yuanPerPerson: 6000 }
  - { province: "530000", year: 2022, yuanPerPerson: 6600 }
`;

describe('deployment file', () => {
  it('ships 双江 (530925) with its official six townships and 78 village-level units', () => {
    const d = loadDeployment(SAMPLE_DEPLOYMENT);
    const county = d.counties[0]!;
    expect(county.code).toBe('530925');
    expect(county.name).toBe('双江拉祜族佤族布朗族傣族自治县');
    expect(county.townships.map((t) => `${t.code} ${t.name}`)).toEqual(['530925101 勐勐镇', '530925102 勐库镇', '530925201 沙河乡', '530925202 大文乡', '530925203 忙糯乡', '530925205 邦丙乡']);
    const villages = county.townships.flatMap((t) => t.villages);
    expect(villages).toHaveLength(78);
    expect(villages.filter((v) => v.kind === 'community')).toHaveLength(8);
    expect(villages.some((v) => v.sample)).toBe(false);
    expect(villages.find((v) => v.code === '530925102208')).toMatchObject({ name: '冰岛村', officialName: '冰岛村民委员会', kind: 'village' });
    expect(d.divisionCodes?.edition).toBe(2023);
    expect(d.timezone).toBe('Asia/Shanghai');
  });

  it('reports each bad field with its path and line', () => {
    const bad = good
      .replace('code: "530925101"', 'code: "5309251"')
      .replace('{ code: "530925101211", name: 甲村 }', '{ code: "530999100201", name: "" }')
      .replace('yuanPerPerson: 6600', 'yuanPerPerson: -1')
      .replace('version: 1', 'version: 1\ncolour: red');
    const problems = problemsOf(() => parseDeployment(bad, '/tmp/county.yaml'));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^counties\[0\]\.townships\[0\]\.code \(line 11\): must be a 9-digit township division code$/),
        expect.stringMatching(/^counties\[0\]\.townships\[0\]\.villages\[0\]\.name \(line 14\): must not be empty$/),
        expect.stringMatching(/^incomeLines\[1\]\.yuanPerPerson \(line 17\): must be more than 0$/),
        expect.stringMatching(/^\(top level\) \(line 2\): Unrecognized key: "colour"$/),
        "counties[0].townships[0].villages[0].code (line 14): must start with its township's code 5309251",
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('checks that codes nest (village in township in county) and are unique', () => {
    const bad = good.replace('{ code: "530925101211", name: 甲村 }', '{ code: "530925102208", name: 甲村 }\n          - { code: "530925102208", name: 乙村 }');
    const problems = problemsOf(() => parseDeployment(bad, 'x.yaml'));
    expect(problems).toEqual([
      "counties[0].townships[0].villages[0].code (line 13): must start with its township's code 530925101",
      'counties[0].townships[0].villages[1].code (line 14): code 530925102208 is already used at counties[0].townships[0].villages[0].code',
      "counties[0].townships[0].villages[1].code (line 14): must start with its township's code 530925101",
    ]);
  });

  it('names a missing field and reports broken YAML and JSON and missing files', () => {
    expect(problemsOf(() => parseDeployment(good.replace(/incomeLines:[\s\S]*$/, ''), 'x.yaml'))).toEqual([
      'incomeLines (line 2): Invalid input: expected array, received undefined',
    ]);
    expect(problemsOf(() => parseDeployment('counties: [\n  - a: b\n', 'x.yaml'))[0]).toMatch(/^line \d+: /);
    expect(problemsOf(() => parseDeployment('{"version": 1,', 'x.json'))[0]).toMatch(/JSON/);
    expect(problemsOf(() => loadDeployment('/nonexistent/county.yaml'))).toEqual(['/nonexistent/county.yaml: no such file']);
  });

  it('keeps drafts 30 days, staff messages 30 and reminder keys 180 unless it says otherwise, and refuses a retention outside its range by name', () => {
    expect(parseDeployment(good, '/tmp/county.yaml').retention).toEqual({ draftDays: 30, outboxDays: 30, reminderKeyDays: 180 });
    expect(parseDeployment(`${good}retention: { draftDays: 7 }\n`, '/tmp/county.yaml').retention).toEqual({ draftDays: 7, outboxDays: 30, reminderKeyDays: 180 });
    // the name the setting had before the one outbox is still read
    expect(parseDeployment(`${good}retention: { staffMessageDays: 14 }\n`, '/tmp/county.yaml').retention).toEqual({ draftDays: 30, outboxDays: 14, reminderKeyDays: 180 });
    const problems = problemsOf(() => parseDeployment(`${good}retention: { draftDays: 0, reminderKeyDays: 10 }\n`, '/tmp/county.yaml'));
    expect(problems.map((p) => p.replace(/ \(line \d+\)/, ''))).toEqual(expect.arrayContaining([expect.stringMatching(/^retention\.draftDays: /), expect.stringMatching(/^retention\.reminderKeyDays: /)]));
  });

  it('reads JSON as well as YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dep-'));
    const file = join(dir, 'county.json');
    writeFileSync(file, JSON.stringify(loadDeployment(SAMPLE_DEPLOYMENT)));
    expect(loadDeployment(file).counties[0]!.code).toBe('530925');
  });

  it('indexes places and looks up the income line for a year, falling back to the latest earlier year', () => {
    const d = parseDeployment(good, 'x.yaml');
    const idx = placeIndex(d);
    expect(idx.villages.get('530925101211')?.township.name).toBe('勐勐镇');
    expect(idx.townships.get('530925101')?.county.code).toBe('530925');
    expect(incomeLineFor(d, '530000', 2022)).toEqual({ yuanPerPerson: 6600, year: 2022, exactYear: true });
    expect(incomeLineFor(d, '530000', 2021)).toEqual({ yuanPerPerson: 6000, year: 2020, exactYear: false });
    expect(incomeLineFor(d, '530000', 2026)).toEqual({ yuanPerPerson: 6600, year: 2022, exactYear: false });
    expect(incomeLineFor(d, '530000', 2019)).toBeUndefined();
    expect(incomeLineFor(d, '420000', 2022)).toBeUndefined();
  });

  it('takes a line not filled in (null) as no line for its year: an earlier one is used and flagged, or none', () => {
    const d = parseDeployment(good, 'x.yaml');
    const unfilled = { ...d, incomeLines: [...d.incomeLines, { province: '530000', year: 2026, yuanPerPerson: null }] };
    expect(incomeLineFor(unfilled, '530000', 2026)).toEqual({ yuanPerPerson: 6600, year: 2022, exactYear: false });
    const only = { ...d, incomeLines: [{ province: '530000', year: 2026, yuanPerPerson: null }] };
    expect(incomeLineFor(only, '530000', 2026)).toBeUndefined();
    expect(incomeLineFor(only, '530000', 2027)).toBeUndefined();
  });
});
