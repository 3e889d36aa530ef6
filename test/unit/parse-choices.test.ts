import { describe, expect, it } from 'vitest';
import { parseChoiceNumbers, parseYesNo } from '../../bot/parse/index.ts';

describe('parseChoiceNumbers', () => {
  it.each([
    ['1', 5, [1]],
    ['5', 5, [5]],
    ['1、3', 5, [1, 3]],
    ['1,3', 5, [1, 3]],
    ['1，3', 5, [1, 3]],
    ['1 3', 5, [1, 3]],
    ['1  ,  3', 5, [1, 3]],
    ['1和3', 5, [1, 3]],
    ['1;3;4', 5, [1, 3, 4]],
    ['第2个', 5, [2]],
    ['第2项', 5, [2]],
    ['2.', 5, [2]],
    ['2。', 5, [2]],
    ['选2', 5, [2]],
    ['我选1和4', 5, [1, 4]],
    ['二', 5, [2]],
    ['第一和第三', 5, [1, 3]],
    ['13', 5, [1, 3]], // a run of digits when there are fewer than 10 options
    ['341', 5, [1, 3, 4]],
    ['3,1,3', 5, [1, 3]], // sorted, no repeats
    ['１、３', 5, [1, 3]],
  ])('%j of %d → %j', (input, count, expected) => {
    expect(parseChoiceNumbers(input, count)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['10', 12, [10]],
    ['1,12', 12, [1, 12]],
    ['十二', 12, [12]],
  ])('with 10 or more options, %j of %d → %j', (input, count, expected) => {
    expect(parseChoiceNumbers(input, count)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 5, 'empty'],
    ['abc', 5, 'choice_format'],
    ['1-3', 5, 'choice_format'],
    ['第', 5, 'choice_format'],
    ['都要', 5, 'choice_format'],
    ['6', 5, 'choice_out_of_range'],
    ['0', 5, 'choice_out_of_range'],
    ['1,6', 5, 'choice_out_of_range'],
    ['10', 5, 'choice_out_of_range'], // read as 1 and 0
    ['13', 12, 'choice_out_of_range'],
  ])('%j of %d → %s', (input, count, code) => {
    expect(parseChoiceNumbers(input, count)).toEqual({ ok: false, error: code });
  });
});

describe('parseYesNo', () => {
  it.each([
    '是', '是的', '对', '对的', '有', '好', '好的', '嗯', '嗯嗯', '行', '可以', '同意', '要', '需要',
    'y', 'Y', 'yes', 'YES', 'ok', 'OK', 'ｏｋ', '好的！', '是啊', '对对对', ' 是 ',
  ])('%j → yes', (input) => {
    expect(parseYesNo(input)).toEqual({ ok: true, value: true });
  });

  it.each([
    '否', '不', '不是', '没有', '无', '没', '不要', '不用', '不同意', '不需要', 'n', 'N', 'no', 'No', '没有。', '不了',
    '不用了', '没得',
  ])('%j → no', (input) => {
    expect(parseYesNo(input)).toEqual({ ok: true, value: false });
  });

  it.each([
    ['', 'empty'],
    ['1', 'yesno_unclear'],
    ['0', 'yesno_unclear'],
    ['2', 'yesno_unclear'],
    ['不知道', 'yesno_unclear'],
    ['也许', 'yesno_unclear'],
    ['是不是', 'yesno_unclear'],
    ['有时候', 'yesno_unclear'],
    ['abc', 'yesno_unclear'],
  ])('%j → %s', (input, code) => {
    expect(parseYesNo(input)).toEqual({ ok: false, error: code });
  });
});
