/**
 * Self-report benchmark on the Telegram webhook path, with `--channel wecom` on the WeCom 微信客服 path, with
 * `--channel web` on the web page a poster's QR code opens (/r):
 * `tsx bench/selfreport.ts [--channel telegram|wecom|web] [--people N] [--rate R] [--seconds S]`.
 *
 * The app runs in this process (start() from server/main.ts) on the embedded database in a fresh temporary
 * DATA_DIR, or on PostgreSQL when DATABASE_URL is set. A worker thread of this process runs a lean fake Bot API
 * and the simulated people (bench/driver.ts), so the load generator's JavaScript does not run on the app's event
 * loop; it still shares the machine's CPUs with the app. Everything talks to 127.0.0.1 only.
 *
 * Phases: warm-up (not timed), saturation (closed loop, all people at once) for a bare grammY echo bot behind
 * express (the baseline) and then for the app, then realistic load on the app (open loop at a fixed rate), then
 * the peer baseline (bench/peer-bot.ts: grammY + conversations + storage-psql, started only then, warmed up and
 * saturated as the echo baseline). The app's database round trips are counted per phase. Prints a
 * table, then as its last line one JSON object. Exit code 1 when the leads in the database differ from the receipt
 * numbers the people were shown (or a completed report showed none), or when any update failed; 2 on a bad flag; 3 when the run exceeds --max-seconds (and if
 * this thread is stuck then, the driver thread kills the process 30 s later).
 *
 * With --channel wecom the app also runs its WeCom channel (the settings of test/fakes/wecom-api.ts) against the
 * fake WeCom API, lean, in the driver thread (test/fakes/wecom-api.ts); each person's message is queued there and announced
 * by a signed, encrypted kf_msg_or_event callback; the app answers it at once, then pulls (kf/sync_msg) and answers
 * (kf/send_msg). The baseline stays the Telegram-webhook echo bot, so both channels' ratios are comparable.
 *
 * With --channel web each person is a phone browser of their own (their own `rid` cookie and their own address in
 * X-Forwarded-For; the app runs with TRUST_PROXY=loopback so that it believes it, and its limits count each person
 * apart): they open the poster's link (GET /r?v=…, redirected to GET /r), then answer each screen by POSTing its
 * form with HX-Request: true (the app answers the new screen at once); an update is one answer, its latency the
 * time to the new screen's HTML. The baseline and the peer stay the Telegram ones, and the run also saturates the
 * app's Telegram webhook (after the web saturation, with as many people), so `ratio` can be set beside Telegram's
 * of the same run (`telegram_ratio`; their quotient `web_vs_telegram`). After the realistic load, a flood phase:
 * the realistic load again by other people, and after 5 s one address sends --flood-rate requests a second (GET /r
 * and POST /r with a wrong CSRF token) for --flood-seconds; `flood_others_p99_ms` is the p99 of the others' updates
 * sent while it lasted.
 *
 * BENCH_CPU_PROFILE=<phase>[,<phase>…] (e.g. saturation, load, flood, saturation-telegram): the app thread's CPU
 * profile through each of those phases is written to <tmpdir>/bench-<phase>.cpuprofile (open it in Chrome's
 * DevTools, Performance); the sampling costs some throughput in those phases.
 *
 * Memory at rest, last: once the app here has stopped, a fresh server process as `npm start` runs it (`node
 * dist/server/start.js`, compiled first as prestart does) starts with the same settings on the same database,
 * is left idle for --rest-seconds, and its VmRSS and VmHWM are read from /proc/<pid>/status.
 */
import { Worker } from 'node:worker_threads';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { start, type Running } from '../server/main.ts';
import { loadConfig, REPO_ROOT } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { BOT_INFO, BOT_TOKEN, WEBHOOK_SECRET } from '../test/fakes/bot-api.ts';
import { WECOM } from '../test/fakes/wecom-api.ts';
import { startNodeFlags } from './node-flags.ts';
import { serveWebhook } from './webhook-server.ts';
import { startPeer, type Peer } from './peer-bot.ts';
import { percentiles, type BenchOptions, type Channel, type DriverData, type DriverResult, type Pct, type PhaseResult, type ToDriver, type ToMain } from './protocol.ts';

const FIXED_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
/** The idle server process on PostgreSQL stays within this (README, "Benchmarks"). */
const REST_TARGET_MB = 150;
/** --channel web's aims (the issue): ratio within 2× of Telegram's in the same run, load p99, the others' p99 in a flood. */
const WEB_AIMS = { vsTelegram: 0.5, loadP99Ms: 50, floodOthersP99Ms: 100 };

// ---------------------------------------------------------------------------------------------------------
// flags

const USAGE = `usage: tsx bench/selfreport.ts [flags]
  --channel C       telegram (the webhook; default), wecom (微信客服: callback, kf/sync_msg, kf/send_msg) or web
                    (the page /r: each person a browser with an address of its own; adds the app's Telegram
                    saturation in the same run and a flood phase)
  --people N        simulated people, in both phases (default 200)
  --rate R          realistic load: updates offered per second (default 100)
  --seconds S       realistic load: duration in seconds (default 20)
  --warmup N        reports walked before measuring, not timed (default 5)
  --think MS        realistic load: mean pause between a person's answers, ms (default: half of people/rate,
                    so the people can sustain the rate; each pause is uniform in 0.25..1.75 × the mean)
  --timeout MS      per-request timeout of the load generator (default 60000)
  --rest-seconds S  memory at rest: how long a freshly started server process is left idle before its RSS is
                    read (default 30; 0 skips the measurement)
  --max-seconds S   stop with exit code 3 if the whole run takes longer (default 1800)
  --flood-rate R    --channel web: requests a second from the one flooding address (default 200)
  --flood-seconds S --channel web: how long the flood lasts (default 10); the others walk their reports at --rate
                    from 5 s before it to its end
Environment: DATABASE_URL (PostgreSQL instead of the embedded database; DATA_ENCRYPTION_KEY defaults to a fixed key);
BENCH_CPU_PROFILE=phase[,phase…] (saturation, saturation-telegram, load, flood, …): the app thread's CPU profile of
those phases, written to <tmpdir>/bench-<phase>.cpuprofile.`;

type Options = BenchOptions & { restSeconds: number };

