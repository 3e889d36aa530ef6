/**
 * Chinese numerals, money amounts and people counts, as typed on phones.
 *
 * Every parser in bot/parse/ returns a ParseResult: either the value or a stable error code. The bot maps each
 * code to a message in its locale files; nothing here is shown to users as-is.
 */

/** Every error code a parser can return. Locale files must cover each one (the bot checks this list). */
export const PARSE_ERRORS = [
  'empty',
  'not_a_number',
  'negative',
  'too_large',
  'too_many_decimals',
  'not_whole',
  'out_of_range',
  'phone_format',
  'phone_not_mobile',
  'id_length',
  'id_format',
  'id_region',
  'id_birthdate',
  'id_checksum',
  'id_disability_suffix',
  'date_format',
  'date_invalid',
  'date_future',
  'date_too_old',
  'choice_format',
  'choice_out_of_range',
  'yesno_unclear',
] as const;

export type ParseError = (typeof PARSE_ERRORS)[number];

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ParseError };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: ParseError): ParseResult<T> {
  return { ok: false, error };
}

/**
 * The normalisation every parser starts with: NFKC (full-width digits, letters and punctuation become ASCII,
 * the ideographic space becomes a space), the few Chinese marks NFKC leaves alone (、 。 dashes, wave dash)
 * mapped to ASCII, zero-width characters dropped, whitespace collapsed and trimmed.
 */
