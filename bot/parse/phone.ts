/**
 * Mainland China mobile numbers: 11 digits starting 13-19.
 *
 * Accepted around the digits: spaces, dashes, dots, brackets, a "+86" / "86" / "0086" country prefix, full-width
 * digits, and a leading label such as "手机:" or "电话".
 *
 * Errors:
 * - 'phone_not_mobile': it looks like a real phone number but not a mobile one: a landline with area code
 *   (0883-1234567, 010-12345678: starts with 0, 10-12 digits), a local landline without area code (7-8 digits
 *   not starting with 0 or 1), or 11 digits starting 10/11/12.
 * - 'phone_format': anything else (too short, too long, letters, another country's prefix).
 */
import { fail, normalizeAnswer, ok, stripOuterPunctuation, type ParseResult } from './numbers.ts';

const LABEL = /^(?:我的|本人)?(?:手机号码|手机号|手机|电话号码|电话|联系电话|联系方式|号码|tel|phone|mobile)(?:是|为)?[:：]?/i;

export function parsePhone(s: string): ParseResult<string> {
  const t = stripOuterPunctuation(normalizeAnswer(s)).replace(LABEL, '');
  if (t.trim() === '') return fail('empty');
  let digits = t.replace(/[\s\-().]/g, '');
  if (!/^\+?\d+$/.test(digits)) return fail('phone_format');

  if (digits.startsWith('+')) {
    if (!digits.startsWith('+86')) return fail('phone_format');
    digits = digits.slice(3);
  } else if (digits.startsWith('0086')) {
    digits = digits.slice(4);
  } else if (digits.length === 13 && digits.startsWith('86')) {
    digits = digits.slice(2);
  }

  if (/^1[3-9]\d{9}$/.test(digits)) return ok(digits);
  if (/^1[0-2]\d{9}$/.test(digits)) return fail('phone_not_mobile');
  if (/^0\d{9,11}$/.test(digits)) return fail('phone_not_mobile');
  if (/^[2-9]\d{6,7}$/.test(digits)) return fail('phone_not_mobile');
  return fail('phone_format');
}

export { maskPhone } from '../../server/mask.ts';
