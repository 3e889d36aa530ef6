import { describe, expect, it } from 'vitest';
import { eventDateText, isApproximate, missingDetails, readAnswers, yuanOf } from '../../server/intake/answers.ts';

// A lead's answers as every reader sees them (API, exports, forwarding, cards): typed, and lenient with what an
// older flow stored, so one odd field never breaks a county's export or turns into a 0.
describe("a lead's answers", () => {
  it('reads what the report stored, typed', () => {
    const a = readAnswers({
      householdSize: 4,
      householdType: 'escaped',
      risks: ['illness', 'disaster'],
      disasterType: 'flood',
      housingUnsafe: true,
      a28: { kind: 'amount', yuan: 20000 },
      a29: { kind: 'unknown' },
      exclusions: ['none'],
      whatHappened: '七月发大水',
      whenHappened: { date: '2026-07', precision: 'month' },
    });
    expect(a).toMatchObject({ householdSize: 4, householdType: 'escaped', risks: ['illness', 'disaster'], disasterType: 'flood', housingUnsafe: true, exclusions: ['none'] });
    expect(yuanOf(a.a28)).toBe(20000);
    expect(yuanOf(a.a29)).toBeNull(); // "I don't know" is not 0
    expect(yuanOf(a.a30)).toBeNull(); // not asked
    expect(a.whenHappened).toEqual({ date: '2026-07', precision: 'month' });
  });

  it.each([
    ['a field of the wrong type reads as missing', { householdSize: '四', a28: 3000, housingUnsafe: 'yes' }, { householdSize: undefined, a28: undefined, housingUnsafe: undefined }],
    ['a list keeps its known values only', { risks: ['illness', 'bad_luck', 3], exclusions: ['car', 'yacht'] }, { risks: ['illness'], exclusions: ['car'] }],
    ['a list that is not a list is empty', { risks: 'illness' }, { risks: [] }],
    ['a household type from nowhere reads as missing', { householdType: 'rich' }, { householdType: undefined }],
    ['a date without its precision reads as missing', { whenHappened: { date: '2026-07' } }, { whenHappened: undefined }],
  ])('%s', (_name, stored, expected) => {
    expect(readAnswers(stored)).toMatchObject(expected);
  });

  it('reads nothing at all as no answers, never as a failure', () => {
    for (const stored of [null, undefined, 'text', 42, []]) {
      const a = readAnswers(stored);
      expect(a).toMatchObject({ risks: [], exclusions: [] });
      expect(a.householdSize).toBeUndefined();
      expect(yuanOf(a.a28)).toBeNull();
    }
  });
});

describe('answers as people gave them', () => {
  it('keeps a range, a rough amount and a month figure; every reader counts a year, a range at its middle', () => {
    const a = readAnswers({
      a28: { kind: 'range', from: 7000, to: 8000, approximate: true },
      a29: { kind: 'range', from: 1000, to: 2000, approximate: true, perMonth: true },
      a31: { kind: 'amount', yuan: 10000, approximate: true },
      a32: { kind: 'amount', yuan: 800, perMonth: true },
      whenHappened: { precision: 'unknown', words: '栽秧子那阵' },
    });
    expect(a.a28).toEqual({ kind: 'range', from: 7000, to: 8000, approximate: true });
    expect([a.a28, a.a29, a.a31, a.a32].map(yuanOf)).toEqual([7500, 18000, 10000, 9600]);
    expect([a.a28, a.a29, a.a31, a.a32, a.a30].map(isApproximate)).toEqual([true, true, true, false, false]);
    expect(eventDateText(a.whenHappened)).toBe('栽秧子那阵');
    expect(eventDateText(readAnswers({ whenHappened: { date: '2024-09-01', precision: 'season' } }).whenHappened)).toBe('2024-09-01');
  });

  it('a range without its ends, or a date of an unknown precision, reads as missing, not as 0', () => {
    const a = readAnswers({ a28: { kind: 'range', from: 7000 }, whenHappened: { date: '2024', precision: 'decade' } });
    expect(a.a28).toBeUndefined();
    expect(yuanOf(a.a28)).toBeNull();
    expect(a.whenHappened).toBeUndefined();
  });
});

describe('what a report still lacks of its details', () => {
  it('names each part never asked, and an income part while any income is missing', () => {
    expect(missingDetails({})).toEqual(['whenHappened', 'householdSize', 'labourers', 'householdType', 'incomes', 'exclusions']);
    const some = { whenHappened: { date: '2026-07', precision: 'month' }, householdSize: 4, labourers: 2, householdType: 'escaped', a28: { kind: 'unknown' }, a29: { kind: 'amount', yuan: 100 } };
    expect(missingDetails(some)).toEqual(['incomes', 'exclusions']);
    const all = { ...some, a30: { kind: 'unknown' }, a31: { kind: 'unknown' }, a32: { kind: 'unknown' }, a35: { kind: 'unknown' }, a36: { kind: 'unknown' }, exclusions: [] };
    // answered "不知道" is not missing
    expect(missingDetails(all)).toEqual([]);
  });
});
