/**
 * Answers to numbered option lists (for channels without buttons) and to yes/no questions.
 */
import { fail, normalizeAnswer, ok, parseChineseNumber, stripOuterPunctuation, type ParseResult } from './numbers.ts';

const CHOICE_SEPARATORS = /[,;/+&.\s]+|和|与|跟|及|还有/;
const CHOICE_PREFIX = /^(?:我选|选择|选|第)+/;
const CHOICE_SUFFIX = /(?:个|项|条|种|号|吧|的)+$/;

/**
 * Options are numbered 1..count. Accepts "1", "1、3", "1,3", "1 3", "1和3", "第2个", "2.", "二和三", and, when
 * count < 10, a run of digits such as "13" read as 1 and 3. Returns the chosen numbers sorted, without repeats.
 *
 * Errors: 'empty'; 'choice_format' (something that is not a list of numbers: letters, "1-3", a decimal number);
 * 'choice_out_of_range' (a number below 1 or above count, including 0 inside a digit run such as "10" when count < 10).
 */
export function parseChoiceNumbers(s: string, count: number): ParseResult<number[]> {
  const t = stripOuterPunctuation(normalizeAnswer(s).toLowerCase());
  if (t === '') return fail('empty');
  const picked: number[] = [];
  for (const raw of t.split(CHOICE_SEPARATORS)) {
    const token = raw.replace(CHOICE_PREFIX, '').replace(CHOICE_SUFFIX, '');
    if (token === '') {
      if (raw === '') continue;
      return fail('choice_format');
    }
    if (/^\d+$/.test(token)) {
      if (count < 10 && token.length > 1) picked.push(...[...token].map(Number));
      else picked.push(Number(token));
      continue;
    }
    const v = parseChineseNumber(token);
    if (v === undefined || !Number.isInteger(v)) return fail('choice_format');
    picked.push(v);
  }
  if (picked.length === 0) return fail('choice_format');
  if (picked.some((n) => n < 1 || n > count)) return fail('choice_out_of_range');
  return ok([...new Set(picked)].sort((a, b) => a - b));
}

const YES = new Set([
  '是', '是的', '是啊', '对', '对的', '对啊', '有', '有的', '好', '好的', '嗯', '恩', '行', '可以', '同意', '要', '需要',
  '愿意', '确定', '没错', '没问题', '当然', 'y', 'yes', 'ok', 'okay', '👍', '👌',
]);
const NO = new Set([
  '否', '不', '不是', '没有', '无', '没', '没得', '莫得', '不要', '不用', '不同意', '不需要', '不行', '不愿意', '不对',
  '不可以', '算了', 'n', 'no', 'nope',
]);
const PARTICLES = /(?:啊|呀|吧|哦|喔|噢|嘛|了|啦|哈|呢)+$/;

/**
 * Yes / no. Digits are never read as yes or no ("1" is unclear). A word repeated ("嗯嗯", "对对对") counts once.
 * Error: 'empty'; 'yesno_unclear' for anything else, including "不知道".
 */
export function parseYesNo(s: string): ParseResult<boolean> {
  let t = stripOuterPunctuation(normalizeAnswer(s).toLowerCase()).replace(/\s/g, '');
  if (t === '') return fail('empty');
  for (const candidate of [t, t.replace(PARTICLES, '')]) {
    t = candidate.replace(/^(.+?)\1+$/u, '$1');
    if (YES.has(t)) return ok(true);
    if (NO.has(t)) return ok(false);
  }
  return fail('yesno_unclear');
}