export function normalizeAnswer(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
    .replace(/、/g, ',')
    .replace(/[。｡]/g, '.')
    .replace(/[\u2010-\u2015\u2212\uFE63]/g, '-')
    .replace(/[〜]/g, '~')
    .replace(/[‘’]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/** Strips sentence punctuation people add around a short answer ("3000。", "好的！"). Keeps a leading "-" or "+". */
export function stripOuterPunctuation(s: string): string {
  return s.replace(/^[\s.,!?;:~'"“”‘’…]+/, '').replace(/[\s.,!?;:~'"“”‘’…]+$/, '');
}

const DIGITS = new Map<string, number>([
  ['零', 0], ['〇', 0], ['○', 0],
  ['一', 1], ['壹', 1], ['幺', 1],
  ['二', 2], ['贰', 2], ['貳', 2], ['两', 2], ['兩', 2], ['俩', 2], ['倆', 2],
  ['三', 3], ['叁', 3], ['參', 3], ['仨', 3],
  ['四', 4], ['肆', 4],
  ['五', 5], ['伍', 5],
  ['六', 6], ['陆', 6], ['陸', 6],
  ['七', 7], ['柒', 7],
  ['八', 8], ['捌', 8],
  ['九', 9], ['玖', 9],
]);

/** Units below 万: they combine inside one 万-section. k means thousand (3k). */
const SMALL_UNITS = new Map<string, number>([
  ['十', 10], ['拾', 10],
  ['百', 100], ['佰', 100],
  ['千', 1000], ['仟', 1000], ['k', 1000], ['K', 1000],
]);

/** Section units. People type w for 万 (3w). */
const BIG_UNITS = new Map<string, number>([
  ['万', 1e4], ['萬', 1e4], ['w', 1e4], ['W', 1e4],
  ['亿', 1e8], ['億', 1e8],
]);

type Token =
  | { t: 'num'; v: number; chinese: boolean; whole: boolean }
  | { t: 'unit'; v: number; big: boolean };

const ARABIC = /^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?/;

function tokenize(s: string): Token[] | undefined {
  const toks: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    const m = ARABIC.exec(rest);
    if (m) {
      const text = m[0].replace(/,/g, '');
      toks.push({ t: 'num', v: Number(text), chinese: false, whole: !text.includes('.') });
      i += m[0].length;
      continue;
    }
    const c = s[i]!;
    const digit = DIGITS.get(c);
    if (digit !== undefined) {
      toks.push({ t: 'num', v: digit, chinese: true, whole: true });
      i++;
      continue;
    }
    if (c === '点' || c === '點') {
      // Chinese decimal point: 二点五万. The fraction digits are Chinese digits read one by one.
      const prev = toks[toks.length - 1];
      let j = i + 1;
      let frac = '';
      while (j < s.length && DIGITS.has(s[j]!)) frac += String(DIGITS.get(s[j]!)), j++;
      if (!prev || prev.t !== 'num' || !prev.whole || frac === '') return undefined;
      prev.v = Number(`${prev.v}.${frac}`);
      prev.whole = false;
      i = j;
      continue;
    }
    const small = SMALL_UNITS.get(c);
    if (small !== undefined) {
      toks.push({ t: 'unit', v: small, big: false });
      i++;
      continue;
    }
    const big = BIG_UNITS.get(c);
    if (big !== undefined) {
      toks.push({ t: 'unit', v: big, big: true });
      i++;
      continue;
    }
    return undefined;
  }
  return toks;
}

/** Removes spaces that do not split a number: "3 000" and "3000 元" are fine, "30 50" is not a number. */
function squeezeSpaces(s: string): string | undefined {
  const t = s.replace(/(\d) (?=\d{3}(?:\D|$))/g, '$1').replace(/ (?!\d)|(?<!\d) /g, '');
  return /\s/.test(t) ? undefined : t;
}

/**
 * Reads a non-negative number written in Arabic digits, Chinese numerals (everyday or formal) or a mix:
 * "十二" 12, "一百零五" 105, "两千五" 2500, "一万二" 12000, "3万5千" 35000, "2.5万" 25000, "3k" 3000, "3w" 30000,
 * "二〇二六" 2026 (digits read one by one when there is no unit). Returns undefined for anything else,
 * including signs and words.
 */
export function parseChineseNumber(s: string): number | undefined {
  const squeezed = squeezeSpaces(normalizeAnswer(s));
  if (!squeezed) return undefined;
  const toks = tokenize(squeezed);
  if (!toks || toks.length === 0) return undefined;

  // Only Chinese digits and no unit: a digit string such as a year (二〇二六), or a single digit.
  if (toks.every((t) => t.t === 'num' && t.chinese && t.whole)) {
    return Number(toks.map((t) => String(t.v)).join(''));
  }
  if (toks.length === 1 && toks[0]!.t === 'num') return toks[0]!.v;

  let total = 0; // sections closed by 万 / 亿
  let section = 0; // the part below 万 being built
  let pending: number | undefined; // a number not yet multiplied by a unit
  let lastUnit: number | undefined; // the unit just before `pending`, for "两千五" = 2500
  let lastSmall = Infinity; // small units must decrease inside a section (千 > 百 > 十)
  let afterZero = false; // "一百零五": a digit after 零 counts as itself
  let usedWan = false;

  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok.t === 'num') {
      if (pending !== undefined) return undefined; // two numbers in a row: "3五", "三四千"
      if (tok.chinese && tok.v === 0 && tok.whole && k < toks.length - 1) {
        afterZero = true;
        lastUnit = undefined;
        continue;
      }
      pending = tok.v;
      continue;
    }
    if (!tok.big) {
      let n = pending;
      if (n === undefined) {
        if (tok.v !== 10) return undefined; // "百" or "千" with no digit
        n = 1; // "十二", "十万"
      }
      if (tok.v >= lastSmall) return undefined;
      section += n * tok.v;
      lastSmall = tok.v;
    } else {
      const n = section + (pending ?? 0);
      if (n === 0) return undefined; // "万" alone, "0万"
      if (tok.v === 1e8) {
        total = (total + n) * 1e8;
        usedWan = false;
      } else {
        if (usedWan) return undefined; // "一万二万"
        total += n * 1e4;
        usedWan = true;
      }
      section = 0;
      lastSmall = Infinity;
    }
    pending = undefined;
    lastUnit = tok.v;
    afterZero = false;
  }

  if (pending !== undefined) {
    if (lastUnit === undefined) {
      section += pending;
    } else if (!afterZero && Number.isInteger(pending) && pending >= 1 && pending <= 9) {
      // Colloquial: a lone digit after a unit is one step below it. 两千五 = 2500, 一万二 = 12000, 三百五 = 350.
      section += (pending * lastUnit) / 10;
    } else if (pending < lastUnit) {
      section += pending; // "1万2000", "1千50"
    } else {
      return undefined; // "两千3000"
    }
  }
  return Math.round((total + section) * 1e6) / 1e6;
}

export type { Money } from '../../server/intake/answers.ts';
import { isApproximate, perYear, type Money } from '../../server/intake/answers.ts';

export const MAX_MONEY_YUAN = 10_000_000;

/** Answers meaning "I don't know". They give `unknown`, never 0. */
const UNKNOWN_WORDS = new Set([
  '不知道', '不清楚', '不晓得', '不知', '说不清', '说不清楚', '说不好', '不确定', '不好说', '不记得', '记不清',
  '记不清楚', '记不得', '忘了', '忘记了', '没算过', '算不清', '算不出来', '不懂', '不太清楚', '不太确定', '不太知道',
  // the English questions' own answers (their examples say "don't know" and "none")
  "don't know", 'dont know', 'do not know', 'not sure', 'unknown',
]);

/** Answers meaning "none": amount 0. */
const NONE_WORDS = new Set([
  '没有', '无', '没', '没得', '没收入', '没有收入', '无收入', '零收入', '没钱', '没有钱', '一分没有', '一分都没有',
  '一分钱没有', '一分钱都没有', '没有了',
  'none', 'nothing', 'no income',
]);

function stripAffixes(s: string, prefixes: readonly string[], suffixes: readonly string[]): string {
  let t = s;
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of prefixes) {
      if (t.startsWith(p) && t.length > p.length) {
        t = t.slice(p.length);
        changed = true;
      }
    }
    for (const x of suffixes) {
      if (t.endsWith(x) && t.length > x.length) {
        t = t.slice(0, -x.length);
        changed = true;
      }
    }
  }
  return t;
}

