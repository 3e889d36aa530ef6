import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config-error.ts';

/**
 * Field encryption for personal data at rest (AES-256-GCM) and keyed hashes for lookups (HMAC-SHA256).
 * Both keys derive from one 32-byte master key (DATA_ENCRYPTION_KEY, base64), so rotating it is one setting.
 * Envelope: version byte 1 | 12-byte IV | 16-byte tag | ciphertext.
 */
export type Crypto = {
  encrypt(plain: string): Uint8Array<ArrayBuffer>;
  decrypt(box: Uint8Array): string;
  encryptJson(value: unknown): Uint8Array<ArrayBuffer>;
  decryptJson<T>(box: Uint8Array): T;
  /** The same envelope around bytes (a photo, a voice note). */
  encryptBytes(plain: Uint8Array): Uint8Array<ArrayBuffer>;
  decryptBytes(box: Uint8Array): Buffer;
  /** A keyed hash for finding equal values (same phone, same ID) without decrypting. */
  lookupHash(kind: string, value: string): string;
};

export function createCrypto(masterKey: Buffer): Crypto {
  if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  const encKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'fanpin field encryption v1', 32));
  const macKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'fanpin lookup hash v1', 32));
  const encryptBytes = (plain: Uint8Array) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', encKey, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const out = new Uint8Array(new ArrayBuffer(1 + 12 + 16 + body.length));
    out[0] = 1;
    out.set(iv, 1);
    out.set(cipher.getAuthTag(), 13);
    out.set(body, 29);
    return out;
  };
  const encrypt = (plain: string) => encryptBytes(Buffer.from(plain, 'utf8'));
  const decryptBytes = (box: Uint8Array) => {
    const buf = Buffer.from(box);
    if (buf[0] !== 1 || buf.length < 29) throw new Error('unknown encryption envelope');
    const decipher = createDecipheriv('aes-256-gcm', encKey, buf.subarray(1, 13));
    decipher.setAuthTag(buf.subarray(13, 29));
    return Buffer.concat([decipher.update(buf.subarray(29)), decipher.final()]);
  };
  const decrypt = (box: Uint8Array) => decryptBytes(box).toString('utf8');
  return {
    encrypt,
    decrypt,
    encryptBytes,
    decryptBytes,
    encryptJson: (value) => encrypt(JSON.stringify(value)),
    decryptJson: <T>(box: Uint8Array) => JSON.parse(decrypt(box)) as T,
    lookupHash: (kind, value) => createHmac('sha256', macKey).update(`${kind}\u0000${value}`).digest('hex'),
  };
}

export function parseKey(base64: string): Buffer | undefined {
  const key = Buffer.from(base64, 'base64');
  return key.length === 32 ? key : undefined;
}

/**
 * The master key: DATA_ENCRYPTION_KEY when set; otherwise, for the embedded database only, a key file in
 * DATA_DIR created on first start with 0600 permissions. Returns whether the file was just created.
 */
export function resolveMasterKey(opts: { configured: string | undefined; dataDir: string; embedded: boolean }): { key: Buffer; created?: string } {
  if (opts.configured) {
    const key = parseKey(opts.configured);
    if (!key) throw new ConfigError('Invalid environment variables:', ['DATA_ENCRYPTION_KEY: must be 32 bytes in base64 (make one with `openssl rand -base64 32`)']);
    return { key };
  }
  if (!opts.embedded) {
    throw new ConfigError('Missing environment variable:', [
      'DATA_ENCRYPTION_KEY: required with DATABASE_URL (every instance must share the key). Make one with `openssl rand -base64 32`.',
    ]);
  }
  const file = join(opts.dataDir, 'encryption.key');
  if (existsSync(file)) {
    const key = parseKey(readFileSync(file, 'utf8').trim());
    if (!key) throw new ConfigError('The key file is damaged:', [`${file}: must hold 32 bytes in base64`]);
    return { key };
  }
  mkdirSync(opts.dataDir, { recursive: true });
  writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key: readKey(file), created: file };
}

function readKey(file: string): Buffer {
  return parseKey(readFileSync(file, 'utf8').trim())!;
}
