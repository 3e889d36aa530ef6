import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite, DatabaseError, type Database } from '../../server/db/index.ts';
import { dumpEmbedded, restoreEmbedded } from '../../server/db/dump.ts';

describe('embedded database (PGlite) data directory', () => {
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  it('records the PGlite version beside the data and refuses a directory made by another version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-'));
    const db = await openPglite(dir);
    await db.close();
    const marker = JSON.parse(readFileSync(join(dir, 'pglite-version.json'), 'utf8')) as { pglite: string };
    expect(marker.pglite).toMatch(/^\d+\.\d+\.\d+$/);

    writeFileSync(join(dir, 'pglite-version.json'), JSON.stringify({ pglite: '0.1.0' }));
    const error = await openPglite(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toContain(`was made by PGlite 0.1.0; this build uses PGlite ${marker.pglite}`);
    expect((error as Error).message).toContain('npm run db:dump');
  });

  it('refuses a data directory another live process holds, and frees it on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-'));
    writeFileSync(join(dir, 'pglite.lock'), String(process.ppid));
    await expect(openPglite(dir)).rejects.toThrow(`is locked by process ${process.ppid}`);

    writeFileSync(join(dir, 'pglite.lock'), '999999999'); // a process that no longer exists: a stale lock
    const db = await openPglite(dir);
    open.push(db);
    expect(readFileSync(join(dir, 'pglite.lock'), 'utf8')).toBe(String(process.pid));
    await expect(openPglite(dir)).rejects.toThrow('already open in this process');
    await db.close();
    expect(existsSync(join(dir, 'pglite.lock'))).toBe(false);
  });

  it('dumps to SQL and restores into a new data directory, migrations included', async () => {
    const from = await openPglite(mkdtempSync(join(tmpdir(), 'pglite-')));
    open.push(from);
    await from.migrate();
    await from.prisma.inboundUpdate.create({ data: { channel: 'telegram', platformId: '42', payload: new Uint8Array([7, 8]) } });
    const file = join(mkdtempSync(join(tmpdir(), 'dump-')), 'dump.sql');
    await dumpEmbedded(from, file);
    await from.close();

    const to = await openPglite(mkdtempSync(join(tmpdir(), 'pglite-')));
    open.push(to);
    await restoreEmbedded(to, file);
    expect(await to.migrate()).toEqual([]);
    expect(await to.readiness()).toEqual({ ok: true, pending: [] });
    const rows = await to.prisma.inboundUpdate.findMany();
    expect(rows.map((r) => [r.platformId, [...r.payload]])).toEqual([['42', [7, 8]]]);
    await expect(restoreEmbedded(to, file)).rejects.toThrow('needs an empty embedded database');
  });
});