/** "不知道" and the like: unknown; "没有" / "无": 0; anything else: undefined. `t` is normalised and lower-cased. */
function moneyWord(t: string): Money | undefined {
  const bare = stripAffixes(t.replace(/\s/g, ''), [], ['吧', '啊', '呀', '哦', '呢', '的']);
  const words = stripAffixes(t, [], ['吧', '啊', '呀', '哦', '呢', '的']).trim();
  if (UNKNOWN_WORDS.has(bare) || UNKNOWN_WORDS.has(words)) return { kind: 'unknown' };
  if (NONE_WORDS.has(bare) || NONE_WORDS.has(words)) return { kind: 'amount', yuan: 0 };
  return undefined;
}

/**
 * A money answer as it was said: an exact amount, an amount said roughly (大概8000, 万把块), or a range
 * (七八千, 3到4千, 一千多), in yuan. A range is always approximate. `perMonth`: the person gave a month's figure
 * (一个月一千多); the values are kept as said, per month, and `perYear` / `yuanOf` (server/intake/money.ts) make
 * them yearly (×12).
 * The amount and unknown shapes are `Money`'s, so a `Money` is a `SpokenMoney`.
 */
export type SpokenMoney = Money;

type Affix = { word: string; approximate?: boolean; perMonth?: boolean; under?: boolean };

/** Words before the number. Longer words first where one starts another. */
const SPOKEN_PREFIXES: Affix[] = [
  ...['大概是', '大约是', '大概有', '大约有', '大概', '大约', '大致', '约莫', '约', '差不多有', '差不多', '估计有', '估计', '估摸着', '可能有', '可能', '应该有', '将近', '接近', '快要', '快', '近']
    .map((word) => ({ word, approximate: true })),
  // 不到一万: a little under 10,000 (see `readPoint`)
  ...['还不到', '不到', '不足'].map((word) => ({ word, under: true })),
  ...['平均每个月', '平均每月', '平均一个月', '每个月', '一个月', '每月', '月均', '月收入', '月入'].map((word) => ({ word, perMonth: true })),
  ...['一年到头', '一年下来', '一整年', '一年', '每年', '全年', '年收入'].map((word) => ({ word })),
  ...['¥', 'rmb', '人民币', '也就是', '也就', '就是', '就', '才', '只有', '能有', '一共是', '一共有', '一共', '总共有', '总共', '加起来', '算下来', '有个', '有', '是']
    .map((word) => ({ word })),
];
/** Words after the number. 多 / 来 / 余 / 出头 / 把 are not here: they are part of the number (`readPoint`). */
const SPOKEN_SUFFIXES: Affix[] = [
  ...['左右', '上下', '前后', '的样子', '样子', '这样', '那样'].map((word) => ({ word, approximate: true })),
  // 一万不到
  ...['还不到', '不到'].map((word) => ({ word, under: true })),
  ...['一个月', '每个月', '每月', '/月'].map((word) => ({ word, perMonth: true })),
  ...['一年', '每年', '/年', '之间'].map((word) => ({ word })),
  ...['块钱', '块', '元钱', '元', '圆', '人民币', 'rmb', '钱', '吧', '啊', '呀', '哦', '呢', '的', '了'].map((word) => ({ word })),
];
/** Currency words a side of a range may carry: "3000元到4000元". */
const CURRENCY = ['块钱', '块', '元钱', '元', '圆'];

