import { isApproximate, yuanOf, type Money } from './money.ts';
/**
 * The preliminary assessment computed on submit (DOMAIN.md, from the data-collection form's notes, annex 3):
 *   A33 = A28 + A29 + A30 + A31 − A32; A34 = A33 / household size
 *   A37 = A33 + A35 − A36;             A38 = A37 / household size
 *   A38 ≤ line → candidate; then A34 ≤ line → 脱贫不稳定户 (a 脱贫户) or 边缘易致贫户 (otherwise);
 *   A34 > line but A38 ≤ line → 突发严重困难户.
 * Any three-guarantee problem or sudden severe event flags the lead whatever the income. Never a verdict.
 * Amounts are computed in fen (integers) so boundaries compare exactly.
 */

/** An amount as answered (the answers' money type). */
export type Amount = Money;
export const INCOME_FIELDS = ['a28', 'a29', 'a30', 'a31', 'a32', 'a35', 'a36'] as const;
export type IncomeField = (typeof INCOME_FIELDS)[number];

export const HOUSEHOLD_TYPES = ['ordinary', 'escaped', 'monitored', 'unsure'] as const;
export type HouseholdType = (typeof HOUSEHOLD_TYPES)[number];

export const RISK_TYPES = ['illness', 'schooling', 'disability', 'disaster', 'accident', 'business_failure', 'unstable_work', 'no_labour', 'other'] as const;
export type RiskType = (typeof RISK_TYPES)[number];

export const EXCLUSIONS = ['public_servant', 'paid_village_cadre', 'car', 'town_property', 'company', 'large_scale_farming'] as const;
export type Exclusion = (typeof EXCLUSIONS)[number];

/** Every category a lead's assessment can give (the queue filters by these). */
export const ASSESSED_CATEGORIES = ['unstable_escaped', 'marginal', 'sudden_hardship', 'above_line', 'unknown'] as const;
export type Category = (typeof ASSESSED_CATEGORIES)[number];

export type AssessmentInput = {
  /** null until the details after the receipt give it: nothing is counted per person, and the lead says so */
  householdSize: number | null;
  householdType: HouseholdType | null;
  incomes: Record<IncomeField, Amount>;
  risks: RiskType[];
  guarantees: { housingUnsafe: boolean; childOutOfSchool: boolean; waterUnsafe: boolean; noMedicalInsurance: boolean };
  exclusions: Exclusion[];
  /** what happened and when are both given: the facts are clear enough for the green channel */
  eventDescribed: boolean;
  line: { yuanPerPerson: number; year: number; exactYear: boolean } | undefined;
};

export type Assessment = {
  a33: number | null;
  a34: number | null;
  a37: number | null;
  a38: number | null;
  category: Category;
  flags: string[];
  greenChannel: boolean;
};

const fen = (yuan: number) => Math.round(yuan * 100);
const yuan = (f: number) => f / 100;

/**
 * A per-person figure in fen, rounded to the nearest fen, half a fen away from zero (四舍五入) whatever the sign:
 * Math.round alone would take −1000.005 to −1000.00 but 1000.005 to 1000.01 (and −0.004 to −0).
 */
function nearestFen(fenAmount: number): number {
  const r = Math.sign(fenAmount) * Math.round(Math.abs(fenAmount));
  return r === 0 ? 0 : r;
}

export function assess(input: AssessmentInput): Assessment {
  const known = (field: IncomeField): number | null => {
    // a range counts at its middle, a month's figure ×12 (flagged below)
    const v = yuanOf(input.incomes[field]);
    return v === null ? null : fen(v);
  };
  const parts = (['a28', 'a29', 'a30', 'a31', 'a32'] as const).map(known);
  const a33f = parts.every((p) => p !== null) ? parts[0]! + parts[1]! + parts[2]! + parts[3]! - parts[4]! : null;
  const a35 = known('a35');
  const a36 = known('a36');
  const a37f = a33f !== null && a35 !== null && a36 !== null ? a33f + a35 - a36 : null;
  const size = input.householdSize;
  const perHead = (f: number | null) => (f === null || !size ? null : nearestFen(f / size));
  const a34f = perHead(a33f);
  const a38f = perHead(a37f);

  const flags: string[] = [];
  const g = input.guarantees;
  if (g.housingUnsafe) flags.push('housing_unsafe');
  if (g.childOutOfSchool) flags.push('child_out_of_school');
  if (g.waterUnsafe) flags.push('water_unsafe');
  if (g.noMedicalInsurance) flags.push('no_medical_insurance');
  const sudden = input.risks.includes('disaster') || input.risks.includes('accident');
  if (sudden) flags.push('sudden_event');
  if (flags.length > 0) flags.unshift('attention');
  if (size === null) flags.push('details_pending');
  if (INCOME_FIELDS.some((f) => input.incomes[f].kind === 'unknown')) flags.push('income_incomplete');
  if (INCOME_FIELDS.some((f) => isApproximate(input.incomes[f]))) flags.push('income_approximate');
  if (a33f !== null && a33f < 0) flags.push('costs_exceed_income');
  if (input.householdType === 'monitored') flags.push('already_monitored');
  if (input.householdType === 'unsure') flags.push('household_type_unsure');
  for (const e of input.exclusions) flags.push(`exclusion_${e}`);
  if (!input.line) flags.push('no_income_line');
  else if (!input.line.exactYear) flags.push('income_line_from_earlier_year');

  let category: Category = 'unknown';
  if (input.line && a34f !== null && a38f !== null) {
    const line = fen(input.line.yuanPerPerson);
    if (a38f > line) category = 'above_line';
    else if (a34f <= line) category = input.householdType === 'escaped' ? 'unstable_escaped' : 'marginal';
    else category = 'sudden_hardship';
  }
  const greenChannel = sudden && input.eventDescribed;
  if (greenChannel) flags.push('green_channel_candidate');

  return {
    a33: a33f === null ? null : yuan(a33f),
    a34: a34f === null ? null : yuan(a34f),
    a37: a37f === null ? null : yuan(a37f),
    a38: a38f === null ? null : yuan(a38f),
    category,
    flags,
    greenChannel,
  };
}
