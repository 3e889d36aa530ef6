import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, DatabaseError, type Database } from '../../server/db/index.ts';
import { MIGRATIONS_DIR } from '../../server/db/history.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';

const shipped = readdirSync(MIGRATIONS_DIR).filter((n) => /^\d{14}_/.test(n)).sort();

// Start-up skips the schema engine when the database already holds exactly this build's migrations. These are
// the histories that must still reach the engine and be refused, as before that shortcut.
describe(`migration history checks on ${TEST_DB}`, () => {
  let place: TestPlace;
  let migrationsDir: string;
  const open: Database[] = [];
  const migrate = async () => {
    const db = await openDatabase({ ...place, migrationsDir });
    open.push(db);
    try {
      return await db.migrate();
    } finally {
      await db.close();
    }
  };

  beforeEach(async () => {
    place = await freshDatabase({ empty: true });
    migrationsDir = mkdtempSync(join(tmpdir(), 'migrations-'));
    cpSync(MIGRATIONS_DIR, migrationsDir, { recursive: true });
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    await place.cleanup();
  });

  it('refuses an older build: the database has a migration this folder lacks', async () => {
    expect(await migrate()).toEqual(shipped);
    const last = shipped[shipped.length - 1]!;
    rmSync(join(migrationsDir, last), { recursive: true });
    const error = await migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toMatch(new RegExp(`does not know: ${last}`));
  });

  it('refuses a history that diverges: one migration unknown here, another not applied there', async () => {
    expect(await migrate()).toEqual(shipped);
    const last = shipped[shipped.length - 1]!;
    rmSync(join(migrationsDir, last), { recursive: true });
    mkdirSync(join(migrationsDir, '29990101000000_other_branch'));
    writeFileSync(join(migrationsDir, '29990101000000_other_branch', 'migration.sql'), 'ALTER TABLE "inbound_update" ADD COLUMN "other" TEXT;\n');
    await expect(migrate()).rejects.toThrow(DatabaseError);
    await expect(migrate()).rejects.toThrow(/diverge/);
  });

  it('refuses to start on a migration that failed part-way at an earlier start', async () => {
    mkdirSync(join(migrationsDir, '29990101000000_broken'));
    writeFileSync(join(migrationsDir, '29990101000000_broken', 'migration.sql'), 'ALTER TABLE "no_such_table" ADD COLUMN "x" TEXT;\n');
    await expect(migrate()).rejects.toThrow(/no_such_table/);
    const error = await migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toContain('failed part-way earlier: 29990101000000_broken');
  });

  it('applies nothing and refuses nothing on a database that is up to date, start after start', async () => {
    expect(await migrate()).toEqual(shipped);
    expect(await migrate()).toEqual([]);
    expect(await migrate()).toEqual([]);
  });
});
