/**
 * Reminder benchmark: `tsx bench/reminders.ts [--leads N] [--small M] [--due D]`.
 *
 * A province-sized deployment (10 counties, 500 townships, 10,000 villages) with 20,000 staff (a cadre and most
 * villages a contact person, a reviewer per township, an officer per county) and N open leads (default
 * 1,000,000), D of them (default 10,000) with a nudge due today; the rest have deadlines weeks away. Seeded with
 * bulk SQL (generate_series). Then one reminder tick at 09:00 is timed in a fresh process of plain Node on the
 * compiled code (bench/reminders-tick.mjs on dist/, built first, as `npm start` runs it), so its peak RSS is that
 * of a server that has just started and runs the tick, with no TypeScript loader in it; and the same again with
 * M leads (default 100,000) and the same D due, to show how the cost grows. On PostgreSQL when DATABASE_URL is
 * set (the target; its tables are emptied first), else on a fresh embedded database. Last line: one JSON object
 * with db, leads, due, tick_ms, peak_rss_mb (target: under 300 MB), sent (must equal due), tick_ms_100k and the
 * seeding times.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { start } from '../server/main.ts';
import { flag } from './flags.ts';
import { startNodeFlags } from './node-flags.ts';
import { loadConfig, type Config } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { zonedInstant } from '../server/time.ts';


const TODAY = '2026-11-24'; // a Tuesday: due 29 Nov has its 5-days-before nudge today
const NOW = zonedInstant(TODAY, '09:00', 'Asia/Shanghai');
const COUNTIES = 10;
/** The tick over 1,000,000 leads (10,000 due) stays under this peak RSS, start-up included. */
const PEAK_RSS_TARGET_MB = 300;
const TOWNSHIPS = 50;
const VILLAGES = 20;

function deployment() {
  const counties = Array.from({ length: COUNTIES }, (_, c) => {
    const code = `5309${String(21 + c)}`;
    return {
      code,
      name: `County ${c + 1}`,
      province: { code: '530000', name: 'Yunnan' },
      city: { code: '530900', name: 'Lincang' },
      townships: Array.from({ length: TOWNSHIPS }, (_, t) => ({
        code: `${code}${100 + t}`,
        name: `T${c + 1}-${t + 1}`,
        villages: Array.from({ length: VILLAGES }, (_, v) => ({ code: `${code}${100 + t}${201 + v}`, name: `V${c + 1}-${t + 1}-${v + 1}`, sample: true })),
      })),
    };
  });
  return { version: 1, name: 'bench province', counties, incomeLines: [{ province: '530000', year: 2020, yuanPerPerson: 6000 }] };
}

function env(dir: string, file: string): Record<string, string> {
  const e: Record<string, string> = { PORT: '0', DATA_DIR: dir, DEPLOYMENT_CONFIG: file, LOG_LEVEL: 'warn' };
  if (process.env.DATABASE_URL) {
    e.DATABASE_URL = process.env.DATABASE_URL;
    e.DATA_ENCRYPTION_KEY = process.env.DATA_ENCRYPTION_KEY ?? Buffer.alloc(32, 7).toString('base64');
  }
  return e;
}

