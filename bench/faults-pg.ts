import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A private PostgreSQL 15 cluster for the fault benchmark, in a temporary folder, on a free port of 127.0.0.1
 * (trust authentication, reachable from this machine only). The benchmark stops and starts this one; the shared
 * server on 127.0.0.1:5432 is never touched. initdb, pg_ctl and postgres refuse to run as root: when the benchmark
 * runs as root they run as the user postgres (runuser), and the folder belongs to that user.
 */

const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export type PrivatePostgres = {
  /** postgresql://postgres@127.0.0.1:<port>/fanpin */
  url: string;
  port: number;
  dir: string;
  /** pg_ctl stop -m fast (disconnects every client), waiting until the server is down */
  stop(): Promise<void>;
  /** pg_ctl start, waiting until the server accepts connections */
  start(): Promise<void>;
  /** whether the server accepts connections now */
  isReady(): Promise<boolean>;
  /** the last lines of the server's own log */
  logTail(lines?: number): string;
  /** stops the server at once (if running) and deletes the folder; safe to call twice */
  destroy(): Promise<void>;
  /** the same, synchronously (for process.on('exit')) */
  destroySync(): void;
};

async function asPostgres(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const { stdout } = await run(file, argv, { timeout: timeoutMs, cwd: tmpdir() });
  return stdout;
}

function asPostgresSync(cmd: string, args: string[], timeoutMs: number): void {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { timeout: timeoutMs, cwd: tmpdir(), stdio: 'ignore' });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export async function startPrivatePostgres(port: number): Promise<PrivatePostgres> {
  if (port === 5432) throw new Error('refusing to run the private cluster on 5432, the shared server’s port');
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`PostgreSQL 15 not found in ${BIN} (set PG_BIN_DIR)`);
  const dir = mkdtempSync(join(tmpdir(), 'fanpin-faults-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  let destroyed = false;
  let running = false;

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    if (running || existsSync(join(data, 'postmaster.pid'))) await asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const destroySync = () => {
    try {
      if (existsSync(join(data, 'postmaster.pid'))) asPostgresSync(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000);
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (process.getuid?.() === 0) {
      const ids = await postgresIds();
      chownSync(dir, ids.uid, ids.gid);
    }
    await asPostgres(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        '# fanpin fault benchmark: a private cluster',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'max_connections = 200',
        "log_min_messages = 'warning'",
        '',
      ].join('\n'),
    );
    const self = {
      url: `postgresql://postgres@127.0.0.1:${port}/fanpin`,
      port,
      dir,
      async start() {
        await asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', 'start'], 70_000);
        running = true;
      },
      async stop() {
        await asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'], 70_000);
        running = false;
      },
      async isReady() {
        const c = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2000 });
        c.on('error', () => {});
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => {});
        }
      },
      logTail(lines = 20) {
        try {
          return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        } catch {
          return '';
        }
      },
      destroy,
      destroySync,
    };
    await self.start();
    const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE fanpin');
    await admin.end();
    return self;
  } catch (e) {
    await destroy();
    throw e;
  }
}
