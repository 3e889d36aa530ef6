import { z } from 'zod';
import type { Answers, Flow, FlowContext, Option, Step } from '../engine/types.ts';
import { describeDate, describeMoney, parseCount, parseIdNumber, parsePhone, parseSpokenDate, parseSpokenMoney, type Money, type ParseResult, type SpokenDate } from '../parse/index.ts';
import { maskIdNumber } from '../parse/id-number.ts';
import { EXCLUSIONS, HOUSEHOLD_TYPES, INCOME_FIELDS, RISK_TYPES } from '../../server/intake/assessment.ts';

/**
 * The self-report (农户自主申报): every field of DOMAIN.md, in the order a farmer can answer it.
 * Field names follow the official data-collection form where one exists (A23–A36). Words: locales/<lng>/selfreport.json.
 */

/** Wraps one of bot/parse's parsers as a zod schema whose issues carry the parser's error code. */
function fromParser<T>(parse: (s: string) => ParseResult<T>): z.ZodType<T, string> {
  return z.string().transform((s, ctx) => {
    const r = parse(s);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  });
}

const opts = (ctx: FlowContext, step: string, ids: readonly string[]): Option[] => ids.map((id) => ({ id, label: ctx.t(`options.${step}.${id}`) }));
const isProxy = (a: Answers) => a.reporter === 'family' || a.reporter === 'other';
const hasRisk = (risk: string) => (a: Answers) => Array.isArray(a.risks) && (a.risks as string[]).includes(risk);
const label = (step: string) => (v: unknown, ctx: FlowContext) => ctx.t(`options.${step}.${String(v)}`);
const labels = (step: string) => (v: unknown, ctx: FlowContext) =>
  (v as string[]).length ? (v as string[]).map((id) => ctx.t(`options.${step}.${id}`)).join('、') : ctx.t('summary.none');
/** As it was said: "约 7,000–8,000 元", a month's figure with the year's beside it. */
const money = (v: unknown, ctx: FlowContext) => describeMoney(v as Money, ctx.t);
const yesno = (v: unknown, ctx: FlowContext) => ctx.t(v ? 'summary.yes' : 'summary.no');

const text = (min: number, max: number) => () =>
  z
    .string()
    .trim()
    .min(min, 'text_too_short')
    .max(max, 'text_too_long');

const RELATIONS = { family: ['child', 'spouse', 'parent', 'sibling', 'other_relative'], other: ['neighbour', 'villager', 'friend', 'cadre'] } as const;

const guarantee = (id: string): Step => ({ id, kind: 'yesno', display: yesno });
const income = (id: (typeof INCOME_FIELDS)[number]): Step => ({
  id,
  kind: 'money',
  optional: true,
  // ranges and rough amounts are kept as said (七八千, 一个月一千多); the assessment counts a range's middle
  parser: () => fromParser(parseSpokenMoney),
  display: money,
});

export const selfReportFlow: Flow = {
  id: 'selfreport',
  version: 1,
  ns: 'selfreport',
  steps: [
    { id: 'reporter', kind: 'single', options: (ctx) => opts(ctx, 'reporter', ['self', 'family', 'other']), display: label('reporter') },
    {
      id: 'relation',
      kind: 'single',
      when: isProxy,
      options: (ctx, a) => opts(ctx, 'relation', RELATIONS[a.reporter as 'family' | 'other'] ?? []),
      display: label('relation'),
    },
    { id: 'householdAgrees', kind: 'notice', when: isProxy, stopsOnNo: true, display: yesno },
    { id: 'place', kind: 'place' },
    { id: 'headName', kind: 'text', parser: () => z.string().trim().min(2, 'name_too_short').max(20, 'name_too_long').regex(/^[\p{L}·• ]+$/u, 'name_letters') },
    { id: 'phone', kind: 'phone', parser: () => fromParser(parsePhone) },
    {
      id: 'idNumber',
      kind: 'idNumber',
      optional: true,
      parser: (ctx) => fromParser((s) => parseIdNumber(s, ctx.now)).transform((v) => v.normalized),
      display: (v) => maskIdNumber(String(v)),
    },
    { id: 'householdSize', kind: 'count', parser: () => fromParser((s) => parseCount(s, { min: 1, max: 30 })) },
    {
      id: 'labourers',
      kind: 'count',
      parser: (_ctx, a) => fromParser((s) => parseCount(s, { min: 0, max: Number(a.householdSize ?? 30) })),
      params: (_ctx, a) => ({ size: a.householdSize }),
    },
    { id: 'householdType', kind: 'single', options: (ctx) => opts(ctx, 'householdType', HOUSEHOLD_TYPES), display: label('householdType') },
    { id: 'sensitiveNotice', kind: 'notice', stopsOnNo: true, display: yesno },
    { id: 'risks', kind: 'multi', options: (ctx) => opts(ctx, 'risks', RISK_TYPES), display: labels('risks') },
    { id: 'riskOther', kind: 'text', when: hasRisk('other'), parser: text(2, 200) },
    {
      id: 'disasterType',
      kind: 'single',
      when: hasRisk('disaster'),
      options: (ctx) => opts(ctx, 'disasterType', ['flood', 'geological', 'drought', 'biological', 'meteorological', 'earthquake', 'other']),
      display: label('disasterType'),
    },
    guarantee('housingUnsafe'),
    guarantee('childOutOfSchool'),
    guarantee('waterUnsafe'),
    guarantee('noMedicalInsurance'),
    ...INCOME_FIELDS.map(income),
    {
      id: 'exclusions',
      kind: 'multi',
      optional: true,
      exclusive: 'none',
      options: (ctx) => opts(ctx, 'exclusions', [...EXCLUSIONS, 'none']),
      display: (v, ctx) => labels('exclusions')((v as string[]).filter((x) => x !== 'none'), ctx),
    },
    { id: 'whatHappened', kind: 'text', parser: text(4, 500) },
    {
      id: 'whenHappened',
      kind: 'date',
      // a season, the Spring Festival, 大前年 are placed; after two answers it could not place, the third is kept
      // as the person's words rather than refused again
      parser: (ctx) => fromParser((s) => parseSpokenDate(s, ctx.now, { keepUnplaced: (ctx.misses ?? 0) >= 2 })),
      display: (v, ctx) => describeDate(v as SpokenDate, ctx.t),
    },
    { id: 'media', kind: 'media', optional: true, display: (v, ctx) => ctx.t('summary.media', { count: (v as unknown[]).length }) },
  ],
};