/** Seeds staff and leads; returns the seeding times in seconds. */
async function seed(config: Config, leads: number, due: number) {
  const app = await start(config, createLogger('warn'), { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0 });
  const db = app.db;
  try {
    if (db.kind === 'postgres')
      await db.prisma.$executeRawUnsafe('TRUNCATE lead, lead_event, consent, attachment, outbox, reminder, delivery, staff, invite, send_pace CASCADE');
    const villages = config.deployment.counties.flatMap((c) => c.townships.flatMap((t) => t.villages.map((v) => v.code)));
    const townships = config.deployment.counties.flatMap((c) => c.townships.map((t) => t.code));
    const counties = config.deployment.counties.map((c) => c.code);
    const s0 = Date.now();
    const staffRow = (role: string, codes: string, n: number, offset: number) => `
      INSERT INTO staff (id, role, place_code, county_code, name, channel, user_id, chat_id, language, joined_at)
      SELECT gen_random_uuid(), '${role}', p, substr(p, 1, 6), 'S' || g, 'telegram', (${offset} + g)::text, (${offset} + g)::text, 'zh-CN', now()
      FROM (SELECT g, (${codes})[g] AS p FROM generate_series(1, ${n}) AS g) x`;
    const arr = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]`;
    const contactPersons = 20_000 - villages.length - townships.length - counties.length;
    await db.prisma.$executeRawUnsafe(staffRow('village_cadre', arr(villages), villages.length, 0));
    await db.prisma.$executeRawUnsafe(staffRow('contact_person', arr(villages), contactPersons, 100_000));
    await db.prisma.$executeRawUnsafe(staffRow('township_reviewer', arr(townships), townships.length, 200_000));
    await db.prisma.$executeRawUnsafe(staffRow('county_officer', arr(counties), counties.length, 300_000));
    const staffS = (Date.now() - s0) / 1000;

    const l0 = Date.now();
    const BATCH = 50_000;
    const stages = ['received', 'assigned', 'compared', 'township_reviewed'];
    // every `step`-th lead is due: half with the deadline in 5 days (today is its 5-days-before nudge), half today
    const step = Math.floor(leads / due);
    for (let from = 0; from < leads; from += BATCH) {
      const n = Math.min(BATCH, leads - from);
      await db.prisma.$executeRawUnsafe(`
        INSERT INTO lead (id, receipt_no, county_code, township_code, village_code, channel, reporter_id, head_name, phone_enc, phone_hash,
          answers, category, flags, stage, reported_on, next_deadline_kind, next_deadline_due, created_at, possible_duplicates)
        SELECT gen_random_uuid(), 'B-' || g, substr(v, 1, 6), substr(v, 1, 9), v, 'telegram', 'u' || g, '李明', '\\x00'::bytea, md5(g::text),
          '{"householdSize":3}'::jsonb, 'marginal', '{}', s, d, 'identify',
          CASE WHEN g % ${step} = 0 AND g / ${step} <= ${due} THEN DATE '${TODAY}' + CASE WHEN (g / ${step}) % 2 = 0 THEN 0 ELSE 5 END
               ELSE DATE '${TODAY}' + 20 + (g % 40) END,
          d::timestamptz, '{}'
        FROM (SELECT g, (${arr(villages)})[1 + (CASE WHEN g % ${step} = 0 THEN g / ${step} ELSE g END) % ${villages.length}] AS v,
                     (${arr(stages)})[1 + (g / 3) % ${stages.length}] AS s, DATE '${TODAY}' - (g % 10) AS d
              FROM generate_series(${from + 1}, ${from + n}) AS g) x`);
    }
    await db.prisma.$executeRawUnsafe('ANALYZE');
    const leadsS = (Date.now() - l0) / 1000;
    const dueRows = await db.prisma.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM lead WHERE next_deadline_due <= DATE '${TODAY}' + 5`);
    return { staffS, leadsS, due: Number(dueRows[0]!.n) };
  } finally {
    await app.stop();
  }
}

/**
 * In a fresh process of plain Node on the compiled code (bench/reminders-tick.mjs, as `npm start` runs): start
 * the app on the seeded database, run one tick, report its time and peak RSS.
 */
async function tickInChild(e: Record<string, string>): Promise<{ tick_ms: number; peak_rss_mb: number; rss_before_mb: number; rss_boot_mb: number; due: number; sent: number; messages: number }> {
  const child = spawn(process.execPath, [...startNodeFlags(), '--expose-gc', fileURLToPath(new URL('reminders-tick.mjs', import.meta.url))], {
    env: { ...process.env, ...e, BENCH_NOW: NOW.toISOString() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`tick process failed (${code}): ${out}`);
  return JSON.parse(last);
}

/** dist/ as `npm start` would have it: the build brings it up to date (incremental: quick when nothing changed). */
function build() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

async function phase(leads: number, due: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-reminders-'));
  try {
    const file = join(dir, 'province.yaml');
    writeFileSync(file, stringify(deployment()));
    const e = env(dir, file);
    const config = loadConfig(e);
    console.log(`seeding ${leads} leads (${due} due today) and 20000 staff on ${config.databaseUrl ? 'postgres' : 'pglite'}…`);
    const s = await seed(config, leads, due);
    console.log(`seeded: staff in ${s.staffS.toFixed(1)} s, leads in ${s.leadsS.toFixed(1)} s; ${s.due} leads have a nudge today`);
    const t = await tickInChild(e);
    console.log(`tick: ${t.tick_ms} ms, peak RSS ${t.peak_rss_mb} MB (${t.rss_before_mb} MB after start-up, ${t.rss_boot_mb} MB with only the code loaded), ${t.due} reminders in ${t.messages} messages`);
    return { ...s, ...t };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  build();
  const LEADS = flag('leads', 1_000_000);
  const SMALL = flag('small', 100_000);
  const DUE = flag('due', 10_000);
  const big = await phase(LEADS, DUE);
  const small = await phase(SMALL, DUE);
  const result = {
    db: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    leads: LEADS,
    staff: 20_000,
    due: big.due,
    tick_ms: big.tick_ms,
    peak_rss_mb: big.peak_rss_mb,
    peak_rss_target_mb: PEAK_RSS_TARGET_MB,
    rss_after_start_mb: big.rss_before_mb,
    sent: big.sent,
    messages: big.messages,
    seed_leads_s: Math.round(big.leadsS * 10) / 10,
    seed_staff_s: Math.round(big.staffS * 10) / 10,
    leads_small: SMALL,
    due_100k: small.due,
    tick_ms_100k: small.tick_ms,
    peak_rss_mb_100k: small.peak_rss_mb,
    ok: big.sent === big.due && small.sent === small.due && big.peak_rss_mb < PEAK_RSS_TARGET_MB,
  };
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  console.log(JSON.stringify({ error: String((e as Error).message ?? e) }));
  process.exit(1);
});
