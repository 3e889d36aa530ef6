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

  it('waits for a PostgreSQL server that cannot be reached, then explains it without the password (exit 1: an outage)', async () => {
    const started = Date.now();
    const p = spawnServer({ DATA_DIR: dataDir(), PORT: '0', DATABASE_URL: 'postgresql://app:s3cret@127.0.0.1:1/app', DATABASE_WAIT_S: '2' });
    expect(await p.exited).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const retries = p.stdout().split('\n').filter((l) => l.includes('PostgreSQL server not reachable yet'));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(p.stderr()).toContain('Cannot connect to the PostgreSQL server in DATABASE_URL:');
    expect(p.stderr()).toContain('127.0.0.1:1, database "app", user "app": connection refused');
    expect(p.stderr()).toContain('DATABASE_WAIT_S');
    expect(p.stderr() + p.stdout()).not.toContain('s3cret');
  });

  // needs a PostgreSQL server that answers: runs whenever TEST_DATABASE_URL is set (.ci/run always sets it)
  it.runIf(Boolean(process.env.TEST_DATABASE_URL))('stops at once, exit 2, when the server answers but refuses the login (a setting to fix, not an outage)', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.password = 'not-the-password';
    const started = Date.now();
    const p = spawnServer({ DATA_DIR: dataDir(), PORT: '0', DATABASE_URL: url.toString(), DATABASE_WAIT_S: '30' });
    expect(await p.exited).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(p.stderr()).toContain('password authentication failed');
    expect(p.stderr()).not.toContain('not-the-password');
  });
});
