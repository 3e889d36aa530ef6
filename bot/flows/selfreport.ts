import { z } from 'zod';
import type { Answers, Flow, FlowContext, Option, Step } from '../engine/types.ts';
import { describeDate, describeMoney, parseCount, parsePhone, parseSpokenDate, parseSpokenMoney, type Money, type ParseResult, type SpokenDate } from '../parse/index.ts';
import { EXCLUSIONS, HOUSEHOLD_TYPES, INCOME_FIELDS, RISK_TYPES } from '../../server/intake/assessment.ts';

/**
 * The self-report (农户自主申报): the short report to a receipt, then the details. Together they hold every field
 * of DOMAIN.md but the ID number (taken at the visit). Field names follow the official data-collection form where
 * one exists (A23–A36). Words: locales/<lng>/bot.json (steps, options).
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

/** The three guarantees and drinking water, asked as one "有没有下面这些情况" (each option is the answer's own name). */
export const CONDITIONS = ['housingUnsafe', 'childOutOfSchool', 'waterUnsafe', 'noMedicalInsurance'] as const;

const income = (id: (typeof INCOME_FIELDS)[number]): Step => ({
  id,
  kind: 'money',
  optional: true,
  // ranges and rough amounts are kept as said (七八千, 一个月一千多); the assessment counts a range's middle
  parser: () => fromParser(parseSpokenMoney),
  display: money,
});

/**
 * Who the household is to the person filling in: 您家 for one's own, 您父母家 for a child reporting for parents,
 * 这户人家 for a neighbour (locale keys household.<word>).
 */
function householdWord(a: Answers): string {
  if (!isProxy(a)) return 'self';
  switch (a.relation) {
    case 'child':
      return 'parents';
    case 'spouse':
      return 'self';
    case 'parent':
      return 'children';
    case 'sibling':
      return 'sibling';
    case 'other_relative':
      return 'relative';
    default:
      return 'other';
  }
}
const words = {
  params: (ctx: FlowContext, a: Answers) => ({ household: ctx.t(`household.${householdWord(a)}`) }),
  context: (a: Answers) => (isProxy(a) ? 'proxy' : undefined),
};

/**
 * The report itself, the short path to a receipt: who reports, where, the head of household, a phone, what is
 * wrong, the guarantees and water in one question, what happened in a sentence or a voice note, then the summary,
 * the consent and the signature. Eight numbered steps whoever answers; a follow-up (the relation of a proxy, the
 * kind of disaster) shares the number of its question. The details follow after the receipt (detailsFlow).
 */
