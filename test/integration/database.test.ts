import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, appendFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, DatabaseError, type Database } from '../../server/db/index.ts';
import { MIGRATIONS_DIR } from '../../server/db/schema-engine.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';

const shipped = readdirSync(MIGRATIONS_DIR).filter((n) => /^\d{14}_/.test(n)).sort();

describe(`database on ${TEST_DB}`, () => {
  let place: TestPlace;
  let migrationsDir: string;
  const open: Database[] = [];
  const openDb = async () => {
    const db = await openDatabase({ ...place, migrationsDir });
    open.push(db);
    return db;
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

  it('applies every migration on a new database, and nothing the second time', async () => {
    const db = await openDb();
    expect(await db.readiness()).toMatchObject({ ok: false });
    expect(await db.migrate()).toEqual(shipped);
    expect(await db.migrate()).toEqual([]);
    expect(await db.readiness()).toEqual({ ok: true, pending: [] });
    expect(db.kind).toBe(TEST_DB);
  });

  it('keeps the data across a restart and applies only the new migration', async () => {
    const first = await openDb();
    await first.migrate();
    await first.prisma.inboundUpdate.create({ data: { channel: 'telegram', platformId: '1001', payload: new Uint8Array([1, 2, 3]) } });
    await first.close();

    mkdirSync(join(migrationsDir, '29990101000000_add_note'));
    writeFileSync(join(migrationsDir, '29990101000000_add_note', 'migration.sql'), 'ALTER TABLE "inbound_update" ADD COLUMN "note" TEXT;\n');

    const second = await openDb();
    expect(await second.readiness()).toEqual({ ok: false, pending: ['29990101000000_add_note'] });
    expect(await second.migrate()).toEqual(['29990101000000_add_note']);
    const rows = await second.prisma.$queryRawUnsafe<Array<{ platform_id: string; note: string | null }>>('SELECT platform_id, note FROM inbound_update');
    expect(rows).toEqual([{ platform_id: '1001', note: null }]);
    await expect(
      second.prisma.inboundUpdate.create({ data: { channel: 'telegram', platformId: '1001', payload: new Uint8Array([4]) } }),
    ).rejects.toMatchObject({ code: 'P2002' });
  });

  it('refuses to run on a migration that was edited after it was applied', async () => {
    const first = await openDb();
    await first.migrate();
    await first.close();
    appendFileSync(join(migrationsDir, shipped[0]!, 'migration.sql'), '\n-- edited afterwards\n');
    const second = await openDb();
    await expect(second.migrate()).rejects.toThrow(DatabaseError);
    await expect(second.migrate()).rejects.toThrow(/edited since: .*_init/);
  });

  it('reports a failing migration as an error, and refuses to continue past it', async () => {
    mkdirSync(join(migrationsDir, '29990101000000_broken'));
    writeFileSync(join(migrationsDir, '29990101000000_broken', 'migration.sql'), 'ALTER TABLE "no_such_table" ADD COLUMN "x" TEXT;\n');
    mkdirSync(join(migrationsDir, '29990101000001_after'));
    writeFileSync(join(migrationsDir, '29990101000001_after', 'migration.sql'), 'CREATE TABLE "after_broken" ("id" INTEGER);\n');
    const db = await openDb();
    await expect(db.migrate()).rejects.toThrow(/no_such_table/);
    expect((await db.readiness()).pending).toEqual(['29990101000000_broken', '29990101000001_after']);
    // the migration after the broken one was not run
    expect(await db.prisma.$queryRawUnsafe("SELECT to_regclass('after_broken')::text AS t")).toEqual([{ t: null }]);
    // and a second start refuses too, naming the migration that failed
    await expect(db.migrate()).rejects.toThrow(/failed part-way earlier: 29990101000000_broken/);
    expect(await db.prisma.$queryRawUnsafe("SELECT to_regclass('after_broken')::text AS t")).toEqual([{ t: null }]);
  });
});
