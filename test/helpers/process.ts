import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '../../server/config.ts';

export type Spawned = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first JSON log line matching `msg`. */
  waitForLog: (msg: string, timeoutMs?: number) => Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
};

/**
 * Runs `npm start`'s entry point (the compiled dist/server/start.js, built by `npm test` before vitest) as a
 * separate process with the given environment; with `viaNpm`, the README's command itself (`npm start`, as a
 * service manager runs it: the signal goes to npm's process).
 */
export function spawnServer(env: Record<string, string>, opts: { viaNpm?: boolean } = {}): Spawned {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DATABASE_URL|DATA_DIR|DEPLOYMENT_CONFIG|PORT|LOG_LEVEL|npm_.*)$/.test(k)) clean[k] = v;
  const [command, args] = opts.viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, ['dist/server/start.js']];
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  /** Looks at each chunk of output as it arrives (and at the exit), not on a timer. */
  const waitForLog = (msg: string, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const find = () => {
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          const obj = JSON.parse(line) as Record<string, unknown>;
          if (obj.msg === msg) return obj;
        }
        return undefined;
      };
      const done = (f: () => void) => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        f();
      };
      const onData = () => {
        const found = find();
        if (found) done(() => resolve(found));
      };
      const onExit = () => {
        const found = find();
        done(() => (found ? resolve(found) : reject(new Error(`process exited (${child.exitCode}) before "${msg}":\n${out}\n${err}`))));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no "${msg}" within ${timeoutMs} ms:\n${out}\n${err}`))), timeoutMs);
      child.stdout!.on('data', onData);
      child.on('exit', onExit);
      const already = find();
      if (already) done(() => resolve(already));
      else if (child.exitCode !== null) onExit();
    });
  return { child, stdout: () => out, stderr: () => err, waitForLog, exited };
}

/** Every process below `pid` (children, grandchildren…), from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Whether a process is still running (a zombie waiting for its parent counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
