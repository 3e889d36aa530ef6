import { describe, expect, it } from 'vitest';
import { PARSE_ERRORS, describeMoney, isApproximate, parseChineseNumber, parseCount, parseSpokenMoney, perYear, type SpokenMoney } from '../../bot/parse/index.ts';
import { yuanOf } from '../../server/intake/money.ts';
import { tFor } from '../../server/i18n.ts';

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

describe('parseSpokenMoney: amounts as typed', () => {
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
    // rejections
    ['', error('empty')],
    ['   ', error('empty')],
    ['abc', error('not_a_number')],
    ['很多', error('not_a_number')],
    ['不多', error('not_a_number')],
    ['3000 5000', error('not_a_number')],
    ['-500', error('negative')],
    ['－500', error('negative')],
    ['负500', error('negative')],
    ['10000001', error('too_large')],
    ['1亿', error('too_large')],
    ['2000万', error('too_large')],
    ['3.000', error('too_many_decimals')],
    ['3000.555', error('too_many_decimals')],
  ])('%j → %j', (input, expected) => {
    expect(parseSpokenMoney(input)).toEqual(expected);
  });

  it('rounds computed amounts to cents', () => {
    expect(parseSpokenMoney('1.234567万')).toEqual(amount(12345.67));
  });
});

describe('parseSpokenMoney: amounts as people say them', () => {
  const exact = (yuan: number) => ({ ok: true, value: { kind: 'amount', yuan } });
  const about = (yuan: number) => ({ ok: true, value: { kind: 'amount', yuan, approximate: true } });
  const range = (from: number, to: number) => ({ ok: true, value: { kind: 'range', from, to, approximate: true } });
  const monthly = (r: { value: object }) => ({ ok: true, value: { ...r.value, perMonth: true } });
  it.each([
    // said roughly: an approximate amount
    ['大概8000', about(8000)],
    ['大概3000', about(3000)],
    ['约3000', about(3000)],
    ['3000左右', about(3000)],
    ['8000左右', about(8000)],
    ['差不多两万', about(20000)],
    ['估计一万五吧', about(15000)],
    ['大概三千块钱左右吧', about(3000)],
    ['将近一万', about(10000)],
    ['万把块', about(10000)],
    ['千把块钱', about(1000)],
    ['两万把块', about(20000)],
    ['十来万', about(100000)],
    ['一千来块', about(1000)],
    ['二十来万', about(200000)],
    ['万五', exact(15000)],
    // neighbouring digits: a range
    ['七八千', range(7000, 8000)],
    ['三四千块', range(3000, 4000)],
    ['两三万', range(20000, 30000)],
    ['一两千', range(1000, 2000)],
    ['八九千块钱吧', range(8000, 9000)],
    ['有个七八千吧', range(7000, 8000)],
    ['三五千', range(3000, 5000)],
    ['五六百', range(500, 600)],
    ['一万五六', range(15000, 16000)],
    ['两千七八', range(2700, 2800)],
    ['一万七八千', range(17000, 18000)],
    ['十一二万', range(110000, 120000)],
    ['二三十万', range(200000, 300000)],
    ['大概三四万块钱', range(30000, 40000)],
    // 多 / 余: up to one more of the last digit's place
    ['一千多', range(1000, 2000)],
    ['三千多', range(3000, 4000)],
    ['3000多', range(3000, 4000)],
    ['3500多块', range(3500, 3600)],
    ['一万多', range(10000, 20000)],
    ['十多万', range(100000, 200000)],
    ['两万多元', range(20000, 30000)],
    ['两千多块', range(2000, 3000)],
    ['一千余元', range(1000, 2000)],
    ['2.5万多', range(25000, 26000)],
    // 出头 / 多点: just over; 不到: just under
    ['一万出头', range(10000, 12000)],
    ['一万块出头', range(10000, 12000)],
    ['三千出头吧', range(3000, 3200)],
    ['一千多点', range(1000, 1200)],
    ['不到一万', range(8000, 10000)],
    ['一万不到', range(8000, 10000)],
    // 几
    ['几千块', range(2000, 9000)],
    ['十几万', range(110000, 190000)],
    ['一万几', range(11000, 19000)],
    // written ranges
    ['3到4千', range(3000, 4000)],
    ['3-4千', range(3000, 4000)],
    ['3000~4000', range(3000, 4000)],
    ['3000-5000', range(3000, 5000)],
    ['3000元到4000元', range(3000, 4000)],
    ['三千到四千', range(3000, 4000)],
    ['三到四万', range(30000, 40000)],
    ['一万到一万五', range(10000, 15000)],
    ['8千到1万', range(8000, 10000)],
    ['1到1.5万', range(10000, 15000)],
    ['3k-4k', range(3000, 4000)],
    ['3、4千', range(3000, 4000)],
    ['3000到4千', range(3000, 4000)],
    ['大概七千到八千块之间', range(7000, 8000)],
    // a month's figure, kept per month
    ['一个月一千多', monthly(range(1000, 2000))],
    ['每月3000', monthly(exact(3000))],
    ['1500元/月', monthly(exact(1500))],
    ['一个月也就千把块', monthly(about(1000))],
    ['每个月大概两三千', monthly(range(2000, 3000))],
    ['两千左右一个月', monthly(about(2000))],
    // a year's figure said as such
    ['一年七八千', range(7000, 8000)],
    ['一年下来也就三四千块', range(3000, 4000)],
    // still refused (the typed refusals are in the table above)
    ['好多钱', error('not_a_number')],
    ['4000到3000', error('not_a_number')],
    ['多少钱', error('not_a_number')],
    ['五三千', error('not_a_number')],
    ['一天一百', error('not_a_number')],
    ['负三千', error('negative')],
    ['900万到1100万', error('too_large')],
  ])('%j → %j', (input, expected) => {
    expect(parseSpokenMoney(input)).toEqual(expected);
  });
});

