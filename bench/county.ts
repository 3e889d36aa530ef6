/**
 * What the benchmarks on a county's queue share: a county of N leads across V villages, bulk-inserted with SQL on
 * PostgreSQL when DATABASE_URL is set (the bench's tables are emptied first), else on a fresh embedded database;
 * and the compiled server started as a process of its own on 127.0.0.1, as `npm start` starts it. Used by
 * bench:intake (the API and the exports) and bench:console (the county console's pages).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startNodeFlags } from './node-flags.ts';
import { loadConfig, REPO_ROOT } from '../server/config.ts';
import { openDatabase, type Database } from '../server/db/index.ts';
import { createCrypto, resolveMasterKey } from '../server/crypto.ts';
import { localDate } from '../server/time.ts';

// The server runs on the real clock: the leads are dated back from today.
export const TODAY = localDate(new Date(), 'Asia/Shanghai');

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

/** VmRSS and VmHWM of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The compiled server in a process of its own, on 127.0.0.1; resolves once it listens. */
export async function startServer(env: Record<string, string>) {
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


/**
 * Builds dist/, writes a deployment of one county (6 townships, V villages, sample codes) and inserts N leads:
 * stages, categories and villages spread evenly over a year of receipt dates, oldest first, as a table that grew day by
 * day is laid out (most open ones are past their 15 days). Returns the open
 * database (close it before starting the server on PGlite), the server's environment and the villages.
 */
export async function seedCounty(opts: { name: string; leads: number; villages: number }): Promise<{ db: Database; env: Record<string, string>; dir: string; villages: Array<{ township: string; village: string }>; insertS: number }> {
  // The server process runs the compiled code: build it from this source first.
  if (spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  const dir = mkdtempSync(join(tmpdir(), `bench-${opts.name}-`));
  // A deployment of one county, 6 townships, V villages (sample codes).
  const townships = Array.from({ length: 6 }, (_, t) => ({
    code: `530925${String(100 + t)}`,
    name: `T${t + 1}`,
    villages: [] as Array<{ code: string; name: string; sample: boolean }>,
  }));
  for (let v = 0; v < opts.villages; v++) {
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
  if (db.kind === 'postgres') await db.prisma.$executeRawUnsafe('TRUNCATE lead, access_log, api_token, staff, console_link, console_session, rate_window CASCADE');
  const villages = townships.flatMap((t) => t.villages.map((v) => ({ township: t.code, village: v.code })));
  console.log(`${opts.name} benchmark on ${db.kind}: ${opts.leads} leads across ${villages.length} villages`);

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
  for (let from = 0; from < opts.leads; from += BATCH) {
    const n = Math.min(BATCH, opts.leads - from);
    await db.prisma.$executeRawUnsafe(`
      INSERT INTO lead (id, receipt_no, county_code, township_code, village_code, channel, reporter_id, head_name, phone_enc, phone_hash,
        answers, risks, a33, a34, a37, a38, income_line, income_line_year, category, flags, stage, reported_on, next_deadline_kind, next_deadline_due,
        created_at, possible_duplicates, green_channel)
      SELECT gen_random_uuid(), '530925-B-' || g, '530925', substr(v, 1, 9), v, 'telegram', 'u' || g, (ARRAY['李','王','张','刘','陈','杨','赵','黄'])[1 + g % 8] || (ARRAY['明','芳','强','秀英','建国','桂兰','志刚','玉梅'])[1 + (g / 8) % 8] || (g % 500), decode('${phone}', 'hex'), md5(g::text),
        '${answers}'::jsonb, CASE g % 5 WHEN 0 THEN ARRAY['illness'] WHEN 1 THEN ARRAY['disaster', 'accident'] WHEN 2 THEN ARRAY['disability'] WHEN 3 THEN ARRAY['illness', 'no_labour'] ELSE ARRAY['unstable_work'] END, 16400, 4100, 16400, 4100, 6000, 2020,
        (ARRAY['marginal','sudden_hardship','above_line','unknown'])[1 + g % 4], ARRAY['attention'], s, d,
        CASE WHEN s IN ('confirmed','not_included','withdrawn') THEN NULL ELSE 'identify' END,
        CASE WHEN s IN ('confirmed','not_included','withdrawn') THEN NULL ELSE d + 15 END,
        d::timestamptz + (g % 86400) * interval '1 second', '{}', false
      FROM (SELECT g, (${villageArr})[1 + g % ${villages.length}] AS v,
                   (ARRAY[${stages.map((s) => `'${s}'`).join(',')}])[1 + (g / 7) % ${stages.length}] AS s,
                   DATE '${TODAY}' - ((${opts.leads} - g) * 365 / ${opts.leads})::int AS d
            FROM generate_series(${from + 1}, ${from + n}) AS g) x`);
  }
  await db.prisma.$executeRawUnsafe('ANALYZE lead');
  const insertS = (Date.now() - t0) / 1000;
  console.log(`inserted ${opts.leads} leads in ${insertS.toFixed(1)} s`);

  return { db, env, dir, villages, insertS };
}
