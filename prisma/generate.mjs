// Generates the Prisma client without Prisma's native engine binaries, which cannot be downloaded on many
// networks (see README, "Database"). `prisma generate` only checks that a schema engine file exists, so we
// point it at an empty, non-executable placeholder. Runs on `npm install` (postinstall) and `npm run db:generate`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const placeholder = join(root, 'node_modules', '.cache', 'fanpin', 'schema-engine-placeholder');
mkdirSync(dirname(placeholder), { recursive: true });
if (!existsSync(placeholder)) writeFileSync(placeholder, '', { mode: 0o644 });

const cli = join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', join(root, 'prisma', 'schema.prisma')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
process.exit(result.status ?? 1);