function parseArgs(argv: string[]): Options {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) usageError(`unexpected argument ${a}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) usageError(`--${m[1]} needs a value`);
    values.set(m[1]!, value);
  }
  const known = ['channel', 'people', 'rate', 'seconds', 'warmup', 'think', 'timeout', 'max-seconds', 'rest-seconds', 'flood-rate', 'flood-seconds'];
  for (const k of values.keys()) if (!known.includes(k)) usageError(`unknown flag --${k}`);
  const num = (name: string, dflt: number, min: number, integer = true) => {
    const raw = values.get(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) usageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min} (got ${raw})`);
    return n;
  };
  const people = num('people', 200, 1);
  if (people > 100_000) usageError('--people must be at most 100000');
  const rate = num('rate', 100, 0.1, false);
  const seconds = num('seconds', 20, 1, false);
  const channel = values.get('channel') ?? 'telegram';
  if (channel !== 'telegram' && channel !== 'wecom' && channel !== 'web') usageError(`--channel must be telegram, wecom or web (got ${channel})`);
  return {
    channel: channel as Channel,
    people,
    rate,
    seconds,
    warmup: num('warmup', 5, 1),
    thinkMs: num('think', Math.round((500 * people) / rate), 0),
    requestTimeoutMs: num('timeout', 60_000, 100),
    maxSeconds: num('max-seconds', 1800, 10),
    restSeconds: num('rest-seconds', 30, 0, false),
    floodRate: num('flood-rate', 200, 1, false),
    floodSeconds: num('flood-seconds', 10, 1, false),
  };
}

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------
// app-side counters, per phase (cheap wrappers and listeners: no profiler)

type Acc = { n: number; sum: number; all?: number[] };
const acc = (keep = false): Acc => ({ n: 0, sum: 0, ...(keep ? { all: [] } : {}) });
const mean = (a: Acc) => (a.n ? a.sum / a.n : 0);

type AppPhase = {
  handler: Acc;
  /** TCP connections the app (or the baseline) accepted */
  connections: number;
  turn: Acc;
  replied: Acc;
  lead: Acc;
  seconds: number;
  /** event-loop utilisation of the app (main) thread, 0..1 */
  elu: number;
  /** CPU of the whole process (all threads), percent of one core */
  cpuPct: number;
  /** CPU of the PostgreSQL server processes on this machine, percent of one core (postgres only) */
  pgCpuPct: number | undefined;
  eldP99: number;
  eldMax: number;
  /** database round trips of the app (queries sent, BEGIN and COMMIT included) */
  db: number;
  /** database round trips of the peer baseline */
  peerDb: number;
  /** --channel web: the limits' queries (rate_limit), the screens stored (the web port's send) and read (SELECT … web_screen) */
  limiter: Acc;
  screenWrite: Acc;
  screenRead: Acc;
};

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

/** CPU ticks (utime + stime) of each PostgreSQL server process on this machine, by pid; undefined when none. */
function pgCpuTicks(): Map<string, number> | undefined {
  const out = new Map<string, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
        const f = stat.slice(close + 2).split(' ');
        out.set(pid, Number(f[11]) + Number(f[12]));
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return undefined;
  }
  return out.size > 0 ? out : undefined;
}

/** CPU used between two samples: processes that ended meanwhile are missed, so this is a lower bound. */
function pgCpuDelta(before: Map<string, number>, after: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks;
}

class PhaseClock {
  private t0 = performance.now();
  private elu0 = performance.eventLoopUtilization();
  private cpu0 = process.cpuUsage();
  private pg0: Map<string, number> | undefined;
  cur: Omit<AppPhase, 'seconds' | 'elu' | 'cpuPct' | 'pgCpuPct' | 'eldP99' | 'eldMax'> = {
    handler: acc(true),
    connections: 0,
    turn: acc(true),
    replied: acc(),
    lead: acc(),
    db: 0,
    peerDb: 0,
    limiter: acc(),
    screenWrite: acc(true),
    screenRead: acc(),
  };
  constructor(private readonly watchPg: boolean) {
    this.pg0 = watchPg ? pgCpuTicks() : undefined;
    eld.reset();
  }
  finish(): AppPhase {
    const wallMs = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    const pg1 = this.watchPg ? pgCpuTicks() : undefined;
    return {
      ...this.cur,
      seconds: wallMs / 1000,
      elu: performance.eventLoopUtilization(this.elu0).utilization,
      cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      pgCpuPct: this.pg0 && pg1 ? ((pgCpuDelta(this.pg0, pg1) * 10) / wallMs) * 100 : undefined, // 100 ticks a second
      eldP99: eld.percentile(99) / 1e6,
      eldMax: eld.max / 1e6,
    };
  }
}

function timeRequests(server: Server, clock: () => PhaseClock) {
  server.on('connection', () => void clock().cur.connections++);
  server.prependListener('request', (_req, res) => {
    const t0 = performance.now();
    res.once('finish', () => {
      const a = clock().cur.handler;
      const ms = performance.now() - t0;
      a.n++;
      a.sum += ms;
      a.all?.push(ms);
    });
  });
}

/** Wraps conversations.step / .claimRepliesId / .repliesSent and intake.receiveLead (the app calls them through these objects). */
function instrument(running: Running, clock: () => PhaseClock) {
  const timed = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, pick: (c: PhaseClock) => Acc) =>
    async (...args: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await fn(...args);
      } finally {
        const a = pick(clock());
        const ms = performance.now() - t0;
        a.n++;
        a.sum += ms;
        a.all?.push(ms);
      }
    };
  const c = running.conversations;
  c.step = timed(c.step.bind(c), (k) => k.cur.turn);
  c.claimRepliesId = timed(c.claimRepliesId.bind(c), (k) => k.cur.replied);
  c.repliesSent = timed(c.repliesSent.bind(c), (k) => k.cur.replied);
  const i = running.intake;
  i.receiveLead = timed(i.receiveLead.bind(i), (k) => k.cur.lead);
  timeRequests(running.server, clock);
}

/**
 * --channel web: times what the page adds to a turn: the limits' queries (the rate limiter's store calls
 * db.query), storing the replies as the browser's screen (the port's send), reading the screen back (db.sql's
 * SELECT from web_screen). Each is looked up on its object at call time, so wrapping the objects' members is seen.
 */
