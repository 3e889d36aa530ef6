import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../../server/config.ts';

export type Spawned = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first JSON log line matching `msg`. */
  waitForLog: (msg: string, timeoutMs?: number) => Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
};

/** Runs `npm start`'s entry point (server/start.ts through tsx) as a separate process with the given environment. */
export function spawnServer(env: Record<string, string>): Spawned {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DATABASE_URL|DATA_DIR|DEPLOYMENT_CONFIG|PORT|LOG_LEVEL)$/.test(k)) clean[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/start.ts'], { cwd: REPO_ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (msg: string, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          const obj = JSON.parse(line) as Record<string, unknown>;
          if (obj.msg === msg) return resolve(obj);
        }
        if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before "${msg}":\n${out}\n${err}`));
        if (Date.now() - started > timeoutMs) return reject(new Error(`no "${msg}" within ${timeoutMs} ms:\n${out}\n${err}`));
        setTimeout(check, 50);
      };
      check();
    });
  return { child, stdout: () => out, stderr: () => err, waitForLog, exited };
}