describe('a spoken amount for the assessment and the summary', () => {
  const spoken = (s: string) => {
    const r = parseSpokenMoney(s);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  };

  it.each([
    ['七八千', 7500, true],
    ['一个月一千多', 18000, true],
    ['每月3000', 36000, false],
    ['大概8000', 8000, true],
    ['3000', 3000, false],
    ['一万出头', 11000, true],
    ['不知道', null, false],
  ])('%j counts as %j a year (approximate: %j)', (input, yuan, approximate) => {
    const m = spoken(input);
    expect(yuanOf(m)).toBe(yuan);
    expect(isApproximate(m)).toBe(approximate);
  });

  it('makes a monthly answer yearly', () => {
    expect(perYear(spoken('一个月一千多'))).toEqual({ kind: 'range', from: 12000, to: 24000, approximate: true });
    expect(perYear(spoken('每月1234.56'))).toEqual({ kind: 'amount', yuan: 14814.72 });
    expect(perYear(spoken('七八千'))).toEqual(spoken('七八千'));
  });

  it.each<[string, SpokenMoney, string, string]>([
    ['a range', { kind: 'range', from: 7000, to: 8000, approximate: true }, '约 7,000–8,000 元', 'about 7,000–8,000 yuan'],
    ['a rough amount', { kind: 'amount', yuan: 10000, approximate: true }, '约 10,000 元', 'about 10,000 yuan'],
    ['an exact amount', { kind: 'amount', yuan: 2500.5 }, '2,500.5 元', '2,500.5 yuan'],
    ['unknown', { kind: 'unknown' }, '不知道', "Don't know"],
    [
      'a month',
      { kind: 'range', from: 1000, to: 2000, approximate: true, perMonth: true },
      '每月约 1,000–2,000 元，全年约 12,000–24,000 元',
      'about 1,000–2,000 yuan a month (about 12,000–24,000 yuan a year)',
    ],
    ['an exact month', { kind: 'amount', yuan: 3000, perMonth: true }, '每月3,000 元，全年36,000 元', '3,000 yuan a month (36,000 yuan a year)'],
  ])('describes %s in both languages', (_, m, zh, en) => {
    expect(describeMoney(m, tFor('zh-CN', 'bot'))).toBe(zh);
    expect(describeMoney(m, tFor('en', 'bot'))).toBe(en);
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
