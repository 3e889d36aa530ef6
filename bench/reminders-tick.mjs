/**
 * The tick process of `npm run bench:reminders`: plain Node on the compiled code in dist/ (what `npm start` runs,
 * no TypeScript loader in the process), started by bench/reminders.ts with the seeded database in its
 * environment (DATABASE_URL or DATA_DIR, DEPLOYMENT_CONFIG) and the tick's instant in BENCH_NOW. It starts the app
 * as the server does, answers one query, lets start-up's garbage be collected, then runs one reminder tick,
 * sampling RSS every 20 ms.
 * Last line: one JSON object (tick_ms, peak_rss_mb, rss_before_mb, rss_boot_mb, due, sent, messages).
 */
const dist = new URL('../dist/server/', import.meta.url);
const { start } = await import(new URL('main.js', dist).href);
const { loadConfig } = await import(new URL('config.js', dist).href);
const { createLogger } = await import(new URL('log.js', dist).href);
const boot = process.memoryUsage().rss; // the code loaded, nothing run

const now = new Date(process.env.BENCH_NOW ?? '');
if (Number.isNaN(now.getTime())) throw new Error('BENCH_NOW must be an ISO instant');
const config = loadConfig(process.env);
const app = await start(config, createLogger('warn'), { host: '127.0.0.1', now: () => now, scheduler: false, deliveryIntervalMs: 0 });
// A server that has started, answered once and settled: the ORM's query compiler is instantiated on the first
// query (about 50 MB, once per process), and the garbage of start-up (parsing a province's deployment file is
// some 80 MB of it) is collected, as a server that has run a while has had it collected; neither is the tick's.
// One collection leaves V8's emptied pages committed; a few more, a moment apart, give them back.
await app.db.prisma.staff.count();
for (let i = 0; i < 4; i++) {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const t0 = performance.now();
const r = await app.scheduler.tick(now);
const ms = performance.now() - t0;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
const stored = await app.db.prisma.reminder.count();
await app.stop();
if (stored !== r.due) throw new Error(`stored ${stored} reminders but the tick reported ${r.due}`);
const mb = (n) => Math.round(n / 1e6);
console.log(JSON.stringify({ tick_ms: Math.round(ms), peak_rss_mb: mb(peak), rss_before_mb: mb(before), rss_boot_mb: mb(boot), due: r.due, sent: r.sent, messages: r.messages }));
