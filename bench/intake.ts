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
import { createWriteStream, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { flag } from './flags.ts';
import { memoryOf, pct, seedCounty, startServer, TODAY } from './county.ts';
import { createTokens } from '../server/intake/tokens.ts';
import { addDays } from '../server/time.ts';

const LEADS = flag('leads', 300_000);
const VILLAGES = flag('villages', 150);
const REQUESTS = flag('requests', 40);

async function main() {
  const { db, env, dir, villages, insertS } = await seedCounty({ name: 'intake', leads: LEADS, villages: VILLAGES });
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