function instrumentWeb(running: Running, clock: () => PhaseClock) {
  const add = (a: Acc, t0: number) => {
    const ms = performance.now() - t0;
    a.n++;
    a.sum += ms;
    a.all?.push(ms);
  };
  const db = running.db;
  const query = db.query.bind(db);
  db.query = async (text: string, values?: unknown[]) => {
    if (!text.includes('rate_limit')) return query(text, values);
    const t0 = performance.now();
    try {
      return await query(text, values);
    } finally {
      add(clock().cur.limiter, t0);
    }
  };
  const sql = db.sql.bind(db) as (strings: TemplateStringsArray, ...values: unknown[]) => Promise<unknown[]>;
  db.sql = (async (strings: TemplateStringsArray, ...values: unknown[]) => {
    if (!/^\s*SELECT replies FROM web_screen/.test(strings[0] ?? '')) return sql(strings, ...values);
    const t0 = performance.now();
    try {
      return await sql(strings, ...values);
    } finally {
      add(clock().cur.screenRead, t0);
    }
  }) as typeof db.sql;
  const port = running.web.port;
  const send = port.send.bind(port);
  port.send = async (...a: Parameters<typeof send>) => {
    const t0 = performance.now();
    try {
      return await send(...a);
    } finally {
      add(clock().cur.screenWrite, t0);
    }
  };
}

/**
 * Counts the app's database round trips into the current phase. PostgreSQL: every pg.Client#query (the app's
 * Prisma sends each statement, BEGIN and COMMIT included, through a pooled pg.Client), except the peer's clients;
 * installed before the app starts. PGlite: the app's instance's query, exec and transaction (BEGIN, each statement
 * in it, COMMIT or ROLLBACK).
 */
function countPgRoundTrips(clock: () => PhaseClock, isPeerClient: (c: object) => boolean) {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: object, ...a: unknown[]) {
    if (!isPeerClient(this)) clock().cur.db++;
    return query.apply(this, a);
  };
}

function countPgliteRoundTrips(db: PGlite, clock: () => PhaseClock) {
  const count = () => void clock().cur.db++;
  const query = db.query.bind(db);
  const exec = db.exec.bind(db);
  const transaction = db.transaction.bind(db);
  db.query = ((...a: Parameters<PGlite['query']>) => (count(), query(...a))) as PGlite['query'];
  db.exec = ((...a: Parameters<PGlite['exec']>) => (count(), exec(...a))) as PGlite['exec'];
  db.transaction = ((callback: Parameters<PGlite['transaction']>[0]) =>
    transaction(async (tx) => {
      count(); // BEGIN
      const q = tx.query.bind(tx);
      const e = tx.exec.bind(tx);
      const sql = tx.sql.bind(tx);
      const rollback = tx.rollback.bind(tx);
      tx.query = ((...a: Parameters<typeof tx.query>) => (count(), q(...a))) as typeof tx.query;
      tx.exec = ((...a: Parameters<typeof tx.exec>) => (count(), e(...a))) as typeof tx.exec;
      tx.sql = ((...a: Parameters<typeof tx.sql>) => (count(), sql(...a))) as typeof tx.sql;
      tx.rollback = () => (count(), rollback());
      try {
        return await callback(tx);
      } finally {
        if (!tx.closed) count(); // COMMIT, or ROLLBACK after a throw
      }
    })) as PGlite['transaction'];
}

// ---------------------------------------------------------------------------------------------------------
// the baseline: a bare grammY echo bot behind express, on its own fake Bot API

async function startBaseline(apiRoot: string) {
  const bot = new Bot(BOT_TOKEN, { botInfo: BOT_INFO, client: { apiRoot } });
  bot.use(async (ctx) => {
    await ctx.reply(ctx.message?.text ?? 'ok');
    if (ctx.callbackQuery) await ctx.answerCallbackQuery();
  });
  await bot.init();
  return serveWebhook(bot);
}

// ---------------------------------------------------------------------------------------------------------
// the driver worker (bench/driver.ts, TypeScript loaded through tsx's API inside the worker)

function startDriver(data: DriverData) {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./driver.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)})).catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'fatal', message: String(e && e.stack || e) }); });`;
  const worker = new Worker(code, { eval: true, workerData: data });
  const handlers = new Set<(m: ToMain) => void>();
  let failure: ((e: Error) => void) | undefined;
  worker.on('message', (m: ToMain) => {
    if (m.type === 'fatal') return failure?.(new Error(`driver failed: ${m.message}`));
    if (m.type === 'progress') return void process.stderr.write(`  … ${m.text}\n`);
    for (const h of [...handlers]) h(m);
  });
  worker.on('error', (e) => failure?.(e));
  const failed = new Promise<never>((_, reject) => {
    failure = reject;
  });
  failed.catch(() => {});
  function next<T extends ToMain['type']>(type: T): Promise<Extract<ToMain, { type: T }>> {
    return Promise.race([
      failed,
      new Promise<Extract<ToMain, { type: T }>>((resolve) => {
        const h = (m: ToMain) => {
          if (m.type !== type) return;
          handlers.delete(h);
          resolve(m as Extract<ToMain, { type: T }>);
        };
        handlers.add(h);
      }),
    ]);
  }
  return {
    worker,
    failed,
    next,
    onMessage: (h: (m: ToMain) => void) => handlers.add(h),
    post: (m: ToDriver) => worker.postMessage(m),
  };
}

// ---------------------------------------------------------------------------------------------------------
// memory at rest: a fresh server process, idle

type Rest = { rssMb: number; hwmMb: number; idleSeconds: number };

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * Starts `node dist/server/start.js` (what `npm start` runs, after the same build) with `env`, waits for it to
 * listen, leaves it idle for `idleSeconds`, reads its memory, then stops it with SIGTERM.
 */
async function measureRest(env: Record<string, string>, idleSeconds: number): Promise<Rest> {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) throw new Error(`npm run build failed (exit code ${build.status})`);
  const inherited = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('npm_')));
  const child = spawn(process.execPath, [...startNodeFlags(), 'dist/server/start.js'], { cwd: REPO_ROOT, env: { ...inherited, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + String(d)).slice(-20_000)));
  child.stderr.on('data', (d) => (out = (out + String(d)).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const died = exited.then((code) => Promise.reject(new Error(`the server process exited (${code}) before its memory was read:\n${out.slice(-2000)}`)));
  died.catch(() => {});
  try {
    await Promise.race([
      died,
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server process did not listen within 120 s:\n${out.slice(-2000)}`)), 120_000);
        const look = () => {
          if (!out.includes('"msg":"listening"')) return;
          clearTimeout(timer);
          child.stdout.off('data', look);
          resolve();
        };
        child.stdout.on('data', look);
      }),
    ]);
    process.stderr.write(`bench: memory at rest: server process ${child.pid} started, idle for ${idleSeconds} s\n`);
    await Promise.race([died, new Promise((r) => setTimeout(r, idleSeconds * 1000))]); // the idle time is the measurement
    return { rssMb: procStatusKb(child.pid!, 'VmRSS') / 1024, hwmMb: procStatusKb(child.pid!, 'VmHWM') / 1024, idleSeconds };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// output

