import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { bindMigrationAwareSqlAdapterFactory, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { REPO_ROOT } from '../config.ts';

/**
 * Prisma's schema engine as WebAssembly (no native binary, no download), driven through a driver adapter.
 * Node 20 cannot import the package entry (it imports a .wasm module), so we instantiate the module by hand.
 */

export const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');
export const SCHEMA_PATH = join(REPO_ROOT, 'prisma', 'schema.prisma');
export const FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

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

/** The migrations folder in the shape the engine takes (Prisma's own layout: <timestamp>_<name>/migration.sql). */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = join(dir, 'migration_lock.toml');
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
        .map((e) => e.name)
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => ({
      path: name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: readFileSync(join(dir, name, 'migration.sql'), 'utf8') } },
    })),
  };
}

export function migrationNames(list: MigrationList): string[] {
  return list.migrationDirectories.map((d) => d.path);
}
