import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseEnv, REPO_ROOT, renderEnvExample, SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { readmeWithTable } from '../../server/docs.ts';

describe('environment configuration', () => {
  it('uses safe defaults when nothing is set', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, DATA_DIR: './data', LOG_LEVEL: 'info' });
    expect(env.DATABASE_URL).toBeUndefined();
    const config = loadConfig({}, '/srv/app');
    expect(config.dataDir).toBe('/srv/app/data');
    expect(config.deploymentPath).toBe(SAMPLE_DEPLOYMENT);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('treats empty values as unset, as .env files write them', () => {
    const env = parseEnv({ PORT: '', DATABASE_URL: '  ' });
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('lists every bad variable in one error, without echoing the database URL', () => {
    let error: unknown;
    try {
      parseEnv({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://root:hunter2@db/x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems).toHaveLength(3);
    expect(e.message).toContain('PORT: must be a port number (got "eighty")');
    expect(e.message).toMatch(/LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/);
    expect(e.message).toContain('DATABASE_URL: must be a URL of the form postgresql://');
    expect(e.message).not.toContain('hunter2');
    expect(e.stack).not.toContain('hunter2'); // a stack trace starts with the message: the password is not there either
  });

  it('accepts a PostgreSQL URL and rejects a port out of range', () => {
    expect(parseEnv({ DATABASE_URL: 'postgres://u:p@localhost:5432/app' }).DATABASE_URL).toBe('postgres://u:p@localhost:5432/app');
    expect(() => parseEnv({ PORT: '70000' })).toThrow(/PORT: must be 0 to 65535/);
    expect(() => parseEnv({ DATABASE_URL: 'postgresql://localhost' })).toThrow(/DATABASE_URL/);
  });

  it('keeps .env.example and the README table in step with the schema', () => {
    expect(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')).toBe(renderEnvExample());
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readmeWithTable(readme)).toBe(readme);
    for (const name of ['PORT', 'DATABASE_URL', 'DATA_DIR', 'DEPLOYMENT_CONFIG', 'LOG_LEVEL']) {
      expect(renderEnvExample()).toContain(`${name}=`);
      expect(readme).toContain(`\`${name}\``);
    }
  });
});
