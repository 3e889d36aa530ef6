import { join } from 'node:path';
import { Eta } from 'eta';
import { REPO_ROOT } from '../config.ts';
import { memoT, type Language } from '../i18n.ts';

/**
 * The console's templates (server/console/views/*.eta, Eta: every `<%= %>` is HTML-escaped; `<%~ %>` only for
 * markup the code made itself, such as a chart's SVG) and the helpers every page gets.
 */
export const VIEWS_DIR = join(REPO_ROOT, 'server/console/views');
const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });

const numberFormat = { 'zh-CN': new Intl.NumberFormat('zh-CN'), en: new Intl.NumberFormat('en') };

export type Helpers = ReturnType<typeof helpers>;

export function helpers(lng: Language) {
  const t = memoT(lng, 'console');
  const tb = memoT(lng, 'bot');
  const tc = memoT(lng, 'common');
  return {
    lng,
    t,
    /** the bot's words for the same things (stages, hardships, refusals): one source for chat and console */
    tb,
    tc,
    num: (n: number | null | undefined) => (n === null || n === undefined ? '' : numberFormat[lng].format(n)),
    yuan: (n: number | null | undefined) => (n === null || n === undefined ? '' : `${numberFormat[lng].format(n)} ${t('yuan')}`),
    stage: (s: string) => tb(`desk.stage.${s}`),
    risk: (r: string) => tc(`official.A27.${r}`),
    /** the preliminary category (or none / unknown) */
    category: (c: string | null | undefined) => (c ? tb(`desk.category.${c === 'above_line' ? 'none' : c}`) : ''),
    flag: (f: string) => (f.startsWith('exclusion_') ? tb('desk.flag.exclusion', { what: tb(`options.exclusions.${f.slice(10)}`) }) : tb(`desk.flag.${f}`)),
    deadlineKind: (k: string | null | undefined) => (k ? tb(`desk.deadline.${k}`) : ''),
    role: (r: string) => tb(`desk.role.${r}`),
    /** "已超期 3 天" / "还剩 2 天" / "今天到期" */
    daysLeft: (d: number | null | undefined) => (d === null || d === undefined ? '' : d < 0 ? t('overdue_days', { count: -d }) : d === 0 ? t('due_today') : t('days_left', { count: d })),
    dateTime: (d: Date, tz: string) => new Intl.DateTimeFormat(lng === 'en' ? 'en-GB' : 'zh-CN', { timeZone: tz, dateStyle: 'short', timeStyle: 'short' }).format(d),
  };
}

export function render(view: string, data: Record<string, unknown>): string {
  return eta.render(`./${view}`, data);
}
