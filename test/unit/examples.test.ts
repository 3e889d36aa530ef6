import { describe, expect, it } from 'vitest';
import { detailsFlow, selfReportFlow } from '../../bot/flows/selfreport.ts';
import type { FlowContext } from '../../bot/engine/types.ts';
import { LANGUAGES, tFor } from '../../server/i18n.ts';

/**
 * Every example a question shows ("例如：3万、两千五、3000 或 不知道") is something its own parser takes: a wrong
 * answer is answered with the example, so an example the parser refuses would send the person round in circles.
 *
 * An example lists one or more answers, separated by "、" or "或" (English: "," or "or"); a remark in brackets
 * after them ("（最后一位可以是 X）") is not an answer. A free-text question's example is one answer, commas and all.
 * Dates are checked on the first of each month of a year, since an example such as "今年 10 月" is a date still to
 * come for most of the year.
 */
export function exampleAnswers(example: string, freeText: boolean): string[] {
  const withoutRemark = example.replace(/\s*[(（][^)）]*[)）]\s*$/u, '');
  if (freeText) return [withoutRemark.trim()];
  return withoutRemark
    .split(/、|,\s*or\s+|\s+or\s+|,\s+|\s*或\s*/u)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const nows = Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(2027, i, 1, 4)));

describe('examples in the locales', () => {
  it('splits an example into the answers it shows', () => {
    expect(exampleAnswers('3万、两千五、3000 或 不知道', false)).toEqual(['3万', '两千五', '3000', '不知道']);
    expect(exampleAnswers("30000, 3万, or don't know", false)).toEqual(['30000', '3万', "don't know"]);
    expect(exampleAnswers('500 or none', false)).toEqual(['500', 'none']);
    expect(exampleAnswers('530925195001011231（最后一位可以是 X）', false)).toEqual(['530925195001011231']);
    expect(exampleAnswers('父亲住院，花了 5 万多', true)).toEqual(['父亲住院，花了 5 万多']);
  });

  const steps = [...selfReportFlow.steps, ...detailsFlow.steps].filter((s) => s.parser);
  it('covers the questions that parse typed answers', () => {
    expect(steps.map((s) => s.id)).toEqual(expect.arrayContaining(['phone', 'householdPhone', 'headName', 'whatHappened', 'householdSize', 'a28', 'whenHappened']));
  });

  for (const lng of LANGUAGES) {
    const t = tFor(lng, 'bot');
    for (const step of steps) {
      const example = t(`steps.${step.id}.example`, { defaultValue: '' });
      if (!example) continue;
      it(`${lng} ${step.id}: ${example}`, () => {
        const answers = exampleAnswers(example, step.kind === 'text');
        expect(answers.length).toBeGreaterThan(0);
        for (const now of nows) {
          const ctx: FlowContext = { t: (k, p) => t(k, p), now };
          const schema = step.parser!(ctx, {});
          for (const answer of answers) {
            const r = schema.safeParse(answer);
            expect(r.success ? 'ok' : r.error.issues.map((i) => i.message).join(','), `${JSON.stringify(answer)} on ${now.toISOString().slice(0, 10)}`).toBe('ok');
          }
        }
      });
    }
  }
});
