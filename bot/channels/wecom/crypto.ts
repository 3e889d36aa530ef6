import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * WeCom's callback envelope (企业微信 回调加解密), with every check the platform's sample code leaves out:
 * - msg_signature: SHA-1 over the sorted token, timestamp, nonce and ciphertext, compared in constant time;
 * - AES-256-CBC with the EncodingAESKey (IV = its first 16 bytes), PKCS#7 padding to 32-byte blocks, checked;
 * - plaintext = 16 random bytes, 4-byte big-endian length, message, receiver id: length and receiver checked.
 * node:crypto does the cipher; `@wecom/crypto` (the platform's own package) is used in the tests to make vectors.
 */

export type EnvelopeProblem = 'bad_signature' | 'stale_timestamp' | 'bad_query' | 'bad_ciphertext' | 'bad_padding' | 'bad_length' | 'wrong_receiver' | 'bad_xml';

export class EnvelopeError extends Error {
  constructor(
    readonly problem: EnvelopeProblem,
    message: string,
  ) {
    super(message);
  }
}

const BLOCK = 32;
/** How far a callback's signed timestamp may be from our clock: a correctly signed callback from outside is a replay. */
export const TIMESTAMP_WINDOW_S = 10 * 60;

/**
 * Refuses a signed timestamp (unix seconds) more than 10 minutes from `nowMs`: the signature covers it, so a
 * callback recorded once and posted again later is refused, while redeliveries within the window are recognised
 * by their id. Called after the signature is checked.
 */
export function checkTimestamp(timestamp: string | undefined, nowMs: number): void {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new EnvelopeError('stale_timestamp', 'timestamp is not unix seconds');
  if (Math.abs(Number(timestamp) - nowMs / 1000) > TIMESTAMP_WINDOW_S) throw new EnvelopeError('stale_timestamp', 'timestamp is outside the allowed window');
}

export type Envelope = ReturnType<typeof createEnvelope>;

export function createEnvelope(opts: { token: string; encodingAesKey: string; receiverId: string }) {
  const key = Buffer.from(`${opts.encodingAesKey}=`, 'base64');
  if (opts.encodingAesKey.length !== 43 || key.length !== 32) throw new Error('EncodingAESKey must be the 43 characters shown in the admin console');
  const iv = key.subarray(0, 16);

  function signature(timestamp: string, nonce: string, encrypted: string): string {
    return createHash('sha1').update([opts.token, timestamp, nonce, encrypted].sort().join(''), 'utf8').digest('hex');
  }

  return {
    signature,

    verify(given: string | undefined, timestamp: string | undefined, nonce: string | undefined, encrypted: string | undefined): void {
      if (!given || !timestamp || !nonce || !encrypted) throw new EnvelopeError('bad_signature', 'signature parameters missing');
      const want = Buffer.from(signature(timestamp, nonce, encrypted), 'utf8');
      const got = Buffer.from(given.toLowerCase(), 'utf8');
      if (got.length !== want.length || !timingSafeEqual(got, want)) throw new EnvelopeError('bad_signature', 'msg_signature does not match');
    },

    decrypt(encrypted: string): string {
      const data = Buffer.from(encrypted, 'base64');
      if (data.length === 0 || data.length % 16 !== 0 || data.toString('base64').replace(/=+$/, '') !== encrypted.trim().replace(/=+$/, ''))
        throw new EnvelopeError('bad_ciphertext', 'ciphertext is not whole AES blocks of base64');
      const decipher = createDecipheriv('aes-256-cbc', key, iv);
      decipher.setAutoPadding(false);
      const plain = Buffer.concat([decipher.update(data), decipher.final()]);
      const pad = plain[plain.length - 1]!;
      if (pad < 1 || pad > BLOCK || pad > plain.length) throw new EnvelopeError('bad_padding', 'padding out of range');
      for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) throw new EnvelopeError('bad_padding', 'padding bytes differ');
      const content = plain.subarray(0, plain.length - pad);
      if (content.length < 20) throw new EnvelopeError('bad_length', 'plaintext shorter than its header');
      const length = content.readUInt32BE(16);
      if (20 + length > content.length) throw new EnvelopeError('bad_length', 'message length beyond the plaintext');
      const receiver = content.subarray(20 + length).toString('utf8');
      if (receiver !== opts.receiverId) throw new EnvelopeError('wrong_receiver', 'receiver id is not this organization');
      return content.subarray(20, 20 + length).toString('utf8');
    },

    /** The platform's algorithm the other way round (passive replies, and the tests' callbacks). */
    encrypt(message: string, random: Buffer = randomBytes(16)): string {
      const body = Buffer.from(message, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length, 0);
      const content = Buffer.concat([random, length, body, Buffer.from(opts.receiverId, 'utf8')]);
      const pad = BLOCK - (content.length % BLOCK);
      const cipher = createCipheriv('aes-256-cbc', key, iv);
      cipher.setAutoPadding(false);
      return Buffer.concat([cipher.update(Buffer.concat([content, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
    },
  };
}

/** A callback's XML is two or three levels deep (a template card event's selections five): more is refused. */
const MAX_DEPTH = 16;
const parser = new XMLParser({ parseTagValue: false, parseAttributeValue: false, processEntities: false, ignoreDeclaration: true, trimValues: true, htmlEntities: false, maxNestedTags: MAX_DEPTH });

/**
 * The deepest nesting of elements, counted in one pass without recursion (CDATA, comments and processing
 * instructions skipped): deeply nested XML is refused before any parser walks it.
 */
function depth(text: string): number {
  let level = 0;
  let max = 0;
  for (let i = text.indexOf('<'); i >= 0 && i < text.length; i = text.indexOf('<', i)) {
    const skip = (open: string, close: string) => (text.startsWith(open, i) ? text.indexOf(close, i + open.length) : -2);
    let end = skip('<![CDATA[', ']]>');
    if (end === -2) end = skip('<!--', '-->');
    if (end === -2) end = skip('<?', '?>');
    if (end !== -2) {
      if (end < 0) return max; // unterminated: the validator refuses it
      i = end + 1;
      continue;
    }
    const close = text.indexOf('>', i);
    if (close < 0) return max;
    if (text[i + 1] === '/') level--;
    else if (text[close - 1] !== '/' && text[i + 1] !== '!') max = Math.max(max, ++level);
    i = close + 1;
  }
  return max;
}


/**
 * The XML of a callback: well-formed, at most 16 elements deep, no DOCTYPE or entity declarations (no entity
 * expansion at all), tag values kept as strings. Returns the children of <xml> as a flat record.
 */
export function parseXml(text: string): Record<string, string> {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new EnvelopeError('bad_xml', 'DOCTYPE and entity declarations are refused');
  if (depth(text) > MAX_DEPTH) throw new EnvelopeError('bad_xml', `nested deeper than ${MAX_DEPTH} elements`);
  if (XMLValidator.validate(text) !== true) throw new EnvelopeError('bad_xml', 'not well-formed XML');
  let doc: { xml?: unknown };
  try {
    doc = parser.parse(text) as { xml?: unknown };
  } catch {
    throw new EnvelopeError('bad_xml', 'the XML parser refused it');
  }
  if (!doc.xml || typeof doc.xml !== 'object') throw new EnvelopeError('bad_xml', 'no <xml> root');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.xml as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}
