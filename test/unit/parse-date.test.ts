import { describe, expect, it } from 'vitest';
import { parseEventDate } from '../../bot/parse/index.ts';

// 18:00 UTC on 23 November is already 02:00 on 24 November in Asia/Shanghai.
const now = new Date('2026-11-23T18:00:00Z');
const day = (date: string) => ({ ok: true, value: { date, precision: 'day' } });
const month = (date: string) => ({ ok: true, value: { date, precision: 'month' } });
const year = (date: string) => ({ ok: true, value: { date, precision: 'year' } });
const error = (code: string) => ({ ok: false, error: code });

describe('parseEventDate: the day boundary', () => {
  it('"today" is the date in Shanghai, not in UTC', () => {
    expect(parseEventDate('今天', now)).toEqual(day('2026-11-24'));
    expect(parseEventDate('昨天', now)).toEqual(day('2026-11-23'));
    expect(parseEventDate('2026-11-24', now)).toEqual(day('2026-11-24'));
    expect(parseEventDate('11月24日', now)).toEqual(day('2026-11-24'));
    expect(parseEventDate('2026-11-25', now)).toEqual(error('date_future'));
  });

  it('follows the time zone it is given', () => {
    expect(parseEventDate('今天', now, 'UTC')).toEqual(day('2026-11-23'));
    expect(parseEventDate('2026-11-24', now, 'UTC')).toEqual(error('date_future'));
    // 24 November has not come yet in UTC, so a month-day answer means last year's.
    expect(parseEventDate('11月24日', now, 'UTC')).toEqual(day('2025-11-24'));
  });
});

describe('parseEventDate', () => {
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
    ['上个月', month('2026-10-01')],
    ['上月', month('2026-10-01')],
    ['上个月底', month('2026-10-01')],
    ['两个月前', month('2026-09-01')],
    ['3个月前', month('2026-08-01')],
    ['半年前', month('2026-05-01')],
    ['11个月前', month('2025-12-01')],
    // year precision
    ['2025年', year('2025-01-01')],
    ['2025', year('2025-01-01')],
    ['98年', year('1998-01-01')],
    ['去年', year('2025-01-01')],
    ['前年', year('2024-01-01')],
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
    expect(parseEventDate(input, now)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['abc', 'date_format'],
    ['不记得', 'date_format'],
    ['明天', 'date_format'],
    ['2026-11-99', 'date_invalid'],
    ['2026-02-30', 'date_invalid'],
    ['2月30日', 'date_invalid'],
    ['13月1日', 'date_invalid'],
    ['2025年2月29日', 'date_invalid'],
    ['2026-12-01', 'date_future'],
    ['2027年', 'date_future'],
    ['2026年12月', 'date_future'],
    ['明年', 'date_format'],
    ['1949-12-31', 'date_too_old'],
    ['1949年', 'date_too_old'],
    ['100年前', 'date_too_old'],
  ])('%j → %s', (input, code) => {
    expect(parseEventDate(input, now)).toEqual(error(code));
  });

  it('takes the end of a year correctly for relative months', () => {
    const january = new Date('2027-01-10T04:00:00Z');
    expect(parseEventDate('上个月', january)).toEqual(month('2026-12-01'));
    expect(parseEventDate('12月', january)).toEqual(month('2026-12-01'));
    expect(parseEventDate('3天前', new Date('2027-01-01T04:00:00Z'))).toEqual(day('2026-12-29'));
  });
});
