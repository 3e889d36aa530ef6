import { describe, expect, it } from 'vitest';
import { describeDate, parseSpokenDate, type SpokenDate } from '../../bot/parse/index.ts';
import { tFor } from '../../server/i18n.ts';

// 18:00 UTC on 23 November is already 02:00 on 24 November in Asia/Shanghai.
const now = new Date('2026-11-23T18:00:00Z');
const day = (date: string) => ({ ok: true, value: { date, precision: 'day' } });
const month = (date: string) => ({ ok: true, value: { date, precision: 'month' } });
const year = (date: string) => ({ ok: true, value: { date, precision: 'year' } });
const error = (code: string) => ({ ok: false, error: code });

describe('parseSpokenDate: the day boundary', () => {
  it('"today" is the date in Shanghai, not in UTC', () => {
    expect(parseSpokenDate('今天', now)).toEqual(day('2026-11-24'));
    expect(parseSpokenDate('昨天', now)).toEqual(day('2026-11-23'));
    expect(parseSpokenDate('2026-11-24', now)).toEqual(day('2026-11-24'));
    expect(parseSpokenDate('11月24日', now)).toEqual(day('2026-11-24'));
    expect(parseSpokenDate('2026-11-25', now)).toEqual(error('date_future'));
  });

  it('follows the time zone it is given', () => {
    expect(parseSpokenDate('今天', now, { timeZone: 'UTC' })).toEqual(day('2026-11-23'));
    expect(parseSpokenDate('2026-11-24', now, { timeZone: 'UTC' })).toEqual(error('date_future'));
    // 24 November has not come yet in UTC, so a month-day answer means last year's.
    expect(parseSpokenDate('11月24日', now, { timeZone: 'UTC' })).toEqual(day('2025-11-24'));
  });
});

describe('parseSpokenDate: dates as typed', () => {
  it.each([
    // absolute, full date
    ['2026-11-01', day('2026-11-01')],
    ['2026/11/1', day('2026-11-01')],
    ['2026.11.1', day('2026-11-01')],
    ['2026。11。1', day('2026-11-01')],
    ['２０２６－１１－０１', day('2026-11-01')],
    ['2026年11月1日', day('2026-11-01')],
    ['2026年11月1号', day('2026-11-01')],
    ['2026 年 11 月 1 日', day('2026-11-01')],
    ['20261101', day('2026-11-01')],
    ['二〇二六年十一月一日', day('2026-11-01')],
    ['24年2月29日', day('2024-02-29')],
    // month and day, no year
    ['11月1日', day('2026-11-01')],
    ['11月1号', day('2026-11-01')],
    ['十一月一号', day('2026-11-01')],
    ['11-1', day('2026-11-01')],
    ['11/1', day('2026-11-01')],
    ['3月5日', day('2026-03-05')],
    ['11月25日', day('2025-11-25')], // tomorrow this year: must be last year
    ['12月1日', day('2025-12-01')],
    // day alone
    ['20号', day('2026-11-20')],
    ['25号', day('2026-10-25')],
    // month precision
    ['2026年11月', month('2026-11-01')],
    ['2026-11', month('2026-11-01')],
    ['2025年3月份', month('2025-03-01')],
    ['二〇二五年三月', month('2025-03-01')],
    ['3月', month('2026-03-01')],
    ['12月', month('2025-12-01')],
    ['今年3月', month('2026-03-01')],
    ['去年10月', month('2025-10-01')],
    ['去年年底', month('2025-12-01')],
    ['上月', month('2026-10-01')],
    ['上个月底', month('2026-10-01')],
    ['3个月前', month('2026-08-01')],
    ['11个月前', month('2025-12-01')],
    // year precision
    ['2025年', year('2025-01-01')],
    ['2025', year('2025-01-01')],
    ['98年', year('1998-01-01')],
    ['今年', year('2026-01-01')],
    ['3年前', year('2023-01-01')],
    // relative days
    ['今天', day('2026-11-24')],
    ['昨天', day('2026-11-23')],
    ['前天', day('2026-11-22')],
    ['大前天', day('2026-11-21')],
    ['3天前', day('2026-11-21')],
    ['三天前', day('2026-11-21')],
    ['30天前', day('2026-10-25')],
    ['上周', day('2026-11-17')],
    ['上个星期', day('2026-11-17')],
    ['上礼拜', day('2026-11-17')],
    ['两周前', day('2026-11-10')],
    ['两个星期前', day('2026-11-10')],
    // extra words people add
    ['大概去年10月份吧', month('2025-10-01')],
    ['昨天。', day('2026-11-23')],
    ['3天前左右', day('2026-11-21')],
  ])('%j → %j', (input, expected) => {
    expect(parseSpokenDate(input, now)).toEqual(expected);
  });

  it.each([
    ['明天', 'date_future'],
    ['2026-11-99', 'date_invalid'],
    ['2026-02-30', 'date_invalid'],
    ['13月1日', 'date_invalid'],
    ['2025年2月29日', 'date_invalid'],
    ['2027年', 'date_future'],
    ['2026年12月', 'date_future'],
    ['明年', 'date_future'],
    ['1949-12-31', 'date_too_old'],
    ['1949年', 'date_too_old'],
    ['100年前', 'date_too_old'],
  ])('%j → %s, even when unplaced answers are kept', (input, code) => {
    expect(parseSpokenDate(input, now)).toEqual(error(code));
    expect(parseSpokenDate(input, now, { keepUnplaced: true })).toEqual(error(code));
  });

  it('takes the end of a year correctly for relative months', () => {
    const january = new Date('2027-01-10T04:00:00Z');
    expect(parseSpokenDate('上个月', january)).toEqual(month('2026-12-01'));
    expect(parseSpokenDate('12月', january)).toEqual(month('2026-12-01'));
    expect(parseSpokenDate('3天前', new Date('2027-01-01T04:00:00Z'))).toEqual(day('2026-12-29'));
  });
});

