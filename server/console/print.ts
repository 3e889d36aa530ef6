import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { REPO_ROOT } from '../config.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import type { Language } from '../i18n.ts';
import { createCalendar } from '../calendar.ts';
import { checkForm, publicityList, visitForm, type LeadDoc } from './paperwork.ts';
import { incomeLineFor } from '../deployment.ts';
import { localDate } from '../time.ts';
import type { Exports } from '../intake/export.ts';
import { decodeCursor, type Queries } from '../intake/queries.ts';
import type { Scope } from '../places/scope.ts';
import type { Stage } from '../intake/procedure.ts';
import { helpers, render } from './views.ts';

/**
 * The documents as HTML, for the console's print pages and for `npm run cli -- print`: the same templates
 * (server/console/views/print/), the console linking its stylesheet and script, the CLI's file carrying its
 * stylesheet inside (it opens from disk, with no server behind it).
 */

export const PRINT_KINDS = ['visit', 'publicity', 'check', 'summary', 'rollback'] as const;
export type PrintKind = (typeof PRINT_KINDS)[number];

type Page = {
  lng: Language;
  /** where the toolbar's 返回 goes (console); none in a file */
  back?: string;
  /** the file's own stylesheet (CLI) */
  standalone?: boolean;
};

/**
 * Every lead of a village in these stages, whole (with their events), oldest receipt first: page after page, so a
 * village of 206 households prints 206 sheets and a publicity list leaves nobody out.
 */
export async function villageLeads(queries: Queries, scope: Scope, village: string, stages: Stage[], now: Date): Promise<LeadDoc[]> {
  const docs: LeadDoc[] = [];
  for (const stage of stages) {
    let after: ReturnType<typeof decodeCursor> | undefined;
    do {
      const page = await queries.list(scope, { village, stage }, { limit: 200, sort: 'received', ...(after ? { after } : {}) }, now);
      for (const l of page.items) {
        const doc = await queries.get(scope, l.id, now);
        if (doc) docs.push(doc);
      }
      after = page.nextCursor ? decodeCursor(page.nextCursor) : undefined;
    } while (after);
  }
  return docs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.receiptNo.localeCompare(b.receiptNo));
}

export function createPrinter(deps: { deployment: Deployment }) {
  const places = placeIndex(deps.deployment);
  const calendar = createCalendar(deps.deployment.calendar);
  const css = () => readFileSync(join(REPO_ROOT, 'server/console/assets/print.css'), 'utf8');
  const frame = (p: Page) => ({ h: helpers(p.lng), back: p.back, inlineCss: p.standalone ? css() : undefined });

  return {
    /** 入户排查登记表, one sheet per lead; `linkOf` is a lead's console address (the QR code on its sheet). */
    async visit(leads: LeadDoc[], opts: Page & { phones: 'full' | 'masked'; linkOf: (id: string) => string; village?: string }): Promise<string> {
      const h = helpers(opts.lng);
      const forms = await Promise.all(
        leads.map(async (l) => {
          const f = visitForm(l, { phones: opts.phones, link: opts.linkOf(l.id) });
          return { ...f, qr: await QRCode.toString(f.link, { type: 'svg', margin: 0, errorCorrectionLevel: 'M' }) };
        }),
      );
      const title = opts.village ? h.t('paper.title_visit_batch', { village: opts.village, count: forms.length }) : `${h.t('paper.title_visit')} ${forms[0]?.receiptNo ?? ''}`;
      return render('print/visit', { ...frame(opts), title, forms });
    },

    /** 风险稳定消除核查表 of a confirmed household, with the line of the year it is checked in (`now`). */
    check(lead: LeadDoc, opts: Page & { phones: 'full' | 'masked'; now: Date }): string {
      const v = places.villages.get(lead.village.code);
      const tz = deps.deployment.timezone;
      const year = Number(localDate(opts.now, tz).slice(0, 4));
      const line = v ? incomeLineFor(deps.deployment, v.county.province.code, year) : undefined;
      const form = checkForm(lead, { phones: opts.phones, line: line ? { yuan: line.yuanPerPerson, year: line.year } : null, day: (at) => localDate(new Date(at), tz) });
      const h = helpers(opts.lng);
      return render('print/check', { ...frame(opts), title: `${h.t('paper.title_check')} ${lead.receiptNo}`, form });
    },

    /** 入户排查情况汇总表 (annex 2) of a place: the rows the XLSX export's sheet holds. */
    summary(placeName: string, rows: SummaryRow[], opts: Page & { today: string }): string {
      const h = helpers(opts.lng);
      return render('print/summary', { ...frame(opts), title: `${placeName} ${h.tc('export.summary.title')}`, place: placeName, rows, today: opts.today });
    },

    /** 监测对象回退、清退情况统计表 (annex 5) of a county: `period` says which year's records (or all). */
    rollback(placeName: string, rows: RollbackRow[], opts: Page & { today: string; period: string; xlsx?: string; years?: Array<{ label: string; href: string; current: boolean }> }): string {
      const h = helpers(opts.lng);
      return render('print/rollback', { ...frame(opts), title: `${placeName} ${h.t('paper.title_rollback')}`, place: placeName, rows, today: opts.today, period: opts.period, xlsx: opts.xlsx, years: opts.years ?? [] });
    },

    /** 公示名单 of a village, from its leads in publicity. */
    publicity(villageCode: string, leads: LeadDoc[], opts: Page): string {
      const v = places.villages.get(villageCode);
      if (!v) throw new Error(`unknown village ${villageCode}`);
      const doc = publicityList(
        { name: v.village.name, officialName: v.village.officialName ?? v.village.name, township: v.township.name, county: v.county.name },
        leads,
        { county: v.county.supervisionPhone ?? null, township: v.township.supervisionPhone ?? null },
        deps.deployment.procedure.publicityDayType,
        calendar,
      );
      const h = helpers(opts.lng);
      return render('print/publicity', { ...frame(opts), title: `${v.village.name} ${h.t('paper.title_publicity')}`, doc });
    },
  };
}

export type Printer = ReturnType<typeof createPrinter>;
type SummaryRow = Awaited<ReturnType<Exports['summaryRows']>>[number];
type RollbackRow = Awaited<ReturnType<Exports['rollbackRows']>>[number];
