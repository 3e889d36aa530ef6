import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { ConfigError } from '../../server/config.ts';

describe('encryption of personal data', () => {
  const crypto = createCrypto(Buffer.alloc(32, 1));

  it('round-trips, hides the text, and refuses a tampered box', () => {
    const box = crypto.encrypt('13812345678');
    expect(Buffer.from(box).toString('latin1')).not.toContain('13812345678');
    expect(crypto.decrypt(box)).toBe('13812345678');
    expect(crypto.encrypt('13812345678')).not.toEqual(box); // a fresh IV each time
    const tampered = Uint8Array.from(box);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => crypto.decrypt(tampered)).toThrow();
    expect(() => createCrypto(Buffer.alloc(32, 2)).decrypt(box)).toThrow();
  });

  it('gives equal values equal lookup hashes, per kind and per key', () => {
    expect(crypto.lookupHash('phone', '13812345678')).toBe(crypto.lookupHash('phone', '13812345678'));
    expect(crypto.lookupHash('phone', '13812345678')).not.toBe(crypto.lookupHash('id', '13812345678'));
    expect(createCrypto(Buffer.alloc(32, 2)).lookupHash('phone', '13812345678')).not.toBe(crypto.lookupHash('phone', '13812345678'));
  });

  it('makes a 0600 key file once for the embedded database, and requires a key with PostgreSQL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-'));
    const first = resolveMasterKey({ configured: undefined, dataDir: dir, embedded: true });
    expect(first.created).toBe(join(dir, 'encryption.key'));
    expect(statSync(first.created!).mode & 0o777).toBe(0o600);
    const second = resolveMasterKey({ configured: undefined, dataDir: dir, embedded: true });
    expect(second.created).toBeUndefined();
    expect(second.key.equals(first.key)).toBe(true);
    expect(readFileSync(first.created!, 'utf8').trim()).toBe(first.key.toString('base64'));

    expect(() => resolveMasterKey({ configured: undefined, dataDir: dir, embedded: false })).toThrow(ConfigError);
    expect(() => resolveMasterKey({ configured: undefined, dataDir: dir, embedded: false })).toThrow(/DATA_ENCRYPTION_KEY: required with DATABASE_URL/);
    expect(() => resolveMasterKey({ configured: 'short', dataDir: dir, embedded: true })).toThrow(/32 bytes in base64/);
    const given = Buffer.alloc(32, 9).toString('base64');
    expect(resolveMasterKey({ configured: given, dataDir: dir, embedded: false }).key.toString('base64')).toBe(given);
  });
});
