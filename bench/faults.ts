/**
 * Fault benchmark: `tsx bench/faults.ts [--people N] [--kills K] [--db-outage-s S] …` (npm run bench:faults).
 *
 * Whole reports over the Telegram webhook on PostgreSQL while the server is killed and the database goes away:
 *  - a private PostgreSQL 15 cluster in a temporary folder on a free port (bench/faults-pg.ts; the shared server on
 *    5432 is never touched), a fake Bot API and a fake county receiver in this process;
 *  - the app as a child process, `node dist/server/start.js` (built first with tsc unless --no-build), in webhook
 *    mode, forwarding leads to the fake receiver (bench/faults-server.ts);
 *  - one calibration person walks the report with no faults: how many messages (and which) the bot sends at each
 *    step, and which button each tap is;
 *  - then N people walk it at once (bench/faults-people.ts), each resending an update that did not get a 200 as
 *    Telegram does (same update_id and payload, after a short pause), while the server is killed with SIGKILL K
 *    times at random moments and started again at once, PostgreSQL is stopped once mid-run for S seconds (the
 *    server is left running: its webhook must answer non-200, it must not exit, /readyz must say not ready), and the
 *    receiver answers 500 for a while from the first delivery of the run, then 200. A server that exits on its own
 *    is started again after 1 s, as a supervisor would, and counted;
 *  - when everyone is done and the faults are over, it waits for the outbox to deliver everything, then compares.
 *
 * What is counted (the last line of output is one JSON object of these):
 *  - reports_started: people who sent their first update; reports_completed: people who got a receipt (回执号).
 *  - leads: the people's leads in the database; lost: people who started and have no lead (started − leads when
 *    nothing is doubled); doubled: leads beyond the first of one person (each person submits one report).
 *  - replies_missing / replies_doubled: each person's bot messages are compared with the calibration's, step by
 *    step (see judgeReplies in bench/faults-people.ts). A message belongs to the step its person was at when it came
 *    (from that step's first delivery to the next step's), unless that step already has all its messages of that
 *    text and an earlier step lacks one: then it came late (the sweeper, or a redelivery after a restart) and counts
 *    for that earlier step. replies_missing = messages the calibration got at a step the person walked that the
 *    person never got, by the end of the run; replies_doubled = messages got more often than the calibration got
 *    them (a second copy); replies_unexpected = messages the calibration never got (the conversation went
 *    somewhere else). Digits are ignored in the comparison (phone and receipt numbers, dates).
 *  - forwarded_once: every lead's every outbox event reached the receiver, answered 200 at least once, always under
 *    the one idempotency key of that event (a repeat of the key after a 200 is a repeat the receiver can drop,
 *    counted in forward_repeats); false when an event of a lead went out under two keys, or never got its 200.
 *  - outage figures: webhook attempts begun after PostgreSQL was down and ended before it was started again, by
 *    outcome (any 200 there is a failure); /readyz samples in the same window; server exits in it.
 *
 * Exit code: 0 when the aims hold (every report completed; lost = doubled = replies_doubled = 0; forwarded_once;
 * during the outage no webhook 200, /readyz seen not ready and never ready, no server exit; all K kills done); 1
 * when one does not (`failed` in the JSON names them); 2 on a bad flag; 3 when the run exceeds --max-seconds; 4 when
 * the benchmark itself could not run (no PostgreSQL 15, build failed, the calibration failed). Ctrl-C stops it;
 * the private cluster, the server and the temporary folders are removed in every case.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { BOT_INFO, BOT_TOKEN, startFakeBotApi, WEBHOOK_SECRET, type FakeApi } from '../test/fakes/bot-api.ts';
import { createPeople, judgeReplies, newPerson, type Attempt, type Calibration, type Person } from './faults-people.ts';
import { startPrivatePostgres, type PrivatePostgres } from './faults-pg.ts';
import { startReceiver, type Receiver } from './faults-receiver.ts';
import { appProcess, httpGet, type AppProcess, type Exit } from './faults-server.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FIXED_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
const INTAKE_SECRET = 'bench-intake-secret-0123456789';

// ---------------------------------------------------------------------------------------------------------
// flags

const USAGE = `usage: tsx bench/faults.ts [flags]
  --people N           simulated people, each walking one whole report (default 100)
  --kills K            SIGKILLs of the server at random moments, each followed by a restart (default 20)
  --db-outage-s S      PostgreSQL stopped once mid-run for S seconds (default 60; 0: no outage)
  --kill-gap-s A-B     seconds from the server being healthy to the next kill, uniform in A..B (default 3-12)
  --receiver-down-s S  the county receiver answers 500 for S seconds from the run's first delivery (default 90)
  --think-ms MS        mean pause between a person's answers (default 6000; uniform 0.25..1.75 × the mean)
  --stagger-s S        people begin within the first S seconds (default 20)
  --resend-pause-ms MS pause before an update is sent again (default 1000; uniform 0.5..1.5 × the value)
  --timeout-ms MS      a webhook request with no answer by then counts as failed and is sent again (default 30000)
  --reply-wait-s S     how long a person waits for a step's messages before answering on (default 150: longer than
                       the sweeper's minute plus its one-minute age limit)
  --drain-s S          at the end, how long to wait for the outbox to deliver everything (default 900)
  --max-seconds S      stop with exit code 3 if the whole run takes longer (default 3600)
  --log FILE           keep the server's log (JSON lines, every process start) in FILE
  --kill-in-outage     also kill the server once while PostgreSQL is down (it then has to start without a database)
  --no-build           do not run tsc first (dist/ must be current)`;

type Opts = {
  people: number;
  kills: number;
  dbOutageS: number;
  killGap: [number, number];
  receiverDownS: number;
  thinkMs: number;
  staggerS: number;
  resendPauseMs: number;
  timeoutMs: number;
  replyWaitS: number;
  drainS: number;
  maxSeconds: number;
  log: string | undefined;
  build: boolean;
  killInOutage: boolean;
};

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Opts {
  const values = new Map<string, string>();
  let build = true;
  let killInOutage = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (a === '--no-build' || a === '--kill-in-outage') {
      if (a === '--no-build') build = false;
      else killInOutage = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) usageError(`unexpected argument ${a}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) usageError(`--${m[1]} needs a value`);
    values.set(m[1]!, value);
  }
  const known = ['people', 'kills', 'db-outage-s', 'kill-gap-s', 'receiver-down-s', 'think-ms', 'stagger-s', 'resend-pause-ms', 'timeout-ms', 'reply-wait-s', 'drain-s', 'max-seconds', 'log'];
  for (const k of values.keys()) if (!known.includes(k)) usageError(`unknown flag --${k}`);
  const num = (name: string, dflt: number, min: number, integer = true) => {
    const raw = values.get(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) usageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min} (got ${raw})`);
    return n;
  };
  const gapRaw = values.get('kill-gap-s') ?? '3-12';
  const gm = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(gapRaw);
  if (!gm || Number(gm[1]) > Number(gm[2])) usageError(`--kill-gap-s must be A-B with A ≤ B (got ${gapRaw})`);
  const people = num('people', 100, 1);
  if (people > 10_000) usageError('--people must be at most 10000');
  return {
    people,
    kills: num('kills', 20, 0),
    dbOutageS: num('db-outage-s', 60, 0, false),
    killGap: [Number(gm[1]), Number(gm[2])],
    receiverDownS: num('receiver-down-s', 90, 0, false),
    thinkMs: num('think-ms', 6000, 0),
    staggerS: num('stagger-s', 20, 0, false),
    resendPauseMs: num('resend-pause-ms', 1000, 1),
    timeoutMs: num('timeout-ms', 30_000, 100),
    replyWaitS: num('reply-wait-s', 150, 1, false),
    drainS: num('drain-s', 900, 1, false),
    maxSeconds: num('max-seconds', 3600, 10),
    log: values.get('log'),
    build,
    killInOutage,
  };
}

// ---------------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uniform = (a: number, b: number) => a + (b - a) * Math.random();
const r1 = (n: number) => Math.round(n * 10) / 10;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

class SetupError extends Error {}

type Outage = { stopping: number; stopped: number; starting: number; started: number };
type Kill = { at: number; peopleActive: boolean; inFlight: number };

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const say = (s: string) => process.stderr.write(`[${elapsed().toFixed(0).padStart(4)} s] ${s}\n`);

  // ----- resources and their cleanup (also on Ctrl-C, on failure and on process.exit)
  let pgc: PrivatePostgres | undefined;
  let app: AppProcess | undefined;
  let receiver: Receiver | undefined;
  let botApi: FakeApi | undefined;
  let pool: pg.Pool | undefined;
  let shuttingDown = false;
  let stopped = false;
  const appDir = mkdtempSync(join(tmpdir(), 'fanpin-faults-app-'));
  const logFile = join(appDir, 'server.log');
  const timers: NodeJS.Timeout[] = [];

  const cleanupSync = () => {
    shuttingDown = true;
    stopped = true;
    for (const t of timers) clearTimeout(t);
    const pid = app?.pid();
    if (pid && app?.alive()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    pgc?.destroySync();
    rmSync(appDir, { recursive: true, force: true });
  };
  process.on('exit', cleanupSync);
  let cleaning: Promise<void> | undefined;
  /** Stops the server, the cluster and the fakes, deletes the temporary folders; once, however often it is called. */
  const cleanup = () =>
    (cleaning ??= (async () => {
      shuttingDown = true;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await app?.stop(5000).catch(() => {});
      await app?.closeLog().catch(() => {});
      if (opts.log) {
        try {
          copyFileSync(logFile, opts.log);
        } catch (e) {
          process.stderr.write(`could not keep the log in ${opts.log}: ${(e as Error).message}\n`);
        }
      }
      await pool?.end().catch(() => {});
      await pgc?.destroy().catch(() => {});
      await receiver?.close().catch(() => {});
      await botApi?.close().catch(() => {});
      rmSync(appDir, { recursive: true, force: true });
    })());
  /** Ctrl-C, a signal, or the time limit: this ends the run (main() then waits for it), with `code`. */
  let ending: number | undefined;
  const end = (code: number, why: string) => {
    if (ending !== undefined) return;
    ending = code;
    stopped = true;
    process.stderr.write(`\nbench: ${why}; cleaning up\n`);
    void cleanup().finally(() => {
      console.log(JSON.stringify({ people: opts.people, error: code === 3 ? 'timeout' : 'interrupted', duration_s: r1(elapsed()) }));
      process.exit(code);
    });
  };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) process.on(signal, () => end(code, signal)); // on: a second Ctrl-C (or tsx relaying it) must not kill the cleanup
  const watchdog = setTimeout(() => end(3, `the run took longer than --max-seconds ${opts.maxSeconds}`), opts.maxSeconds * 1000);
  watchdog.unref();
  const untilEnded = () => new Promise<never>(() => {});

  try {
    // ----- build, database, fakes, app
    if (opts.build) {
      say('building dist/ (tsc -p tsconfig.build.json; --no-build skips this)');
      try {
        await promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO, timeout: 600_000 });
      } catch (e) {
        throw new SetupError(`the build failed: ${String((e as { stdout?: string }).stdout ?? e).slice(0, 2000)}`);
      }
    }
    const pgPort = await freePort();
    say(`starting a private PostgreSQL 15 cluster on 127.0.0.1:${pgPort}`);
    try {
      pgc = await startPrivatePostgres(pgPort);
    } catch (e) {
      throw new SetupError(`the private PostgreSQL cluster did not start: ${(e as Error).message}`);
    }
    const db = pgc;
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => {}); // idle clients die when the cluster stops: only used when it is up

    // The people, the fake Bot API, the receiver.
    const appPort = await freePort();
    const appUrl = `http://127.0.0.1:${appPort}`;
    const people: Person[] = Array.from({ length: opts.people }, (_, i) => newPerson(1_000_001 + i));
    const calibrationPerson = newPerson(9_000_001);
    const byChat = new Map<number, Person>([[calibrationPerson.userId, calibrationPerson], ...people.map((p) => [p.userId, p] as const)]);
    const attempts: Attempt[] = [];
    const crowd = createPeople({
      webhookUrl: `${appUrl}/telegram/webhook`,
      secret: WEBHOOK_SECRET,
      botInfo: BOT_INFO,
      keyboard: (chatId) => botApi?.keyboard(chatId),
      requestTimeoutMs: opts.timeoutMs,
      resendPauseMs: opts.resendPauseMs,
      replyWaitMs: opts.replyWaitS * 1000,
      thinkMs: opts.thinkMs,
      attempts,
      stopped: () => stopped,
    });
    let strayMessages = 0;
    // lean: the people hear of each message as it comes (onMessage) and tap the last keyboard of their chat
    botApi = await startFakeBotApi({
      lean: true,
      onMessage: (chatId, m) => {
        const p = byChat.get(chatId);
        if (p) crowd.received(p, m);
        else strayMessages++;
      },
    });
    receiver = await startReceiver(INTAKE_SECRET);
    const rcv = receiver;

    const exits: Exit[] = [];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: String(appPort),
      DATABASE_URL: db.url,
      DATA_ENCRYPTION_KEY: FIXED_ENCRYPTION_KEY,
      DATA_DIR: join(appDir, 'data'),
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TELEGRAM_API_ROOT: botApi.url,
      INTAKE_WEBHOOK_URL: rcv.url,
      INTAKE_WEBHOOK_SECRET: INTAKE_SECRET,
      OUTBOX_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
      ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
    };
    app = appProcess({
      entry: join(REPO, 'dist/server/start.js'),
      env,
      cwd: appDir, // no .env there
      logFile,
      url: appUrl,
      onExit: (e) => {
        exits.push(e);
        if (!e.expected) {
          say(`the server exited on its own (code ${e.code}, signal ${e.signal}); starting it again in 1 s${e.stderrTail ? `; stderr: ${e.stderrTail.split('\n').slice(-3).join(' | ').slice(0, 300)}` : ''}`);
          if (!shuttingDown) timers.push(setTimeout(() => !shuttingDown && !app!.alive() && app!.start(), 1000));
        }
      },
    });
    const srv = app;
    say(`starting the server: node dist/server/start.js on ${appUrl}`);
    srv.start();
    try {
      await srv.waitHealthy(120_000);
    } catch (e) {
      throw new SetupError(`the server did not start: ${(e as Error).message}`);
    }


    /** Waits until the server answers /healthz (restarted by us or by the supervisor meanwhile). */
    const healthy = async () => {
      for (;;) {
        if (stopped) return;
        if (srv.alive()) {
          try {
            return await srv.waitHealthy(120_000);
          } catch {
            // exited meanwhile, or slow: look again
          }
        }
        await sleep(200);
      }
    };

    // ----- /readyz, sampled every second all along
    const readyz: Array<{ at: number; outcome: string }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const at = performance.now();
        let outcome: string;
        try {
          outcome = String(await httpGet(`${appUrl}/readyz`, 3000));
        } catch (e) {
          outcome = (e as { code?: string }).code ?? 'error';
        }
        readyz.push({ at, outcome });
        await sleep(Math.max(0, 1000 - (performance.now() - at)));
      }
    })();

    // ----- calibration: one person, no faults
    say('calibration: one person walks the report with no faults');
    let calibration: Calibration;
    try {
      calibration = await crowd.calibrate(calibrationPerson);
    } catch (e) {
      throw new SetupError(`${(e as Error).message}`);
    }
    const expected = calibration.map((s) => s.texts);
    const perStep = expected.map((t) => t.length);
    say(`calibration: ${calibration.length} steps, ${perStep.reduce((a, b) => a + b, 0)} bot messages (per step: ${perStep.join(' ')})`);
    // its lead reaches the receiver before the faults begin (the forwarding works at all)
    const calStart = performance.now();
    while (!rcv.posts.some((x) => x.status === 200) && performance.now() - calStart < 60_000) await sleep(200);
    if (!rcv.posts.some((x) => x.status === 200)) throw new SetupError('calibration: its lead was not forwarded to the receiver within 60 s');
    const calibrationPosts = rcv.posts.length;

    // ----- the run
    say(`run: ${opts.people} people, ${opts.kills} kills, PostgreSQL down ${opts.dbOutageS} s once, receiver 500 for ${opts.receiverDownS} s`);
    const runStart = performance.now();
    // the receiver is down from now until receiverDownS after the first delivery of the run
    rcv.state.down = opts.receiverDownS > 0;
    let receiverDown: { from: number; to: number } | undefined;
    if (rcv.state.down) {
      const watch = setInterval(() => {
        if (rcv.posts.length > calibrationPosts && !receiverDown) {
          const from = rcv.posts[calibrationPosts]!.at;
          receiverDown = { from, to: from + opts.receiverDownS * 1000 };
          clearInterval(watch);
          timers.push(
            setTimeout(() => {
              rcv.state.down = false;
              say('receiver: answering 200 from now on');
            }, Math.max(0, receiverDown.to - performance.now())),
          );
          say(`receiver: first delivery of the run came; answering 500 for ${opts.receiverDownS} s`);
        }
      }, 100);
      timers.push(watch as unknown as NodeJS.Timeout);
    }

    let peopleActive = true;
    const walks = Promise.all(
      people.map(async (p) => {
        await sleep(Math.random() * opts.staggerS * 1000);
        await crowd.walk(p, calibration);
      }),
    ).then(() => {
      peopleActive = false;
      crowd.close();
    });

    const kills: Kill[] = [];
    const restartMs: number[] = [];
    let outage: Outage | undefined;
    let killsInOutage = 0;
    /** webhook requests begun before `at` and answered (or failed) after it */
    const inFlight = (at: number) => attempts.filter((a) => a.t0 <= at && a.t1 >= at).length;
    const faults = (async () => {
      const outageAfter = Math.floor(opts.kills / 2);
      const doOutage = async () => {
        await healthy();
        await sleep(uniform(...opts.killGap) * 1000);
        if (stopped) return;
        const o: Outage = { stopping: performance.now(), stopped: 0, starting: 0, started: 0 };
        outage = o;
        say('outage: stopping PostgreSQL (pg_ctl stop -m fast)');
        await db.stop();
        o.stopped = performance.now();
        say(`outage: PostgreSQL is down; starting it again in ${opts.dbOutageS} s`);
        if (opts.killInOutage) {
          const first = Math.min(10_000, (opts.dbOutageS * 1000) / 3);
          await sleep(first);
          await srv.kill();
          killsInOutage++;
          say('outage: SIGKILL while PostgreSQL is down; starting the server again (a start that fails is retried every 1 s)');
          srv.start();
          await sleep(opts.dbOutageS * 1000 - first);
        } else await sleep(opts.dbOutageS * 1000);
        o.starting = performance.now();
        await db.start();
        o.started = performance.now();
        say('outage: PostgreSQL is up again');
      };
      for (let i = 0; i < opts.kills; i++) {
        if (i === outageAfter && opts.dbOutageS > 0) await doOutage();
        await healthy();
        await sleep(uniform(...opts.killGap) * 1000);
        if (stopped) return;
        const at = performance.now();
        await srv.kill();
        kills.push({ at, peopleActive, inFlight: 0 });
        srv.start();
        const back = performance.now();
        await healthy();
        restartMs.push(performance.now() - back);
        say(`kill ${kills.length}/${opts.kills}: SIGKILL, started again in ${((performance.now() - at) / 1000).toFixed(1)} s${peopleActive ? '' : ' (people done)'}`);
      }
      if (opts.kills === 0 && opts.dbOutageS > 0) await doOutage();
    })();

    const progress = setInterval(() => {
      const done = people.filter((p) => p.done).length;
      const steps = people.reduce((a, p) => a + p.sent, 0);
      const receipts = people.filter((p) => p.messages.some((m) => m.text.includes('回执号'))).length;
      say(`progress: ${done}/${people.length} people done, ${steps} steps answered, ${receipts} receipts, ${kills.length} kills, ${attempts.length} webhook requests, receiver ${rcv.posts.length} posts${outage && !outage.started ? ', PostgreSQL DOWN' : ''}`);
    }, 15_000);
    timers.push(progress);

    await Promise.all([walks, faults]);
    clearInterval(progress);
    for (const k of kills) k.inFlight = inFlight(k.at);
    say('people done, faults over');

    // ----- drain: every outbox event delivered (or dead-lettered)
    const drainStart = performance.now();
    if (!receiverDown) rcv.state.down = false;
    let outboxStates: Record<string, number> = {};
    for (;;) {
      const rows = (await pool.query<{ state: string; n: string }>("SELECT state, count(*) AS n FROM outbox WHERE kind = 'county' GROUP BY state")).rows;
      outboxStates = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
      const open = (outboxStates.pending ?? 0) + (outboxStates.failed ?? 0);
      if (open === 0 && !rcv.state.down) break;
      if (performance.now() - drainStart > opts.drainS * 1000) {
        say(`drain: ${open} outbox events still undelivered after ${opts.drainS} s; giving up`);
        break;
      }
      if (Math.round((performance.now() - drainStart) / 1000) % 30 === 0) say(`drain: waiting for ${open} outbox events (failed ones retry with backoff; one locked by a killed delivery waits for its lock)`);
      await sleep(1000);
    }
    const drainS = (performance.now() - drainStart) / 1000;
    say(`drain: done in ${drainS.toFixed(0)} s`);

    // ----- the database's view
    const leadRows = (await pool.query<{ id: string; reporter_id: string; receipt_no: string }>("SELECT id, reporter_id, receipt_no FROM lead WHERE channel = 'telegram'")).rows;
    const outboxRows = (await pool.query<{ lead_id: string; key: string; event: string; state: string; attempts: number }>("SELECT lead_id, key, event, state, attempts FROM outbox WHERE kind = 'county'")).rows;
    const inbound = (
      await pool.query<{ total: string; unhandled: string; claimed_unsent: string; unclaimed_unsent: string }>(
        `SELECT count(*) AS total,
                count(*) FILTER (WHERE handled_at IS NULL) AS unhandled,
                count(*) FILTER (WHERE replied_at IS NOT NULL AND replies IS NOT NULL) AS claimed_unsent,
                count(*) FILTER (WHERE replied_at IS NULL AND replies IS NOT NULL) AS unclaimed_unsent
         FROM inbound_update WHERE channel = 'telegram'`,
      )
    ).rows[0]!;

    const claimedRows = (
      await pool.query<{ platform_id: string }>("SELECT platform_id FROM inbound_update WHERE channel = 'telegram' AND replied_at IS NOT NULL AND replies IS NOT NULL")
    ).rows.map((r) => Number(r.platform_id));

    sampling = false;
    await sampler;
    await srv.stop(10_000);
    const runS = (drainStart - runStart) / 1000;

    // ----- judging
    const ids = new Set(people.map((p) => String(p.userId)));
    const leadsOf = new Map<string, typeof leadRows>();
    for (const l of leadRows) if (ids.has(l.reporter_id)) leadsOf.set(l.reporter_id, [...(leadsOf.get(l.reporter_id) ?? []), l]);
    const started = people.filter((p) => p.sent > 0 || p.step >= 0).length;
    const leads = [...leadsOf.values()].reduce((a, l) => a + l.length, 0);
    const lost = people.filter((p) => p.step >= 0 && !leadsOf.has(String(p.userId))).length;
    const doubled = [...leadsOf.values()].reduce((a, l) => a + l.length - 1, 0);
    const receiptOf = (p: Person) => {
      for (const m of p.messages) {
        const r = /回执号：(\S+)/.exec(m.text);
        if (r) return r[1]!;
      }
      return undefined;
    };
    const completed = people.filter((p) => receiptOf(p) !== undefined);
    const receiptMismatch = completed.filter((p) => !(leadsOf.get(String(p.userId)) ?? []).some((l) => receiptOf(p)!.startsWith(l.receipt_no))).length;

    const replies = { missing: 0, doubled: 0, late: 0, unexpected: 0 };
    const missingByStep: Record<string, number> = {};
    const doubledByStep: Record<string, number> = {};
    const unexpectedTexts = new Map<string, number>();
    for (const p of people) {
      const j = judgeReplies(p.messages, expected, p.sent);
      replies.missing += j.missing;
      replies.doubled += j.doubled;
      replies.late += j.late;
      replies.unexpected += j.unexpected;
      for (const s of j.missingSteps) missingByStep[s] = (missingByStep[s] ?? 0) + 1;
      for (const s of j.doubledSteps) doubledByStep[s] = (doubledByStep[s] ?? 0) + 1;
      for (const t of j.unexpectedTexts) unexpectedTexts.set(t, (unexpectedTexts.get(t) ?? 0) + 1);
    }
    const peopleMissing = people.filter((p) => judgeReplies(p.messages, expected, p.sent).missing > 0).length;
    // each update whose replies were claimed and never marked sent: did its person get that step's message?
    const stepOfUpdate = new Map<number, { p: Person; step: number }>();
    for (const p of people) p.updateIds.forEach((id, step) => stepOfUpdate.set(id, { p, step }));
    const claimed = { missing: 0, delivered: 0, other: 0 };
    for (const id of claimedRows) {
      const at = stepOfUpdate.get(id);
      if (!at) claimed.other++;
      else if (judgeReplies(at.p.messages, expected, at.p.sent).missingSteps.includes(at.step + 1)) claimed.missing++;
      else claimed.delivered++;
    }
    // a few missing replies, with what their step's requests met and where the kills fell (seconds from the step's start)
    const missingSamples: string[] = [];
    for (const p of people) {
      if (missingSamples.length >= 6) break;
      for (const st of judgeReplies(p.messages, expected, p.sent).missingSteps) {
        const k = st - 1;
        const from = p.starts[k] ?? 0;
        const to = p.starts[k + 1] ?? Infinity;
        const rel = (t: number) => ((t - from) / 1000).toFixed(1);
        const reqs = attempts.filter((a) => a.userId === p.userId && a.step === k).map((a) => `${a.outcome} ${rel(a.t0)}→${rel(a.t1)}`);
        const near = kills.filter((x) => x.at >= from - 1000 && x.at <= Math.min(to, from + 120_000)).map((x) => rel(x.at));
        const step = p.script[k]!;
        missingSamples.push(`person ${p.userId}, step ${st} (${'say' in step ? `says "${step.say}"` : `taps "${step.tap[0]}"`}, update ${p.updateIds[k]}): requests ${reqs.join(', ')}; SIGKILL at ${near.join(', ') || '-'} s`);
        if (missingSamples.length >= 6) break;
      }
    }
    // which faults the steps with missing or doubled replies saw: a kill, or the outage, within the step's window
    const faultIn = (from: number, to: number) => (kills.some((k) => k.at >= from && k.at <= to) ? 'kill' : outage && outage.stopping <= to && (outage.started || Infinity) >= from ? 'outage' : 'none');
    const faultOf: Record<string, Record<string, number>> = { missing: {}, doubled: {} };
    for (const p of people) {
      const j = judgeReplies(p.messages, expected, p.sent);
      for (const [what, steps] of [['missing', j.missingSteps], ['doubled', j.doubledSteps]] as const) {
        for (const s of steps) {
          const f = faultIn(p.starts[s - 1] ?? 0, p.starts[s] ?? Infinity);
          faultOf[what]![f] = (faultOf[what]![f] ?? 0) + 1;
        }
      }
    }

    // forwarding: per outbox event (its key), and per lead and event type (how many keys)
    const posts = rcv.posts;
    const acceptedKeys = new Set(posts.filter((x) => x.status === 200).map((x) => x.key));
    const repeats = (() => {
      const seen = new Map<string, number>();
      let n = 0;
      for (const x of posts) {
        if (seen.has(x.key)) n++;
        if (x.status === 200) seen.set(x.key, (seen.get(x.key) ?? 0) + 1);
      }
      return n;
    })();
    const keysByLeadEvent = new Map<string, Set<string>>();
    for (const x of posts) {
      const k = `${x.leadId}\t${x.event}`;
      keysByLeadEvent.set(k, (keysByLeadEvent.get(k) ?? new Set()).add(x.key));
    }
    const outboxByLead = new Map<string, typeof outboxRows>();
    for (const r of outboxRows) outboxByLead.set(r.lead_id, [...(outboxByLead.get(r.lead_id) ?? []), r]);
    let forwardNever = 0;
    let leadsWithoutEvent = 0;
    for (const l of leadRows) {
      const events = outboxByLead.get(l.id) ?? [];
      if (!events.some((e) => e.event === 'lead.received')) leadsWithoutEvent++;
      for (const e of events) if (!acceptedKeys.has(e.key)) forwardNever++;
    }
    const multiKey = [...keysByLeadEvent.values()].filter((s) => s.size > 1).length;
    const outboxKeys = new Set(outboxRows.map((r) => r.key));
    const unknownKeys = posts.filter((x) => !outboxKeys.has(x.key)).length;
    const keyMismatch = posts.filter((x) => x.key !== x.bodyKey).length;
    const badSignature = posts.filter((x) => !x.signatureOk).length;
    const forwardedOnce = forwardNever === 0 && leadsWithoutEvent === 0 && multiKey === 0 && unknownKeys === 0 && keyMismatch === 0;

    // the outage window: attempts begun after PostgreSQL was down and ended before it was started again
    const o = outage;
    const inOutage = (a: number, b = a) => o !== undefined && o.stopped > 0 && a >= o.stopped && b <= (o.starting || Infinity);
    const outageAttempts: Record<string, number> = {};
    for (const a of attempts) if (inOutage(a.t0, a.t1)) outageAttempts[a.outcome] = (outageAttempts[a.outcome] ?? 0) + 1;
    const outageReadyz: Record<string, number> = {};
    for (const r of readyz) if (inOutage(r.at, r.at + 3000)) outageReadyz[r.outcome] = (outageReadyz[r.outcome] ?? 0) + 1;
    const crashes = exits.filter((e) => !e.expected);
    const outageExits = crashes.filter((e) => o && e.at >= o.stopping && e.at <= (o.started || Infinity) + 5000).length;
    const recovery = o?.started ? attempts.find((a) => a.t0 >= o.started && a.outcome === '200') : undefined;
    const readyAgain = o?.started ? readyz.find((r) => r.at >= o.started && r.outcome === '200') : undefined;
    const outcomes: Record<string, number> = {};
    for (const a of attempts) if (a.outcome !== '200') outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
    // not 200 at the outage's edges (while PostgreSQL stops, and up to 5 s after it is up again), and elsewhere
    const atEdge = (a: Attempt) => o !== undefined && !inOutage(a.t0, a.t1) && a.t1 >= o.stopping && a.t0 <= (o.started || Infinity) + 5000;
    const non200Edges: Record<string, number> = {};
    const non200Elsewhere: Record<string, number> = {};
    for (const a of attempts) {
      if (a.outcome === '200' || inOutage(a.t0, a.t1)) continue;
      const bucket = atEdge(a) ? non200Edges : non200Elsewhere;
      bucket[a.outcome] = (bucket[a.outcome] ?? 0) + 1;
    }

    const failed: string[] = [];
    if (completed.length !== opts.people) failed.push('reports_completed');
    if (lost > 0) failed.push('lost');
    if (doubled > 0) failed.push('doubled');
    if (replies.doubled > 0) failed.push('replies_doubled');
    if (!forwardedOnce) failed.push('forwarded_once');
    if (badSignature > 0) failed.push('forward_bad_signature');
    if (receiptMismatch > 0) failed.push('receipt_mismatch');
    if (kills.length < opts.kills) failed.push('kills');
    if (o) {
      if ((outageAttempts['200'] ?? 0) > 0) failed.push('outage_webhook_200');
      if (Object.entries(outageAttempts).filter(([k]) => k !== '200').length === 0) failed.push('outage_webhook_non200');
      if (!(outageReadyz['503'] ?? 0)) failed.push('outage_readyz_not_ready');
      if ((outageReadyz['200'] ?? 0) > 0) failed.push('outage_readyz_ready');
      if (outageExits > 0) failed.push('outage_exits');
    }

    // ----- report
    const out: string[] = [];
    const p = (s = '') => out.push(s);
    const fmt = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    p();
    p(`Fault benchmark: ${opts.people} people over the Telegram webhook on PostgreSQL 15 (private cluster), ${kills.length} SIGKILLs, PostgreSQL down ${opts.dbOutageS} s, receiver 500 for ${opts.receiverDownS} s`);
    p(`run ${r1(runS)} s + drain ${r1(drainS)} s; whole benchmark ${r1(elapsed())} s. One report = ${calibration.length} updates, ${perStep.reduce((a, b) => a + b, 0)} bot messages (calibration).`);
    p();
    p(`reports: started ${started}, completed (receipt seen) ${completed.length}; leads ${leads}; lost ${lost}; doubled ${doubled}; receipt shown ≠ the lead's: ${receiptMismatch}`);
    p(`replies: missing ${replies.missing} (${peopleMissing} people; by step: ${fmt(missingByStep)}), doubled ${replies.doubled} (by step: ${fmt(doubledByStep)}), late ${replies.late}, unexpected ${replies.unexpected}`);
    p(`  the fault within those steps' windows: missing ${fmt(faultOf.missing!)}; doubled ${fmt(faultOf.doubled!)}`);
    if (unexpectedTexts.size > 0) p(`  unexpected texts (digits as #): ${[...unexpectedTexts].slice(0, 8).map(([t, n]) => `${n}× "${t}"`).join('; ')}`);
    p(`  people's blind taps (keyboard never came): ${people.reduce((a, x) => a + x.blindTaps, 0)}; steps waited out (${opts.replyWaitS} s): ${people.reduce((a, x) => a + x.waitedOut, 0)}; messages to unknown chats: ${strayMessages}`);
    p(`  database: inbound updates ${inbound.total}, never handled ${inbound.unhandled}, replies claimed but never marked sent ${inbound.claimed_unsent} (${claimed.missing} of them never reached the person, ${claimed.delivered} did), replies stored and not claimed ${inbound.unclaimed_unsent}`);
    if (missingSamples.length > 0) {
      p('  missing replies, e.g. (requests: outcome start→end, seconds from the step’s first delivery):');
      for (const m of missingSamples) p(`    ${m}`);
    }
    p(`webhook: ${attempts.length} requests, ${attempts.length - (attempts.filter((a) => a.outcome === '200').length)} not 200 (${fmt(outcomes)}); resends ${people.reduce((a, x) => a + x.resends, 0)}`);
    p(`  not 200 at the outage's edges (PostgreSQL stopping; up to 5 s after it is back): ${fmt(non200Edges)}; elsewhere (kills): ${fmt(non200Elsewhere)}`);
    p(
      `kills: ${kills.length} (${kills.filter((k) => k.peopleActive).length} while people were active; requests in flight at the kill: ${kills.map((k) => k.inFlight).join(' ')}); restart to healthy: mean ${r1(restartMs.reduce((a, b) => a + b, 0) / Math.max(1, restartMs.length) / 1000)} s, max ${r1(Math.max(0, ...restartMs) / 1000)} s`,
    );
    p(`server exits on its own: ${crashes.length}${crashes.length ? ` (${crashes.map((e) => `code ${e.code}${e.signal ? ` ${e.signal}` : ''} at ${r1((e.at - runStart) / 1000)} s`).join(', ')})` : ''}`);
    if (o) {
      p(`outage (${r1((o.starting - o.stopped) / 1000)} s down): webhook ${fmt(outageAttempts)}; /readyz ${fmt(outageReadyz)}; server exits ${outageExits}`);
      p(`  after PostgreSQL came back: first webhook 200 after ${recovery ? r1((recovery.t1 - o.started) / 1000) : '-'} s, /readyz 200 after ${readyAgain ? r1((readyAgain.at - o.started) / 1000) : '-'} s`);
    }
    p(
      `forwarding: ${posts.length - calibrationPosts} posts in the run (${posts.filter((x) => x.status === 500).length} answered 500), outbox ${fmt(outboxStates)}; events never accepted ${forwardNever}, leads without lead.received ${leadsWithoutEvent}, lead events under two keys ${multiKey}, unknown keys ${unknownKeys}, header≠body key ${keyMismatch}, bad signature ${badSignature}, repeats of an accepted key ${repeats}`,
    );
    const logs = [...srv.logs.values()].sort((a, b) => b.count - a.count);
    if (logs.length > 0) {
      p('server warnings and errors (count, level, message; a sample line):');
      for (const l of logs.slice(0, 15)) p(`  ${String(l.count).padStart(5)} ${l.level.padEnd(5)} ${l.msg}\n        ${l.sample.slice(0, 400)}`);
    }
    p(failed.length === 0 ? 'OK: every aim holds' : `FAILED: ${failed.join(', ')}`);
    p();

    const json = {
      people: opts.people,
      kills: kills.length,
      kills_in_outage: killsInOutage,
      db_outage_s: o ? r1((o.starting - o.stopped) / 1000) : 0,
      reports_started: started,
      reports_completed: completed.length,
      leads,
      lost,
      doubled,
      replies_missing: replies.missing,
      replies_doubled: replies.doubled,
      replies_late: replies.late,
      replies_unexpected: replies.unexpected,
      forwarded_once: forwardedOnce,
      forward_repeats: repeats,
      forward_never: forwardNever,
      forward_500s: posts.filter((x) => x.status === 500).length,
      receipt_mismatch: receiptMismatch,
      webhook_requests: attempts.length,
      resends: people.reduce((a, x) => a + x.resends, 0),
      outage_webhook: outageAttempts,
      outage_readyz: outageReadyz,
      outage_exits: outageExits,
      readyz_not_ready_seen: (outageReadyz['503'] ?? 0) > 0,
      recovery_s: recovery && o ? r1((recovery.t1 - o.started) / 1000) : null,
      server_exits_unexpected: crashes.length,
      claimed_unsent: Number(inbound.claimed_unsent),
      claimed_unsent_never_sent: claimed.missing,
      claimed_unsent_sent: claimed.delivered,
      unhandled_updates: Number(inbound.unhandled),
      outbox: outboxStates,
      restart_s_max: r1(Math.max(0, ...restartMs) / 1000),
      run_s: r1(runS),
      drain_s: r1(drainS),
      duration_s: r1(elapsed()),
      ok: failed.length === 0,
      failed,
    };
    if (ending !== undefined) return untilEnded();
    await cleanup();
    process.stdout.write(`${out.join('\n')}\n${JSON.stringify(json)}\n`);
    return failed.length === 0 ? 0 : 1;
  } catch (e) {
    if (ending !== undefined) return untilEnded();
    const setup = e instanceof SetupError;
    process.stderr.write(`\nbench ${setup ? 'could not run' : 'failed'}: ${String(setup ? (e as Error).message : ((e as Error)?.stack ?? e))}\n`);
    if (pgc) process.stderr.write(`PostgreSQL log (last lines):\n${pgc.logTail()}\n`);
    await cleanup().catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`));
    console.log(JSON.stringify({ people: opts.people, error: String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ').slice(0, 500), duration_s: r1(elapsed()) }));
    return 4;
  }
}

process.exit(await main());
