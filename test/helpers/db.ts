import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../server/config.ts';
import { installedPgliteVersion, openDatabase, type Database } from '../../server/db/index.ts';
import { MIGRATIONS_DIR } from '../../server/db/history.ts';

/** Which database this test project runs on: the embedded one, or the PostgreSQL server in TEST_DATABASE_URL. */
export const TEST_DB = (process.env.TEST_DB ?? 'pglite') as 'pglite' | 'postgres';

export type TestPlace = { databaseUrl: string | undefined; dataDir: string; cleanup(): Promise<void> };

/**
 * A database of the test file's own, so files run in parallel without colliding: a fresh DATA_DIR for PGlite,
 * or a new database on the PostgreSQL server (dropped afterwards).
 */
export async function freshDatabase(opts: { empty?: boolean } = {}): Promise<TestPlace> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fanpin-test-'));
  if (TEST_DB === 'pglite') {
    if (!opts.empty) cpSync(await pgliteTemplate(), dataDir, { recursive: true });
    return { databaseUrl: undefined, dataDir, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const template = opts.empty ? undefined : await migratedTemplate(admin);
  const name = `fanpin_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir,
    cleanup: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * freshDatabase, opened and migrated (nothing to migrate on the migrated copy, as a start would find it);
 * `close()` closes it, then removes it.
 */
export async function openFreshDatabase(): Promise<{ place: TestPlace; db: Database; close(): Promise<void> }> {
  const place = await freshDatabase();
  const db = await openDatabase(place);
  await db.migrate();
  return {
    place,
    db,
    close: async () => {
      await db.close();
      await place.cleanup();
    },
  };
}

/** The migrations folder's contents, hashed: a template is made once per set of migrations. */
function migrationsHash(extra = ''): string {
  const hash = createHash('sha256').update(extra);
  for (const dir of readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    hash.update(`${dir}\0${readFileSync(join(MIGRATIONS_DIR, dir, 'migration.sql'))}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

let pgliteDir: Promise<string> | undefined;

/**
 * On PGlite, likewise: a data directory with this build's migrations applied, made once per set of migrations and
 * PGlite version in the temporary folder, and copied for each test. A new PGlite directory costs seconds of initdb
 * (and the schema engine for its first migration); a copy of 40 MB costs a fraction of one.
 */
function pgliteTemplate(): Promise<string> {
  pgliteDir ??= (async () => {
    const target = join(tmpdir(), `fanpin-pglite-tpl-${migrationsHash(installedPgliteVersion())}`);
    if (existsSync(join(target, 'pglite-version.json'))) return target;
    const building = mkdtempSync(join(tmpdir(), 'fanpin-pglite-tplnew-'));
    const db = await openDatabase({ dataDir: building });
    await db.migrate();
    await db.close();
    try {
      renameSync(building, target);
    } catch (e) {
      // another test process made it meanwhile: then this copy is not needed
      if (!existsSync(join(target, 'pglite-version.json'))) throw e;
      rmSync(building, { recursive: true, force: true });
    }
    return target;
  })();
  return pgliteDir;
}

let template: Promise<string> | undefined;

/**
 * On PostgreSQL, a database with this build's migrations applied, made once per set of migrations and kept on the
 * server, that each test's database is copied from (CREATE DATABASE … TEMPLATE): a start on it finds nothing to
 * migrate, so it skips the schema engine, which otherwise costs each test start seconds. Tests of migrating itself
 * ask for an empty database (`freshDatabase({ empty: true })`).
 */
function migratedTemplate(admin: string): Promise<string> {
  template ??= (async () => {
    const name = `fanpin_tpl_${migrationsHash()}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      if ((await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) return name;
      const building = `fanpin_tplnew_${randomBytes(6).toString('hex')}`;
      await client.query(`CREATE DATABASE ${building}`);
      const url = new URL(admin);
      url.pathname = `/${building}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'fanpin-tpl-'));
      try {
        const db = await openDatabase({ databaseUrl: url.toString(), dataDir });
        await db.migrate();
        await db.close();
        // another test process may have made it meanwhile: then this copy is not needed
        await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`).catch(async (e: { code?: string }) => {
          if (e.code !== '42P04') throw e;
          await client.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      return name;
    } finally {
      await client.end();
    }
  })();
  return template;
}

/** The sample deployment's configuration pointed at a test database, on a free port. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export function testConfig(place: TestPlace, env: Record<string, string> = {}): Config {
  return loadConfig({
    PORT: '0',
    DATA_DIR: place.dataDir,
    ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl, DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {}),
    ...env,
  });
}
