/**
 * "When did it happen?" answers: absolute dates (2026-11-01, 2026年11月1日, 11月1号, 2026年11月, 2025年) and
 * relative ones (今天, 昨天, 3天前, 上周, 上个月, 半年前, 去年, 去年10月), in digits or Chinese numerals.
 *
 * "Today" is the calendar date of `now` in `timeZone`. A month-precision answer gives the first of the month,
 * a year-precision answer gives 1 January.
 *
 * Spoken forms too (readDate): 上上个月, 一年多前, 两个多月前, the Spring Festival (春节前, 过年的时候, 去年腊月) and
 * vague recent times (前几天, 最近, 前段时间) at month precision; seasons (今年开春, 秋收的时候, 去年冬天) at
 * 'season' precision. parseSpokenDate can also keep what it cannot place as the person's words.
 *
 * Errors: 'date_format' (not a date we understand), 'date_invalid' (a date that does not exist: 2月30日, 13月),
 * 'date_future' (after today, or 明天 / 明年 / 下个月), 'date_too_old' (before 1950).
 */
import { fail, normalizeAnswer, ok, parseChineseNumber, stripOuterPunctuation, type ParseResult } from './numbers.ts';

export type DatePrecision = 'day' | 'month' | 'year';

/**
 * A "when" answer as people say it (parseSpokenDate): placed at day, month, season or year precision, the date
 * being the first day of that period (a season: its first month, spring 03, summer 06, autumn 09, winter 12; a
 * winter runs into the next year); or not placeable, kept as the person's words.
 */
export type SpokenDatePrecision = DatePrecision | 'season' | 'unknown';
export type SpokenDate = { date: string; precision: Exclude<SpokenDatePrecision, 'unknown'> } | { precision: 'unknown'; words: string };

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

type Season = 'spring' | 'summer' | 'autumn' | 'winter';
/** A season's first month. Seasons as the countryside counts them: 春 3-5, 夏 6-8, 秋 9-11, 冬 12-2. */
const SEASON_START: Record<Season, number> = { spring: 3, summer: 6, autumn: 9, winter: 12 };
/** Season words, and farm work that marks a season: 开春 (spring's start), 麦收 / 夏收 (summer), 秋收 / 秋后 (autumn). */
const SEASON_WORDS = new Map<string, Season>([
  ...['春天', '春季', '春上', '开春', '入春', '春耕', '春'].map((w) => [w, 'spring'] as const),
  ...['夏天', '夏季', '入夏', '麦收', '夏收', '夏'].map((w) => [w, 'summer'] as const),
  ...['秋天', '秋季', '入秋', '秋收', '秋后', '秋'].map((w) => [w, 'autumn'] as const),
  ...['冬天', '冬季', '入冬', '冬'].map((w) => [w, 'winter'] as const),
]);

/**
 * The Spring Festival and the time around it, in days from 初一 (the reading: month precision, the month that
 * day falls in). 春节 / 过年: the day itself; 除夕: the day before; 年前 / 春节前 / 快过年: ten days before (late
 * January or early February); 腊月: fifteen days before; 年后 / 过完年 / 春节后: ten days after; 正月: fourteen days
 * after.
 */
const FESTIVAL_WORDS = new Map<string, number>([
  ...['春节', '过年', '过春节', '大过年', '春节期间', '过年期间', '新年'].map((w) => [w, 0] as const),
  ...['除夕', '大年30', '年30'].map((w) => [w, -1] as const),
  ...['春节前', '春节之前', '过年前', '过年之前', '过年以前', '年前', '快过年', '年根'].map((w) => [w, -10] as const),
  ...['腊月', '腊月里'].map((w) => [w, -15] as const),
  ...['春节后', '春节之后', '春节过后', '过年后', '过年之后', '过了年', '过完年', '年后'].map((w) => [w, 10] as const),
  ...['正月', '正月里'].map((w) => [w, 14] as const),
]);

/**
 * Vague recent times, in days before today; the answer is the month of that day (month precision). 前几天 a few
 * days (3); 最近 recently (15); 前段时间 / 前阵子 a while ago (30).
 */
const RECENT_WORDS = new Map<string, number>([
  ...['前几天', '前2天', '这几天', '这2天', '前些天', '前些日子', '这些天', '这些日子'].map((w) => [w, 3] as const),
  ...['最近', '近来', '近期', '最近这段时间', '这段时间', '这阵子', '这一阵'].map((w) => [w, 15] as const),
  ...['前段时间', '前一段时间', '前一段', '前阵子', '前一阵子', '前一阵', '不久前', '不久以前'].map((w) => [w, 30] as const),
]);

const festivalDays = new Map<number, Ymd>();
/**
 * 初一 of the lunar year that starts in Gregorian year `y`, from the Chinese calendar of Intl (ICU). Where a Node
 * build has no Chinese calendar, 5 February (the middle of the days it falls on, 21 January to 20 February).
 */
function springFestival(y: number): Ymd {
  const known = festivalDays.get(y);
  if (known) return known;
  let found: Ymd = { y, m: 2, d: 5 };
  const lunar = new Intl.DateTimeFormat('en-US-u-ca-chinese', { timeZone: 'UTC', month: 'numeric', day: 'numeric' });
  for (let day = 21; day <= 51; day++) {
    const parts = lunar.formatToParts(new Date(Date.UTC(y, 0, day)));
    if (parts.find((p) => p.type === 'month')?.value === '1' && parts.find((p) => p.type === 'day')?.value === '1') {
      found = addDays({ y, m: 1, d: 1 }, day - 1);
      break;
    }
  }
  festivalDays.set(y, found);
  return found;
}

