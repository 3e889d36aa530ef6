import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';
import { displayPath } from '../config-error.ts';
import { DatabaseError, MIGRATIONS_DIR, historyIsCurrent, migrationNames, readMigrations, type RawQuery } from './history.ts';
import { wholeScripts } from './whole-scripts.ts';
import type { MigrateResult } from './migrate-worker.ts';

export { PrismaClient, DatabaseError, wholeScripts };
export type { Prisma } from './generated/client.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export type Sql = <T>(strings: TemplateStringsArray, ...values: unknown[]) => Promise<T[]>;

/** A tagged template as one statement with $1…$n parameters. */
function statement(strings: TemplateStringsArray): string {
  return strings.reduce((text, part, i) => (i === 0 ? part : `${text}$${i}${part}`), '');
}

export type Database = {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The embedded database itself (PGlite only), for dump and restore. */
  pglite?: PGlite;
  /**
   * A hand-written statement straight through the driver, for the few hot statements where the ORM's own cost per
   * query (parameters and results serialised on the way) is most of the time: values become $1…$n parameters.
   * int8 columns come back as text in PostgreSQL's driver: cast them in the statement.
   */
  sql: Sql;
  /** A statement given as text with $1…$n parameters (a library's own statements, such as the rate limiter's). */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number }>;
  /** Applies the migrations this build has and the database lacks; refuses an edited or diverged history. */
  migrate(): Promise<string[]>;
  /** Database reachable and every migration of this build applied. */
  readiness(): Promise<{ ok: boolean; pending: string[]; error?: string }>;
  close(): Promise<void>;
};

const require = createRequire(import.meta.url);
export function installedPgliteVersion(): string {
  let dir = dirname(require.resolve('@electric-sql/pglite'));
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== '@electric-sql/pglite') {
    dir = dirname(dir);
  }
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
}

/** PGlite data directories open in this process (a second open of the same one would corrupt it). */
const openHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function openPglite(dataDir: string, migrationsDir = MIGRATIONS_DIR): Promise<Database> {
  const dir = join(dataDir, 'pglite');
  const marker = join(dataDir, 'pglite-version.json');
  const lock = join(dataDir, 'pglite.lock');
  const version = installedPgliteVersion();
  mkdirSync(dataDir, { recursive: true });

  if (openHere.has(dir)) throw new DatabaseError('The embedded database is already open in this process:', [displayPath(dir)]);
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    if (pid && pid !== process.pid && pidAlive(pid)) {
      throw new DatabaseError('The embedded database is in use by another process:', [
        `${displayPath(dir)} is locked by process ${pid}. Stop that process, or give this one its own DATA_DIR.`,
        'To run several instances side by side, use a PostgreSQL server (DATABASE_URL).',
      ]);
    }
  }
  const existing = existsSync(join(dir, 'PG_VERSION'));
  if (existing) {
    const made = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { pglite?: string }).pglite : undefined;
    if (made !== version) {
      throw new DatabaseError('The embedded database was made by another PGlite version and cannot be opened safely:', [
        `${displayPath(dir)} was made by PGlite ${made ?? 'of an unknown version'}; this build uses PGlite ${version}.`,
        'Data directories are not compatible across PGlite versions. Reinstall the version that made it, dump the',
        'data with `npm run db:dump -- <file.sql>`, then start this build on a new DATA_DIR and load the dump',
        'with `npm run db:restore -- <file.sql>` (see README, "Embedded database").',
      ]);
    }
  }
  writeFileSync(lock, String(process.pid));
  openHere.add(dir);

  let client: PGlite;
  // Loaded only when used: a server on PostgreSQL does not carry the embedded database in memory.
  const { PGlite: PGliteClass } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  try {
    client = new PGliteClass(dir);
    await client.waitReady;
  } catch (e) {
    openHere.delete(dir);
    rmSync(lock, { force: true });
    throw new DatabaseError('The embedded database could not be opened:', [`${displayPath(dir)}: ${(e as Error).message}`]);
  }
  if (!existing) writeFileSync(marker, JSON.stringify({ pglite: version, createdAt: new Date().toISOString() }, null, 2) + '\n');

  const expected = migrationNames(readMigrations(migrationsDir));
  const factory = wholeScripts(new PrismaPGlite(client));
  const prisma = new PrismaClient({ adapter: factory });
  let closed = false;
  return {
    kind: 'pglite',
    prisma,
    pglite: client,
    // PGlite queues a statement behind a transaction in progress (the adapter runs them through transaction())
    sql: async <T>(strings: TemplateStringsArray, ...values: unknown[]) => (await client.query<T>(statement(strings), values)).rows,
    query: async (text: string, values: unknown[] = []) => {
      const r = await client.query(text, values);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async migrate() {
      // PGlite runs in this thread, so the engine does too (and stays loaded): only when there is work for it.
      const list = readMigrations(migrationsDir);
      if (await historyIsCurrent((sql) => client.query(sql), list)) return [];
      const { migrateWith } = await import('./schema-engine.ts');
      return migrateWith(factory, migrationsDir);
    },
    readiness: () => readinessOf(prisma, expected),
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await client.close();
      openHere.delete(dir);
      rmSync(lock, { force: true });
    },
  };
}