describe('parseSpokenDate: times as people say them', () => {
  const season = (date: string) => ({ ok: true, value: { date, precision: 'season' } });
  it.each([
    // years back
    ['大前年', year('2023-01-01')],
    ['前年', year('2024-01-01')],
    ['去年', year('2025-01-01')],
    ['三年前', year('2023-01-01')],
    ['一年多前', year('2025-01-01')],
    ['两年多以前', year('2024-01-01')],
    // months back
    ['上个月', month('2026-10-01')],
    ['上上个月', month('2026-09-01')],
    ['两个月前', month('2026-09-01')],
    ['两个多月前', month('2026-09-01')],
    ['半年前', month('2026-05-01')],
    ['今年7月', month('2026-07-01')],
    ['上上周', day('2026-11-10')],
    // vague recent times: the month of a few days, two weeks or a month ago
    ['前几天', month('2026-11-01')],
    ['前两天', month('2026-11-01')],
    ['最近', month('2026-11-01')],
    ['前段时间', month('2026-10-01')],
    ['前阵子吧', month('2026-10-01')],
    ['年初', month('2026-01-01')],
    ['年底', month('2025-12-01')],
    ['去年这个时候', month('2025-11-01')],
    // seasons: this year's when it has begun, else last year's
    ['今年开春', season('2026-03-01')],
    ['开春的时候', season('2026-03-01')],
    ['春天', season('2026-03-01')],
    ['夏天', season('2026-06-01')],
    ['秋天', season('2026-09-01')],
    ['秋收的时候', season('2026-09-01')],
    ['冬天', season('2025-12-01')],
    ['去年冬天', season('2025-12-01')],
    ['去年秋天', season('2025-09-01')],
    ['去年秋收的时候', season('2025-09-01')],
    ['去年的春天', season('2025-03-01')],
    ['三年前的秋天', season('2023-09-01')],
    ['2025年夏天', season('2025-06-01')],
    ['大概前年麦收那会儿', season('2024-06-01')],
    // the Spring Festival (初一: 2024-02-10, 2025-01-29, 2026-02-17), month precision
    ['春节前', month('2026-02-01')],
    ['过年的时候', month('2026-02-01')],
    ['过年前', month('2026-02-01')],
    ['春节前后', month('2026-02-01')],
    ['除夕', month('2026-02-01')],
    ['年后', month('2026-02-01')],
    ['正月里', month('2026-03-01')],
    ['去年春节', month('2025-01-01')],
    ['去年过年前', month('2025-01-01')],
    ['前年过年的时候', month('2024-02-01')],
    ['今年春节前', month('2026-02-01')],
  ])('%j → %j', (input, expected) => {
    expect(parseSpokenDate(input, now)).toEqual(expected);
  });

  it.each([
    ['今年冬天', 'date_future'],
    ['明年春天', 'date_future'],
    ['下个月', 'date_future'],
    ['2026-12-01', 'date_future'],
    ['2月30日', 'date_invalid'],
    ['1949年冬天', 'date_too_old'],
    ['', 'empty'],
  ])('%j is refused (%s), even when unplaced answers are kept', (input, code) => {
    expect(parseSpokenDate(input, now)).toEqual(error(code));
    expect(parseSpokenDate(input, now, { keepUnplaced: true })).toEqual(error(code));
  });

  it.each([
    ['农忙的时候', '农忙的时候'],
    ['好几年前', '好几年前'],
    ['记不清了。', '记不清了'],
    ['abc', 'abc'],
    ['不记得', '不记得'],
    ['  那年发大水  ', '那年发大水'],
  ])('%j cannot be placed: date_format, or kept as the words %j', (input, words) => {
    expect(parseSpokenDate(input, now)).toEqual(error('date_format'));
    expect(parseSpokenDate(input, now, { keepUnplaced: true })).toEqual({ ok: true, value: { precision: 'unknown', words } });
  });

  it('places the Spring Festival and winter from January on', () => {
    const lateJanuary = new Date('2027-01-30T04:00:00Z'); // 初一 2027 is in early February
    const midJanuary = new Date('2027-01-15T04:00:00Z');
    expect(parseSpokenDate('春节前', lateJanuary)).toEqual(month('2027-01-01')); // the coming one: its days before have begun
    expect(parseSpokenDate('春节前', midJanuary)).toEqual(month('2026-02-01')); // not yet: the last one
    expect(parseSpokenDate('过年', lateJanuary)).toEqual(month('2026-02-01'));
    expect(parseSpokenDate('今年冬天', midJanuary)).toEqual(season('2026-12-01')); // the winter we are in
    expect(parseSpokenDate('冬天', midJanuary)).toEqual(season('2026-12-01'));
    expect(parseSpokenDate('去年冬天', midJanuary)).toEqual(season('2026-12-01'));
    expect(parseSpokenDate('春天', midJanuary)).toEqual(season('2026-03-01'));
  });

  it.each<[SpokenDate, string, string]>([
    [{ date: '2026-10-15', precision: 'day' }, '2026-10-15', '2026-10-15'],
    [{ date: '2026-10-01', precision: 'month' }, '2026-10', '2026-10'],
    [{ date: '2025-01-01', precision: 'year' }, '2025', '2025'],
    [{ date: '2025-09-01', precision: 'season' }, '2025 年秋天', 'autumn 2025'],
    [{ date: '2025-12-01', precision: 'season' }, '2025 年冬天', 'winter 2025'],
    [{ precision: 'unknown', words: '农忙的时候' }, '“农忙的时候”（没有具体时间）', '“农忙的时候” (no date given)'],
  ])('describes %j in both languages', (d, zh, en) => {
    expect(describeDate(d, tFor('zh-CN', 'bot'))).toBe(zh);
    expect(describeDate(d, tFor('en', 'bot'))).toBe(en);
  });
});
