import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMigration, pendingSchemaChange } from '../../server/db/migrations.ts';

describe('schema.prisma and prisma/migrations', () => {
  it('agree: the migrations build exactly the schema', async () => {
    expect(await pendingSchemaChange()).toBe('');
  });

  it('a schema ahead of its migrations is caught, and `db:migration` writes the missing one in Prisma\'s layout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    const missing = await pendingSchemaChange(dir);
    expect(missing).toContain('CREATE TABLE "inbound_update"');

    const folder = await createMigration('init', new Date('2026-01-02T03:04:05Z'), dir);
    expect(folder).toBe(join(dir, '20260102030405_init'));
    expect(readFileSync(join(folder!, 'migration.sql'), 'utf8')).toContain('CREATE TABLE "inbound_update"');
    expect(readFileSync(join(dir, 'migration_lock.toml'), 'utf8')).toContain('provider = "postgresql"');
    expect(await pendingSchemaChange(dir)).toBe('');
    expect(await createMigration('again', new Date(), dir)).toBeUndefined();
    expect(readdirSync(dir).filter((n) => !n.endsWith('.toml'))).toEqual(['20260102030405_init']);
  });

  it('refuses a migration name that would make an awkward folder, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm-'));
    await expect(createMigration('Add Leads!', new Date(), dir)).rejects.toThrow(/lower-case/);
    expect(readdirSync(dir)).toEqual([]); // no folder, no lock file
  });
});
