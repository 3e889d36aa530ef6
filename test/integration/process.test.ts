import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer } from '../helpers/process.ts';
import { freshDatabase, TEST_DB, TEST_ENCRYPTION_KEY, type TestPlace } from '../helpers/db.ts';

// `npm start` as an operator runs it: a separate process, started, asked for readiness, stopped with a signal,
// and started again on the same data.
describe(`the server process on ${TEST_DB}`, () => {
  let place: TestPlace;
  beforeEach(async () => {
    place = await freshDatabase();
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