const CN_DIGIT = '一二两三四五六七八九';
const UNIT_CHARS = '十百千万亿拾佰仟萬億kw';

/** The place of a number's last non-zero digit: 3000 → 1000, 3500 → 100, 12000 → 1000, 2.5 → 0.1. */
function lastPlace(n: number): number {
  if (!Number.isInteger(n)) {
    const decimals = String(n).split('.')[1]?.length ?? 0;
    return 10 ** -decimals;
  }
  let p = 1;
  while (n !== 0 && n % (p * 10) === 0) p *= 10;
  return p;
}

/** The value of a run of unit characters ("万", "千万", "" = 1), or undefined if it is not one. */
function unitValue(units: string): number | undefined {
  if (units === '') return 1;
  return parseChineseNumber(`1${units}`);
}

type Reading = { from: number; to: number; approximate: boolean } | ParseError;

const point = (v: number | undefined, approximate = false): Reading => (v === undefined ? 'not_a_number' : { from: v, to: v, approximate });
const between = (from: number | undefined, to: number | undefined): Reading =>
  from === undefined || to === undefined || !(from < to) ? 'not_a_number' : { from, to, approximate: true };

/**
 * One number as said aloud, with its rough-amount words. The readings (a choice; the words are vague):
 * - 多 / 余 after a number: up to one more of its last digit's place. 一千多 1,000–2,000; 三千多 3,000–4,000;
 *   3500多 3,500–3,600; 十多万 (多 before the unit) 100,000–200,000; 一万二多 12,000–13,000.
 * - 出头 (and 挂零, 多点, 多一点): just over, up to a fifth of that place more. 一万出头 10,000–12,000;
 *   三千出头 3,000–3,200.
 * - 不到 (and 不足) before a number: just under, down to a fifth of that place less. 不到一万 8,000–10,000.
 * - 来 and 把 (十来万, 一千来块, 万把块, 千把块): "about that much, a little less or more" (现代汉语词典): an
 *   approximate amount, not a range. 十来万 ≈ 100,000; 万把块 ≈ 10,000.
 * - Two neighbouring digits (一两千, 七八千, 两三万, 一万五六, 二三十万, 十一二万) and 三五 (三五千): from the
 *   first to the second. 七八千 7,000–8,000; 一万五六 15,000–16,000.
 * - 几: a digit from 2 to 9 in front (几千 2,000–9,000; 几十 20–90), from 1 to 9 after a unit or 十 (十几万
 *   110,000–190,000; 一万几 11,000–19,000).
 */
