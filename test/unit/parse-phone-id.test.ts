import { describe, expect, it } from 'vitest';
import { parseIdNumber, parsePhone } from '../../bot/parse/index.ts';

describe('parsePhone', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['138 0013 8000', '13800138000'],
    ['138-0013-8000', '13800138000'],
    ['+86 138 0013 8000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['(+86) 138-0013-8000', '13800138000'],
    ['86 13800138000', '13800138000'],
    ['008613800138000', '13800138000'],
    ['１３８００１３８０００', '13800138000'],
    ['１３８－００１３－８０００', '13800138000'],
    ['手机：13800138000', '13800138000'],
    ['19912345678', '19912345678'],
    [' 15987654321。', '15987654321'],
  ])('%j → %s', (input, expected) => {
    expect(parsePhone(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['1380013800', 'phone_format'], // 10 digits
    ['138001380001', 'phone_format'], // 12 digits
    ['1380013800a', 'phone_format'],
    ['abc', 'phone_format'],
    ['+1 415 555 0100', 'phone_format'],
    ['0883-1234567', 'phone_not_mobile'], // landline with area code
    ['010-12345678', 'phone_not_mobile'],
    ['2123456', 'phone_not_mobile'], // local landline
    ['12345678901', 'phone_not_mobile'], // 11 digits, 12 prefix
    ['10012345678', 'phone_not_mobile'],
  ])('%j → %s', (input, code) => {
    expect(parsePhone(input)).toEqual({ ok: false, error: code });
  });
});

/** Independent check-character helper (GB 11643-1999), so the tests do not trust the code under test. */
function withCheck(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i]!;
  return first17 + '10X98765432'[sum % 11]!;
}

/** A different check character than the right one. */
function wrongCheck(first17: string): string {
  const right = withCheck(first17).slice(-1);
  return first17 + (right === '0' ? '1' : '0');
}

const now = new Date('2026-11-23T18:00:00Z'); // 2026-11-24 in Asia/Shanghai

describe('parseIdNumber', () => {
  // Made-up numbers: region of a county, a birth date, a sequence number; check characters verified by hand
  // for the two hard-coded ones.
  const plain = withCheck('11010119900101101');
  const withX = '53092519850312108X';

  it('the helper agrees with the hand-checked numbers', () => {
    expect(withCheck('11010119900101101')).toBe('110101199001011018');
    expect(withCheck('53092519850312108')).toBe(withX);
  });

  it.each([
    ['plain', plain, plain, '1990-01-01'],
    ['check character X', withX, withX, '1985-03-12'],
    ['lower-case x', withX.toLowerCase(), withX, '1985-03-12'],
    ['spaces inside', '530925 19850312 108X', withX, '1985-03-12'],
    ['full-width', '５３０９２５１９８５０３１２１０８Ｘ', withX, '1985-03-12'],
    ['born 1900-01-01', withCheck('53092519000101001'), withCheck('53092519000101001'), '1900-01-01'],
    ['born 29 February of a leap year', withCheck('53092520000229001'), withCheck('53092520000229001'), '2000-02-29'],
    ['born today in Shanghai (already 24 Nov)', withCheck('53092520261124001'), withCheck('53092520261124001'), '2026-11-24'],
    ['Hong Kong prefix 81', withCheck('81000019900101001'), withCheck('81000019900101001'), '1990-01-01'],
  ])('resident ID, %s', (_label, input, normalized, birthDate) => {
    expect(parseIdNumber(input, now)).toEqual({
      ok: true,
      value: { kind: 'resident', normalized, residentId: normalized, birthDate },
    });
  });

  it.each([
    ['category 4, level 2', '42'],
    ['category 7, level 4', '74'],
    ['category 1, level 1', '11'],
  ])('disability card number, %s', (_label, suffix) => {
    expect(parseIdNumber(`${withX}${suffix}`, now)).toEqual({
      ok: true,
      value: { kind: 'disability', normalized: `${withX}${suffix}`, residentId: withX, birthDate: '1985-03-12' },
    });
  });

  it('disability card number with lower-case x and spaces', () => {
    expect(parseIdNumber(`${withX.toLowerCase().slice(0, 6)} ${withX.toLowerCase().slice(6)} 42`, now)).toMatchObject({
      ok: true,
      value: { kind: 'disability', normalized: `${withX}42`, residentId: withX },
    });
  });

  it.each([
    ['empty', '', 'empty'],
    ['17 characters', plain.slice(0, 17), 'id_length'],
    ['19 characters', `${plain}1`, 'id_length'],
    ['15 digits (first-generation card)', '110101900101101', 'id_length'],
    ['letters in the middle', `${plain.slice(0, 8)}AB${plain.slice(10)}`, 'id_format'],
    ['X not at the end', `${withX.slice(0, 10)}X${withX.slice(11)}`, 'id_format'],
    ['X inside a 20-character number', `${withX}X2`, 'id_format'],
    ['region 99', withCheck('99010119900101101'), 'id_region'],
    ['region 00', withCheck('00010119900101101'), 'id_region'],
    ['region 20', withCheck('20010119900101101'), 'id_region'],
    ['30 February', withCheck('53092519900230001'), 'id_birthdate'],
    ['29 February of a common year', withCheck('53092519900229001'), 'id_birthdate'],
    ['month 13', withCheck('53092519901301001'), 'id_birthdate'],
    ['born tomorrow in Shanghai', withCheck('53092520261125001'), 'id_birthdate'],
    ['born 1899', withCheck('53092518991231001'), 'id_birthdate'],
    ['wrong check digit', wrongCheck('11010119900101101'), 'id_checksum'],
    ['X where a digit belongs', '11010119900101101X', 'id_checksum'],
    ['disability category 9', `${withX}92`, 'id_disability_suffix'],
    ['disability category 0', `${withX}02`, 'id_disability_suffix'],
    ['disability level 5', `${withX}45`, 'id_disability_suffix'],
    ['20 characters with a wrong resident check digit', `${wrongCheck('53092519850312108')}42`, 'id_checksum'],
  ])('%s → error', (_label, input, code) => {
    expect(parseIdNumber(input, now)).toEqual({ ok: false, error: code });
  });
});
