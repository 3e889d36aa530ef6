import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { startNodeFlags } from './node-flags.ts';

/**
 * The app as a child process for the fault benchmark: `node dist/server/start.js`, spawned directly (no npm in
 * between), so SIGKILL hits the server itself. It keeps the logs (JSON lines) in a file, counts the warn and error
 * lines by message, and reports each exit: `expected` when the benchmark killed it, else a crash.
 */

export type Exit = { at: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean; stderrTail: string };
export type LogCount = { level: string; msg: string; count: number; sample: string };

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

export function httpGet(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end();
  });
}

export function appProcess(opts: { entry: string; env: Record<string, string>; cwd: string; logFile: string; url: string; onExit: (e: Exit) => void }) {
  let child: ChildProcess | undefined;
  let killing = false;
  let exited: Promise<void> = Promise.resolve();
  let stderrTail: string[] = [];
  const logs = new Map<string, LogCount>();
  const log: WriteStream = createWriteStream(opts.logFile, { flags: 'a' });
  let starts = 0;

  function countLine(line: string) {
    log.write(`${line}\n`);
    if (!line.startsWith('{')) return;
    try {
      const j = JSON.parse(line) as { level?: number | string; msg?: string; err?: { type?: string; code?: string; message?: string } };
      const level = typeof j.level === 'string' ? (Object.values(LEVELS).includes(j.level) ? j.level : undefined) : LEVELS[j.level ?? 0];
      if (!level) return;
      // one count per message and kind of error (its code, or the start of its message)
      const cause = j.err ? ` [${[j.err.type, j.err.code ?? j.err.message?.slice(0, 60)].filter(Boolean).join(': ')}]` : '';
      const k = `${level}\t${j.msg ?? ''}${cause}`;
      const c = logs.get(k);
      if (c) c.count++;
      else logs.set(k, { level, msg: `${j.msg ?? ''}${cause}`, count: 1, sample: line.slice(0, 600) });
    } catch {
      // not a log line of ours
    }
  }

  return {
    logs,
    starts: () => starts,
    alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    pid: () => child?.pid,
    start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('the app is already running');
      starts++;
      killing = false;
      stderrTail = [];
      log.write(`{"bench":"spawn","n":${starts},"time":${Date.now()}}\n`);
      const c = spawn(process.execPath, [...startNodeFlags(), opts.entry], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      createInterface({ input: c.stdout! }).on('line', countLine);
      createInterface({ input: c.stderr! }).on('line', (line) => {
        log.write(`${line}\n`);
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      });
      exited = new Promise((resolve) => {
        c.once('exit', (code, signal) => {
          const expected = killing;
          log.write(`{"bench":"exit","code":${code},"signal":${JSON.stringify(signal)},"expected":${expected},"time":${Date.now()}}\n`);
          // let the last lines of stderr arrive
          setTimeout(() => {
            opts.onExit({ at: performance.now(), code, signal, expected, stderrTail: stderrTail.join('\n') });
            resolve();
          }, 50);
        });
      });
    },
    /** SIGKILL, and waits for the exit */
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      killing = true;
      child.kill('SIGKILL');
      await exited;
    },
    /** SIGTERM (a clean stop), SIGKILL after `graceMs` */
    async stop(graceMs = 10_000) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      killing = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    /** Waits until GET /healthz answers 200 (ms it took), or throws after `timeoutMs` or when the process exits. */
    async waitHealthy(timeoutMs = 60_000): Promise<number> {
      const t0 = performance.now();
      const c = child;
      while (performance.now() - t0 < timeoutMs) {
        if (!c || c !== child || c.exitCode !== null || c.signalCode !== null) throw new Error('the app exited before it was healthy');
        try {
          if ((await httpGet(`${opts.url}/healthz`, 1000)) === 200) return performance.now() - t0;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the app was not healthy within ${timeoutMs} ms`);
    },
    closeLog: () => new Promise<void>((resolve) => log.end(() => resolve())),
  };
}

export type AppProcess = ReturnType<typeof appProcess>;