function readPoint(raw: string): Reading {
  // 一万块出头, 一千块多: the currency word said before the rough word
  let s = raw.replace(/(?:块钱|块|元)(?=出头|挂零|多|来|余)/, '');
  // 万把 / 千五 / 百来块: a leading 万, 千 or 百 is one of them (十 already is: 十二).
  if (/^[万千百萬]/.test(s)) s = `一${s}`;
  if (/^\d+\.\d{3,}$/.test(s)) return 'too_many_decimals';

  let m: RegExpExecArray | null;
  if ((m = /^(.+?)(?:出头|挂零|多一点|多点)$/.exec(s))) {
    const v = parseChineseNumber(m[1]!);
    return v === undefined || v === 0 ? 'not_a_number' : between(v, v + lastPlace(v) / 5);
  }
  if ((m = new RegExp(`^(.*[${UNIT_CHARS}])把$`).exec(s))) return point(parseChineseNumber(m[1]!), true);
  if ((m = new RegExp(`^(.*[\\d${CN_DIGIT}${UNIT_CHARS}])来([${UNIT_CHARS}]*)$`).exec(s))) return point(parseChineseNumber(m[1]! + m[2]!), true);
  if ((m = new RegExp(`^(.*[\\d${CN_DIGIT}${UNIT_CHARS}])[多余]([${UNIT_CHARS}]*)$`).exec(s))) {
    const before = parseChineseNumber(m[1]!);
    const unit = unitValue(m[2]!);
    if (before === undefined || before === 0 || unit === undefined) return 'not_a_number';
    const from = parseChineseNumber(m[1]! + m[2]!);
    return from === undefined ? 'not_a_number' : between(from, from + lastPlace(before) * unit);
  }
  if ((m = /^(.*?)几(.*)$/.exec(s))) {
    const [head, tail] = [m[1]!, m[2]!];
    const low = head === '' ? '二' : '一';
    return between(parseChineseNumber(`${head}${low}${tail}`), parseChineseNumber(`${head}九${tail}`));
  }
  // 七八千, 一万五六, 三五千: only with a unit somewhere, so "二三" alone stays a digit string.
  if (new RegExp(`[${UNIT_CHARS}]`).test(s) && (m = new RegExp(`^(.*?)([${CN_DIGIT}])([${CN_DIGIT}])(.*)$`).exec(s))) {
    const [head, a, b, tail] = [m[1]!, m[2]!, m[3]!, m[4]!];
    const [x, y] = [DIGITS.get(a)!, DIGITS.get(b)!];
    if (y === x + 1 || (x === 3 && y === 5)) return between(parseChineseNumber(head + a + tail), parseChineseNumber(head + b + tail));
  }
  return point(parseChineseNumber(s));
}

function stripCurrency(s: string): string {
  return stripAffixes(s, [], CURRENCY);
}

/**
 * A range said with 到 / 至 / - / ~ ("3000到4000", "3-4千", "三到四万", "一万到一万五", "3k-4k"), or with a
 * comma between two single digits ("3、4千"). A left side without a unit takes the right side's ("3到4千" is
 * 3,000–4,000) unless that makes it larger than the right side ("3000到4千"). Each side may be rough
 * ("一万出头到两万"): the range runs from the left's start to the right's end.
 */
function readRange(s: string): Reading | undefined {
  const m =
    /^(.+?)(?:到|至|-|~)(.+)$/.exec(s) ??
    new RegExp(`^([\\d${CN_DIGIT}]),([\\d${CN_DIGIT}][${UNIT_CHARS}].*)$`).exec(s);
  if (!m) return undefined;
  let left = stripCurrency(m[1]!);
  const right = stripCurrency(m[2]!);
  const r = readPoint(right);
  if (typeof r === 'string') return r;
  const unit = new RegExp(`[${UNIT_CHARS}]$`).exec(right)?.[0];
  if (unit && !new RegExp(`[${UNIT_CHARS}]`).test(left)) {
    const scaled = readPoint(left + unit);
    if (typeof scaled !== 'string' && scaled.to <= r.to) left += unit;
  }
  const l = readPoint(left);
  if (typeof l === 'string') return l;
  if (l.from === r.to) return point(l.from, true);
  return between(l.from, r.to);
}

/**
 * A money answer as people say it, typed or dictated: exact ("3000", "两千五"), rough ("大概8000", "万把块",
 * "十来万"), or a range ("七八千", "三四千块", "两三万", "一千多", "一万出头", "3到4千", "3000~4000"), per year or
 * per month ("一个月一千多", "每月3000", "1500元/月"). "不知道" → unknown; "没有" → 0. The readings of the rough
 * words are in `readPoint`. Up to 10,000,000 yuan, rounded to cents. Errors: 'empty', 'not_a_number',
 * 'negative', 'too_large' (over 10,000,000 yuan, the top of a range included), 'too_many_decimals' (a plain amount
 * with more than two decimals, "3.000": most likely a mistyped separator).
 */
