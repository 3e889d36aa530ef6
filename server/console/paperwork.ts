import type { Queries } from '../intake/queries.ts';
import { CATEGORIES } from '../intake/procedure.ts';
import { maskPhone } from '../mask.ts';
import { money } from '../intake/export.ts';
import type { Calendar } from '../calendar.ts';
import { addDays } from '../time.ts';

/**
 * The paper of the procedure, filled from what the household already told the bot (避免重复填表报数): the visit
 * form (入户排查登记表, annex 1 of seeds/001) and the village publicity list (公示名单). Pure: a lead as the
 * queries read it in, the document's data out. Every value is traced to an answer; what is not known stays null
 * (printed blank, never 0), and the boxes the cadre fills at the door are not data at all.
 */

export type LeadDoc = NonNullable<Awaited<ReturnType<Queries['get']>>>;
/** A yes/no box pair: ticked yes, ticked no, or neither (not known). */
export type Tick = boolean | null;

const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** "Is it guaranteed?" from "was a problem reported?": the opposite, and not known stays not known. */
const guaranteed = (problem: unknown): Tick => (problem === true ? false : problem === false ? true : null);
const HOUSEHOLD_TYPES = ['ordinary', 'escaped', 'monitored'] as const;
export type HouseholdType = (typeof HOUSEHOLD_TYPES)[number];

/** The twelve months the income answers cover: those before the report, written as the form writes them (2021.5-2022.5). */
export function incomePeriod(reportedOn: string): { from: string; to: string } {
  const [y, m] = reportedOn.split('-').map(Number) as [number, number];
  return { from: `${y - 1}.${m}`, to: `${y}.${m}` };
}

export type VisitForm = ReturnType<typeof visitForm>;

/**
 * 入户排查登记表 for one lead. `phones`: the household's number in full for the village's staff, masked above them
 * (the chat desk's rule); `link`: the lead's console page, for the QR code.
 */
export function visitForm(lead: LeadDoc, opts: { phones: 'full' | 'masked'; link: string }) {
  const i = lead.income;
  const type = HOUSEHOLD_TYPES.find((t) => t === lead.householdType) ?? null;
  const when = lead.whenHappened as { date?: unknown; words?: unknown } | null;
  return {
    id: lead.id,
    receiptNo: lead.receiptNo,
    reportedOn: lead.reportedOn,
    link: opts.link,
    place: { township: lead.township.name, village: lead.village.name },
    /** 户类型: 一般农户 / 脱贫户 / 监测对象, or none ticked ("not sure") */
    householdType: type as HouseholdType | null,
    headName: lead.headName,
    phone: opts.phones === 'full' ? lead.phone : maskPhone(lead.phone),
    householdSize: numberOrNull(lead.householdSize),
    /** A34, per person over the twelve months before the report */
    perCapita: i.A34,
    period: incomePeriod(lead.reportedOn),
    line: i.line === null ? null : { yuan: i.line, year: i.lineYear },
    /** 1、人均纯收入是否达到 line: above it is yes; at or below it (the monitoring range, as the assessment counts it) no */
    reachesLine: (i.A34 !== null && i.line !== null ? i.A34 > i.line : null) as Tick,
    /** 2–5: 义务教育 / 基本医疗 / 住房安全 / 安全饮水 是否有保障, from the problems the household reported */
    education: guaranteed(lead.guarantees.A24),
    medical: guaranteed(lead.guarantees.A26),
    housing: guaranteed(lead.guarantees.A23),
    water: guaranteed(lead.guarantees.A25),
    /** for the first judgement (初判): what the household said went wrong, and the system's preliminary category */
    hardships: Array.isArray(lead.risks) ? (lead.risks as string[]) : [],
    disasterType: typeof lead.disasterType === 'string' ? lead.disasterType : null,
    whatHappened: typeof lead.whatHappened === 'string' && lead.whatHappened.trim() ? lead.whatHappened : null,
    whenHappened: typeof when?.date === 'string' ? when.date : typeof when?.words === 'string' ? when.words : null,
    preliminary: (CATEGORIES as readonly string[]).includes(lead.category) ? lead.category : null,
  };
}

export type PublicityRow = { headName: string; group: string | null; householdSize: number | null; category: string | null };
export type PublicityList = ReturnType<typeof publicityList>;

