import { closeSync, fchmodSync, openSync, writeFileSync } from 'node:fs';
import type { Config } from '../config.ts';
import type { Crypto } from '../crypto.ts';
import type { Database } from '../db/index.ts';
import { placeIndex } from '../deployment.ts';
import { tFor, type Language } from '../i18n.ts';
import { isLeadId, logOperatorRead } from '../intake/leads.ts';
import { createQueries, RECEIPT_SHAPE } from '../intake/queries.ts';
import type { Stage } from '../intake/procedure.ts';
import { createPrinter, villageLeads, type PrintKind } from './print.ts';
import { createExports } from '../intake/export.ts';
import { localDate } from '../time.ts';

/**
 * `npm run cli -- print <kind> --lead <receipt or id> | --village <code> --out file.html`: the console's print
 * pages as one file that opens from disk (its stylesheet inside), for the operator at the server. The operator
 * reads as the county: phones whole (the visit form is the village cadre's), and each print is in the access log
 * (the door: cli).
 */
export type PrintRequest = { kind: PrintKind; lead?: string | undefined; village?: string | undefined; county?: string | undefined; year?: string | undefined; out: string; lng: Language };

/** The flags each kind takes (besides --out and --lang); visit takes one of --lead and --village. */
const PRINT_FLAGS: Record<PrintKind, { one: string[]; optional?: string[] }> = {
  visit: { one: ['--lead', '--village'] },
  check: { one: ['--lead'] },
  publicity: { one: ['--village'] },
  summary: { one: ['--county'] },
  rollback: { one: ['--county'], optional: ['--year'] },
};

/**
 * `print <kind> …`'s words, checked before anything is read: each flag with its value, the one place the kind
 * takes (not two), --out, and no flag the kind does not take (a stray one is a mistake the operator should hear
 * of, not a choice silently ignored). undefined: print the usage.
 */
export function printArgs(kind: PrintKind, argv: readonly string[]): PrintRequest | undefined {
  const spec = PRINT_FLAGS[kind];
  const allowed = new Set([...spec.one, ...(spec.optional ?? []), '--out', '--lang']);
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) return undefined;
    const value = argv[i + 1];
    if (!allowed.has(a) || given.has(a) || value === undefined || value.startsWith('--') || value.trim() === '') return undefined;
    given.set(a, value);
    i++;
  }
  if (spec.one.filter((f) => given.has(f)).length !== 1 || !given.get('--out')) return undefined;
  const lang = given.get('--lang');
  if (lang !== undefined && lang !== 'en' && lang !== 'zh-CN') return undefined;
  return {
    kind,
    lead: given.get('--lead'),
    village: given.get('--village'),
    county: given.get('--county'),
    year: given.get('--year'),
    out: given.get('--out')!,
    lng: lang === 'en' ? 'en' : 'zh-CN',
  };
}

