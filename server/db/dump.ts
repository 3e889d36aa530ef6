import { readFileSync, writeFileSync } from 'node:fs';
import { pgDump } from '@electric-sql/pglite-tools/pg_dump';
import type { Database } from './index.ts';
import { DatabaseError } from './index.ts';

/**
 * Dump and restore of the embedded database as plain SQL: the way to move data between PGlite versions (whose
 * data directories are not compatible) or onto a PostgreSQL server (`psql -f dump.sql`).
 */
export async function dumpEmbedded(db: Database, file: string): Promise<void> {
  if (!db.pglite) throw new DatabaseError('db dump works on the embedded database only:', ['for PostgreSQL use pg_dump.']);
  const dump = await pgDump({ pg: db.pglite, args: ['--no-owner', '--no-privileges'] });
  writeFileSync(file, await dump.text(), { mode: 0o600 });
}

export async function restoreEmbedded(db: Database, file: string): Promise<void> {
  if (!db.pglite) throw new DatabaseError('db restore works on the embedded database only:', ['for PostgreSQL use psql -f.']);
  const tables = await db.pglite.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
  if ((tables.rows[0]?.n ?? 0) > 0) {
    throw new DatabaseError('db restore needs an empty embedded database:', ['point DATA_DIR at a new folder and run it again.']);
  }
  await db.pglite.exec(readFileSync(file, 'utf8'));
  // pg_dump's script empties search_path for its session; PGlite has one session, so put it back.
  await db.pglite.exec('RESET ALL');
}
