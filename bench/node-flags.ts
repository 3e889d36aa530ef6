import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/config.ts';

/**
 * The flags `npm start` gives node before dist/server/start.js (read from package.json's start script), so that a
 * benchmark measures the server process as production runs it. Throws when the script no longer has that shape.
 */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const m = /\bnode((?:\s+--[^\s]+)*)\s+dist\/server\/start\.js\b/.exec(pkg.scripts?.start ?? '');
  if (!m) throw new Error(`package.json's start script does not run "node [flags] dist/server/start.js": ${pkg.scripts?.start}`);
  return (m[1] ?? '').split(/\s+/).filter(Boolean);
}