/** Writes a file only its owner may read, whether or not it was there before (an existing file keeps its mode otherwise). */
function writePrivate(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export async function printCommand(ctx: { config: Config; db: Database; crypto: Crypto }, req: PrintRequest, now = new Date()): Promise<{ ok: true; households: number } | { ok: false; problem: string }> {
  const { config, db, crypto } = ctx;
  const deployment = config.deployment;
  const places = placeIndex(deployment);
  const queries = createQueries({ db, crypto, deployment });
  const printer = createPrinter({ deployment });
  const base = (config.publicBaseUrl ?? `http://localhost:${config.port}`).replace(/\/$/, '');
  const linkOf = (id: string) => `${base}/console/leads/${id}`;

  const leadsOf = (village: string, stages: Stage[]) => villageLeads(queries, { kind: 'county', code: places.villages.get(village)!.county.code }, village, stages, now);

  let html: string;
  let ids: string[];
  if (req.kind === 'summary') {
    // counts only: nothing of a household, nothing for the access log
    const county = deployment.counties.find((c) => c.code === req.county);
    if (!county) return { ok: false, problem: 'print summary takes --county <6-digit code of a county in the deployment>' };
    const rows = await createExports({ db, crypto, deployment }).summaryRows({ kind: 'county', code: county.code });
    writePrivate(req.out, printer.summary(county.name, rows, { lng: req.lng, today: localDate(now, deployment.timezone), standalone: true }));
    return { ok: true, households: rows.reduce((n, r) => n + r.households, 0) };
  }
  if (req.kind === 'rollback') {
    const county = deployment.counties.find((c) => c.code === req.county);
    if (!county) return { ok: false, problem: 'print rollback takes --county <6-digit code of a county in the deployment>' };
    const year = req.year === undefined ? Number(localDate(now, deployment.timezone).slice(0, 4)) : req.year === 'all' ? 'all' : /^20\d\d$/.test(req.year) ? Number(req.year) : undefined;
    if (year === undefined) return { ok: false, problem: '--year takes a year such as 2026, or all' };
    const rows = await createExports({ db, crypto, deployment }).rollbackRows({ kind: 'county', code: county.code }, year === 'all' ? undefined : year);
    const t = tFor(req.lng, 'console');
    const period = year === 'all' ? t('paper.rollback.all_years') : t('paper.rollback.year', { year });
    const ids = [...new Set(rows.map((r) => r.leadId))];
    // logged before the file is written: no copy of ID numbers exists that the access log does not know of
    await logOperatorRead(db, ids, 'print_rollback', now);
    writePrivate(req.out, printer.rollback(county.name, rows, { lng: req.lng, today: localDate(now, deployment.timezone), period, standalone: true }));
    return { ok: true, households: ids.length };
  }
  if (req.lead) {
    if (req.kind === 'publicity') return { ok: false, problem: 'print publicity takes --village <12-digit code>' };
    const found = await findLead(req.lead);
    if (!found) return { ok: false, problem: `No lead ${req.lead} (a receipt number such as 530925-20261202-0001, or a lead id).` };
    if (req.kind === 'check' && found.stage !== 'confirmed') return { ok: false, problem: `Lead ${found.receiptNo} is not confirmed: only a confirmed household has a risk-elimination check form.` };
    html = req.kind === 'check' ? printer.check(found, { lng: req.lng, phones: 'full', now, standalone: true }) : await printer.visit([found], { lng: req.lng, phones: 'full', linkOf, standalone: true });
    ids = [found.id];
  } else if (req.village && req.kind !== 'check') {
    const v = places.villages.get(req.village);
    if (!v) return { ok: false, problem: `No village ${req.village} in the deployment (12-digit division code).` };
    const leads = await leadsOf(req.village, req.kind === 'visit' ? ['received', 'assigned'] : ['publicized']);
    html = req.kind === 'visit' ? await printer.visit(leads, { lng: req.lng, phones: 'full', linkOf, standalone: true, village: `${v.township.name}${v.village.name}` }) : printer.publicity(req.village, leads, { lng: req.lng, standalone: true });
    ids = leads.map((l) => l.id);
  } else {
    return { ok: false, problem: req.kind === 'check' ? 'print check takes --lead <receipt or id>' : 'Say which: --lead <receipt or id> or --village <12-digit code>.' };
  }
  await logOperatorRead(db, ids, `print_${req.kind}`, now);
  writePrivate(req.out, html);
  return { ok: true, households: ids.length };

  async function findLead(key: string) {
    for (const county of deployment.counties) {
      const scope = { kind: 'county' as const, code: county.code };
      if (isLeadId(key.toLowerCase())) {
        const doc = await queries.get(scope, key.toLowerCase(), now);
        if (doc) return doc;
      } else if (RECEIPT_SHAPE.test(key)) {
        const hit = await queries.list(scope, { q: key }, { limit: 1 }, now);
        const doc = hit.items[0] ? await queries.get(scope, hit.items[0].id, now) : undefined;
        if (doc) return doc;
      }
    }
    return undefined;
  }
}