export const selfReportFlow: Flow = {
  id: 'selfreport',
  version: 2,
  ns: 'selfreport',
  ...words,
  steps: [
    { id: 'reporter', kind: 'single', options: (ctx) => opts(ctx, 'reporter', ['self', 'family', 'other']), display: label('reporter') },
    {
      id: 'relation',
      kind: 'single',
      counted: false,
      when: isProxy,
      options: (ctx, a) => opts(ctx, 'relation', RELATIONS[a.reporter as 'family' | 'other'] ?? []),
      display: label('relation'),
    },
    { id: 'householdAgrees', kind: 'notice', counted: false, when: isProxy, stopsOnNo: true, display: yesno },
    { id: 'place', kind: 'place' },
    { id: 'headName', kind: 'text', parser: () => z.string().trim().min(2, 'name_too_short').max(20, 'name_too_long').regex(/^[\p{L}·• ]+$/u, 'name_letters') },
    // a proxy's own phone (the one the village calls about the report); the household's follows, if it has one
    { id: 'phone', kind: 'phone', parser: () => fromParser(parsePhone) },
    { id: 'householdPhone', kind: 'phone', counted: false, optional: true, when: isProxy, parser: () => fromParser(parsePhone) },
    { id: 'sensitiveNotice', kind: 'notice', stopsOnNo: true, display: yesno },
    { id: 'risks', kind: 'multi', counted: false, options: (ctx) => opts(ctx, 'risks', RISK_TYPES), display: labels('risks') },
    { id: 'riskOther', kind: 'text', counted: false, when: hasRisk('other'), parser: text(2, 200) },
    {
      id: 'disasterType',
      kind: 'single',
      counted: false,
      when: hasRisk('disaster'),
      options: (ctx) => opts(ctx, 'disasterType', ['flood', 'geological', 'drought', 'biological', 'meteorological', 'earthquake', 'other']),
      display: label('disasterType'),
    },
    {
      id: 'conditions',
      kind: 'multi',
      exclusive: 'none',
      options: (ctx) => opts(ctx, 'conditions', [...CONDITIONS, 'none']),
      display: (v, ctx) => labels('conditions')((v as string[]).filter((x) => x !== 'none'), ctx),
    },
    {
      id: 'whatHappened',
      kind: 'text',
      optional: true,
      media: true,
      parser: text(2, 500),
      display: (v, ctx, a) => {
        const sent = Array.isArray(a.media) ? a.media.length : 0;
        const said = typeof v === 'string' ? v : '';
        if (!sent) return said || ctx.t('summary.skipped');
        // where no voice note can be sent (the web page), what was sent is photos
        const kind = ctx.voice === false ? '_photos' : '';
        return said ? `${said}${ctx.t(`summary.and_media${kind}`, { count: sent })}` : ctx.t(`summary.media${kind}`, { count: sent });
      },
    },
  ],
};

/** The questions of the details, in the order they are asked (the answers' own names). */
export const DETAIL_FIELDS = ['whenHappened', 'householdSize', 'labourers', 'householdType', ...INCOME_FIELDS, 'exclusions'] as const;

/** The answers of the details flow, and only those (the reporter and relation carried in for its words are not saved). */
export function detailAnswers(a: Answers): Answers {
  return Object.fromEntries(DETAIL_FIELDS.filter((f) => a[f] !== undefined).map((f) => [f, a[f]]));
}

/**
 * The household's details, offered right after the receipt ("补充家里的情况（约 3 分钟）") and from "my reports"
 * until the visit: when it happened, the household, its type, the seven incomes, the exclusion situations. Each
 * answer can be skipped or the whole paused; what was given is saved to the report (intake.addDetails).
 */
export const detailsFlow: Flow = {
  id: 'details',
  version: 1,
  ns: 'selfreport',
  end: 'save',
  progressKey: 'engine.progress_details',
  ...words,
  steps: [
    {
      id: 'whenHappened',
      kind: 'date',
      // a season, the Spring Festival, 大前年 are placed; after two answers it could not place, the third is kept
      // as the person's words rather than refused again
      parser: (ctx) => fromParser((s) => parseSpokenDate(s, ctx.now, { keepUnplaced: (ctx.misses ?? 0) >= 2 })),
      display: (v, ctx) => describeDate(v as SpokenDate, ctx.t),
    },
    { id: 'householdSize', kind: 'count', parser: () => fromParser((s) => parseCount(s, { min: 1, max: 30 })) },
    {
      id: 'labourers',
      kind: 'count',
      parser: (_ctx, a) => fromParser((s) => parseCount(s, { min: 0, max: Number(a.householdSize ?? 30) })),
      params: (_ctx, a) => ({ size: a.householdSize }),
    },
    { id: 'householdType', kind: 'single', options: (ctx) => opts(ctx, 'householdType', HOUSEHOLD_TYPES), display: label('householdType') },
    ...INCOME_FIELDS.map(income),
    {
      id: 'exclusions',
      kind: 'multi',
      optional: true,
      exclusive: 'none',
      options: (ctx) => opts(ctx, 'exclusions', [...EXCLUSIONS, 'none']),
      display: (v, ctx) => labels('exclusions')((v as string[]).filter((x) => x !== 'none'), ctx),
    },
  ],
};
