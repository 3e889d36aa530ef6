import { isAbsolute, relative } from 'node:path';

/** A configuration problem reported at start-up as one readable block, without a stack trace. */
export class ConfigError extends Error {
  constructor(
    readonly heading: string,
    readonly problems: string[],
  ) {
    super(`${heading}\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A path as a person would type it: relative to the working directory when inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
