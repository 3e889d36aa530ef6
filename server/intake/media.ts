import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import type { Logger } from '../log.ts';
import { createRounds } from '../rounds.ts';
import { backoffMs } from '../outbox/outbox.ts';

/**
 * Photos and voice notes sent with a report are kept, not only their platform ids: a WeCom media id expires after
 * 3 days, and the cadre who opens the lead a week later must still see the photo of the roof and hear the voice
 * note. A worker fetches each new attachment through the channel that received it, turns a voice note into
 * something a browser plays (WeCom's AMR becomes WAV), encrypts it like other personal data, and stores it in its
 * row. Rows are claimed with a lease (several instances never fetch one file twice at a time); a failed fetch is
 * tried again with backoff, and given up (with the reason, for the console to say) when the platform says the
 * file is gone or too big, or after MAX_ATTEMPTS.
 */

/** What a channel answers when asked for one file. `final`: asking again cannot help (expired, too big, unknown). */
export type FetchedMedia = { ok: true; data: Uint8Array; mime: string } | { ok: false; final: boolean; error: string };
export type MediaSource = (fileId: string, kind: string) => Promise<FetchedMedia>;

/** The largest file kept (Telegram lets bots download up to 20 MB; a photo or a minute of voice is far less). */
export const MEDIA_MAX_BYTES = 10 * 1024 * 1024;
export const MEDIA_MAX_ATTEMPTS = 8;
const LEASE_MS = 5 * 60_000;

/** The body of a download, refused past `max` bytes (read as it arrives: a huge file is never held whole). */
export async function readCapped(res: Response, max = MEDIA_MAX_BYTES): Promise<{ ok: true; data: Buffer } | { ok: false; error: string }> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    return { ok: false, error: 'too_big' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return { ok: true, data: Buffer.alloc(0) };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) return { ok: false, error: 'too_big' };
    chunks.push(Buffer.from(chunk));
  }
  return { ok: true, data: Buffer.concat(chunks) };
}

/** 16-bit mono PCM as a WAV file. */
function wav(samples: Float32Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16); // fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // bytes a second
  out.writeUInt16LE(2, 32); // bytes a frame
  out.writeUInt16LE(16, 34); // bits a sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), 44 + i * 2);
  return out;
}

/** The type of a file from its first bytes (platforms often say application/octet-stream), else `fallback`. */
export function sniff(data: Uint8Array, fallback: string): string {
  const b = Buffer.from(data.subarray(0, 12));
  const ascii = b.toString('latin1');
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (ascii.startsWith('\x89PNG')) return 'image/png';
  if (ascii.startsWith('GIF8')) return 'image/gif';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'image/webp';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WAVE') return 'audio/wav';
  if (ascii.startsWith('OggS')) return 'audio/ogg';
  if (ascii.startsWith('#!AMR')) return 'audio/amr';
  if (ascii.startsWith('ID3') || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return 'audio/mpeg';
  if (ascii.slice(4, 8) === 'ftyp') return 'audio/mp4';
  return fallback;
}

/**
 * The file as a browser shows or plays it, with its type read from its bytes: AMR (WeCom and WeChat voice notes;
 * no browser plays it) decoded to WAV with opencore-amr compiled to WebAssembly; everything else as it came.
 */
export async function playable(data: Uint8Array, mime: string): Promise<{ data: Uint8Array; mime: string }> {
  const type = sniff(data, mime);
  if (type !== 'audio/amr') return { data, mime: type };
  const { default: decode } = await import('@audio/decode-amr');
  const audio = await decode(data);
  const samples = audio.channelData[0];
  if (!samples || samples.length === 0) return { data, mime: type };
  return { data: wav(samples, audio.sampleRate), mime: 'audio/wav' };
}

export function createMediaKeeper(deps: { db: Database; crypto: Crypto; logger: Logger; maxAttempts?: number }) {
  const { db, crypto, logger } = deps;
  const maxAttempts = deps.maxAttempts ?? MEDIA_MAX_ATTEMPTS;
  const sources = new Map<string, MediaSource>();
  type Claimed = { id: string; channel: string; kind: string; file_id: string; fetch_attempts: number };

  /** Fetches and keeps the attachments that are due (at most `limit`); returns how many were kept. */
  async function keepDue(now = new Date(), limit = 10): Promise<number> {
    const channels = [...sources.keys()];
    if (channels.length === 0) return 0;
    const claimed = await db.prisma.$queryRaw<Claimed[]>`
      UPDATE attachment SET next_fetch_at = ${new Date(now.getTime() + LEASE_MS)}
      WHERE id IN (
        SELECT id FROM attachment
        WHERE fetched_at IS NULL AND fetch_gave_up_at IS NULL AND next_fetch_at <= ${now} AND channel = ANY(${channels}::text[])
        ORDER BY next_fetch_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id::text, channel, kind, file_id, fetch_attempts`;
    let kept = 0;
    for (const a of claimed) {
      let out: FetchedMedia;
      try {
        out = await sources.get(a.channel)!(a.file_id, a.kind);
      } catch (e) {
        out = { ok: false, final: false, error: (e as Error).name || 'Error' };
      }
      if (out.ok) {
        const file = await playable(out.data, out.mime).catch(() => ({ data: out.data, mime: out.mime }));
        await db.prisma.attachment.update({
          where: { id: a.id },
          data: { dataEnc: crypto.encryptBytes(file.data), mime: file.mime, fetchedAt: now, fetchError: null },
        });
        kept++;
        continue;
      }
      const attempts = a.fetch_attempts + 1;
      const giveUp = out.final || attempts >= maxAttempts;
      await db.prisma.attachment.update({
        where: { id: a.id },
        data: { fetchAttempts: attempts, fetchError: out.error.slice(0, 200), nextFetchAt: new Date(now.getTime() + backoffMs(attempts)), ...(giveUp ? { fetchGaveUpAt: now } : {}) },
      });
      // the file id is the platform's handle on a household's photo: never logged
      logger.warn({ channel: a.channel, attachment: a.id, attempts, error: out.error, gaveUp: giveUp }, giveUp ? 'attachment could not be kept' : 'attachment fetch failed; will try again');
    }
    return kept;
  }

  let clock = () => new Date();
  const rounds = createRounds(async () => {
    // drain what is due, a batch at a time
    while ((await keepDue(clock())) > 0);
  }, logger, 'attachment fetch round failed; trying again next round');

  return {
    /** How a channel's files are fetched; attachments of channels without one wait. */
    registerSource(channel: string, source: MediaSource) {
      sources.set(channel, source);
    },
    keepDue,
    start(intervalMs: number, now?: () => Date) {
      if (now) clock = now;
      rounds.start(intervalMs);
    },
    stop: () => rounds.stop(),
  };
}

export type MediaKeeper = ReturnType<typeof createMediaKeeper>;
