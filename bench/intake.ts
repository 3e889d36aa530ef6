/**
 * Intake benchmark: `tsx bench/intake.ts [--leads N] [--villages V] [--requests R]`.
 *
 * A county with N leads (default 300,000) across V villages (default 150) on PostgreSQL when DATABASE_URL is set
 * (the target; the bench's tables are emptied first), else on a fresh embedded database. Leads are bulk-inserted
 * with SQL from this process (the self-report path is measured by bench:selfreport). Then the server runs as a
 * process of its own, the compiled code (dist/, built first by `npm run build`) started as `npm start` starts it
 * but on 127.0.0.1, and is asked over HTTP with a county token: p50/p99 of GET /api/v1/leads with each filter,
 * GET /api/v1/stats, then the time and the server's peak RSS of exporting every lead to XLSX and to CSV
 * (GET /api/v1/exports/leads.{xlsx,csv}, streamed to a file by this process).
 *
 * Peak RSS is the server process's alone (this process, which seeds and downloads, is not counted): its
 * /proc/<pid>/status VmHWM, reset just before each export (clear_refs), and VmRSS sampled every 20 ms as a
 * check. On the embedded database the server's RSS includes PGlite itself. Talks to 127.0.0.1 only. Last line:
 * one JSON object with leads, list_p50_ms, list_p99_ms, stats_ms, export_s, export_peak_rss_mb, and more.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'yaml';
import { flag } from './flags.ts';
import { startNodeFlags } from './node-flags.ts';
import { loadConfig, REPO_ROOT } from '../server/config.ts';
import { openDatabase } from '../server/db/index.ts';
import { createTokens } from '../server/intake/tokens.ts';
import { createCrypto, resolveMasterKey } from '../server/crypto.ts';
import { addDays, localDate } from '../server/time.ts';

const LEADS = flag('leads', 300_000);
const VILLAGES = flag('villages', 150);
const REQUESTS = flag('requests', 40);
// The server runs on the real clock: the leads are dated back from today.
const TODAY = localDate(new Date(), 'Asia/Shanghai');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The compiled server in a process of its own, on 127.0.0.1; resolves once it listens. */
async function startServer(env: Record<string, string>) {
  const script = `
    const { loadConfig } = await import('./dist/server/config.js');
    const { createLogger } = await import('./dist/server/log.js');
    const { start } = await import('./dist/server/main.js');
    const app = await start(loadConfig(process.env), createLogger(process.env.LOG_LEVEL), { host: '127.0.0.1' });
    process.once('SIGTERM', () => app.stop('SIGTERM').then(() => process.exit(0)));`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|DATA_DIR|DEPLOYMENT_CONFIG|PORT|LOG_LEVEL|NODE_OPTIONS|npm_.*)$/.test(k)));
  const child = spawn(process.execPath, [...startNodeFlags(), '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env: { ...clean, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Its log lines (JSON, LOG_LEVEL=info as in production) until "listening"; the rest is read and dropped.
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      for (const line of lines.slice(0, -1)) {
        const entry = line.startsWith('{') ? (JSON.parse(line) as { msg?: string; port?: number }) : {};
        if (entry.msg !== 'listening') continue;
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(`http://127.0.0.1:${entry.port}`);
        return;
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${out}`)));
  });
  return {
    pid: child.pid!,
    url,
    async stop() {
      child.kill('SIGTERM');
      if ((await exited) !== 0) throw new Error('the server did not stop cleanly');
    },
  };
}

async function main() {
  // The server process runs the compiled code: build it from this source first.
  if (spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
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
  const db = await openDatabase(config);
  await db.migrate();
  // A second run on the same database starts from empty tables.
  if (db.kind === 'postgres') await db.prisma.$executeRawUnsafe('TRUNCATE lead, access_log, api_token CASCADE');
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
  await db.close();

  const server = await startServer(env);
  const get = async (path: string, token: string) => {
    const s = performance.now();
    const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
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

  // Export all leads over HTTP into a file, measuring the server process's memory.
  const exportAll = async (format: 'xlsx' | 'csv') => {
    const file = join(dir, `leads.${format}`);
    const before = memoryOf(server.pid);
    let reset = true;
    try {
      writeFileSync(`/proc/${server.pid}/clear_refs`, '5'); // VmHWM := VmRSS from here on
    } catch {
      reset = false; // without it (an old kernel, another user's process) only the samples count
    }
    let sampled = before.rss;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memoryOf(server.pid).rss)), 20);
    const e0 = performance.now();
    const res = await fetch(`${server.url}/api/v1/exports/leads.${format}`, { headers: { authorization: `Bearer ${county}` } });
    if (res.status !== 200 || !res.body) throw new Error(`export: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
    const seconds = (performance.now() - e0) / 1000;
    clearInterval(sampler);
    const after = memoryOf(server.pid);
    const peak = Math.max(sampled, after.rss, reset ? after.hwm : 0);
    const size = statSync(file).size;
    rmSync(file);
    console.log(`export of ${LEADS} leads to ${format.toUpperCase()}: ${seconds.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB; server RSS ${(before.rss / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB${reset ? '' : ' (sampled)'}`);
    return { seconds, size, before: before.rss, peak };
  };
  console.log('');
  const xlsx = await exportAll('xlsx');
  const csv = await exportAll('csv');
  console.log(`(the server process alone, ${db.kind === 'pglite' ? 'with the embedded database in it' : 'PostgreSQL not counted'}; peak from VmHWM)`);

  await server.stop();
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
    export_s: Math.round(xlsx.seconds * 10) / 10,
    export_mb: Math.round(xlsx.size / 1e5) / 10,
    export_rss_before_mb: Math.round(xlsx.before / 1e6),
    export_peak_rss_mb: Math.round(xlsx.peak / 1e6),
    export_csv_s: Math.round(csv.seconds * 10) / 10,
    export_csv_mb: Math.round(csv.size / 1e5) / 10,
    export_csv_rss_before_mb: Math.round(csv.before / 1e6),
    export_csv_peak_rss_mb: Math.round(csv.peak / 1e6),
    export_rss_of: 'server process',
  };
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  console.log(JSON.stringify({ error: String((e as Error).message ?? e) }));
  process.exit(1);
});
