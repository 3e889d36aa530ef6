import { describe, expect, it } from 'vitest';
import { assess, type AssessmentInput, type IncomeField } from '../../server/intake/assessment.ts';

const LINE = { yuanPerPerson: 6000, year: 2026, exactYear: true };
const none = { housingUnsafe: false, childOutOfSchool: false, waterUnsafe: false, noMedicalInsurance: false };

/** Incomes in yuan (null = the person did not know), in the order A28 A29 A30 A31 A32 A35 A36. */
function input(amounts: Array<number | null>, over: Partial<AssessmentInput> = {}): AssessmentInput {
  const fields: IncomeField[] = ['a28', 'a29', 'a30', 'a31', 'a32', 'a35', 'a36'];
  const incomes = Object.fromEntries(fields.map((f, i) => [f, amounts[i] === null ? { kind: 'unknown' } : { kind: 'amount', yuan: amounts[i]! }])) as AssessmentInput['incomes'];
  return { householdSize: 4, householdType: 'ordinary', incomes, risks: ['illness'], guarantees: none, exclusions: [], eventDescribed: true, line: LINE, ...over };
}

describe('preliminary assessment (A33/A34/A37/A38 and category)', () => {
  // household of 4, line 6,000 per person: the boundary is 24,000 for the household.
  it.each([
    ['A34 and A38 equal to the line: ordinary household → 边缘易致贫户', [24000, 0, 0, 0, 0, 0, 0], 'ordinary', 'marginal', 6000, 6000],
    ['A34 and A38 equal to the line: 脱贫户 → 脱贫不稳定户', [24000, 0, 0, 0, 0, 0, 0], 'escaped', 'unstable_escaped', 6000, 6000],
    ['one fen above the line → above the line', [24000.04, 0, 0, 0, 0, 0, 0], 'ordinary', 'above_line', 6000.01, 6000.01],
    ['below the line on both', [10000, 2000, 0, 1000, 1000, 0, 0], 'ordinary', 'marginal', 3000, 3000],
    ['A34 above, A38 below (big medical costs) → 突发严重困难户', [30000, 0, 0, 0, 0, 0, 10000], 'escaped', 'sudden_hardship', 7500, 5000],
    ['A34 above, A38 exactly on the line → 突发严重困难户', [28000, 0, 0, 0, 0, 0, 4000], 'ordinary', 'sudden_hardship', 7000, 6000],
    ['A34 below but payouts lift A38 above → above the line', [20000, 0, 0, 0, 0, 8000, 0], 'ordinary', 'above_line', 5000, 7000],
    ['already a monitoring object is assessed like an ordinary household', [8000, 0, 0, 0, 0, 0, 0], 'monitored', 'marginal', 2000, 2000],
  ] as const)('%s', (_name, amounts, householdType, category, a34, a38) => {
    const r = assess(input([...amounts], { householdType }));
    expect(r.category).toBe(category);
    expect(r.a34).toBe(a34);
    expect(r.a38).toBe(a38);
  });

  it('computes the four figures from the form\'s formulas', () => {
    const r = assess(input([12000, 8000, 500, 3600, 2000, 1000, 5000]));
    expect(r.a33).toBe(22100); // 12000 + 8000 + 500 + 3600 − 2000
    expect(r.a34).toBe(5525);
    expect(r.a37).toBe(18100); // 22100 + 1000 − 5000
    expect(r.a38).toBe(4525);
  });

  it.each([
    [1, [5999, 0, 0, 0, 0, 0, 0], 5999, 'marginal'],
    [1, [6001, 0, 0, 0, 0, 0, 0], 6001, 'above_line'],
    [9, [54000, 0, 0, 0, 0, 0, 0], 6000, 'marginal'],
    [9, [54009, 0, 0, 0, 0, 0, 0], 6001, 'above_line'],
  ] as const)('household of %i', (size, amounts, a34, category) => {
    const r = assess(input([...amounts], { householdSize: size }));
    expect(r.a34).toBe(a34);
    expect(r.category).toBe(category);
  });

  // A34 and A38 are rounded to the nearest fen (四舍五入), then compared with the line. Each row divides inexactly
  // and lands within a fen of the line (household of 3: the boundary is 18,000 for the household), so rounding
  // down, rounding up or not rounding at all gives another figure, and on these rows another category.
  it.each([
    // name, A28 (wages), A35 (payouts), A36 (rigid spending), expected A34, A38, category
    ['A34 = A38 = 6000.0033 → 6000.00: on the line', 18000.01, 0, 0, 6000, 6000, 'marginal'],
    ['A34 = A38 = 6000.0067 → 6000.01: above the line', 18000.02, 0, 0, 6000.01, 6000.01, 'above_line'],
    ['A34 = A38 = 5999.9967 → 6000.00: on the line', 17999.99, 0, 0, 6000, 6000, 'marginal'],
    ['A34 = A38 = 5999.9933 → 5999.99: below the line', 17999.98, 0, 0, 5999.99, 5999.99, 'marginal'],
    ['A38 alone = 6000.0067 → 6000.01: above the line', 15000, 3000.02, 0, 5000, 6000.01, 'above_line'],
    ['A38 alone = 6000.0033 → 6000.00: on the line', 15000, 3000.01, 0, 5000, 6000, 'marginal'],
    ['A34 = 6000.0067 → 6000.01 above, A38 below → 突发严重困难户', 18000.02, 0, 1000, 6000.01, 5666.67, 'sudden_hardship'],
    ['A34 = 6000.0033 → 6000.00 on the line, A38 below → 边缘易致贫户', 18000.01, 0, 1000, 6000, 5666.67, 'marginal'],
  ] as const)('rounds to the nearest fen: %s', (_name, a28, a35, a36, a34, a38, category) => {
    const r = assess(input([a28, 0, 0, 0, 0, a35, a36], { householdSize: 3 }));
    expect(r.a34).toBe(a34);
    expect(r.a38).toBe(a38);
    expect(r.category).toBe(category);
  });

  it.each([
    // half a fen is rounded away from zero (四舍五入), for a negative net income as for a positive one
    ['12000.01 for 2 people: 6000.005 → 6000.01, above the line', 12000.01, 2, 6000.01, 'above_line'],
    ['11999.99 for 2 people: 5999.995 → 6000.00, on the line', 11999.99, 2, 6000, 'marginal'],
    ['−0.01 for 2 people: −0.005 → −0.01', -0.01, 2, -0.01, 'marginal'],
    ['−2000.03 for 2 people: −1000.015 → −1000.02', -2000.03, 2, -1000.02, 'marginal'],
    ['−0.01 for 3 people: −0.0033 → 0', -0.01, 3, 0, 'marginal'],
  ] as const)('half a fen: %s', (_name, a33, size, perHead, category) => {
    // a negative net income: costs (A32) above income (A28)
    const r = assess(input(a33 >= 0 ? [a33, 0, 0, 0, 0, 0, 0] : [0, 0, 0, 0, -a33, 0, 0], { householdSize: size }));
    expect(r.a33).toBe(a33);
    expect(r.a34).toBe(perHead);
    expect(r.a38).toBe(perHead);
    expect(r.category).toBe(category);
  });

  it('divides to the fen and compares exactly (household of 3)', () => {
    const r = assess(input([18000.01, 0, 0, 0, 0, 0, 0], { householdSize: 3 }));
    expect(r.a34).toBe(6000);
    expect(r.category).toBe('marginal');
  });

  it('costs larger than income give a negative net income, below the line, and a flag', () => {
    const r = assess(input([2000, 3000, 0, 0, 9000, 0, 0]));
    expect(r.a33).toBe(-4000);
    expect(r.a34).toBe(-1000);
    expect(r.category).toBe('marginal');
    expect(r.flags).toContain('costs_exceed_income');
  });

  it('an unknown income is never taken as 0: the figures stay unknown and the lead says so', () => {
    const r = assess(input([null, null, null, null, null, null, null]));
    expect(r).toMatchObject({ a33: null, a34: null, a37: null, a38: null, category: 'unknown' });
    expect(r.flags).toContain('income_incomplete');
    const partial = assess(input([30000, 0, 0, 0, 0, null, 0]));
    expect(partial.a33).toBe(30000);
    expect(partial.a37).toBeNull();
    expect(partial.category).toBe('unknown');
  });

  it('three-guarantee problems and sudden events flag the lead whatever the income', () => {
    const rich = assess(input([200000, 0, 0, 0, 0, 0, 0], { guarantees: { ...none, childOutOfSchool: true } }));
    expect(rich.category).toBe('above_line');
    expect(rich.flags).toEqual(expect.arrayContaining(['attention', 'child_out_of_school']));
    const quiet = assess(input([200000, 0, 0, 0, 0, 0, 0]));
    expect(quiet.flags).not.toContain('attention');
  });

  it('a disaster or accident with what and when described is a green-channel candidate', () => {
    expect(assess(input([0, 0, 0, 0, 0, 0, 0], { risks: ['disaster'] })).greenChannel).toBe(true);
    expect(assess(input([0, 0, 0, 0, 0, 0, 0], { risks: ['accident'], eventDescribed: false })).greenChannel).toBe(false);
    expect(assess(input([0, 0, 0, 0, 0, 0, 0], { risks: ['illness'] })).greenChannel).toBe(false);
  });

  it('exclusion situations and the income line\'s year are flags for the cadre, never a rejection', () => {
    const r = assess(input([1000, 0, 0, 0, 0, 0, 0], { exclusions: ['car', 'company'], line: { yuanPerPerson: 6000, year: 2020, exactYear: false } }));
    expect(r.category).toBe('marginal');
    expect(r.flags).toEqual(expect.arrayContaining(['exclusion_car', 'exclusion_company', 'income_line_from_earlier_year']));
    const noLine = assess(input([1000, 0, 0, 0, 0, 0, 0], { line: undefined }));
    expect(noLine.category).toBe('unknown');
    expect(noLine.flags).toContain('no_income_line');
  });
});
