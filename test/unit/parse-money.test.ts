import { describe, expect, it } from 'vitest';
import { PARSE_ERRORS, parseChineseNumber, parseCount, parseMoney } from '../../bot/parse/index.ts';

describe('parseChineseNumber', () => {
  it.each([
    ['十二', 12],
    ['二十', 20],
    ['一百零五', 105],
    ['两千五', 2500],
    ['一万二', 12000],
    ['三百五', 350],
    ['一千二百', 1200],
    ['一千零五十', 1050],
    ['十万', 100000],
    ['十二万', 120000],
    ['3万5千', 35000],
    ['1万2', 12000],
    ['1万2000', 12000],
    ['1万零500', 10500],
    ['2.5万', 25000],
    ['0.5万', 5000],
    ['1.2千', 1200],
    ['3千', 3000],
    ['3k', 3000],
    ['3K', 3000],
    ['3w', 30000],
    ['3W', 30000],
    ['二点五万', 25000],
    ['叁仟伍佰', 3500],
    ['壹万贰仟', 12000],
    ['十', 10],
    ['零', 0],
    ['〇', 0],
    ['二〇二六', 2026],
    ['３０００', 3000],
  ])('%s = %d', (input, expected) => {
    expect(parseChineseNumber(input)).toBe(expected);
  });

  it.each(['', 'abc', '万', '百', '3五', '三四千', '两千3000', '-5', '3 5'])('%j is not a number', (input) => {
    expect(parseChineseNumber(input)).toBeUndefined();
  });
});

const amount = (yuan: number) => ({ ok: true, value: { kind: 'amount', yuan } });
const unknown = { ok: true, value: { kind: 'unknown' } };
const error = (code: string) => ({ ok: false, error: code });

describe('parseMoney', () => {
  it.each([
    // plain digits and separators
    ['3000', amount(3000)],
    ['3,000', amount(3000)],
    ['3，000', amount(3000)],
    ['30,000.50', amount(30000.5)],
    ['3 000', amount(3000)],
    ['３０００', amount(3000)],
    ['  3000  ', amount(3000)],
    ['3000.5', amount(3000.5)],
    ['3000.25', amount(3000.25)],
    // currency words
    ['3000元', amount(3000)],
    ['3000 元', amount(3000)],
    ['3000块', amount(3000)],
    ['3000块钱', amount(3000)],
    ['￥3000', amount(3000)],
    ['3000元。', amount(3000)],
    // units
    ['3千', amount(3000)],
    ['3万', amount(30000)],
    ['2.5万元', amount(25000)],
    ['1.2千', amount(1200)],
    ['3k', amount(3000)],
    ['3W', amount(30000)],
    ['1万2', amount(12000)],
    ['1000万', amount(10_000_000)],
    // Chinese numerals
    ['两千五', amount(2500)],
    ['一万二', amount(12000)],
    ['三千', amount(3000)],
    ['三千五百块', amount(3500)],
    ['十二万', amount(120000)],
    ['二点五万', amount(25000)],
    // none
    ['0', amount(0)],
    ['零', amount(0)],
    ['没有', amount(0)],
    ['无', amount(0)],
    ['没', amount(0)],
    ['没收入', amount(0)],
    ['没有收入', amount(0)],
    // don't know: unknown, never 0
    ['不知道', unknown],
    ['不清楚', unknown],
    ['不晓得', unknown],
    ['说不清', unknown],
    ['不确定', unknown],
    ['不知道啊', unknown],
    // the English questions' examples
    ["don't know", unknown],
    ['Don’t know.', unknown],
    ['none', amount(0)],
    // approximations
    ['大概3000', amount(3000)],
    ['约3000', amount(3000)],
    ['3000左右', amount(3000)],
    ['3000多', amount(3000)],
    ['差不多两万', amount(20000)],
    ['一万多', amount(10000)],
    ['两千多块', amount(2000)],
    ['十多万', amount(100000)],
    ['大概三千块钱左右吧', amount(3000)],
    // rejections
    ['', error('empty')],
    ['   ', error('empty')],
    ['abc', error('not_a_number')],
    ['很多', error('not_a_number')],
    ['不多', error('not_a_number')],
    ['3000-5000', error('not_a_number')],
    ['3000 5000', error('not_a_number')],
    ['每月3000', error('not_a_number')],
    ['-500', error('negative')],
    ['－500', error('negative')],
    ['负500', error('negative')],
    ['10000001', error('too_large')],
    ['1亿', error('too_large')],
    ['2000万', error('too_large')],
    ['3.000', error('too_many_decimals')],
    ['3000.555', error('too_many_decimals')],
  ])('%j → %j', (input, expected) => {
    expect(parseMoney(input)).toEqual(expected);
  });

  it('rounds computed amounts to cents', () => {
    expect(parseMoney('1.234567万')).toEqual(amount(12345.67));
  });
});

describe('parseCount', () => {
  const range = { min: 1, max: 20 };
  it.each([
    ['3', 3],
    ['三', 3],
    ['两', 2],
    ['3口', 3],
    ['3口人', 3],
    ['三个人', 3],
    ['两个人', 2],
    ['3人', 3],
    ['五口之家', 5],
    ['一家五口', 5],
    ['一共6口人', 6],
    ['十二', 12],
    ['３', 3],
    ['20', 20],
    ['1', 1],
  ])('%j → %d', (input, expected) => {
    expect(parseCount(input, range)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['abc', 'not_a_number'],
    ['很多人', 'not_a_number'],
    ['2.5', 'not_whole'],
    ['两点五', 'not_whole'],
    ['0', 'out_of_range'],
    ['21', 'out_of_range'],
    ['-1', 'out_of_range'],
  ])('%j → %s', (input, code) => {
    expect(parseCount(input, range)).toEqual({ ok: false, error: code });
  });

  it('reads "none" as 0 when 0 is allowed', () => {
    expect(parseCount('没有', { min: 0, max: 10 })).toEqual({ ok: true, value: 0 });
    expect(parseCount('没有', { min: 1, max: 10 })).toEqual({ ok: false, error: 'out_of_range' });
  });
});

describe('PARSE_ERRORS', () => {
  it('lists each code once', () => {
    expect(new Set(PARSE_ERRORS).size).toBe(PARSE_ERRORS.length);
    for (const code of PARSE_ERRORS) expect(code).toMatch(/^[a-z_]+$/);
  });
});
