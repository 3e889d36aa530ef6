import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';
import { ConfigError, displayPath } from '../config-error.ts';
import { FILTERS, MIGRATIONS_DIR, migrationNames, readMigrations, withSchemaEngine } from './schema-engine.ts';

export { PrismaClient };
export type { Prisma } from './generated/client.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export type Database = {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The embedded database itself (PGlite only), for dump and restore. */
  pglite?: PGlite;
  /** Applies the migrations this build has and the database lacks; refuses an edited or diverged history. */
  migrate(): Promise<string[]>;
  /** Database reachable and every migration of this build applied. */
  readiness(): Promise<{ ok: boolean; pending: string[]; error?: string }>;
  close(): Promise<void>;
};

/** A problem with the database, reported at start-up in one readable block. */
export class DatabaseError extends ConfigError {}

const require = createRequire(import.meta.url);
function installedPgliteVersion(): string {
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

/**
 * Migration scripts must run whole, as the stock `prisma migrate deploy` runs them. The adapters do not:
 * pglite-prisma-adapter does not wait for the script (a failing migration would surface as an unhandled
 * rejection), and @prisma/adapter-pg splits it on every ";" (breaking function bodies, and statements after a
 * ";" in a comment). This wraps a factory so each script goes to the database in one simple-protocol call.
 */
export function wholeScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  const fix = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const inner = adapter as unknown as { client: { exec?: (sql: string) => Promise<unknown>; query: (sql: string) => Promise<unknown> }; onError(e: unknown): never };
    adapter.executeScript = async (script: string) => {
      try {
        if (typeof inner.client.exec === 'function') await inner.client.exec(script);
        else await inner.client.query(script);
      } catch (e) {
        inner.onError(e);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => fix(await factory.connect()),
    connectToShadowDb: async () => fix(await factory.connectToShadowDb()),
  };
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
    migrate: () => migrateWith(factory, migrationsDir),
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

export async function openPostgres(url: string, migrationsDir = MIGRATIONS_DIR): Promise<Database> {
  const where = describeServer(url);
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await probe.connect();
    await probe.query('SELECT 1');
  } catch (e) {
    throw new DatabaseError('Cannot connect to the PostgreSQL server in DATABASE_URL:', [`${where}: ${explainPgError(e)}`]);
  } finally {
    await probe.end().catch(() => {});
  }
  const expected = migrationNames(readMigrations(migrationsDir));
  // 20 connections (pg defaults to 10): the channels handle many people at once
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 20 }) });
  let closed = false;
  return {
    kind: 'postgres',
    prisma,
    async migrate() {
      // One instance migrates at a time; the others wait here, then find nothing left to apply.
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      try {
        await locker.query('SELECT pg_advisory_lock(hashtext($1))', ['fanpin:migrate']);
        return await migrateWith(wholeScripts(new PrismaPg(pool)), migrationsDir);
      } finally {
        await pool.end().catch(() => {});
        await locker.end().catch(() => {});
      }
    },
    readiness: () => readinessOf(prisma, expected),
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
    },
  };
}

export async function openDatabase(opts: { databaseUrl?: string | undefined; dataDir: string; migrationsDir?: string }): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.migrationsDir) : openPglite(opts.dataDir, opts.migrationsDir);
}

async function migrateWith(factory: SqlMigrationAwareDriverAdapterFactory, migrationsDir: string): Promise<string[]> {
  const list = readMigrations(migrationsDir);
  return withSchemaEngine(factory, async (engine) => {
    const diag = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: FILTERS });
    const problems: string[] = [];
    if (diag.editedMigrationNames.length > 0)
      problems.push(`already applied, but edited since: ${diag.editedMigrationNames.join(', ')}. Restore the original files; make a new migration for the change.`);
    if (diag.failedMigrationNames.length > 0)
      problems.push(`failed part-way earlier: ${diag.failedMigrationNames.join(', ')}. Repair the database by hand, then mark it rolled back.`);
    const h = diag.history;
    if (h?.diagnostic === 'migrationsDirectoryIsBehind')
      problems.push(`the database has migrations this build does not know: ${h.unpersistedMigrationNames.join(', ')}. Is this an older build?`);
    if (h?.diagnostic === 'historiesDiverge')
      problems.push(`the database and prisma/migrations diverge after ${h.lastCommonMigrationName ?? 'the start'}: unknown ${h.unpersistedMigrationNames.join(', ')}.`);
    if (problems.length > 0) throw new DatabaseError('The database migration history does not match this build:', problems);
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: list, filters: FILTERS });
    return appliedMigrationNames;
  });
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
