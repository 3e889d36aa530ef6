import { localDate, localTime, zonedInstant, addDays } from './time.ts';

/** Quiet hours (default 21:00–08:00 in the deployment's zone): nothing goes out to staff then. Pure. */
export type QuietHours = { from: string; to: string };

export function isQuiet(now: Date, quiet: QuietHours, timeZone: string): boolean {
  const t = localTime(now, timeZone);
  if (quiet.from === quiet.to) return false;
  // A window across midnight (21:00–08:00) or within one day (12:00–14:00).
  return quiet.from > quiet.to ? t >= quiet.from || t < quiet.to : t >= quiet.from && t < quiet.to;
}

/** When the quiet hours that hold at `now` end (now itself when it is not quiet). */
export function quietEnds(now: Date, quiet: QuietHours, timeZone: string): Date {
  if (!isQuiet(now, quiet, timeZone)) return now;
  const today = localDate(now, timeZone);
  const endToday = zonedInstant(today, quiet.to, timeZone);
  return endToday > now ? endToday : zonedInstant(addDays(today, 1), quiet.to, timeZone);
}
