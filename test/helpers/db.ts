import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../server/config.ts';

/** Which database this test project runs on: the embedded one, or the PostgreSQL server in TEST_DATABASE_URL. */
export const TEST_DB = (process.env.TEST_DB ?? 'pglite') as 'pglite' | 'postgres';

export type TestPlace = { databaseUrl: string | undefined; dataDir: string; cleanup(): Promise<void> };

/**
 * A database of the test file's own, so files run in parallel without colliding: a fresh DATA_DIR for PGlite,
 * or a new database on the PostgreSQL server (dropped afterwards).
 */
export async function freshDatabase(): Promise<TestPlace> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fanpin-test-'));
  if (TEST_DB === 'pglite') {
    return { databaseUrl: undefined, dataDir, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `fanpin_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
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
