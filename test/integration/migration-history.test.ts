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
  it('moves the staff messages into the one outbox and keeps the county deliveries, losing no row', async () => {
    const last = '20261206025439_one_outbox';
    expect(shipped).toContain(last);
    rmSync(join(migrationsDir, last), { recursive: true });
    await migrate();
    const before = await openDatabase({ ...place, migrationsDir });
    open.push(before);
    const lead = '00000000-0000-4000-8000-000000000001';
    const staff = '00000000-0000-4000-8000-000000000002';
    await before.prisma.$executeRawUnsafe(`INSERT INTO outbox (lead_id, key, event, payload, state, delivered_at) VALUES
      ('${lead}', 'k-sent', 'lead.received', '\\x01', 'delivered', now()), ('${lead}', 'k-dead', 'lead.moved', '\\x02', 'dead', NULL)`);
    await before.prisma.$executeRawUnsafe(`INSERT INTO delivery (key, channel, chat_id, staff_id, payload, state, next_attempt_at, created_at, sent_at) VALUES
      ('d-sent', 'telegram', '42', '${staff}', '\\x03', 'sent', now(), now(), now()), ('d-wait', 'wecom-app', 'wang', NULL, '\\x04', 'pending', now(), now(), NULL)`);
    await before.close();
    cpSync(join(MIGRATIONS_DIR, last), join(migrationsDir, last), { recursive: true });
    expect(await migrate()).toEqual([last]);
    const after = await openDatabase({ ...place, migrationsDir });
    open.push(after);
    const rows = await after.prisma.outbox.findMany({ orderBy: { id: 'asc' }, select: { kind: true, lane: true, thread: true, key: true, leadId: true, staffId: true, state: true, sentAt: true } });
    expect(rows.map(({ sentAt, ...r }) => ({ ...r, sent: sentAt !== null }))).toEqual([
      { kind: 'county', lane: 'county', thread: lead, key: 'k-sent', leadId: lead, staffId: null, state: 'sent', sent: true },
      { kind: 'county', lane: 'county', thread: lead, key: 'k-dead', leadId: lead, staffId: null, state: 'dead', sent: false },
      { kind: 'staff', lane: 'telegram', thread: '42', key: 'd-sent', leadId: null, staffId: staff, state: 'sent', sent: true },
      { kind: 'staff', lane: 'wecom-app', thread: 'wang', key: 'd-wait', leadId: null, staffId: null, state: 'pending', sent: false },
    ]);
    await after.close();
  });
});
