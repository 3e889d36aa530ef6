/**
 * Intake benchmark: `tsx bench/intake.ts [--leads N] [--villages V] [--requests R]`.
 *
 * A county with N leads (default 300,000) across V villages (default 150) on PostgreSQL when DATABASE_URL is set
 * (the target), else on a fresh embedded database. Leads are bulk-inserted with SQL (the self-report path is
 * measured by bench:selfreport), then the running app is asked over HTTP, with a county token: p50/p99 of
 * GET /api/v1/leads with each filter, GET /api/v1/stats, and the time and peak RSS of exporting every lead to
 * XLSX through GET /api/v1/exports/leads.xlsx (streamed to a file). Talks to 127.0.0.1 only. Last line: one
 * JSON object with leads, list_p50_ms, list_p99_ms, stats_ms, export_s, export_peak_rss_mb, and more.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'yaml';
import { start } from '../server/main.ts';
import { flag } from './flags.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { createTokens } from '../server/intake/tokens.ts';
import { createCrypto, resolveMasterKey } from '../server/crypto.ts';
import { addDays } from '../server/time.ts';


const LEADS = flag('leads', 300_000);
const VILLAGES = flag('villages', 150);
const REQUESTS = flag('requests', 40);
const TODAY = '2026-11-24';
const NOW = new Date(`${TODAY}T02:00:00Z`);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-intake-'));
  // A deployment of one county, 6 townships, V villages (sample codes).
  const townships = Array.from({ length: 6 }, (_, t) => ({
    code: `530925${String(100 + t)}`,
    name: `T${t + 1}`,
    villages: [] as Array<{ code: string; name: string; sample: boolean }>,
  }));
  for (let v = 0; v < VILLAGES; v++) {
    const tw = townships[v % 6]!;
    tw.villages.push({ code: `${tw.code}${String(200 + tw.villages.length + 1)}`, name: `V${v + 1}`, sample: true });
  }
  const deploymentFile = join(dir, 'county.yaml');
  writeFileSync(
    deploymentFile,
    stringify({
      version: 1,
      name: 'bench',
      counties: [{ code: '530925', name: 'Bench county', province: { code: '530000', name: 'Yunnan' }, city: { code: '530900', name: 'Lincang' }, townships }],
      incomeLines: [{ province: '530000', year: 2020, yuanPerPerson: 6000 }],
    }),
  );
  const env: Record<string, string> = { PORT: '0', DATA_DIR: dir, DEPLOYMENT_CONFIG: deploymentFile, LOG_LEVEL: 'warn' };
  if (process.env.DATABASE_URL) {
    env.DATABASE_URL = process.env.DATABASE_URL;
    env.DATA_ENCRYPTION_KEY = process.env.DATA_ENCRYPTION_KEY ?? Buffer.alloc(32, 7).toString('base64');
  }
  const config = loadConfig(env);
  const app = await start(config, createLogger('warn'), { host: '127.0.0.1', now: () => NOW });
  const db = app.db;
  const villages = townships.flatMap((t) => t.villages.map((v) => ({ township: t.code, village: v.code })));
  console.log(`intake benchmark on ${db.kind}: ${LEADS} leads across ${villages.length} villages`);

  // Bulk insert, in batches, with the same encrypted phone for every row (decrypting is part of what is measured).
  const crypto = createCrypto(resolveMasterKey({ configured: config.encryptionKey, dataDir: dir, embedded: db.kind === 'pglite' }).key);
  const phone = Buffer.from(crypto.encrypt('13812345678')).toString('hex');
  const answers = JSON.stringify({
    reporter: 'self', householdSize: 4, labourers: 2, householdType: 'ordinary', risks: ['illness'], housingUnsafe: false, childOutOfSchool: false,
    waterUnsafe: false, noMedicalInsurance: false, a28: { kind: 'amount', yuan: 12000 }, a29: { kind: 'amount', yuan: 3000 }, a30: { kind: 'amount', yuan: 0 },
    a31: { kind: 'amount', yuan: 2400 }, a32: { kind: 'amount', yuan: 1000 }, a35: { kind: 'amount', yuan: 0 }, a36: { kind: 'amount', yuan: 8000 },
    exclusions: [], whatHappened: '父亲住院', whenHappened: { date: '2026-10-01', precision: 'month' },
  });
  const t0 = Date.now();
  const BATCH = 20_000;
  const stages = ['received', 'assigned', 'visited', 'compared', 'publicized', 'township_reviewed', 'confirmed', 'not_included', 'withdrawn'];
  const villageArr = `ARRAY[${villages.map((v) => `'${v.village}'`).join(',')}]`;
  for (let from = 0; from < LEADS; from += BATCH) {
    const n = Math.min(BATCH, LEADS - from);
    await db.prisma.$executeRawUnsafe(`
      INSERT INTO lead (id, receipt_no, county_code, township_code, village_code, channel, reporter_id, head_name, phone_enc, phone_hash,
        answers, a33, a34, a37, a38, income_line, income_line_year, category, flags, stage, reported_on, next_deadline_kind, next_deadline_due,
        created_at, possible_duplicates, green_channel)
      SELECT gen_random_uuid(), '530925-B-' || g, '530925', substr(v, 1, 9), v, 'telegram', 'u' || g, '李明', decode('${phone}', 'hex'), md5(g::text),
        '${answers}'::jsonb, 16400, 4100, 16400, 4100, 6000, 2020,
        (ARRAY['marginal','sudden_hardship','above_line','unknown'])[1 + g % 4], ARRAY['attention'], s, d,
        CASE WHEN s IN ('confirmed','not_included','withdrawn') THEN NULL ELSE 'identify' END,
        CASE WHEN s IN ('confirmed','not_included','withdrawn') THEN NULL ELSE d + 15 END,
        d::timestamptz + (g % 86400) * interval '1 second', '{}', false
      FROM (SELECT g, (${villageArr})[1 + g % ${villages.length}] AS v,
                   (ARRAY[${stages.map((s) => `'${s}'`).join(',')}])[1 + (g / 7) % ${stages.length}] AS s,
                   DATE '${TODAY}' - (g % 365) AS d
            FROM generate_series(${from + 1}, ${from + n}) AS g) x`);
  }
  await db.prisma.$executeRawUnsafe('ANALYZE lead');
  const insertS = (Date.now() - t0) / 1000;
  console.log(`inserted ${LEADS} leads in ${insertS.toFixed(1)} s`);

  const tokens = createTokens(db);
  const county = (await tokens.create('bench county', { kind: 'county', code: '530925' })).token;
  const village = (await tokens.create('bench village', { kind: 'village', code: villages[0]!.village })).token;
  const get = async (path: string, token: string) => {
    const s = performance.now();
    const r = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${Buffer.from(body).toString().slice(0, 200)}`);
    return performance.now() - s;
  };

  const filters: Array<[string, string, string]> = [
    ['no filter', '/api/v1/leads', county],
    ['stage', '/api/v1/leads?stage=visited', county],
    ['township', `/api/v1/leads?township=${villages[0]!.township}`, county],
    ['village', `/api/v1/leads?village=${villages[1]!.village}`, county],
    ['overdue', '/api/v1/leads?overdue=true', county],
    ['category', '/api/v1/leads?category=marginal', county],
    ['received range', `/api/v1/leads?receivedFrom=${addDays(TODAY, -60)}&receivedTo=${addDays(TODAY, -30)}`, county],
    ['all filters', `/api/v1/leads?stage=received&village=${villages[2]!.village}&overdue=true&category=marginal`, county],
    ['village token', '/api/v1/leads', village],
  ];
  console.log('\nGET /api/v1/leads (limit 50, county token unless said), sequential requests');
  console.log('filter              p50 ms   p99 ms');
  const all: number[] = [];
  for (const [name, path, token] of filters) {
    await get(path, token);
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) times.push(await get(path, token));
    all.push(...times);
    console.log(`${name.padEnd(18)} ${String(pct(times, 50)).padStart(7)}  ${String(pct(times, 99)).padStart(7)}`);
  }
  const statsTimes: number[] = [];
  for (let i = 0; i < 10; i++) statsTimes.push(await get('/api/v1/stats', county));
  console.log(`\nGET /api/v1/stats: p50 ${pct(statsTimes, 50)} ms, max ${pct(statsTimes, 100)} ms`);

  // Export all leads to XLSX over HTTP into a file, sampling RSS.
  const file = join(dir, 'leads.xlsx');
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const e0 = performance.now();
  const res = await fetch(`${app.url}/api/v1/exports/leads.xlsx`, { headers: { authorization: `Bearer ${county}` } });
  if (res.status !== 200 || !res.body) throw new Error(`export: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
  const exportS = (performance.now() - e0) / 1000;
  clearInterval(sampler);
  const size = statSync(file).size;
  console.log(`\nexport of ${LEADS} leads to XLSX: ${exportS.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB; RSS ${(rssBefore / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB`);
  console.log('(RSS is the whole process: the app and, on the embedded database, PGlite itself)');

  await app.stop();
  rmSync(dir, { recursive: true, force: true });
  const result = {
    db: db.kind,
    leads: LEADS,
    villages: villages.length,
    insert_s: Math.round(insertS * 10) / 10,
    list_p50_ms: pct(all, 50),
    list_p99_ms: pct(all, 99),
    stats_ms: pct(statsTimes, 50),
    stats_max_ms: pct(statsTimes, 100),
    export_s: Math.round(exportS * 10) / 10,
    export_mb: Math.round(size / 1e5) / 10,
    export_rss_before_mb: Math.round(rssBefore / 1e6),
    export_peak_rss_mb: Math.round(peak / 1e6),
  };
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  console.log(JSON.stringify({ error: String((e as Error).message ?? e) }));
  process.exit(1);
});
