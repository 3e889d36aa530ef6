/**
 * What leaves the product: a message (what the engine says, what staff are sent) and what became of sending it.
 * The outbox stores and sends these; the channels (bot/channels/) render and send them.
 */

export type Button = { id: string; label: string };

/** What the engine says: text, and optionally choices as rows of buttons. Adapters render it. */
export type Outbound = {
  text: string;
  buttons?: Button[][];
  /** the same question redrawn (a ✅ toggled, another page): channels that can edit replace the tapped message */
  replace?: boolean;
  /**
   * What the message waits for, for a channel that draws a form around it (the web page): the question's kind
   * (a text field for words, numbers, a phone; a file picker where photos are taken) or the special place
   * ('summary', 'consent', 'signature', …), and the progress line the text begins with.
   */
  ask?: { kind: string; media?: boolean; progress?: string; /** the answer given before, as typed */ value?: string };
  /** the receipt number this message gives (a page shows it large, to be kept) */
  receipt?: string;
};

/**
 * What became of one message handed to a messenger: sent (in `used` platform messages, 1 when not said); the
 * person cannot be reached (blocked the bot, left, a person took the session over); the platform asks to wait;
 * it refused this message for good (sending it again cannot help); or it failed for now (sent again later).
 */
export type SendOutcome =
  | { ok: true; used?: number }
  | { ok: false; kind: 'unreachable'; error: string; /** the person blocked the bot */ blocked?: boolean }
  | { ok: false; kind: 'retry_after'; retryAfterS: number; error: string }
  | { ok: false; kind: 'rejected'; error: string }
  | { ok: false; kind: 'error'; error: string };
