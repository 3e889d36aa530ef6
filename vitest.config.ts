import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Unit tests run once. Tests under test/integration/ touch the database: they run on the embedded database
// (PGlite), and again on a PostgreSQL server when TEST_DATABASE_URL is set (.ci/run sets it). Files named
// *.pg.test.ts are about the PostgreSQL server itself (an outage of it) and run in the PostgreSQL half only.
// Tests under test/browser/ drive the console in Chromium, once.
const postgres = process.env.TEST_DATABASE_URL;
if (!postgres && !process.env.FANPIN_TOLD_NO_PG) {
  process.env.FANPIN_TOLD_NO_PG = '1'; // the config is read more than once per run: say it once
  console.log('TEST_DATABASE_URL is not set: the PostgreSQL half of the suite is not run (see README, "Tests").');
}

export default defineConfig({
  test: {
    // Most test files wait on a database, a child process or a timer rather than compute: more files at once than
    // cores (vitest's default is cores - 1, a single file at a time on a 2-core machine) halves the suite's time.
    maxWorkers: Math.max(3, availableParallelism()),
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'pglite', include: ['test/integration/**/*.test.ts'], exclude: ['**/*.pg.test.ts', '**/node_modules/**'], env: { TEST_DB: 'pglite' } } },
      // Pages in Debian's Chromium (test/browser/): once, on the embedded database; what they call is the same
      // intake code the PostgreSQL half covers.
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], env: { TEST_DB: 'pglite' } } },
      ...(postgres
        ? [{ extends: true as const, test: { name: 'postgres', include: ['test/integration/**/*.test.ts'], env: { TEST_DB: 'postgres' } } }]
        : []),
    ],
  },
});
