import { z } from 'zod';
import { EXCLUSIONS, HOUSEHOLD_TYPES, INCOME_FIELDS, RISK_TYPES, type IncomeField } from './assessment.ts';
import { moneySchema } from './money.ts';

export { isApproximate, moneySchema, perYear, yuanOf, type Money } from './money.ts';

/**
 * What a lead's `answers` column holds: the household's answers as the report kept them, beside the structured
 * columns. One schema for every reader (the API, exports, the forwarding payload, the desk's cards, paperwork).
 * Reading is lenient: a field that is missing or not of its type (a report from an older flow) reads as missing,
 * never as a failure, and never as 0.
 */

/** When it happened, as precisely as the person said. */
export const eventDateSchema = z.union([
  z.object({ date: z.string(), precision: z.enum(['day', 'month', 'season', 'year']) }),
  // what could not be placed on a calendar, kept as the person said it
  z.object({ precision: z.literal('unknown'), words: z.string() }),
]);
export type EventDateAnswer = z.infer<typeof eventDateSchema>;

/** When it happened, for a sheet's cell: the date as precise as it was said, or the person's own words. */
export const eventDateText = (d: EventDateAnswer | undefined): string | null => (d === undefined ? null : 'date' in d ? d.date : d.words);

const loose = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
/** A list of known values: what is not one of them (from an older flow) is left out, not the whole list. */
const known = <const V extends readonly [string, ...string[]]>(values: V) =>
  z.array(z.unknown()).catch([]).transform((xs) => xs.filter((x): x is V[number] => (values as readonly unknown[]).includes(x)));

const incomeShape = Object.fromEntries(INCOME_FIELDS.map((f) => [f, loose(moneySchema)])) as Record<IncomeField, ReturnType<typeof loose<typeof moneySchema>>>;

export const leadAnswersSchema = z.looseObject({
  reporter: loose(z.string()),
  relation: loose(z.string()),
  place: loose(z.object({ township: z.string(), village: z.string() })),
  headName: loose(z.string()),
  householdSize: loose(z.number()),
  labourers: loose(z.number()),
  householdType: loose(z.enum(HOUSEHOLD_TYPES)),
  risks: known(RISK_TYPES),
  disasterType: loose(z.string()),
  housingUnsafe: loose(z.boolean()),
  childOutOfSchool: loose(z.boolean()),
  waterUnsafe: loose(z.boolean()),
  noMedicalInsurance: loose(z.boolean()),
  ...incomeShape,
  exclusions: known([...EXCLUSIONS, 'none'] as const),
  whatHappened: loose(z.string()),
  whenHappened: loose(eventDateSchema),
});
export type LeadAnswers = z.infer<typeof leadAnswersSchema>;

/** A lead's answers, typed. */
export function readAnswers(json: unknown): LeadAnswers {
  const r = leadAnswersSchema.safeParse(json ?? {});
  return r.success ? r.data : leadAnswersSchema.parse({});
}

/** The details a report can still lack (asked after the receipt), in the order they are asked. */
export const DETAIL_PARTS = ['whenHappened', 'householdSize', 'labourers', 'householdType', 'incomes', 'exclusions'] as const;
export type DetailPart = (typeof DETAIL_PARTS)[number];

/**
 * What a report still lacks of its details (never asked, as against answered "不知道"): the card, the lead page
 * and the exports say these plainly. A report made before the short path had them all from the start.
 */
export function missingDetails(json: unknown): DetailPart[] {
  const raw = (json ?? {}) as Record<string, unknown>;
  return DETAIL_PARTS.filter((part) => (part === 'incomes' ? INCOME_FIELDS.some((f) => raw[f] === undefined || raw[f] === null) : raw[part] === undefined || raw[part] === null));
}
