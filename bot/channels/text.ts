/**
 * Text limits the messengers set on one message, shared by the adapters: a text over the limit is sent as
 * several messages, cut at line ends (a single line longer than the limit is cut inside, never inside a
 * character), so nothing is lost and nothing is cut by the platform.
 */

export type Measure = (s: string) => number;

/** UTF-8 bytes (WeCom counts bytes). */
export const utf8Bytes: Measure = (s) => Buffer.byteLength(s, 'utf8');
/** UTF-16 code units (Telegram counts these: an emoji outside the BMP is two). */
export const utf16Units: Measure = (s) => s.length;

/** Splits text at line ends (or, for one very long line, anywhere between characters) into parts within `limit`. */
export function splitText(text: string, limit: number, measure: Measure): string[] {
  if (measure(text) <= limit) return [text];
  const parts: string[] = [];
  let cur = '';
  const push = (piece: string) => {
    if (cur && measure(cur) + measure(piece) > limit) {
      parts.push(cur);
      cur = '';
    }
    if (measure(piece) > limit) {
      // one line over the limit: character by character (code points, so no surrogate pair is split)
      let run = '';
      let size = 0;
      for (const ch of piece) {
        const n = measure(ch);
        if (run && size + n > limit) {
          parts.push(run);
          run = '';
          size = 0;
        }
        run += ch;
        size += n;
      }
      piece = run;
    }
    cur += piece;
  };
  for (const line of text.split(/(?<=\n)/)) push(line);
  if (cur) parts.push(cur);
  return parts;
}