export function parseSpokenMoney(s: string): ParseResult<SpokenMoney> {
  let t = stripOuterPunctuation(normalizeAnswer(s).toLowerCase().replace(/\s+/g, ' '));
  if (t === '') return fail('empty');
  const word = moneyWord(t);
  if (word) return ok(word);

  t = t.replace(/ (?=\D)|(?<=\D) /g, '');
  let approximate = false;
  let perMonth = false;
  let under = false;
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of SPOKEN_PREFIXES) {
      if (t.startsWith(a.word) && t.length > a.word.length) {
        t = t.slice(a.word.length);
        approximate ||= Boolean(a.approximate);
        perMonth ||= Boolean(a.perMonth);
        under ||= Boolean(a.under);
        changed = true;
      }
    }
    for (const a of SPOKEN_SUFFIXES) {
      if (t.endsWith(a.word) && t.length > a.word.length) {
        t = t.slice(0, -a.word.length);
        approximate ||= Boolean(a.approximate);
        perMonth ||= Boolean(a.perMonth);
        under ||= Boolean(a.under);
        changed = true;
      }
    }
  }
  if (/^[-负]/.test(t)) {
    const r = readPoint(t.slice(1));
    return fail(typeof r !== 'string' && r.to > 0 ? 'negative' : 'not_a_number');
  }

  let r = readRange(t) ?? readPoint(t);
  if (typeof r === 'string') return fail(r);
  if (under) {
    if (r.from !== r.to || r.to === 0) return fail('not_a_number');
    r = between(r.to - lastPlace(r.to) / 5, r.to);
    if (typeof r === 'string') return fail(r);
  }
  if (r.to > MAX_MONEY_YUAN) return fail('too_large');
  const cents = (v: number) => Math.round(v * 100) / 100;
  const month = perMonth ? ({ perMonth: true } as const) : {};
  if (r.from === r.to) {
    return ok({ kind: 'amount', yuan: cents(r.from), ...(approximate || r.approximate ? { approximate: true as const } : {}), ...month });
  }
  return ok({ kind: 'range', from: cents(r.from), to: cents(r.to), approximate: true, ...month });
}

export { isApproximate, perYear };

type Translate = (key: string, params?: Record<string, unknown>) => string;

/**
 * The summary's words for a money answer, from the locale keys summary.unknown, summary.yuan ("3,000 元"),
 * summary.yuan_about ("约 3,000 元"), summary.yuan_range ("约 7,000–8,000 元") and summary.per_month (the month's
 * figure and the year's: "每月约 1,000–2,000 元，全年约 12,000–24,000 元"). Numbers are written 7,000.
 */
export function describeMoney(m: SpokenMoney, t: Translate): string {
  const n = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  const words = (x: SpokenMoney): string => {
    if (x.kind === 'unknown') return t('summary.unknown');
    if (x.kind === 'range') return t('summary.yuan_range', { from: n(x.from), to: n(x.to) });
    return t(x.approximate ? 'summary.yuan_about' : 'summary.yuan', { amount: n(x.yuan) });
  };
  if (m.kind === 'unknown' || !m.perMonth) return words(m);
  const { perMonth: _, ...month } = m;
  return t('summary.per_month', { amount: words(month), year: words(perYear(m)) });
}

const COUNT_PREFIXES = ['一共是', '一共有', '一共', '总共', '共有', '共', '家里有', '家里', '我家有', '我家', '全家', '一家', '有'];
const COUNT_SUFFIXES = ['口之家', '口人', '个人', '口', '人', '个', '位', '名', '吧', '啊', '呀', '哦', '了'];
const NONE_COUNT_WORDS = new Set(['没有', '无', '没', '没得', '没人', '没有人', '一个都没有', '一个也没有']);

/**
 * A number of people: "3", "三", "3口人", "三个人", "五口之家", "一家五口". Whole numbers in [min, max] only.
 * "没有" / "无" count as 0 (then range-checked). A negative number is 'out_of_range'.
 */
export function parseCount(s: string, opts: { min: number; max: number }): ParseResult<number> {
  const t = stripOuterPunctuation(normalizeAnswer(s)).replace(/\s/g, '');
  if (t === '') return fail('empty');
  let v: number | undefined;
  if (NONE_COUNT_WORDS.has(t)) {
    v = 0;
  } else {
    const negative = /^[-负]/.test(t);
    const body = stripAffixes(negative ? t.slice(1) : t, COUNT_PREFIXES, COUNT_SUFFIXES);
    v = parseChineseNumber(body);
    if (v === undefined) return fail('not_a_number');
    if (!Number.isInteger(v)) return fail('not_whole');
    if (negative && v > 0) return fail('out_of_range');
  }
  if (v < opts.min || v > opts.max) return fail('out_of_range');
  return ok(v);
}
