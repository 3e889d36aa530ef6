import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, displayPath } from '../config-error.ts';
import { loadDeployment } from '../deployment.ts';
import { tFor, type Language } from '../i18n.ts';
import { DIVISION_CACHE, DIVISION_SOURCE, DivisionDataError, fetchDivisionData, locateDivisionData } from './divisions.ts';
import { deploymentWarnings, InitError, officialCodeWarnings, officialCounty, renderDeployment, type DeploymentWarning } from './init.ts';

export type Io = { out: (s: string) => void; err: (s: string) => void; now?: () => Date; cache?: string };

const src = { edition: DIVISION_SOURCE.edition, package: DIVISION_SOURCE.package, version: DIVISION_SOURCE.version };

/** The folder of the official CSV files: --source, the cache, or fetched now (once) into the cache. */
async function divisionData(t: ReturnType<typeof tFor>, io: Io, source: string | undefined): Promise<string> {
  const found = locateDivisionData(source, io.cache);
  if (found) return found;
  io.err(t('init.fetching', src));
  return fetchDivisionData(io.cache ?? DIVISION_CACHE);
}

function explain(t: ReturnType<typeof tFor>, e: unknown): string | undefined {
  if (e instanceof DivisionDataError) return t(`init.${e.reason}`, { ...src, ...e.details });
  if (e instanceof InitError) return [t(e.key, e.params), ...e.more.map((m) => t(m.key, m.params))].join('\n');
  return undefined;
}

export type InitArgs = { county?: string; townships: string[]; out?: string; source?: string; lang: Language; force: boolean };

/** `deployment init`: writes the county's deployment file (stdout without --out). Exit code 0, or 2 with a message. */
export async function deploymentInit(a: InitArgs, io: Io): Promise<number> {
  const t = tFor(a.lang, 'deployment');
  if (!a.county) {
    io.err(t('init.bad_county'));
    return 2;
  }
  const out = a.out ? resolve(a.out) : undefined;
  if (out && existsSync(out) && !a.force) {
    io.err(t('init.exists', { file: displayPath(out) }));
    return 2;
  }
  try {
    const dir = await divisionData(t, io, a.source);
    const county = await officialCounty(dir, a.county, a.townships);
    const today = (io.now?.() ?? new Date()).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
    const command = ['npm run cli -- deployment init --county', a.county, ...a.townships.flatMap((tw) => ['--township', tw]), ...(a.out ? ['--out', a.out] : [])].join(' ');
    const text = renderDeployment(county, { lang: a.lang, today, command, subset: a.townships.length > 0, incomeYear: Number(today.slice(0, 4)) });
    if (out) {
      try {
        writeFileSync(out, text);
      } catch (e) {
        io.err(t('init.cannot_write', { file: displayPath(out), reason: (e as NodeJS.ErrnoException).code ?? String(e) }));
        return 2;
      }
    } else io.out(text);
    const villages = county.townships.flatMap((tw) => tw.villages);
    const file = out ? displayPath(out) : 'deployment.yaml';
    io.err(
      `${t('init.written', { file, county: county.name, townships: county.townships.length, villages: villages.length, communities: villages.filter((v) => v.kind === 'community').length })}\n${t('init.fill_line', { province: county.province.name, file })}`,
    );
    return 0;
  } catch (e) {
    const message = explain(t, e);
    if (!message) throw e;
    io.err(message);
    return 2;
  }
}

export function warningText(lang: Language, w: DeploymentWarning): string {
  return tFor(lang, 'deployment')(w.key, w.params);
}

/**
 * Warnings about a valid deployment: lines not filled in, and (where the official data is on this machine, or
 * `source` names it) codes the official list does not have. `checked` is false when codes could not be checked.
 */
export async function allWarnings(d: Parameters<typeof deploymentWarnings>[0], source?: string, cache?: string): Promise<{ warnings: DeploymentWarning[]; checked: boolean }> {
  const dir = locateDivisionData(source, cache);
  const warnings = [...deploymentWarnings(d), ...(dir ? await officialCodeWarnings(d, dir) : [])];
  return { warnings, checked: dir !== undefined };
}

/** `deployment check [file]`: validation (exit 2 on a problem) and the warnings, codes against the official list. */
export async function deploymentCheck(file: string, a: { source?: string; lang: Language }, io: Io): Promise<number> {
  const t = tFor(a.lang, 'deployment');
  try {
    const d = loadDeployment(file);
    const { warnings, checked } = await allWarnings(d, a.source, io.cache);
    const shown = displayPath(file);
    io.out(warnings.length ? t('check.warnings', { file: shown, count: warnings.length }) : t('check.ok', { file: shown }));
    for (const w of warnings) io.out(`  - ${warningText(a.lang, w)}`);
    if (!checked) io.out(t('check.no_source'));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    const message = explain(t, e);
    if (!message) throw e;
    io.err(message);
    return 2;
  }
}
