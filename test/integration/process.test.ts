import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alive, descendants, spawnServer } from '../helpers/process.ts';
import { freshDatabase, TEST_DB, TEST_ENCRYPTION_KEY, type TestPlace } from '../helpers/db.ts';

// `npm start` as an operator runs it: a separate process, started, asked for readiness, stopped with a signal,
// and started again on the same data.
describe(`the server process on ${TEST_DB}`, () => {
  let place: TestPlace;
  beforeEach(async () => {
    place = await freshDatabase({ empty: true });
  });
  afterEach(async () => {
    await place.cleanup();
  });

  const env = () => ({ DATA_DIR: place.dataDir, PORT: '0', ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl, DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {}) });

  it('becomes ready, stops cleanly on SIGTERM, and restarts on the same data without migrating again', async () => {
    const first = spawnServer(env());
    const migrated = await first.waitForLog('applied database migrations');
    expect((migrated.applied as string[]).length).toBeGreaterThan(0);
    const { port } = (await first.waitForLog('listening')) as { port: number };
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: TEST_DB });
    if (TEST_DB === 'pglite') expect(existsSync(join(place.dataDir, 'pglite.lock'))).toBe(true); // held while it runs
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await first.waitForLog('stopped');
    if (TEST_DB === 'pglite') expect(existsSync(join(place.dataDir, 'pglite.lock'))).toBe(false);

    const second = spawnServer(env());
    const upToDate = await second.waitForLog('database schema is up to date');
    expect(upToDate.applied).toEqual([]);
    const again = (await second.waitForLog('listening')) as { port: number };
    expect((await fetch(`http://127.0.0.1:${again.port}/readyz`)).status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});

// As systemd (the main PID), a container (PID 1) or pm2 runs it: the README's command, `npm start`, and the
// signal sent to that process. It must reach the server, which drains, closes the database and exits, leaving
// no process behind.
describe(`npm start under a service manager, ${TEST_DB}`, () => {
  it('SIGTERM to npm stops the server gracefully within 10 s and leaves no process', async () => {
    const place = await freshDatabase({ empty: true });
    try {
      const env = { DATA_DIR: place.dataDir, PORT: '0', ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl, DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {}) };
      const npm = spawnServer(env, { viaNpm: true });
      const { port } = (await npm.waitForLog('listening', 120_000)) as { port: number };
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const below = descendants(npm.child.pid!);
      expect(below.length).toBeGreaterThan(0); // the server runs under npm
      const signalled = Date.now();
      npm.child.kill('SIGTERM');
      const code = await npm.exited;
      await npm.waitForLog('stopped', 1000);
      const left = () => below.filter(alive);
      while (left().length > 0 && Date.now() - signalled < 10_000) await new Promise((r) => setTimeout(r, 50));
      expect(left()).toEqual([]);
      expect(code).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      if (TEST_DB === 'pglite') expect(existsSync(join(place.dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      await place.cleanup();
    }
  });
});
