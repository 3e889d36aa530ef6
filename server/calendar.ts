import chineseDays from 'chinese-days';
import holidayData from 'chinese-days/dist/chinese-days.json' with { type: 'json' };
import { addDays } from './time.ts';

/**
 * Working days in China: the State Council's holiday calendar with its make-up working days (调休), from the
 * maintained `chinese-days` package, plus the local days a deployment adds. Dates are YYYY-MM-DD in the
 * deployment's time zone. The one calendar for the intake clocks and the reminders.
 */
export type Calendar = {
  isWorkday(date: string): boolean;
  /** the date `n` working days after `date` (n ≥ 1); `date` itself does not count */
  addWorkdays(date: string, n: number): string;
  /** the `n`-th working day counting `date` itself when it is one */
  nthWorkdayFrom(date: string, n: number): string;
  /** whether the official calendar for that year is known (published each November for the next year) */
  covers(date: string): boolean;
};

export type LocalDays = { holidays?: Array<{ date: string; name?: string }>; workdays?: Array<{ date: string; name?: string }> };

const data = holidayData as { holidays: Record<string, string>; workdays: Record<string, string> };
const lastYear = Math.max(...Object.keys(data.holidays).map((d) => Number(d.slice(0, 4))));

export function createCalendar(local: LocalDays = {}): Calendar {
  const extraOff = new Set((local.holidays ?? []).map((d) => d.date));
  const extraOn = new Set((local.workdays ?? []).map((d) => d.date));
  const isWorkday = (date: string) => (extraOn.has(date) ? true : extraOff.has(date) ? false : chineseDays.isWorkday(date));
  return {
    isWorkday,
    addWorkdays(date, n) {
      let d = date;
      for (let left = n; left > 0; ) {
        d = addDays(d, 1);
        if (isWorkday(d)) left--;
      }
      return d;
    },
    nthWorkdayFrom(date, n) {
      let d = date;
      let count = isWorkday(d) ? 1 : 0;
      while (count < n) {
        d = addDays(d, 1);
        if (isWorkday(d)) count++;
      }
      return d;
    },
    covers: (date) => Number(date.slice(0, 4)) <= lastYear,
  };
}
