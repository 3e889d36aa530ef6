import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../helpers/process.ts';

// What an operator sees when `npm start` is misconfigured: one readable screen, no stack trace, exit code 2.
describe('start-up with a bad configuration', () => {
  const dataDir = () => mkdtempSync(join(tmpdir(), 'fanpin-bad-'));

  it('names each bad field of a broken deployment file', async () => {
    const dir = dataDir();
    const file = join(dir, 'county.yaml');
    writeFileSync(file, 'version: 2\nname: x\ncounties: []\nincomeLines:\n  - { province: "53", year: 2020, yuanPerPerson: 6000 }\n');
    const p = spawnServer({ DATA_DIR: dir, DEPLOYMENT_CONFIG: file, PORT: '0' });
    expect(await p.exited).toBe(2);
    const err = p.stderr();
    expect(err).toContain(`The deployment file ${file} has 3 problem(s):`);
    expect(err).toContain('version (line 1): must be 1');
    expect(err).toContain('counties (line 3): must list at least one county');
    expect(err).toContain('incomeLines[0].province (line 5): must be a 6-digit province division code');
    expect(err).not.toMatch(/\n\s+at /);
    expect(err.split('\n').length).toBeLessThan(25);
  });

  it('says which variables are wrong, all at once', async () => {
    const p = spawnServer({ DATA_DIR: dataDir(), PORT: 'x', DATABASE_URL: 'sqlite:///tmp/x.db', LOG_LEVEL: 'chatty' });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/Invalid environment variables:\n {2}- PORT: .*\n {2}- DATABASE_URL: .*\n {2}- LOG_LEVEL: /);
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  });

  it('explains a PostgreSQL server that cannot be reached, without the password', async () => {
    const p = spawnServer({ DATA_DIR: dataDir(), PORT: '0', DATABASE_URL: 'postgresql://app:s3cret@127.0.0.1:1/app' });
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('Cannot connect to the PostgreSQL server in DATABASE_URL:');
    expect(p.stderr()).toContain('127.0.0.1:1, database "app", user "app": connection refused');
    expect(p.stderr()).not.toContain('s3cret');
  });
});
