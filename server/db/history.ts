import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';
import { REPO_ROOT } from '../config.ts';
import { ConfigError } from '../config-error.ts';

/**
 * The migrations folder and the database's record of it (`_prisma_migrations`), without the schema engine: the
 * engine is large (a WebAssembly module that stays in memory once loaded), so start-up loads it only when this
 * check finds something for it to do (server/db/index.ts).
 */

export const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');
export const SCHEMA_PATH = join(REPO_ROOT, 'prisma', 'schema.prisma');
export const FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

/** A problem with the database, reported at start-up in one readable block. */
export class DatabaseError extends ConfigError {}

/** The migrations folder in the shape the engine takes (Prisma's own layout: <timestamp>_<name>/migration.sql). */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = join(dir, 'migration_lock.toml');
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
        .map((e) => e.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => ({
      path: name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: readFileSync(join(dir, name, 'migration.sql'), 'utf8') } },
    })),
  };
}

export function migrationNames(list: MigrationList): string[] {
  return list.migrationDirectories.map((d) => d.path);
}

/** The checksum the schema engine records in `_prisma_migrations.checksum`: sha256 of the script, lower-case hex. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/** Runs one SQL text (no parameters) and returns its rows: a pg client's or PGlite's `query`. */
export type RawQuery = (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>;

/**
 * True only when the engine would find nothing to do and nothing to refuse: the lock file names PostgreSQL (or
 * is absent, as the engine allows), `_prisma_migrations` holds exactly this folder's migrations, each finished,
 * none rolled back or left half-way, each with the checksum of its file as it is now. Anything else (a new
 * migration, an edited or unknown one, a failed one, no table yet) answers false, and the caller runs the engine,
 * which applies what is pending or refuses the history with its own diagnosis.
 */
export async function historyIsCurrent(query: RawQuery, list: MigrationList): Promise<boolean> {
  const lock = list.lockfile.content;
  if (lock !== null && !/^\s*provider\s*=\s*"postgresql"\s*$/m.test(lock)) return false;
  const table = await query("SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present");
  if (table.rows[0]?.present !== true) return false;
  const { rows } = await query(
    'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations',
  );
  const expected = new Map(list.migrationDirectories.map((d) => [d.path, d.migrationFile.content.tag === 'ok' ? migrationChecksum(d.migrationFile.content.value) : undefined]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.rolled_back === true) continue; // the engine ignores rolled-back attempts
    if (row.finished !== true) return false; // failed part-way, or another instance is applying it now
    const name = String(row.migration_name);
    const sum = expected.get(name);
    if (sum === undefined || sum !== row.checksum) return false; // unknown to this build, or edited since
    applied.add(name);
  }
  return applied.size === expected.size;
}