function describeServer(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}, database "${decodeURIComponent(u.pathname.slice(1))}", user "${decodeURIComponent(u.username)}"`;
}

function explainPgError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is the server running and listening on that host and port?',
    ENOTFOUND: 'host name not found',
    ETIMEDOUT: 'connection timed out',
    '28P01': 'password authentication failed for that user',
    '28000': 'the server refused this user (check pg_hba.conf and the user name)',
    '3D000': 'that database does not exist (create it with createdb)',
  };
  return (code && known[code]) ?? err.message ?? err.cause?.message ?? String(e);
}

/** The server is not there yet (down, restarting, starting up): worth waiting for, unlike a wrong password. */
function unreachable(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  return ['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P03', '57P01', '53300'].includes(code) || /timeout/i.test(String((e as Error).message));
}

/**
 * A PostgreSQL server that cannot be reached is an outage, not a mistake in the settings: start-up keeps trying for
 * `waitS` seconds (with one log line per try), so a supervisor does not see a crash loop while the database restarts.
 */
export class DatabaseUnreachable extends Error {}

export async function openPostgres(url: string, migrationsDir = MIGRATIONS_DIR, opts: { waitS?: number; onRetry?: (problem: string, attempt: number) => void } = {}): Promise<Database> {
  const where = describeServer(url);
  const deadline = Date.now() + (opts.waitS ?? 0) * 1000;
  for (let attempt = 1; ; attempt++) {
    const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.query('SELECT 1');
      break;
    } catch (e) {
      const message = `${where}: ${explainPgError(e)}`;
      if (!unreachable(e)) throw new DatabaseError('Cannot connect to the PostgreSQL server in DATABASE_URL:', [message]);
      if (Date.now() >= deadline) throw Object.assign(new DatabaseUnreachable(`Cannot connect to the PostgreSQL server in DATABASE_URL:\n  ${message}`), { code: 'unreachable' });
      opts.onRetry?.(explainPgError(e), attempt);
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(attempt - 1, 4))));
    } finally {
      await probe.end().catch(() => {});
    }
  }
  const expected = migrationNames(readMigrations(migrationsDir));
  // 20 connections (pg defaults to 10): the channels handle many people at once
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  pool.on('error', () => {}); // an idle connection the server dropped: the next query reconnects or fails and is reported
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    kind: 'postgres',
    prisma,
    sql: async <T>(strings: TemplateStringsArray, ...values: unknown[]) => (await pool.query(statement(strings), values)).rows as T[],
    query: async (text: string, values: unknown[] = []) => {
      const r = await pool.query(text, values);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
    async migrate() {
      const list = readMigrations(migrationsDir);
      const locker = new pg.Client({ connectionString: url });
      locker.on('error', () => {}); // the server going away fails the query in flight; that is reported
      await locker.connect();
      try {
        const query: RawQuery = (sql) => locker.query(sql);
        if (await historyIsCurrent(query, list)) return [];
        // One instance migrates at a time; the others wait here, then find nothing left to apply.
        await locker.query('SELECT pg_advisory_lock(hashtext($1))', ['fanpin:migrate']);
        if (await historyIsCurrent(query, list)) return [];
        return await migrateInWorker(url, migrationsDir);
      } finally {
        await locker.end().catch(() => {});
      }
    },
    readiness: () => readinessOf(prisma, expected),
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Runs the schema engine in a worker thread (migrate-worker.ts): its WebAssembly module and heap (about 40 MB on
 * Node 20) are freed when the worker ends, instead of staying in the server for as long as it runs.
 */
function migrateInWorker(url: string, migrationsDir: string): Promise<string[]> {
  const data = { url, migrationsDir };
  // Compiled (dist/): a plain module. From source (tsx, vitest): load the TypeScript through tsx's API.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.tsImport(${JSON.stringify(new URL('./migrate-worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`,
        { eval: true, workerData: data },
      )
    : new Worker(new URL('./migrate-worker.js', import.meta.url), { workerData: data });
  return new Promise<string[]>((resolve, reject) => {
    let result: MigrateResult | undefined;
    worker.once('message', (m: MigrateResult) => (result = m));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!result) return reject(new Error(`the migration worker stopped (exit code ${code}) without an answer`));
      if (result.ok) return resolve(result.applied);
      const { name, message, code: errorCode, heading, problems } = result.error;
      if (heading !== undefined && problems) return reject(new DatabaseError(heading, problems));
      reject(Object.assign(new Error(message), { name, ...(errorCode ? { code: errorCode } : {}) }));
    });
  });
}

export async function openDatabase(opts: {
  databaseUrl?: string | undefined;
  dataDir: string;
  migrationsDir?: string;
  databaseWaitS?: number;
  onRetry?: (problem: string, attempt: number) => void;
}): Promise<Database> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.migrationsDir, { waitS: opts.databaseWaitS ?? 0, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) })
    : openPglite(opts.dataDir, opts.migrationsDir);
}

/** Compares the applied migrations with `expected`, the folder names this build has (read once at open). */
async function readinessOf(prisma: PrismaClient, expected: string[]): Promise<{ ok: boolean; pending: string[]; error?: string }> {
  try {
    const rows = await prisma.$queryRawUnsafe<Array<{ migration_name: string }>>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    const pending = expected.filter((n) => !applied.has(n));
    return { ok: pending.length === 0, pending };
  } catch (e) {
    const message = (e as Error).message;
    return { ok: false, pending: expected, error: /_prisma_migrations/.test(message) ? 'migrations not applied' : 'database unreachable' };
  }
}