const f1 = (n: number) => n.toFixed(1);
const r1 = (n: number) => Math.round(n * 10) / 10;

function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows
    .map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

function methods(byMethod: Record<string, number>, updates: number): string {
  return Object.entries(byMethod)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v / Math.max(1, updates)).toFixed(2)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
  const dbKind = databaseUrl ? 'postgres' : 'pglite';
  const startedAt = performance.now();

  const dataDir = mkdtempSync(join(tmpdir(), 'fanpin-bench-'));
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbench: the run took longer than --max-seconds ${opts.maxSeconds}; stopping.\n`);
    rmSync(dataDir, { recursive: true, force: true });
    console.log(JSON.stringify({ channel: opts.channel, db: dbKind, people: opts.people, error: 'timeout' }));
    process.exit(3);
  }, opts.maxSeconds * 1000);
  watchdog.unref();

  let running: Running | undefined;
  let baseline: Awaited<ReturnType<typeof startBaseline>> | undefined;
  let peer: Peer | undefined;
  let driver: ReturnType<typeof startDriver> | undefined;
  // the app first, while the driver thread (and its watchdog) still runs
  const cleanup = async () => {
    await running?.stop('bench finished');
    await baseline?.close();
    await peer?.close();
    if (driver) {
      driver.post({ type: 'close' });
      await Promise.race([driver.next('closed').catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      await driver.worker.terminate();
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const wecom = { corpId: WECOM.WECOM_CORP_ID, agentId: WECOM.WECOM_AGENT_ID, callbackToken: WECOM.WECOM_CALLBACK_TOKEN, callbackAesKey: WECOM.WECOM_CALLBACK_AES_KEY };
    driver = startDriver({ opts, botInfo: BOT_INFO, secret: WEBHOOK_SECRET, db: dbKind, dataDir, wecom });
    const ready = await driver.next('ready');

    const env: Record<string, string> = {
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TELEGRAM_API_ROOT: ready.apiUrl,
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // the Telegram channel stays configured with --channel wecom too (nobody talks to it then); with --channel web
      // it is measured too
      ...(opts.channel === 'wecom' ? { ...WECOM, WECOM_API_ROOT: ready.wecomApiUrl } : {}),
      // each simulated browser has its own address in X-Forwarded-For, believed from 127.0.0.1 only
      ...(opts.channel === 'web' ? { TRUST_PROXY: 'loopback' } : {}),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATA_ENCRYPTION_KEY: process.env.DATA_ENCRYPTION_KEY?.trim() || FIXED_ENCRYPTION_KEY } : {}),
    };
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel, process.stderr); // app warnings and errors go to stderr
    let clock = new PhaseClock(dbKind === 'postgres');
    if (databaseUrl) countPgRoundTrips(() => clock, (c) => peer?.clients?.has(c) ?? false);
    process.stderr.write(`bench: starting the app on ${dbKind}${databaseUrl ? '' : ` (temporary DATA_DIR ${dataDir})`}, people on ${opts.channel}\n`);
    running = await start(config, logger, { host: '127.0.0.1', telegramBotInfo: BOT_INFO });
    if (!databaseUrl) {
      if (!running.db.pglite) throw new Error('the app opened no PGlite instance');
      countPgliteRoundTrips(running.db.pglite, () => clock);
    }
    baseline = await startBaseline(ready.baselineApiUrl);

    const phases = new Map<string, AppPhase>();
    let phaseName = 'setup';
    instrument(running, () => clock);
    if (opts.channel === 'web') instrumentWeb(running, () => clock);
    timeRequests(baseline.server, () => clock);

    const leadsBefore = await running.db.prisma.lead.count();
    const rssAfterStartMb = process.memoryUsage.rss() / 2 ** 20;
    if (leadsBefore > 0) process.stderr.write(`bench: the database already holds ${leadsBefore} leads; comparing the increase\n`);

    const d = driver;
    if (opts.channel === 'wecom') {
      // the app has sent every answer to a 微信客服 message: tell the driver (it waits for this, then reads the
      // fake API's time of the last kf/send_msg to the person)
      const c = running.conversations;
      const repliesSent = c.repliesSent.bind(c);
      c.repliesSent = async (channel: string, platformId: string) => {
        await repliesSent(channel, platformId);
        if (channel === 'wecom') d.post({ type: 'answered', msgid: platformId });
      };
    }
    // the peer baseline, when the driver asks for it (after the app's phases): on PostgreSQL its own tables on the
    // same server, on PGlite its own instance in DATA_DIR/peer-pglite
    let peerReportsBefore = 0;
    let peerSkipped: string | undefined;
    const startPeerForDriver = async () => {
      try {
        peer = await startPeer({
          token: BOT_TOKEN,
          botInfo: BOT_INFO,
          apiRoot: ready.peerApiUrl,
          ...(databaseUrl ? { databaseUrl } : { pgliteDir: join(dataDir, 'peer-pglite') }),
          onQuery: () => void clock.cur.peerDb++,
        });
        timeRequests(peer.server, () => clock);
        peerReportsBefore = await peer.reportCount();
        d.post({ type: 'peer-ready', url: peer.url });
      } catch (e) {
        peerSkipped = `the peer baseline could not start on ${dbKind}: ${String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ')}`;
        process.stderr.write(`bench: ${peerSkipped}; skipping it\n`);
        await peer?.close().catch(() => {});
        peer = undefined;
        d.post({ type: 'peer-ready', url: null, skipped: peerSkipped });
      }
    };
    const profiled = new Set((process.env.BENCH_CPU_PROFILE ?? '').split(',').map((x) => x.trim()).filter(Boolean));
    let profiler: Session | undefined;
    const switchProfile = async (from: string, to: string) => {
      if (profiler && profiled.has(from)) {
        const { profile } = await profiler.post('Profiler.stop');
        const file = join(tmpdir(), `bench-${from}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        process.stderr.write(`bench: CPU profile of ${from} written to ${file}\n`);
      }
      if (profiled.has(to)) {
        if (!profiler) {
          profiler = new Session();
          profiler.connect();
          await profiler.post('Profiler.enable');
        }
        await profiler.post('Profiler.start');
      }
    };
    d.onMessage((m) => {
      if (m.type === 'peer-start') return void startPeerForDriver();
      if (m.type !== 'mark') return;
      phases.set(phaseName, clock.finish());
      const from = phaseName;
      phaseName = m.phase;
      clock = new PhaseClock(dbKind === 'postgres');
      if (m.phase !== 'end' && m.phase !== 'connecting') process.stderr.write(`bench: ${m.phase}\n`);
      const ack = () => d.post({ type: 'ack', seq: m.seq });
      if (profiled.size === 0) return ack();
      switchProfile(from, m.phase).then(ack, (e: unknown) => {
        process.stderr.write(`bench: CPU profile: ${String(e)}\n`);
        ack();
      });
    });
    const telegramUrl = `${running.url}/telegram/webhook`;
    d.post({
      type: 'go',
      webhookUrl: opts.channel === 'wecom' ? `${running.url}/wecom/kf/callback` : opts.channel === 'web' ? `${running.url}/r` : telegramUrl,
      telegramUrl,
      baselineUrl: baseline.url,
    });
    const { result } = await d.next('done');
    const leadsAfter = await running.db.prisma.lead.count();
    const leads = leadsAfter - leadsBefore;
    const peakRssMb = result.peakRssBytes / 2 ** 20;
    const peerRows = peer ? (await peer.reportCount()) - peerReportsBefore : undefined;
    await peer?.close();
    peer = undefined;

    // the app here lets go of the database (PGlite: its DATA_DIR) before the fresh process opens it; the fake
    // APIs in the driver thread stay up for that process's start (Telegram getMe)
    await running.stop('bench finished');
    running = undefined;
    const rest = opts.restSeconds > 0 ? await measureRest(env, opts.restSeconds) : undefined;

    await cleanup();
    driver = undefined;
    running = undefined;
    baseline = undefined;

    const peerInfo = { rows: peerRows, skipped: peerSkipped ?? result.peerSkipped, mustRun: dbKind === 'postgres' };
    const ok = report(opts, dbKind, result, phases, leads, leadsBefore, peakRssMb, rssAfterStartMb, rest, (performance.now() - startedAt) / 1000, peerInfo);
    process.exit(ok ? 0 : 1);
  } catch (e) {
    process.stderr.write(`\nbench failed: ${String((e as Error)?.stack ?? e)}\n`);
    await cleanup().catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`));
    console.log(JSON.stringify({ channel: opts.channel, db: dbKind, people: opts.people, error: String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ') }));
    process.exit(1);
  }
}

function report(
  opts: Options,
  db: string,
  r: DriverResult,
  phases: Map<string, AppPhase>,
  leads: number,
  leadsBefore: number,
  peakRssMb: number,
  rssAfterStartMb: number,
  atRest: Rest | undefined,
  totalSeconds: number,
  peerInfo: { rows: number | undefined; skipped: string | undefined; mustRun: boolean },
): boolean {
  const sat = r.saturation;
  const base = r.baseline;
  const load = r.load;
  const peer = r.peer;
  const tg = r.telegram;
  const flood = r.flood;
  const ratio = base.updatesPerS > 0 ? sat.updatesPerS / base.updatesPerS : 0;
  const ratioPeer = peer && peer.updatesPerS > 0 ? sat.updatesPerS / peer.updatesPerS : null;
  const tgRatio = tg && base.updatesPerS > 0 ? tg.updatesPerS / base.updatesPerS : null;
  const vsTelegram = tg && tg.updatesPerS > 0 ? sat.updatesPerS / tg.updatesPerS : null;
  const cpu = cpus();
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  const wecom = opts.channel === 'wecom';
  const web = opts.channel === 'web';
  const apiName = wecom ? 'WeCom API' : 'Bot API';
  const script = web && r.webScript ? r.webScript : r.script;

  p();
  p(
    `Self-report benchmark: ${wecom ? 'WeCom 微信客服 path (callback → kf/sync_msg → kf/send_msg)' : web ? 'web page path (/r: form POSTs, htmx swaps)' : 'Telegram webhook path'}, database ${db === 'pglite' ? 'pglite (embedded, fresh temporary DATA_DIR)' : 'postgres (DATABASE_URL)'}`,
  );
  if (wecom || web) p(`the baseline is the same Telegram-webhook grammY echo bot as in the Telegram run, so the ratios of ${wecom ? 'both runs' : 'all channels'} are comparable`);
  p(`machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, Node ${process.version}. The load generator and the fake ${wecom ? 'APIs' : 'Bot API'} run in a worker`);
  p(`thread of the same process: they share the ${cpu.length} CPUs with the app${db === 'postgres' ? ' and the PostgreSQL server' : ''}, so absolute numbers are lower than on a dedicated box.`);
  p(
    `one report = ${script.updates} updates (${script.messages} messages, ${script.taps} ${wecom ? 'menu-item taps' : 'button taps'}; ${script.wrong} deliberately wrong answers, each re-asked), the answers of the Chinese test` +
      (wecom ? '; on WeCom an update is one customer message announced by one callback' : '') +
      (web
        ? `; on the page an update is one answer POSTed (the first: the poster's link, GET /r?v=… and the GET /r it redirects to), so the poster's village leaves out the township and village taps of the Telegram report (${r.script.updates} updates); each person is a browser of their own (cookie, address), and a person who finishes makes way for a new one`
        : ''),
  );
  p(
    `the peer baseline: grammY + @grammyjs/conversations (replay-based) + @grammyjs/storage-psql on ${db === 'postgres' ? 'the same PostgreSQL server (tables peer_sessions, peer_reports)' : 'a PGlite instance of its own'}, ` +
      `behind express on its own fake Bot API, run after the app's phases; one report = ${r.peerScript.updates} updates (25 questions: ${r.peerScript.taps} taps, 7 money answers, ${r.peerScript.wrong} of them first given in words and re-asked; /start)`,
  );
  p(
    `warm-up (not timed): ${r.warmup.reports} reports, ${r.warmup.updates} updates in ${f1(r.warmup.seconds)} s${web ? ' (the page, then the Telegram webhook)' : ''}; baseline warm-up ${r.warmup.baselineUpdates} updates; peer warm-up ${r.peerWarmup.updates} updates`,
  );
  if (peerInfo.skipped) p(`peer baseline skipped: ${peerInfo.skipped}`);
  p();

  const head = ['phase', 'people', 'updates', 'seconds', 'updates/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'reports', 'errors'];
  const row = (name: string, ph: { people: number; updates: number; seconds: number; updatesPerS: number; reports: number; errors: number }, l: Pct) => [
    name,
    String(ph.people),
    String(ph.updates),
    f1(ph.seconds),
    f1(ph.updatesPerS),
    f1(l.p50),
    f1(l.p90),
    f1(l.p99),
    f1(l.max),
    String(ph.reports),
    String(ph.errors),
  ];
  p(
    wecom
      ? 'latency per update = callback request start → the last kf/send_msg to that person it caused (fake API timestamps, matched by external_userid; the baseline row: as on Telegram)'
      : web
        ? 'latency per update = the answer\'s POST start → the new screen\'s HTML read (the Telegram, baseline and peer rows: webhook request start → the last Bot API call it caused)'
        : 'latency per update = webhook request start → the last Bot API call it caused (fake API timestamps, matched by chat id)',
  );
  p(
    table(
      [
        head,
        row(`saturation, self-report bot${web ? ' (web page)' : ''}`, sat, sat.latency),
        ...(tg ? [row('saturation, self-report bot on Telegram (same run)', tg, tg.latency)] : []),
        row('saturation, grammY echo baseline', base, base.latency),
        ...(peer ? [row('saturation, grammY conversations peer', peer, peer.latency)] : []),
        row(`realistic load, ${opts.rate}/s for ${opts.seconds} s`, load, load.latency),
        ...(flood ? [row(`flood: others at ${opts.rate}/s (while it lasts), one address at ${flood.rate}/s for ${flood.seconds} s`, { ...flood.others, updates: flood.othersDuring.n, seconds: flood.seconds, updatesPerS: flood.othersDuring.n / flood.seconds }, flood.othersDuring)] : []),
      ],
      head.map((_, i) => i > 0),
    ),
  );
  p();
  p(`ratio self-report / baseline (saturation updates/s): ${ratio.toFixed(3)}   (baseline p50 ${f1(base.latency.p50)} ms, p99 ${f1(base.latency.p99)} ms)`);
  if (tg)
    p(
      `ratio on Telegram in the same run: ${tgRatio === null ? '-' : tgRatio.toFixed(3)}; the page's updates/s ÷ Telegram's: ${vsTelegram === null ? '-' : vsTelegram.toFixed(3)} (aim: at least ${WEB_AIMS.vsTelegram}, within 2× of Telegram)`,
    );
  p(`ratio self-report / peer (saturation updates/s): ${ratioPeer === null ? '-' : ratioPeer.toFixed(3)}${peer ? `   (peer p50 ${f1(peer.latency.p50)} ms, p99 ${f1(peer.latency.p99)} ms)` : ''}`);
  p(
    `realistic load: offered ${load.offered} (${opts.rate}/s × ${opts.seconds} s), sent ${load.sent} = ${f1(load.updatesPerS)}/s, dropped ${load.dropped} (nobody ready); ` +
      `pauses uniform ${f1((opts.thinkMs * 0.25) / 1000)}–${f1((opts.thinkMs * 1.75) / 1000)} s (mean ${f1(opts.thinkMs / 1000)} s); ${load.unfinished} reports unfinished at the end`,
  );
  if (flood) {
    const statuses = Object.entries(flood.byStatus)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} × ${v}`)
      .join(', ');
    p(
      `flood: one address sent ${flood.sent} requests (GET /r with its cookie and POST /r with a wrong CSRF token, alternately) = ${f1(flood.sentPerS)}/s of ${flood.rate}/s asked; ` +
        `answered ${flood.answered} (${f1(flood.answeredPerS)}/s): ${statuses || 'none'}; no answer ${flood.failed}; its response time p50 ${f1(flood.latency.p50)} / p99 ${f1(flood.latency.p99)} ms`,
    );
    p(
      `flood, the others: ${flood.others.sent} updates sent in ${f1(flood.others.durationS)} s (${f1(flood.others.updatesPerS)}/s, dropped ${flood.others.dropped}, ${flood.others.errors} errors); ` +
        `sent in the ${flood.leadInS} s before the flood: p50 ${f1(flood.othersBefore.p50)} / p99 ${f1(flood.othersBefore.p99)} ms (${flood.othersBefore.n}); ` +
        `sent while it lasted: p50 ${f1(flood.othersDuring.p50)} / p99 ${f1(flood.othersDuring.p99)} ms (${flood.othersDuring.n}); the load phase without a flood: p99 ${f1(load.latency.p99)} ms`,
    );
    p(`  the others' p99 (max) by second, ms; the flood from second ${f1(flood.floodStartS)} on: ${flood.others.bySecond.map((b) => `${f1(b.p99)} (${f1(b.max)})`).join(', ')}`);
    p(`  the load phase's, by second: ${load.bySecond.map((b) => `${f1(b.p99)} (${f1(b.max)})`).join(', ')}`);
  }
  if (!web)
    p(`HTTP response time${wecom ? ' (the app answers a callback before it pulls)' : ' (upper bound of the above)'}: saturation p50 ${f1(sat.http.p50)} / p99 ${f1(sat.http.p99)} ms, baseline p99 ${f1(base.http.p99)} ms, load p50 ${f1(load.http.p50)} / p99 ${f1(load.http.p99)} ms`);
  const aims = web
    ? [
        { name: `the page's saturation updates/s ÷ Telegram's in the same run ≥ ${WEB_AIMS.vsTelegram}`, got: vsTelegram === null ? '-' : vsTelegram.toFixed(3), met: vsTelegram !== null && vsTelegram >= WEB_AIMS.vsTelegram },
        { name: `load p99 ≤ ${WEB_AIMS.loadP99Ms} ms at ${opts.rate}/s`, got: `${f1(load.latency.p99)} ms`, met: load.latency.p99 <= WEB_AIMS.loadP99Ms },
        {
          name: `the others' p99 ≤ ${WEB_AIMS.floodOthersP99Ms} ms during a flood of ${opts.floodRate}/s from one address`,
          got: flood ? `${f1(flood.othersDuring.p99)} ms (flood at ${f1(flood.sentPerS)}/s)` : '-',
          met: !!flood && flood.othersDuring.p99 <= WEB_AIMS.floodOthersP99Ms && flood.sentPerS >= 0.95 * flood.rate,
        },
      ]
    : [];
  for (const a of aims) p(`aim: ${a.name}: ${a.got}  ${a.met ? 'met' : 'MISSED'}`);
  p();

  const ps = phases.get('saturation');
  const pb = phases.get('baseline');
  const pl = phases.get('load');
  const pt = tg ? phases.get('saturation-telegram') : undefined;
  const pf = flood ? phases.get('flood') : undefined;
  const pp = peer ? phases.get('peer') : undefined;
  const perUpdate = (n: number | undefined, updates: number) => (n === undefined || updates === 0 ? undefined : n / updates);
  const dbPerUpdate = perUpdate(ps?.db, sat.updates);
  const f2 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
  const per = (a: Acc | undefined) => (a && a.n ? f1(mean(a)) : '-');
  const spread = (a: Acc | undefined) => {
    if (!a?.all?.length) return '-';
    const q = percentiles(a.all);
    return `${f1(q.p50)} / ${f1(q.p99)} / ${f1(q.max)}`;
  };
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(0)}%`);
  /** the phases in the table: the app's (on its channel, or on Telegram in a web run), the echo baseline, the peer */
  type Col = { label: string; ph: AppPhase | undefined; r: PhaseResult; kind: 'app' | 'telegram' | 'echo' | 'peer'; web: boolean };
  const cols: Col[] = [
    { label: 'saturation', ph: ps, r: sat, kind: 'app', web },
    ...(tg ? [{ label: 'sat. Telegram', ph: pt, r: tg, kind: 'telegram' as const, web: false }] : []),
    { label: 'baseline', ph: pb, r: base, kind: 'echo', web: false },
    { label: 'load', ph: pl, r: load, kind: 'app', web },
    ...(flood ? [{ label: 'flood phase', ph: pf, r: flood.others as PhaseResult, kind: 'app' as const, web }] : []),
    ...(peer ? [{ label: 'peer', ph: pp, r: peer, kind: 'peer' as const, web: false }] : []),
  ];
  const isApp = (c: Col) => c.kind === 'app' || c.kind === 'telegram';
  const wrow = (label: string, f: (c: Col) => string | undefined) => [label, ...cols.map((c) => f(c) ?? '-')];
  const perUpd = (a: Acc | undefined, c: Col) => (a && c.r.updates ? f2(a.n / c.r.updates) : '-');
  // on WeCom the turn and the answers happen after the callback's response: nothing to subtract
  const rest = (c: Col) => {
    const ph = c.ph;
    if (!ph || !ph.handler.n) return '-';
    if (!isApp(c)) return per(ph.handler);
    if (wecom) return '-';
    return f1(mean(ph.handler) - (ph.turn.sum + ph.replied.sum + ph.limiter.sum + ph.screenWrite.sum + ph.screenRead.sum) / ph.handler.n);
  };
  p(`where time goes (means per update in ms, unless said)${web ? "; on the page a request is timed on the server (the poster's open is two requests); the flood column's server-side rows include the flood's own requests" : ''}`);
  p(
    table(
      [
        ['', ...cols.map((c) => c.label)],
        wrow(
          wecom ? 'client: request start → last kf/send_msg (baseline, peer: Bot API call)' : web ? 'client: request start → the new screen read (Telegram, baseline, peer: last Bot API call)' : 'client: request start → last Bot API call',
          (c) => f1(c.r.latency.mean),
        ),
        wrow('client: request start → HTTP response', (c) => f1(c.r.http.mean)),
        wrow(wecom ? 'app: callback (baseline, peer: webhook) request handled (server side)' : web ? 'app: request handled (server side; Telegram, baseline, peer: webhook)' : 'app: webhook request handled (server side)', (c) => per(c.ph?.handler)),
        wrow('  p50 / p99 / max', (c) => spread(c.ph?.handler)),
        wrow('  conversations.step (record + load, flow, save: database)', (c) => (isApp(c) ? per(c.ph?.turn) : '-')),
        wrow('    p50 / p99 / max', (c) => (isApp(c) ? spread(c.ph?.turn) : '-')),
        wrow('    of which intake.receiveLead, per report submitted', (c) => (isApp(c) ? per(c.ph?.lead) : '-')),
        wrow('  claim (owed replies only) + mark replies sent (database)', (c) => (isApp(c) ? per(c.ph?.replied) : '-')),
        ...(web
          ? [
              wrow('  the limits (rate_limit queries): per update / mean ms', (c) => (c.web && c.ph ? `${perUpd(c.ph.limiter, c)} / ${per(c.ph.limiter)}` : '-')),
              wrow('  the screen stored (port send, web_screen): per update / mean ms', (c) => (c.web && c.ph ? `${perUpd(c.ph.screenWrite, c)} / ${per(c.ph.screenWrite)}` : '-')),
              wrow('    p50 / p99 / max', (c) => (c.web ? spread(c.ph?.screenWrite) : '-')),
              wrow('  the screen read back (web_screen): per update / mean ms', (c) => (c.web && c.ph ? `${perUpd(c.ph.screenRead, c)} / ${per(c.ph.screenRead)}` : '-')),
            ]
          : []),
        wrow(
          wecom
            ? '  rest (webhook only; on WeCom the turn follows the callback)'
            : web
              ? '  rest per request: express, helmet, form, rendering, gzip (Telegram: grammY, Bot API calls), waiting for the loop'
              : '  rest: express, grammY, Bot API calls, waiting for the loop',
          rest,
        ),
        wrow('database round trips per update (peer: its own)', (c) => (isApp(c) ? f2(perUpdate(c.ph?.db, c.r.updates)) : c.kind === 'peer' ? f2(perUpdate(c.ph?.peerDb, c.r.updates)) : '-')),
        wrow('new TCP connections accepted by the server (count)', (c) => String(c.ph?.connections ?? '-')),
        wrow(`fake ${apiName}: handling one call (driver thread)`, (c) => (c.web ? '-' : c.r.api.handleMsMean.toFixed(3))),
        wrow(wecom ? 'WeCom API calls per update (baseline, peer: Bot API)' : 'Bot API calls per update', (c) => (c.web ? '-' : f1(c.r.api.calls / Math.max(1, c.r.updates)))),
        wrow('app thread busy (event-loop utilisation)', (c) => pct(c.ph && c.ph.elu * 100)),
        wrow('app thread event-loop delay p99 / max, ms', (c) => (c.ph ? `${f1(c.ph.eldP99)} / ${f1(c.ph.eldMax)}` : '-')),
        wrow('driver thread busy (event-loop utilisation)', (c) => pct(c.r.driverElu * 100)),
        wrow(`process CPU, all threads (of ${cpu.length * 100}%)`, (c) => pct(c.ph?.cpuPct)),
        ...(db === 'postgres' ? [wrow('PostgreSQL server processes CPU (lower bound)', (c) => pct(c.ph?.pgCpuPct))] : []),
      ],
      [false, ...cols.map(() => true)],
    ),
  );
  if (!web) p(`${apiName} calls per update by method, saturation: ${methods(sat.api.byMethod, sat.updates)}`);
  else if (tg) p(`${apiName} calls per update by method, saturation on Telegram: ${methods(tg.api.byMethod, tg.updates)}`);
  p(
    `database round trips of the app in the saturation phase: ${ps?.db ?? '-'} for ${sat.updates} updates = ${f2(dbPerUpdate)} per update ` +
      (db === 'postgres' ? '(pg.Client#query calls of the app, BEGIN and COMMIT included)' : "(calls into the app's PGlite instance: query, exec; a transaction counts BEGIN, each statement, COMMIT)"),
  );
  p();

  // A report is submitted (its lead made, its receipt number shown) at its signature, before its details: people
  // whose report a timed phase ended after that point have a lead and a receipt without a completed report. So:
  // one lead for each receipt number shown, and at least one receipt number for each report completed.
  const reportsOk = leads === r.reports.distinctReceipts;
  const receiptsOk = r.reports.distinctReceipts >= r.reports.total;
  p(
    `reports completed by the simulated people: ${r.reports.total} (warm-up ${r.reports.warmup}, saturation ${r.reports.saturation}${web ? `, Telegram saturation ${r.reports.telegram}` : ''}, load ${r.reports.load}${web ? `, flood ${r.reports.flood}` : ''}); ` +
      `distinct receipt numbers shown: ${r.reports.distinctReceipts} (the completed ones and those left after their signature when a timed phase ended${web ? '; on the page each completed report showed its number, class="receipt-no"' : ''}); ` +
      `leads in the database: ${leads}${leadsBefore ? ` (new; ${leadsBefore} before)` : ''}  ${reportsOk && receiptsOk ? 'OK' : 'MISMATCH'}`,
  );
  if (peer) {
    const peerReports = r.peerWarmup.reports + peer.reports;
    p(`peer baseline: ${peerReports} reports completed (warm-up ${r.peerWarmup.reports}, measured ${peer.reports}); rows added to peer_reports: ${peerInfo.rows ?? '-'}  ${peerInfo.rows === peerReports ? 'OK' : 'MISMATCH'}`);
  }
  p(
    `peak RSS of the process (app + driver thread) through the app's phases: ${f1(peakRssMb)} MB (${f1(rssAfterStartMb)} MB after start-up, before the first update; ` +
      `${f1(r.peakRssWithPeerBytes / 2 ** 20)} MB with the peer phase); whole run ${f1(totalSeconds)} s`,
  );
  if (atRest)
    p(
      `memory at rest: a fresh \`node dist/server/start.js\` (${process.version}) on the same ${db === 'postgres' ? 'PostgreSQL database' : 'embedded database'} and settings, idle ${atRest.idleSeconds} s: ` +
        `RSS ${f1(atRest.rssMb)} MB, peak (VmHWM) ${f1(atRest.hwmMb)} MB${db === 'postgres' ? ` (target: at most ${REST_TARGET_MB} MB)` : ''}`,
    );
  if (r.errorCount > 0) {
    p(`ERRORS: ${r.errorCount} updates failed; first ones:`);
    for (const e of r.errorSamples) p(`  ${e}`);
  }
  const unknownChat = sat.api.unknownChat + base.api.unknownChat + load.api.unknownChat + (tg?.api.unknownChat ?? 0);
  if (unknownChat > 0) p(`note: ${unknownChat} API calls could not be matched to a chat`);
  const peerMissing = peerInfo.mustRun && !peer;
  if (peerMissing) p('the peer baseline must run on PostgreSQL');
  const ok = reportsOk && receiptsOk && r.errorCount === 0 && !peerMissing;
  if (!ok) p('FAILED: see above');
  p();

  const json = {
    channel: opts.channel,
    db,
    people: opts.people,
    updates_per_s: r1(sat.updatesPerS),
    p50_ms: r1(sat.latency.p50),
    p99_ms: r1(sat.latency.p99),
    baseline_updates_per_s: r1(base.updatesPerS),
    baseline_p50_ms: r1(base.latency.p50),
    baseline_p99_ms: r1(base.latency.p99),
    ratio: Math.round(ratio * 1000) / 1000,
    peer_updates_per_s: peer ? r1(peer.updatesPerS) : null,
    peer_p50_ms: peer ? r1(peer.latency.p50) : null,
    peer_p99_ms: peer ? r1(peer.latency.p99) : null,
    ratio_peer: ratioPeer === null ? null : Math.round(ratioPeer * 1000) / 1000,
    db_round_trips_per_update: dbPerUpdate === undefined ? null : Math.round(dbPerUpdate * 100) / 100,
    load_rate: opts.rate,
    load_seconds: opts.seconds,
    load_updates_per_s: r1(load.updatesPerS),
    load_p50_ms: r1(load.latency.p50),
    load_p99_ms: r1(load.latency.p99),
    load_dropped: load.dropped,
    ...(web
      ? {
          telegram_updates_per_s: tg ? r1(tg.updatesPerS) : null,
          telegram_p99_ms: tg ? r1(tg.latency.p99) : null,
          telegram_ratio: tgRatio === null ? null : Math.round(tgRatio * 1000) / 1000,
          web_vs_telegram: vsTelegram === null ? null : Math.round(vsTelegram * 1000) / 1000,
          flood_rate: opts.floodRate,
          flood_seconds: opts.floodSeconds,
          flood_sent_per_s: flood ? r1(flood.sentPerS) : null,
          flood_refused: flood ? flood.refused : null,
          flood_others_p50_ms: flood ? r1(flood.othersDuring.p50) : null,
          flood_others_p99_ms: flood ? r1(flood.othersDuring.p99) : null,
          aims_met: aims.every((a) => a.met),
        }
      : {}),
    peak_rss_mb: r1(peakRssMb),
    ...(atRest ? { rest_rss_mb: r1(atRest.rssMb), rest_hwm_mb: r1(atRest.hwmMb) } : {}),
    reports_completed: r.reports.total,
    leads,
    errors: r.errorCount,
    ok,
  };
  process.stdout.write(`${out.join('\n')}\n${JSON.stringify(json)}\n`);
  return ok;
}

await main();
