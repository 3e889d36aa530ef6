/**
 * Resident identity card numbers (GB 11643-1999, 18 characters) and disability card numbers (残疾人证号,
 * 20 characters: the holder's resident ID followed by the disability category 1-7 and the level 1-4).
 *
 * Checks run in this order and the first failure is returned:
 * 'id_length' (not 18 or 20 characters once spaces are removed), 'id_format' (not 17 digits + digit/X [+ 2 digits]),
 * 'id_region' (first two digits are not a province-level code), 'id_birthdate' (digits 7-14 are not a real date
 * between 1900-01-01 and today), 'id_checksum' (check character wrong), 'id_disability_suffix' (20 characters but
 * category not 1-7 or level not 1-4).
 *
 * "Today" is the calendar date of `now` in Asia/Shanghai (the ID is a Chinese document).
 */
import { fail, normalizeAnswer, ok, stripOuterPunctuation, type ParseResult } from './numbers.ts';

export type IdNumber = {
  kind: 'resident' | 'disability';
  /** The whole number as it should be stored: 18 or 20 characters, upper-case X. */
  normalized: string;
  /** The 18-character resident ID (the first 18 characters of a disability card number). */
  residentId: string;
  /** YYYY-MM-DD */
  birthDate: string;
};

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/** Province-level prefixes: 11-15, 21-23, 31-37, 41-46, 50-54, 61-65, 71 (Taiwan), 81 (HK), 82 (Macao), 83. */
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62,
  63, 64, 65, 71, 81, 82, 83,
]);

/** The check character for the first 17 digits of a resident ID. */
export function residentIdCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

function shanghaiToday(now: Date): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return isoDate(get('year'), get('month'), get('day'));
}

function isoDate(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function isRealDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function parseIdNumber(s: string, now: Date): ParseResult<IdNumber> {
  const t = stripOuterPunctuation(normalizeAnswer(s)).replace(/\s/g, '').toUpperCase();
  if (t === '') return fail('empty');
  if (t.length !== 18 && t.length !== 20) return fail('id_length');
  if (!/^\d{17}[\dX](?:\d{2})?$/.test(t)) return fail('id_format');

  const residentId = t.slice(0, 18);
  if (!PROVINCES.has(Number(residentId.slice(0, 2)))) return fail('id_region');

  const y = Number(residentId.slice(6, 10));
  const m = Number(residentId.slice(10, 12));
  const d = Number(residentId.slice(12, 14));
  const birthDate = isoDate(y, m, d);
  if (!isRealDate(y, m, d) || birthDate < '1900-01-01' || birthDate > shanghaiToday(now)) return fail('id_birthdate');

  if (residentIdCheckChar(residentId) !== residentId[17]) return fail('id_checksum');

  if (t.length === 20) {
    const category = Number(t[18]);
    const level = Number(t[19]);
    if (category < 1 || category > 7 || level < 1 || level > 4) return fail('id_disability_suffix');
    return ok({ kind: 'disability', normalized: t, residentId, birthDate });
  }
  return ok({ kind: 'resident', normalized: t, residentId, birthDate });
}

export { maskIdNumber } from '../../server/mask.ts';
