import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import * as platform from '@wecom/crypto';
import { createEnvelope, EnvelopeError, parseXml } from '../../bot/channels/wecom/crypto.ts';

// The platform's published sample (企业号 sample code: token QDG6eK, corp wx5823bf96d3bd56c7), the current
// Python sample, and vectors made in the test with the platform's own package (@wecom/crypto).

const A = { token: 'QDG6eK', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C', receiverId: 'wx5823bf96d3bd56c7' };
const B = { token: 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo', encodingAesKey: '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt', receiverId: 'ww1436e0e65a779aee' };

const problem = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnvelopeError) return e.problem;
    throw e;
  }
  return 'accepted';
};

describe('WeCom callback envelope', () => {
  it('verifies and decrypts the published URL-verification sample', () => {
    const env = createEnvelope(A);
    const echostr = 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==';
    env.verify('5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3', '1409659589', '263014780', echostr);
    expect(env.decrypt(echostr)).toBe('1616140317555161061');
  });

  it('decrypts the published message sample (padding of 30 bytes, beyond AES blocks of 16)', () => {
    const env = createEnvelope(A);
    const encrypted =
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==';
    env.verify('477715d11cdb4164915debcba66cb864d751f3e6', '1409659813', '1372623149', encrypted);
    const xml = parseXml(env.decrypt(encrypted));
    expect(xml).toMatchObject({ FromUserName: 'mycreate', MsgType: 'text', Content: 'hello', MsgId: '4561255354251345929', AgentID: '218' });
  });

  it('decrypts the current official sample, with Chinese text', () => {
    const env = createEnvelope(B);
    const encrypted =
      'Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+';
    env.verify('0c3914025cb4b4d68103f6bfc8db550f79dcf48e', '1476422779', '1597212914', encrypted);
    expect(parseXml(env.decrypt(encrypted))).toMatchObject({ FromUserName: 'ChenJiaShun', Content: '你好', MsgId: '1456453720' });
  });

  it('agrees with the platform package both ways', () => {
    const env = createEnvelope(B);
    for (const message of ['1', '<xml><Content>申报</Content></xml>', 'x'.repeat(5000)]) {
      const made = platform.encrypt(B.encodingAesKey, message, B.receiverId);
      expect(env.decrypt(made)).toBe(message);
      expect(platform.decrypt(B.encodingAesKey, env.encrypt(message))).toMatchObject({ message, id: B.receiverId });
      expect(env.signature('1476422779', '42', made)).toBe(platform.getSignature(B.token, '1476422779', '42', made));
    }
  });

  it('refuses a bad signature, a wrong receiver, a truncated ciphertext, bad padding and a lying length', () => {
    const env = createEnvelope(B);
    const good = env.encrypt('<xml/>');
    const sig = env.signature('1', '2', good);
    expect(problem(() => env.verify(sig.replace(/^./, sig[0] === 'a' ? 'b' : 'a'), '1', '2', good))).toBe('bad_signature');
    expect(problem(() => env.verify(sig, '1', '3', good))).toBe('bad_signature');
    expect(problem(() => env.verify(undefined, '1', '2', good))).toBe('bad_signature');
    // another organization's message, well formed and well signed
    const other = platform.encrypt(B.encodingAesKey, '<xml/>', 'wwsomeoneelse00000');
    expect(problem(() => env.decrypt(other))).toBe('wrong_receiver');
    // cut short: not whole blocks
    expect(problem(() => env.decrypt(good.slice(0, 30)))).toBe('bad_ciphertext');
    expect(problem(() => env.decrypt(Buffer.from(good, 'base64').subarray(0, 40).toString('base64')))).toBe('bad_ciphertext');
    expect(problem(() => env.decrypt(''))).toBe('bad_ciphertext');
    // cipher text of a plaintext whose padding is wrong, or whose length field points past the end
    const key = Buffer.from(`${B.encodingAesKey}=`, 'base64');
    const raw = (plain: Buffer) => {
      const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
      c.setAutoPadding(false);
      return Buffer.concat([c.update(plain), c.final()]).toString('base64');
    };
    const body = Buffer.concat([Buffer.alloc(16, 1), Buffer.from([0, 0, 0, 6]), Buffer.from('<xml/>'), Buffer.from(B.receiverId)]);
    const padded = (p: number, fill = p) => Buffer.concat([body, Buffer.alloc(p, fill)]);
    const need = 32 - (body.length % 32);
    expect(problem(() => env.decrypt(raw(padded(need))))).toBe('accepted');
    expect(problem(() => env.decrypt(raw(Buffer.concat([body, Buffer.alloc(need - 1, 7), Buffer.from([need])]))))).toBe('bad_padding');
    expect(problem(() => env.decrypt(raw(Buffer.concat([body, Buffer.alloc(need - 1, 0), Buffer.from([0])]))))).toBe('bad_padding');
    const lying = Buffer.from(body);
    lying.writeUInt32BE(4000, 16);
    expect(problem(() => env.decrypt(raw(Buffer.concat([lying, Buffer.alloc(need, need)]))))).toBe('bad_length');
  });
});

describe('callback XML', () => {
  it('keeps every tag value as a string (64-bit ids stay exact, text as typed)', () => {
    const x = parseXml('<xml><MsgId>4561255354251345929</MsgId><CreateTime>1409659813</CreateTime><Content><![CDATA[ 0012 ]]></Content></xml>');
    expect(x).toEqual({ MsgId: '4561255354251345929', CreateTime: '1409659813', Content: ' 0012 ' }); // what was typed, as typed
  });

  it('refuses entity declarations, malformed XML and a document without <xml>', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>';
    expect(problem(() => parseXml(bomb))).toBe('bad_xml');
    expect(problem(() => parseXml('<xml><Content>unclosed</xml>'))).toBe('bad_xml');
    expect(problem(() => parseXml('<other><a>1</a></other>'))).toBe('bad_xml');
    expect(problem(() => parseXml('not xml at all'))).toBe('bad_xml');
  });
});