/**
 * 公示名单 of a village: the leads in publicity, one list per publicity period (leads publicised together share
 * one), each row only 序号, 组, 户主姓名, 家庭人口 and 拟纳入类别. Nothing else of a lead is read into it: no ID
 * number, phone, hardship, health detail or income can reach the notice board.
 */
export function publicityList(
  village: { name: string; officialName: string; township: string; county: string },
  leads: LeadDoc[],
  phones: { county: string | null; township: string | null },
  dayType: 'calendar' | 'working',
  calendar: Pick<Calendar, 'isWorkday'>,
) {
  /** the days of a period, counted as the deployment counts the publicity's */
  const days = (start: string, end: string) => {
    let n = 0;
    for (let d = start; d <= end; d = addDays(d, 1)) if (dayType === 'calendar' || calendar.isWorkday(d)) n++;
    return n;
  };
  const periods = new Map<string, { start: string | null; end: string | null; days: number | null; working: boolean; rows: PublicityRow[] }>();
  for (const l of [...leads].sort((a, b) => a.reportedOn.localeCompare(b.reportedOn) || a.receiptNo.localeCompare(b.receiptNo))) {
    if (l.stage !== 'publicized') continue;
    const started = [...l.events].reverse().find((e) => e.to === 'publicized')?.data as { publicityStart?: unknown; publicityEnd?: unknown } | null | undefined;
    const start = typeof started?.publicityStart === 'string' ? started.publicityStart : null;
    const end = typeof started?.publicityEnd === 'string' ? started.publicityEnd : null;
    const key = `${start}/${end}`;
    const p = periods.get(key) ?? { start, end, days: start && end && start <= end ? days(start, end) : null, working: dayType === 'working', rows: [] };
    p.rows.push({
      headName: l.headName,
      // the report does not ask for the 村民小组: the column is the cadre's to fill in
      group: null,
      householdSize: numberOrNull(l.householdSize),
      category: (CATEGORIES as readonly string[]).includes(l.category) ? l.category : null,
    });
    periods.set(key, p);
  }
  return {
    village,
    supervision: phones,
    lists: [...periods.values()].sort((a, b) => String(a.start).localeCompare(String(b.start))),
  };
}

export type CheckForm = ReturnType<typeof checkForm>;
const HELP_RECORDS = ['green_channel', 'plan', 'follow_up'];

/**
 * 风险稳定消除核查表 (annex 4) for a confirmed household: its category as confirmed, this year's monitoring line,
 * the income items as the household gave them (blank where not known), the four guarantees from the report, and
 * the help recorded since (green channel, plan, follow-ups, each with its date and note). The check's own answer
 * and the signatures are the people's to write.
 */
export function checkForm(lead: LeadDoc, opts: { phones: 'full' | 'masked'; line: { yuan: number; year: number } | null; day: (at: string) => string }) {
  const i = lead.income;
  const confirmed = [...lead.events].reverse().find((e) => e.to === 'confirmed')?.data as { category?: unknown } | null | undefined;
  return {
    id: lead.id,
    receiptNo: lead.receiptNo,
    place: { township: lead.township.name, village: lead.village.name },
    headName: lead.headName,
    risks: Array.isArray(lead.risks) ? (lead.risks as string[]) : [],
    disasterType: typeof lead.disasterType === 'string' ? lead.disasterType : null,
    category: typeof confirmed?.category === 'string' && (CATEGORIES as readonly string[]).includes(confirmed.category) ? confirmed.category : null,
    householdSize: numberOrNull(lead.householdSize),
    labourers: numberOrNull(lead.labourers),
    phone: opts.phones === 'full' ? lead.phone : maskPhone(lead.phone),
    line: opts.line,
    /** 工资性, 生产经营性, 财产性, 转移性 income, 生产经营性支出, 家庭年纯收入, 年人均纯收入 */
    income: { wages: money(i.A28), business: money(i.A29), property: money(i.A30), transfers: money(i.A31), costs: money(i.A32), net: i.A33, perCapita: i.A34 },
    period: incomePeriod(lead.reportedOn),
    housing: guaranteed(lead.guarantees.A23),
    education: guaranteed(lead.guarantees.A24),
    medical: guaranteed(lead.guarantees.A26),
    water: guaranteed(lead.guarantees.A25),
    help: lead.events.filter((e) => HELP_RECORDS.includes(e.kind)).map((e) => ({ on: opts.day(e.at), kind: e.kind, note: e.note })),
  };
}
