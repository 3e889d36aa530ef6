import { parseDeployment, formatPath, type Deployment } from '../deployment.ts';
import { tFor, type Language } from '../i18n.ts';
import { townshipKey } from './names.ts';
import { countyNames, DIVISION_SOURCE, readCounty, type OfficialCounty } from './divisions.ts';

/** deployment init could not write a file: `key` is a message of locales' deployment namespace. */
export class InitError extends Error {
  constructor(
    readonly key: string,
    readonly params: Record<string, string | number>,
    readonly more: { key: string; params: Record<string, string | number> }[] = [],
  ) {
    super(key);
    this.name = 'InitError';
  }
}

const q = (s: string) => JSON.stringify(s);
const comment = (text: string) => text.split('\n').map((l) => (l ? `# ${l}` : '#')).join('\n');

/** The county's tree from the official data, limited to some townships (by code or name) when asked. */
export async function officialCounty(dir: string, countyCode: string, townships: string[] = []): Promise<OfficialCounty> {
  if (!/^\d{6}$/.test(countyCode)) throw new InitError('init.bad_county', {});
  const county = await readCounty(dir, countyCode);
  if (!county) {
    const sameCity = [...countyNames(dir)].filter(([code]) => code.startsWith(countyCode.slice(0, 4)) && code !== countyCode);
    const more = sameCity.length ? [{ key: 'init.same_prefecture', params: { list: sameCity.map(([c, n]) => `${c} ${n}`).join('、') } }] : [];
    throw new InitError('init.unknown_county', { code: countyCode, edition: DIVISION_SOURCE.edition }, more);
  }
  if (county.townships.length === 0) throw new InitError('init.no_townships', { code: county.code, name: county.name, edition: DIVISION_SOURCE.edition });
  if (townships.length === 0) return county;
  const picked = townships.map((wanted) => {
    const w = wanted.trim();
    const found = county.townships.find((t) => t.code === w || t.code === `${countyCode}${w}` || t.name === w || townshipKey(t.name) === townshipKey(w));
    if (!found) throw new InitError('init.unknown_township', { county: county.name, township: w, list: county.townships.map((t) => `${t.code} ${t.name}`).join('、') });
    return found;
  });
  return { ...county, townships: county.townships.filter((t) => picked.includes(t)) };
}

export type RenderOptions = { lang: Language; today: string; command: string; subset?: boolean; incomeYear: number };

/**
 * The deployment file for one county: official places with the edition at the top, the income line left for the
 * operator (null, with where it comes from), the other sections at their defaults with a word on each.
 */
export function renderDeployment(c: OfficialCounty, o: RenderOptions): string {
  const t = tFor(o.lang, 'deployment');
  const src = { edition: DIVISION_SOURCE.edition, asOf: DIVISION_SOURCE.asOf, package: DIVISION_SOURCE.package, version: DIVISION_SOURCE.version };
  const head = [
    t('file.title', { county: c.name, province: c.province.name, city: c.city.name, code: c.code, command: o.command, date: o.today }),
    '',
    t('file.official', src),
    ...(o.subset ? [t('file.township_subset', { townships: c.townships.map((tw) => tw.name).join('、') })] : []),
    t('file.not_official'),
  ].join('\n');
  const out: string[] = [
    comment(head),
    'version: 1',
    `name: ${q(c.name)}`,
    'timezone: Asia/Shanghai',
    `divisionCodes: { edition: ${DIVISION_SOURCE.edition}, source: ${q(`国家统计局 ${DIVISION_SOURCE.edition}年统计用区划代码和城乡划分代码 (${DIVISION_SOURCE.package} ${DIVISION_SOURCE.version})`)} }`,
    '',
    'counties:',
    `  - code: ${q(c.code)}`,
    `    name: ${q(c.name)}`,
    `    province: { code: ${q(c.province.code)}, name: ${q(c.province.name)} }`,
    `    city: { code: ${q(c.city.code)}, name: ${q(c.city.name)} }`,
    comment(t('file.supervision_phone')).replace(/^/gm, '    '),
    '    # supervisionPhone: "12317"',
    '    townships:',
  ];
  for (const tw of c.townships) {
    out.push(`      - code: ${q(tw.code)}`, `        name: ${q(tw.name)}`);
    if (tw.villages.length === 0) {
      out.push('        villages: []');
      continue;
    }
    out.push('        villages:');
    for (const v of tw.villages)
      out.push(`          - { code: ${q(v.code)}, name: ${q(v.name)}, officialName: ${q(v.officialName)}${v.kind === 'community' ? ', kind: community' : ''} }`);
  }
  out.push(
    '',
    comment(t('file.income_line', { province: c.province.name })),
    'incomeLines:',
    `  - province: ${q(c.province.code)}`,
    `    year: ${o.incomeYear}`,
    '    yuanPerPerson: null',
    '    source: ""',
    '',
    comment(t('file.consent')),
    'consent:',
    '  version: v1',
    '',
    comment(t('file.procedure')),
    'procedure:',
    '  identificationDays: 15',
    '  publicityDays: 5',
    '  publicityDayType: calendar',
    '  planDays: 10',
    '',
  );
  const text = out.join('\n');
  parseDeployment(text, `${c.code}.yaml`); // what init writes must start the product: a mistake here is a bug, thrown
  return text;
}

/** A warning about a deployment that starts anyway: a message key of the deployment namespace and its values. */
export type DeploymentWarning = { key: string; params: Record<string, string | number> };

/** What start-up and `deployment check` warn about without refusing: income lines not filled in. */
export function deploymentWarnings(d: Deployment): DeploymentWarning[] {
  const provinces = new Map(d.counties.map((c) => [c.province.code, c.province.name]));
  return d.incomeLines.flatMap((l, i) =>
    l.yuanPerPerson === null ? [{ key: 'check.line_not_filled', params: { path: formatPath(['incomeLines', i, 'yuanPerPerson']), province: provinces.get(l.province) ?? l.province, year: l.year } }] : [],
  );
}

/**
 * Places of the deployment that the official data does not have (a newer change, or a typing mistake), and
 * official names that differ from the one written: warnings, never a refusal.
 */
export async function officialCodeWarnings(d: Deployment, dir: string): Promise<DeploymentWarning[]> {
  const edition = DIVISION_SOURCE.edition;
  const warnings: DeploymentWarning[] = [];
  for (const [ci, c] of d.counties.entries()) {
    const official = await readCounty(dir, c.code);
    const codes = new Map<string, string>();
    if (official) {
      codes.set(official.code, official.name);
      for (const tw of official.townships) {
        codes.set(tw.code, tw.name);
        for (const v of tw.villages) codes.set(v.code, v.officialName);
      }
    }
    const check = (path: (string | number)[], code: string, officialName?: string) => {
      const known = codes.get(code);
      if (known === undefined) warnings.push({ key: 'check.not_official', params: { path: formatPath(path), code, edition } });
      else if (officialName !== undefined && officialName !== known) warnings.push({ key: 'check.other_name', params: { path: formatPath(path), code, edition, official: known, name: officialName } });
    };
    check(['counties', ci, 'code'], c.code);
    for (const [ti, tw] of c.townships.entries()) {
      check(['counties', ci, 'townships', ti, 'code'], tw.code, tw.name);
      for (const [vi, v] of tw.villages.entries()) check(['counties', ci, 'townships', ti, 'villages', vi, 'code'], v.code, v.officialName);
    }
  }
  return warnings;
}
