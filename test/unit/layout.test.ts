import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

// The shape the README's layout promises, read from the import lines: a reader who opens one part of server/
// never has to read another that imports it back, nothing under server/ but the composition root reaches into
// bot/, and only bot/channels/ (plus the wiring that picks what is configured) knows which messengers exist.

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'generated' ? [] : sources(path);
    return d.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of each file, as paths from the repository root. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!))));
}

/** server/intake/leads.ts → server/intake; server/time.ts → server/time.ts (a file of its own) */
const partOf = (file: string) => file.split('/').slice(0, 2).join('/');

describe('the code keeps its layout', () => {
  const server = sources('server');
  const bot = sources('bot');

  it('no two parts of server/ import each other', () => {
    const edges = new Set<string>();
    for (const f of server) for (const i of imports(f)) if (i.startsWith('server/') && partOf(i) !== partOf(f)) edges.add(`${partOf(f)} -> ${partOf(i)}`);
    const both = [...edges].filter((e) => {
      const [a, b] = e.split(' -> ');
      return edges.has(`${b} -> ${a}`);
    });
    expect(both).toEqual([]);
    expect(edges.size).toBeGreaterThan(10); // the reading found the imports at all
  });

  it('only server/main.ts imports from bot/', () => {
    const reaching = server.filter((f) => imports(f).some((i) => i.startsWith('bot/')));
    expect(reaching).toEqual(['server/main.ts']);
  });

  it('outside bot/channels/, no file of bot/ imports a messenger', () => {
    const reaching = bot.filter((f) => !f.startsWith('bot/channels/') && imports(f).some((i) => /^bot\/channels\/(telegram|wecom)\//.test(i)));
    expect(reaching).toEqual([]);
  });
});
