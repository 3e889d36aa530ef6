/**
 * "When did it happen?" answers: absolute dates (2026-11-01, 2026年11月1日, 11月1号, 2026年11月, 2025年) and
 * relative ones (今天, 昨天, 3天前, 上周, 上个月, 半年前, 去年, 去年10月), in digits or Chinese numerals.
 *
 * "Today" is the calendar date of `now` in `timeZone`. A month-precision answer gives the first of the month,
 * a year-precision answer gives 1 January.
 *
 * Errors: 'date_format' (not a date we understand), 'date_invalid' (a date that does not exist: 2月30日, 13月),
 * 'date_future' (after today), 'date_too_old' (before 1950).
 */
import { fail, normalizeAnswer, ok, parseChineseNumber, stripOuterPunctuation, type ParseResult } from './numbers.ts';

export type DatePrecision = 'day' | 'month' | 'year';
export type EventDate = { date: string; precision: DatePrecision };

export const EARLIEST_EVENT_DATE = '1950-01-01';

type Ymd = { y: number; m: number; d: number };

function todayIn(now: Date, timeZone: string): Ymd {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

function iso({ y, m, d }: Ymd): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function addDays({ y, m, d }: Ymd, days: number): Ymd {
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function addMonths(y: number, m: number, months: number): { y: number; m: number } {
  const index = y * 12 + (m - 1) + months;
  return { y: Math.floor(index / 12), m: (index % 12) + 1 };
}

/** Relative day words, in days before today. */
const DAY_WORDS = new Map<string, number>([
  ['今天', 0], ['今日', 0], ['今儿', 0], ['刚才', 0], ['刚刚', 0],
  ['昨天', 1], ['昨日', 1], ['昨儿', 1], ['昨晚', 1],
  ['前天', 2], ['前日', 2], ['前儿', 2],
  ['大前天', 3],
]);

/** Relative year words, in years before this year. */
const YEAR_WORDS = new Map<string, number>([
  ['今年', 0], ['去年', 1], ['前年', 2], ['大前年', 3],
]);

const PREFIXES = /^(?:大概是|大概|大约是|大约|大致|约|差不多|应该是|可能是|就是|是在|在|是)/;
const SUFFIXES = /(?:左右|前后|的时候|那时候|时候|那天|那会儿|发生的|开始的|的事|吧|啊|了|的)$/;

/** Replaces each run of Chinese numerals by Arabic digits: 十一月一日 → 11月1日, 二〇二五年 → 2025年. */
function chineseNumeralsToDigits(s: string): string {
  return s.replace(/[零〇○一二两三四五六七八九十]+/g, (run) => {
    const v = parseChineseNumber(run);
    return v === undefined ? run : String(v);
  });
}

function twoDigitYear(yy: number, today: Ymd): number {
  return yy <= today.y % 100 ? 2000 + yy : 1900 + yy;
}

export function parseEventDate(s: string, now: Date, timeZone = 'Asia/Shanghai'): ParseResult<EventDate> {
  const today = todayIn(now, timeZone);
  let t = stripOuterPunctuation(normalizeAnswer(s)).replace(/\s/g, '').toLowerCase();
  if (t === '') return fail('empty');
  for (let prev = ''; prev !== t; ) {
    prev = t;
    t = t.replace(PREFIXES, '').replace(SUFFIXES, '');
  }
  t = t
    .replace(/号/g, '日')
    .replace(/月份/g, '月')
    .replace(/星期|礼拜/g, '周')
    .replace(/(?<=\d|[零〇一二两三四五六七八九十])日(?:以)?前$/, '天前');
  t = chineseNumeralsToDigits(t);

  const finish = (y: number, m: number, d: number, precision: EventDate['precision']): ParseResult<EventDate> => {
    if (m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return fail('date_invalid');
    const date = iso({ y, m, d });
    if (date < EARLIEST_EVENT_DATE) return fail('date_too_old');
    if (date > iso(today)) return fail('date_future');
    return ok({ date, precision });
  };
  const daysAgo = (n: number) => {
    const x = addDays(today, -n);
    return finish(x.y, x.m, x.d, 'day');
  };
  const monthsAgo = (n: number) => {
    const x = addMonths(today.y, today.m, -n);
    return finish(x.y, x.m, 1, 'month');
  };
  let m: RegExpExecArray | null;

  // 今天, 昨天, 前天, 大前天
  const dayWord = DAY_WORDS.get(t);
  if (dayWord !== undefined) return daysAgo(dayWord);
  // 3天前, 三天以前, 半个月前
  if ((m = /^(\d+)天(?:以)?前$/.exec(t))) return daysAgo(Number(m[1]));
  if (/^半个?月(?:以)?前$/.test(t)) return daysAgo(15);
  // 上周, 上个星期, 上一周 (7 days ago); 两周前, 3个星期前
  if (/^上1?个?周$/.test(t)) return daysAgo(7);
  if ((m = /^(\d+)个?周(?:以)?前$/.exec(t))) return daysAgo(7 * Number(m[1]));
  // 上个月, 上月, 上个月底; 上个月5号
  if ((m = /^上1?个?月(?:初|底|末|中旬|上旬|下旬|中)?$/.exec(t))) return monthsAgo(1);
  if ((m = /^上1?个?月(\d{1,2})日$/.exec(t))) {
    const x = addMonths(today.y, today.m, -1);
    return finish(x.y, x.m, Number(m[1]), 'day');
  }
  // 这个月, 本月; 这个月5号
  if (/^(?:这个?|本)月(?:初|中旬|上旬|中)?$/.test(t)) return monthsAgo(0);
  if ((m = /^(?:这个?|本)月(\d{1,2})日$/.exec(t))) return finish(today.y, today.m, Number(m[1]), 'day');
  // 两个月前, 半年前
  if ((m = /^(\d+)个月(?:以)?前$/.exec(t))) return monthsAgo(Number(m[1]));
  if (/^半年(?:以)?前$/.test(t)) return monthsAgo(6);

  // 今年 / 去年 / 前年 / 3年前, optionally followed by 年底, 3月, 3月5日
  m = /^(今年|去年|前年|大前年|(\d+)年(?:以)?前)(?:年?(初|底|末)|(\d{1,2})月(?:(初|底|末|中旬|上旬|下旬|中)|(\d{1,2})日)?)?$/.exec(t);
  if (m) {
    const back = m[2] !== undefined ? Number(m[2]) : YEAR_WORDS.get(m[1]!)!;
    const y = today.y - back;
    if (m[3] !== undefined) return finish(y, m[3] === '初' ? 1 : 12, 1, 'month');
    if (m[4] === undefined) return finish(y, 1, 1, 'year');
    if (m[6] === undefined) return finish(y, Number(m[4]), 1, 'month');
    return finish(y, Number(m[4]), Number(m[6]), 'day');
  }

  // 2026-11-01, 2026/11/1, 2026.11.1, 2026年11月1日, 20261101, 26年11月1日
  if ((m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(t)) || (m = /^(\d{4})(\d{2})(\d{2})$/.exec(t))) {
    return finish(Number(m[1]), Number(m[2]), Number(m[3]), 'day');
  }
  if ((m = /^(\d{2})年(\d{1,2})月(\d{1,2})日?$/.exec(t))) {
    return finish(twoDigitYear(Number(m[1]), today), Number(m[2]), Number(m[3]), 'day');
  }
  // 2026年11月, 2026-11, 2026/11, 2026.11, 26年11月
  if ((m = /^(\d{4})(?:[-/.](\d{1,2})|年(\d{1,2})月(?:初|底|末|中旬|上旬|下旬|中)?)$/.exec(t))) {
    return finish(Number(m[1]), Number(m[2] ?? m[3]), 1, 'month');
  }
  if ((m = /^(\d{2})年(\d{1,2})月(?:初|底|末|中旬|上旬|下旬|中)?$/.exec(t))) {
    return finish(twoDigitYear(Number(m[1]), today), Number(m[2]), 1, 'month');
  }
  // 2025年, 2025, 98年; 2025年底
  if ((m = /^(\d{4})年?$/.exec(t))) return finish(Number(m[1]), 1, 1, 'year');
  if ((m = /^(\d{4})年(初|底|末)$/.exec(t))) return finish(Number(m[1]), m[2] === '初' ? 1 : 12, 1, 'month');
  if ((m = /^(\d{2})年$/.exec(t))) return finish(twoDigitYear(Number(m[1]), today), 1, 1, 'year');

  // Month and day without a year (11月1日, 11-1, 11/1, 11.1): this year, or last year if that is still to come.
  if ((m = /^(\d{1,2})(?:[-/.]|月)(\d{1,2})日?$/.exec(t))) {
    const month = Number(m[1]);
    const day = Number(m[2]);
    const y = iso({ y: today.y, m: month, d: day }) > iso(today) ? today.y - 1 : today.y;
    return finish(y, month, day, 'day');
  }
  // Month alone (3月, 十月底): this year, or last year if it has not started yet.
  if ((m = /^(\d{1,2})月(?:初|底|末|中旬|上旬|下旬|中)?$/.exec(t))) {
    const month = Number(m[1]);
    return finish(month > today.m ? today.y - 1 : today.y, month, 1, 'month');
  }
  // Day alone (5号): this month, or last month if that day is still to come.
  if ((m = /^(\d{1,2})日$/.exec(t))) {
    const day = Number(m[1]);
    const x = day > today.d ? addMonths(today.y, today.m, -1) : { y: today.y, m: today.m };
    return finish(x.y, x.m, day, 'day');
  }
  return fail('date_format');
}
