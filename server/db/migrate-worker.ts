import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { ConfigError } from '../config-error.ts';
import { migrateWith } from './schema-engine.ts';
import { wholeScripts } from './whole-scripts.ts';

/**
 * Worker thread that applies the migrations on a PostgreSQL server (started by server/db/index.ts): the schema
 * engine's WebAssembly module and its heap live in this thread and are freed when it ends.
 * In: workerData { url, migrationsDir }. Out: one message, MigrateResult.
 */

export type MigrateResult =
  | { ok: true; applied: string[] }
  | { ok: false; error: { name: string; message: string; code?: string; heading?: string; problems?: string[] } };

const { url, migrationsDir } = workerData as { url: string; migrationsDir: string };
const pool = new pg.Pool({ connectionString: url, max: 2 });
// a server going away while we wait fails the query in flight; an idle client's error must not end the thread
pool.on('error', () => {});

let result: MigrateResult;
try {
  result = { ok: true, applied: await migrateWith(wholeScripts(new PrismaPg(pool)), migrationsDir) };
} catch (e) {
  const err = e as Error & { code?: unknown };
  result = {
    ok: false,
    error: {
      name: err?.name ?? 'Error',
      message: String(err?.message ?? e),
      ...(typeof err?.code === 'string' ? { code: err.code } : {}),
      ...(e instanceof ConfigError ? { heading: e.heading, problems: e.problems } : {}),
    },
  };
} finally {
  await pool.end().catch(() => {});
}
parentPort!.postMessage(result!);
