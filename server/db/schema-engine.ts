import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { DatabaseError, FILTERS, MIGRATIONS_DIR, SCHEMA_PATH, readMigrations } from './history.ts';

/**
 * Prisma's schema engine as WebAssembly (no native binary, no download), driven through a driver adapter.
 * Node 20 cannot import the package entry (it imports a .wasm module), so we instantiate the module by hand.
 *
 * Once instantiated, the module stays in this thread's memory (tens of MB on Node 20). Start-up imports this file
 * only when the migration history needs the engine (server/db/index.ts); on PostgreSQL it does so in a worker
 * thread (migrate-worker.ts), whose memory goes when the worker ends.
 */

export { FILTERS, MIGRATIONS_DIR, SCHEMA_PATH, readMigrations, migrationNames } from './history.ts';
export { wholeScripts } from './whole-scripts.ts';

type WasmApi = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, object>) => { exports: unknown };
};

let loaded = false;
function loadWasm(): void {
  if (loaded) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = readFileSync(join(dirname(entry), 'schema_engine_bg.wasm'));
  // Node's global WebAssembly (its types live in lib.dom, which this project does not load).
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(new wasm.Module(bytes), { './schema_engine_bg.js': bg });
  const exports = instance.exports as { __wbindgen_start: () => void };
  (bg as unknown as { __wbg_set_wasm: (e: unknown) => void }).__wbg_set_wasm(exports);
  exports.__wbindgen_start();
  loaded = true;
}

/** Runs `fn` with a schema engine bound to the adapter factory, and frees the engine afterwards. */
export async function withSchemaEngine<T>(factory: SqlMigrationAwareDriverAdapterFactory, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  loadWasm();
  const schema = readFileSync(SCHEMA_PATH, 'utf8');
  const engine = (await bg.SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  )) as SchemaEngine;
  try {
    return await fn(engine);
  } finally {
    engine.free();
  }
}

/**
 * Applies the migrations the database lacks, through the engine; refuses an edited, failed or diverged history.
 * `factory` runs scripts whole (wrap it with wholeScripts).
 */
export async function migrateWith(factory: SqlMigrationAwareDriverAdapterFactory, migrationsDir = MIGRATIONS_DIR): Promise<string[]> {
  const list = readMigrations(migrationsDir);
  return withSchemaEngine(factory, async (engine) => {
    const diag = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: FILTERS });
    const problems: string[] = [];
    if (diag.editedMigrationNames.length > 0)
      problems.push(`already applied, but edited since: ${diag.editedMigrationNames.join(', ')}. Restore the original files; make a new migration for the change.`);
    if (diag.failedMigrationNames.length > 0)
      problems.push(`failed part-way earlier: ${diag.failedMigrationNames.join(', ')}. Repair the database by hand, then mark it rolled back.`);
    const h = diag.history;
    if (h?.diagnostic === 'migrationsDirectoryIsBehind')
      problems.push(`the database has migrations this build does not know: ${h.unpersistedMigrationNames.join(', ')}. Is this an older build?`);
    if (h?.diagnostic === 'historiesDiverge')
      problems.push(`the database and prisma/migrations diverge after ${h.lastCommonMigrationName ?? 'the start'}: unknown ${h.unpersistedMigrationNames.join(', ')}.`);
    if (problems.length > 0) throw new DatabaseError('The database migration history does not match this build:', problems);
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: list, filters: FILTERS });
    return appliedMigrationNames;
  });
}