/**
 * Every answer parseSpokenDate places: the dates and relative times at the top of this file, seasons (今年开春,
 * 去年秋收, 冬天), the Spring Festival (春节前, 过年的时候, 去年腊月), 上上个月, 一年多前, 两个多月前 and vague
 * recent times (前几天, 最近, 前段时间).
 */
function readDate(s: string, now: Date, timeZone: string): ParseResult<Exclude<SpokenDate, { precision: 'unknown' }>> {
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

  const finish = (y: number, m: number, d: number, precision: DatePrecision | 'season'): ParseResult<{ date: string; precision: DatePrecision | 'season' }> => {
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

  // 明天, 明年春天, 下个月: understood, and still to come
  if (/^(?:明天|后天|大后天|明年|后年|下1?个?月|下1?个?周|将来|以后)/.test(t)) return fail('date_future');
  // 上上个月, 上上周
  if (/^上上个?月(?:初|底|末|中旬|上旬|下旬|中)?$/.test(t)) return monthsAgo(2);
  if (/^上上个?周$/.test(t)) return daysAgo(14);
  // 一年多前, 两个多月前, 半年多前: a little more than that, still that far back at that precision
  if ((m = /^(\d+)年多(?:以)?前$/.exec(t))) return finish(today.y - Number(m[1]), 1, 1, 'year');
  if ((m = /^(\d+)个多月(?:以)?前$/.exec(t))) return monthsAgo(Number(m[1]));
  if (/^半年多(?:以)?前$/.test(t)) return monthsAgo(6);
  // 年初, 年底: this year's beginning, the latest end of a year (last year's until December)
  if (t === '年初') return finish(today.y, 1, 1, 'month');
  if (t === '年底' || t === '年末') return finish(today.m === 12 ? today.y : today.y - 1, 12, 1, 'month');
  // 去年这个时候 ("时候" is dropped above): this month, that year
  if ((m = /^(去年|前年|大前年)这个?$/.exec(t))) return finish(today.y - YEAR_WORDS.get(m[1]!)!, today.m, 1, 'month');
  // 前几天, 最近, 前段时间
  const recent = RECENT_WORDS.get(t);
  if (recent !== undefined) {
    const x = addDays(today, -recent);
    return finish(x.y, x.m, 1, 'month');
  }

  // A season or the Spring Festival, after an optional year: 今年开春, 去年秋收, 2025年冬天, 3年前的春节, 春节前
  m = /^(?:(今年|去年|前年|大前年)|(\d+)年(?:以)?前|(\d{4})年|(\d{2})年)?的?(.+)$/.exec(t);
  const namedYear =
    m?.[1] !== undefined ? today.y - YEAR_WORDS.get(m[1])! :
    m?.[2] !== undefined ? today.y - Number(m[2]) :
    m?.[3] !== undefined ? Number(m[3]) :
    m?.[4] !== undefined ? twoDigitYear(Number(m[4]), today) : undefined;
  const rest = m?.[5] ?? '';
  const season = SEASON_WORDS.get(rest);
  if (season) {
    const start = SEASON_START[season];
    let y: number;
    if (namedYear === undefined) y = today.m >= start ? today.y : today.y - 1; // the latest that has begun
    else if (season === 'winter' && m?.[1] === '今年' && today.m < 3) y = today.y - 1; // in January: this winter
    else y = namedYear;
    return finish(y, start, 1, 'season');
  }
  const offset = FESTIVAL_WORDS.get(rest);
  if (offset !== undefined) {
    let y = namedYear ?? today.y;
    // Unnamed: the latest one whose time has come (春节前 in late January is this year's).
    if (namedYear === undefined && iso(addDays(springFestival(y), offset)) > iso(today)) y -= 1;
    const x = addDays(springFestival(y), offset);
    return finish(x.y, x.m, 1, 'month');
  }
  return fail('date_format');
}

/**
 * When something happened, as people say it: at day, month or year precision (see the top of this file and
 * readDate), or at 'season' precision (今年开春, 秋收的时候, 去年冬天). With `keepUnplaced`, an answer that
 * cannot be placed ("农忙的时候", "好几年前", "记不清了") is kept as the person's words at precision 'unknown'
 * instead of 'date_format' (the flow turns it on when it would otherwise ask a third time). A date that can be placed but is wrong (2月30日, a future date, before 1950)
 * is refused either way, as is an empty answer.
 */
export function parseSpokenDate(
  s: string,
  now: Date,
  opts: { timeZone?: string; keepUnplaced?: boolean } = {},
): ParseResult<SpokenDate> {
  const r = readDate(s, now, opts.timeZone ?? 'Asia/Shanghai');
  if (r.ok || r.error !== 'date_format' || !opts.keepUnplaced) return r;
  return ok({ precision: 'unknown', words: stripOuterPunctuation(normalizeAnswer(s)) });
}

type Translate = (key: string, params?: Record<string, unknown>) => string;

/**
 * The summary's words for a "when" answer: 2026-10-15, 2026-10 or 2026 by its precision (as the summary shows
 * dates today), a season from summary.season.<spring|summer|autumn|winter> ("2025 年秋天"), words that could not
 * be placed from summary.date_words.
 */
export function describeDate(d: SpokenDate, t: Translate): string {
  if (d.precision === 'unknown') return t('summary.date_words', { words: d.words });
  const year = d.date.slice(0, 4);
  if (d.precision === 'season') {
    const month = Number(d.date.slice(5, 7));
    const season = (Object.keys(SEASON_START) as Season[]).find((k) => SEASON_START[k] === month) ?? 'spring';
    return t(`summary.season.${season}`, { year });
  }
  return d.date.slice(0, d.precision === 'year' ? 4 : d.precision === 'month' ? 7 : 10);
}
