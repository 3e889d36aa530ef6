import { moneySchema, yuanOf } from '../intake/money.ts';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import compression from 'compression';
import { z } from 'zod';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Deployment } from '../deployment.ts';
import { placeIndex } from '../deployment.ts';
import { pickLanguage, type Language } from '../i18n.ts';
import type { Logger } from '../log.ts';
import type { Actor, Intake, RecordKind } from '../intake/leads.ts';
import { isLeadId } from '../intake/leads.ts';
import { decodeCursor, type LeadFilters, type LeadSort, type Queries } from '../intake/queries.ts';
import type { Exports, PhoneShown } from '../intake/export.ts';
import type { CountyForwarding } from '../intake/forwarding.ts';
import { canMove, CATEGORIES, FINAL, monitoringOf, RECORD_KINDS, RECORD_ROLES, rolesFor, STAGES, type Move, type MoveRefusal, type Stage } from '../intake/procedure.ts';
import { ASSESSED_CATEGORIES, RISK_TYPES } from '../intake/assessment.ts';
import { oneLine, paragraph } from '../text.ts';
import type { Tokens } from '../intake/tokens.ts';
import type { StaffAccounts, StaffMember } from '../staff/accounts.ts';
import { coversPlace, placeKindOf, scopeOf, villagesIn } from '../places/scope.ts';
import type { Deliveries } from '../staff/deliveries.ts';
import { STAFF_ROLES, type StaffRole } from '../deployment.ts';
import { addDays, daysBetween, localDate } from '../time.ts';
import { csrfMatches, SESSION_IDLE_MS, type ConsoleAuth, type Session } from './auth.ts';
import { hardshipChart, weeklyChart } from './charts.ts';
import { createPrinter, villageLeads } from './print.ts';
import { helpers, render } from './views.ts';
import { REPO_ROOT } from '../config.ts';
import { routeGroup } from '../http/app.ts';
import { errorFields } from '../errors.ts';
import { publicityMinimumEnd } from '../intake/procedure.ts';
import { createCalendar } from '../calendar.ts';

/**
 * The county console: server-rendered pages for the staff who work the queue (county, township, village), on
 * the same intake functions as the API and the chat desk. Every page is scoped to the viewer's place; every view
 * of personal fields is written to the access log (via console). Plain HTML forms work without JavaScript; htmx
 * (served from the product, like every asset) only swaps the queue's results in place.
 */

export const COOKIE = 'fp_console';
const PAGE_SIZE = 50;
/** The home page's "等我办的" tile counts up to this many, then says "more than". */
const TASKS_SHOWN_UP_TO = 999;
const require = createRequire(import.meta.url);

type Viewer = { session: Session; staff: StaffMember; lng: Language; actor: Actor };
type Req = Request & { viewer?: Viewer };

const date = z.iso.date().refine((d) => d >= '2000-01-01' && d <= '2099-12-31');
const opt = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === '' ? undefined : v), s.optional());
export const queueQuery = z.object({
  stage: opt(z.enum(STAGES)),
  township: opt(z.string().regex(/^\d{9}$/)),
  village: opt(z.string().regex(/^\d{12}$/)),
  overdue: opt(z.enum(['1'])),
  category: opt(z.enum(ASSESSED_CATEGORIES)),
  hardship: opt(z.enum(RISK_TYPES)),
  from: opt(date),
  to: opt(date),
  q: opt(oneLine(40)),
  sort: opt(z.enum(['deadline', 'received'])),
  cursor: opt(z.string().max(200).regex(/^[\w-]*$/)),
});
type QueueQuery = z.infer<typeof queueQuery>;

const moveForm = z.object({
  _csrf: z.string(),
  to: z.enum(STAGES).optional(),
  record: z.enum(RECORD_KINDS).optional(),
  judgement: opt(z.enum(['fits', 'does_not_fit'])),
  reason: opt(paragraph(500).trim()),
  note: opt(paragraph(1000).trim()),
  publicityStart: opt(date),
  publicityEnd: opt(date),
  category: opt(z.enum(CATEGORIES)),
  duplicateOf: opt(oneLine(40)),
  contactStaffId: opt(z.uuid()),
});

/** Leads chosen at once, at most (a page of the queue holds 50). */
const BULK_MAX = 200;
const bulkForm = z.object({
  _csrf: z.string(),
  action: z.enum(['publicity', 'contacted', 'export_xlsx', 'export_csv']),
  // a lead ticked twice (two copies of the form's box) is one lead
  ids: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.uuid()).max(BULK_MAX)).transform((ids) => [...new Set(ids.map((id) => id.toLowerCase()))]),
  publicityStart: opt(date),
  publicityEnd: opt(date),
});

export type ConsoleDeps = {
  auth: ConsoleAuth;
  intake: Intake;
  queries: Queries;
  exports: Exports;
  forwarding: CountyForwarding;
  staff: StaffAccounts;
  deliveries: Deliveries;
  tokens: Tokens;
  deployment: Deployment;
  logger: Logger;
  /** where people reach the product, e.g. https://fanpin.example.gov.cn */
  baseUrl: () => string;
  now?: () => Date;
  /**
   * The village posters (QR codes to report) of a township as one printable HTML document, of all its villages or
   * of those listed; made by the web channel and given here, so the console does not import it. Unset: no posters
   * in the console.
   */
  posters?: (township: string, villages: string[] | undefined, language: Language) => Promise<string>;
};

/**
 * The content-security policy for a self-contained document (the village posters): its own inline <style> and
 * <script> blocks, by their hashes, and nothing else.
 */
export function selfContainedCsp(html: string): string {
  const hashes = (tag: string) =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`).join(' ') || "'none'";
  return `default-src 'none'; style-src ${hashes('style')}; script-src ${hashes('script')}; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

export function consoleRouter(deps: ConsoleDeps) {
  const { auth, intake, queries, exports, staff, deployment, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const places = placeIndex(deployment);
  const calendar = createCalendar(deployment.calendar);
  const tz = deployment.timezone;
  // https: PUBLIC_BASE_URL says so, or the request came over TLS (behind a proxy, X-Forwarded-Proto counts only when
  // TRUST_PROXY believes the proxy: express's req.secure)
  const secure = (req: Request) => deps.baseUrl().startsWith('https:') || req.secure;
  const r = Router();

  const placeName = (code: string) => {
    const v = places.villages.get(code);
    if (v) return `${v.township.name}${v.village.name}`;
    return places.townships.get(code)?.township.name ?? places.counties.get(code)?.name ?? code;
  };

  r.use(routeGroup('/console'));
  r.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          mediaSrc: ["'self'"],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
        },
      },
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: false,
      // not helmet's no-referrer: under it a browser sends "Origin: null" with the console's own forms, and the
      // check below could not tell them from a forged one; nothing leaves for another site either way
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  // Pages and assets are compressed (county networks are slow); exports are streamed as they are (an XLSX is a
  // zip already, and a CSV of 300,000 rows keeps its backpressure).
  r.use(compression({ filter: (_req, res) => /^(text\/(html|css|javascript)|image\/svg)/.test(String(res.getHeader('content-type') ?? '')) }));
  r.use((req, res, next) => {
    if (secure(req)) res.setHeader('strict-transport-security', 'max-age=31536000');
    res.setHeader('cache-control', 'no-store');
    next();
  });

  // Assets: the product's own, and htmx from its npm package; nothing from a CDN.
  const assets: Record<string, { type: string; body: Buffer }> = {
    'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'server/console/assets/console.css')) },
    'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'server/console/assets/console.js')) },
    'htmx.min.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')) },
    'print.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'server/console/assets/print.css')) },
    'print.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(REPO_ROOT, 'server/console/assets/print.js')) },
  };
  r.get('/assets/:name', (req, res) => {
    const a = assets[req.params.name];
    if (!a) return void res.status(404).end();
    res.setHeader('content-type', a.type);
    res.setHeader('cache-control', 'public, max-age=3600');
    res.send(a.body);
  });

  const form = express.urlencoded({ extended: true, limit: '64kb', parameterLimit: 400 });

  /**
   * A POST comes from the console's own pages, or from no browser at all: a browser says where a form was sent
   * from (Sec-Fetch-Site; Origin where it does not send that). Refused otherwise, the log-in too: a page elsewhere
   * could post its own unused link and log the visitor in as someone else. (The CSRF token guards the rest.)
   */
  const ownOrigins = (req: Request) => {
    // req.host: the Host header, or X-Forwarded-Host when TRUST_PROXY believes the proxy
    const own = [`${req.protocol}://${req.host ?? ''}`];
    try {
      own.push(new URL(deps.baseUrl()).origin);
    } catch {
      // no base URL: the request's own host only
    }
    return own;
  };
  r.use((req, res, next) => {
    if (req.method !== 'POST') return next();
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const fromHere = site !== undefined ? site === 'same-origin' || site === 'none' : origin === undefined || ownOrigins(req).includes(origin);
    if (fromHere) return next();
    logger.warn({ site: site ?? null, foreignOrigin: origin !== undefined }, 'console form from another site refused');
    page(res, 'message', languageOf(req), { title: 'foreign_title', text: 'foreign_text' }, 403);
  });

  function languageOf(req: Request, session?: Session | null): Language {
    if (session?.language === 'en' || session?.language === 'zh-CN') return session.language;
    return pickLanguage(req.get('accept-language'));
  }

  function page(res: Response, view: string, lng: Language, data: Record<string, unknown>, status = 200) {
    const h = helpers(lng);
    res.status(status).type('html').send(render(view, { h, ...data }));
  }

  function setCookie(req: Request, res: Response, value: string) {
    res.cookie(COOKIE, value, { httpOnly: true, sameSite: 'lax', secure: secure(req), path: '/console', maxAge: 12 * 3_600_000 });
  }
  const cookieOf = (req: Request): string | undefined => {
    const header = req.get('cookie') ?? '';
    for (const part of header.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === COOKIE) {
        try {
          return decodeURIComponent(part.slice(i + 1).trim());
        } catch {
          return undefined; // a cookie we never set: no session
        }
      }
    }
    return undefined;
  };

  // ---- log-in and log-out (no session needed) ----
  r.get('/login', (req, res) => {
    const lng = languageOf(req);
    const t = typeof req.query.t === 'string' && /^[\w-]{20,100}$/.test(req.query.t) ? req.query.t : undefined;
    const reason = typeof req.query.why === 'string' && ['used', 'expired', 'unknown', 'removed', 'idle', 'long', 'ended', 'bye'].includes(req.query.why) ? req.query.why : undefined;
    // A link opens a page with one button: a messenger's link preview fetching the link does not use it up.
    page(res, 'login', lng, { token: t, reason });
  });
  r.post('/login', form, async (req, res) => {
    const lng = languageOf(req);
    const t = typeof req.body?.t === 'string' ? req.body.t : '';
    if (!/^[\w-]{20,100}$/.test(t)) return page(res, 'login', lng, { reason: 'unknown' }, 400);
    const result = await auth.redeem(t, null, now());
    if (!result.ok) return page(res, 'login', lng, { reason: result.reason }, 400);
    setCookie(req, res, result.sessionToken);
    logger.info({ staff: result.staffId }, 'console log-in');
    res.redirect(303, '/console');
  });

  // ---- everything else needs a live session ----
  const authed: RequestHandler = async (req: Req, res, next) => {
    try {
      const s = await auth.session(cookieOf(req), now());
      if (!s.ok) {
        // a session past its 12 hours is "long", not "expired" (that is a link's 10 minutes)
        const to = `/console/login${s.reason === 'none' ? '' : `?why=${s.reason === 'expired' ? 'long' : s.reason}`}`;
        if (req.get('hx-request')) return void res.setHeader('hx-redirect', to).status(401).end();
        return res.redirect(303, to);
      }
      const member = await staff.byId(s.session.staffId);
      if (!member) return res.redirect(303, '/console/login?why=ended');
      req.viewer = { session: s.session, staff: member, lng: languageOf(req, s.session), actor: { role: member.role, scope: scopeOf(member), staffId: member.id, id: `staff:${member.id}` } };
      next();
    } catch (e) {
      next(e);
    }
  };
  r.use(authed);

  /** A POST must carry the session's token; refused with a page that says so otherwise. */
  const csrf: RequestHandler = (req: Req, res, next) => {
    if (!csrfMatches(req.viewer!.session.csrf, req.body?._csrf)) return page(res, 'message', req.viewer!.lng, { ...chrome(req), title: 'csrf_title', text: 'csrf_text' }, 403);
    next();
  };

  function chrome(req: Req) {
    const v = req.viewer!;
    return {
      viewer: { name: v.staff.name, role: v.staff.role, place: placeName(v.staff.placeCode), county: placeKindOf(v.staff.role) === 'county', csrf: v.session.csrf, idleMinutes: SESSION_IDLE_MS / 60_000 },
      path: req.path,
      posters: deps.posters !== undefined,
    };
  }
  const logRead = (v: Viewer, ids: string[], action: string) => intake.logStaffRead(v.staff.id, ids, action, now(), undefined, 'console');

  r.post('/logout', form, csrf, async (req: Req, res) => {
    await auth.end(req.viewer!.session.id, now());
    res.clearCookie(COOKIE, { path: '/console' });
    res.redirect(303, '/console/login?why=bye');
  });
  r.post('/language', form, csrf, async (req: Req, res) => {
    const lng = req.body?.lng === 'en' ? 'en' : 'zh-CN';
    await auth.setLanguage(req.viewer!.session.id, lng);
    const back = typeof req.body?.back === 'string' && /^\/console(\/[\w/-]*)?(\?[\w=&%.-]*)?$/.test(req.body.back) ? req.body.back : '/console';
    res.redirect(303, back);
  });

  // ---- 工作台 ----
  r.get('/', async (req: Req, res) => {
    const v = req.viewer!;
    const h = helpers(v.lng);
    const today = localDate(now(), tz);
    const [o, overdue, tasks] = await Promise.all([
      queries.overview(v.actor.scope, now()),
      queries.list(v.actor.scope, { overdue: true }, { limit: 10, sort: 'deadline' }, now()),
      intake.tasks(v.actor.scope, v.staff.role, v.staff.id, 0, 0, { countUpTo: TASKS_SHOWN_UP_TO }),
    ]);
    await logRead(v, overdue.items.map((l) => l.id), 'home');
    const weekly = await weeklyChart(
      o.weekly.map((w) => ({ label: w.week.slice(5).replace('-', '/'), n: w.n })),
      h.t('home.chart_weekly_label', { total: o.weekly.reduce((n, w) => n + w.n, 0) }),
    );
    const hardshipRows = o.hardships.map((x) => ({ label: h.risk(x.risk), n: x.n }));
    const hardship = hardshipRows.length ? await hardshipChart(hardshipRows, h.t('home.chart_hardship_label')) : '';
    const campaigns = deployment.campaigns
      .filter((c) => c.roles.includes(v.staff.role) && (c.places.length === 0 || c.places.some((p) => v.staff.placeCode.startsWith(p) || p.startsWith(v.staff.placeCode))))
      .map((c) => ({ name: c.name, cutoff: c.cutoff, daysLeft: daysBetween(today, c.cutoff.slice(0, 10)) }))
      .filter((c) => c.daysLeft >= 0);
    page(res, 'home', v.lng, {
      ...chrome(req),
      o,
      overdue: overdue.items.map((l) => ({ ...l, daysLeft: l.nextDeadline ? daysBetween(today, l.nextDeadline.due) : null })),
      openTasks: Math.min(tasks.total, TASKS_SHOWN_UP_TO),
      openTasksMore: tasks.total > TASKS_SHOWN_UP_TO,
      campaigns,
      weekly,
      weeklyRows: o.weekly,
      hardship,
      hardshipRows,
      table: v.actor.scope.kind === 'county' ? o.townships.map((x) => ({ ...x, link: `/console/leads?township=${x.code}` })) : v.actor.scope.kind === 'township' ? o.villages.map((x) => ({ ...x, link: `/console/leads?village=${x.code}` })) : [],
      tableKind: v.actor.scope.kind === 'county' ? 'township' : 'village',
    });
  });

  // ---- 线索 ----
  function filtersOf(q: QueueQuery): LeadFilters {
    return {
      stage: q.stage,
      township: q.township,
      village: q.village,
      overdue: q.overdue ? true : undefined,
      category: q.category,
      hardship: q.hardship,
      receivedFrom: q.from,
      receivedTo: q.to,
      q: q.q,
    };
  }
  const queryString = (q: Partial<QueueQuery>) => {
    const p = new URLSearchParams();
    for (const [k, val] of Object.entries(q)) if (val !== undefined && val !== '' && k !== 'cursor') p.set(k, String(val));
    return p.toString();
  };

  /** The queue's filters from a query: a filter that does not parse is dropped (and the page says so), the rest kept. */
  function queueOf(query: unknown): { q: QueueQuery; invalid: boolean } {
    const parsed = queueQuery.safeParse(query);
    if (parsed.success) return { q: parsed.data, invalid: false };
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    const rest = Object.fromEntries(Object.entries(query as Record<string, unknown>).filter(([k]) => !bad.has(k)));
    const again = queueQuery.safeParse(rest);
    return { q: again.success ? again.data : {}, invalid: true };
  }

  r.get('/leads', async (req: Req, res) => {
    const v = req.viewer!;
    const { q, invalid } = queueOf(req.query);
    const sort: LeadSort = q.sort === 'received' ? 'received' : 'deadline';
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const filters = filtersOf(q);
    const today = localDate(now(), tz);
    const [list, total] = await Promise.all([
      queries.list(v.actor.scope, filters, { after: after ?? undefined, limit: PAGE_SIZE, sort }, now()),
      queries.count(v.actor.scope, filters, now()),
    ]);
    await logRead(v, list.items.map((l) => l.id), 'list');
    const villages = villagesIn(places, v.actor.scope);
    page(res, 'queue', v.lng, {
      ...chrome(req),
      q: { ...q, sort },
      invalid,
      rows: list.items.map((l) => ({ ...l, daysLeft: l.nextDeadline && !FINAL.includes(l.stage as Stage) ? daysBetween(today, l.nextDeadline.due) : null })),
      total: total.n,
      capped: total.capped,
      next: list.nextCursor ? `/console/leads?${queryString({ ...q, sort })}&cursor=${list.nextCursor}` : null,
      first: q.cursor ? `/console/leads?${queryString({ ...q, sort })}` : null,
      exportQuery: queryString({ ...q, sort }),
      stages: STAGES,
      hardships: RISK_TYPES,
      categories: ASSESSED_CATEGORIES,
      townships: v.actor.scope.kind === 'county' ? [...places.townships.values()].filter((x) => x.county.code === v.actor.scope.code).map((x) => x.township) : [],
      villages: villages.map((x) => ({ code: x.village.code, name: v.actor.scope.kind === 'county' ? `${x.township.name} ${x.village.name}` : x.village.name })),
      today,
      minEnd: publicityMinimumEnd(today, deployment.procedure, calendar),
      bulk: typeof req.query.done === 'string' ? req.query.done : undefined,
      // a village's paper: the village chosen, or a village cadre's own
      printVillage: printVillageOf(v, q.village),
    });
  });

  function printVillageOf(v: Viewer, chosen: string | undefined) {
    const code = chosen ?? (v.actor.scope.kind === 'village' ? v.actor.scope.code : undefined);
    const x = code && coversPlace(v.actor.scope, code) ? places.villages.get(code) : undefined;
    return x ? { code: x.village.code, name: x.village.name } : undefined;
  }

  r.get('/leads/export.:format', async (req: Req, res) => {
    const v = req.viewer!;
    const format = req.params.format;
    if (format !== 'xlsx' && format !== 'csv') return void res.status(404).end();
    const parsed = queueQuery.safeParse(req.query);
    // a filter that does not parse is said so: exporting the whole place instead would hand over what was not asked for
    if (!parsed.success) return page(res, 'message', v.lng, { ...chrome(req), title: 'export_bad_title', text: 'export_bad', back: '/console/leads' }, 400);
    await sendExport(res, v, format, filtersOf(parsed.data));
  });

  async function sendExport(res: Response, v: Viewer, format: 'xlsx' | 'csv', filters: LeadFilters) {
    const name = `leads-${v.actor.scope.code}-${localDate(now(), tz)}.${format}`;
    res.setHeader('content-type', format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${name}"`);
    const log = (ids: string[]) => logRead(v, ids, 'export');
    // the phone in full for the village's staff, who visit; masked above them, as on the lead page and the chat desk
    const opts = { filters, phones: phonesFor(v) };
    if (format === 'xlsx') await exports.xlsx(v.actor.scope, res, v.lng, now(), log, opts);
    else await exports.csv(v.actor.scope, res, v.lng, now(), log, opts);
  }

  const phonesFor = (v: Viewer): PhoneShown => (placeKindOf(v.staff.role) === 'village' ? 'full' : 'masked');

  r.post('/leads/bulk', form, csrf, async (req: Req, res) => {
    const v = req.viewer!;
    const h = helpers(v.lng);
    const parsed = bulkForm.safeParse(req.body);
    const back = typeof req.body?.back === 'string' && /^\/console\/leads(\?[\w=&%.-]*)?$/.test(req.body.back) ? req.body.back : '/console/leads';
    const chosenCount = Array.isArray(req.body?.ids) ? req.body.ids.length : 0;
    if (chosenCount > BULK_MAX) return page(res, 'message', v.lng, { ...chrome(req), title: 'bad_request_title', text: 'too_large', back }, 413);
    if (!parsed.success || parsed.data.ids.length === 0) return page(res, 'message', v.lng, { ...chrome(req), title: 'bulk.title', text: 'bulk.none_chosen', back }, 400);
    const { action, ids } = parsed.data;
    // every chosen lead must be in the viewer's place, whatever is done with them (a move or an export)
    const chosen = await queries.list(v.actor.scope, { ids }, { limit: 200 }, now());
    if (chosen.items.length !== ids.length) return page(res, 'message', v.lng, { ...chrome(req), title: 'bulk.title', text: 'bulk.not_found', back }, 404);
    if (action === 'export_xlsx' || action === 'export_csv') return sendExport(res, v, action === 'export_xlsx' ? 'xlsx' : 'csv', { ids });
    const results: Array<{ receiptNo: string; ok: boolean; text: string }> = [];
    if (action === 'publicity' && new Set(chosen.items.map((l) => l.village.code)).size > 1) {
      return page(res, 'message', v.lng, { ...chrome(req), title: 'bulk.title', text: 'bulk.one_village', back }, 409);
    }
    for (const l of chosen.items) {
      const m: Move =
        action === 'publicity'
          ? { to: 'publicized', publicityStart: parsed.data.publicityStart, publicityEnd: parsed.data.publicityEnd }
          : { to: 'assigned', note: h.tb('desk.note_contacted') };
      const out = await intake.moveAs(v.actor, l.id, m, now());
      results.push({ receiptNo: l.receiptNo, ok: out.ok, text: out.ok ? h.t('bulk.done') : refusalText(out.refusal, v.lng) });
    }
    await logRead(v, chosen.items.map((l) => l.id), 'move');
    logger.info({ staff: v.staff.id, action, leads: results.length, ok: results.filter((x) => x.ok).length }, 'console bulk move');
    page(res, 'bulk', v.lng, { ...chrome(req), action, results, back });
  });

  function refusalText(rf: MoveRefusal, lng: Language): string {
    const h = helpers(lng);
    const roles = rf.params?.roles as string[] | undefined;
    const params = roles ? { ...rf.params, roles: roles.length ? roles.map((x) => h.role(x)).join('、') : h.tb('desk.nobody') } : (rf.params ?? {});
    const key = `desk.refusal.${rf.code}`;
    const text = h.tb(key, params as Record<string, unknown>);
    return text === key ? h.tb('desk.refusal.other') : text;
  }

  // ---- 线索详情 ----
  async function leadPage(req: Req, res: Response, id: string, outcome?: { ok: boolean; text: string }, status = 200, entered?: Record<string, unknown>) {
    const v = req.viewer!;
    const lead = isLeadId(id) ? await queries.get(v.actor.scope, id, now()) : undefined;
    if (!lead) return page(res, 'message', v.lng, { ...chrome(req), title: 'lead.not_found_title', text: 'lead.not_found' }, 404);
    const [fields, clocks] = await Promise.all([exports.formFields(v.actor.scope, id, v.lng, now(), phonesFor(v)), intake.leadWithClocks(id, now())]);
    await logRead(v, [id], 'read');
    const stage = lead.stage as Stage;
    const judgement = [...lead.events].reverse().find((e) => e.to === 'visited')?.data as { judgement?: string } | null | undefined;
    const facts = { stage, judgement: judgement?.judgement, contactStaffId: clocks?.lead.contactStaffId ?? null };
    const role = v.staff.role;
    const moves = STAGES.filter((to) => canMove(stage, to) && rolesFor({ move: to }, facts).includes(role));
    const monitoring = monitoringOf(lead.events);
    const records = (Object.keys(RECORD_ROLES) as RecordKind[]).filter((k) => {
      if (!RECORD_ROLES[k].includes(role)) return false;
      if (monitoring.removed) return k === 'note';
      if (k === 'rollback') return stage === 'confirmed' && monitoring.riskEliminated;
      if (k === 'removal') return stage === 'confirmed';
      if (k === 'plan') return stage === 'confirmed';
      if (k === 'follow_up' || k === 'risk_eliminated') return stage === 'confirmed' && facts.contactStaffId === v.staff.id;
      if (k === 'green_channel') return !FINAL.includes(stage);
      return true;
    });
    const today = localDate(now(), tz);
    const contacts = records.includes('plan') ? await staff.withRole('contact_person', lead.village.code) : [];
    const contactPerson = facts.contactStaffId ? await staff.byId(facts.contactStaffId) : undefined;
    const twins = lead.possibleDuplicates.length ? await queries.list(v.actor.scope, { ids: lead.possibleDuplicates }, { limit: 20 }, now()) : { items: [] };
    const people = new Map((await staff.list()).map((s) => [s.id, s]));
    const h = helpers(v.lng);
    const actorName = (a: string) => {
      if (a === 'household') return h.t('lead.by_household');
      if (a.startsWith('staff:')) {
        const s = people.get(a.slice(6));
        return s ? `${s.name ?? h.t('unnamed')}（${h.role(s.role)}）` : h.t('lead.by_staff');
      }
      if (a.startsWith('token:')) return h.t('lead.by_api');
      return h.t('lead.by_system');
    };
    page(
      res,
      'lead',
      v.lng,
      {
        ...chrome(req),
        lead,
        fields: fields ?? [],
        // the phone is for the village staff who visit, as on the chat desk
        showPhone: phonesFor(v) === 'full',
        clocks: clocks?.clocks,
        next: clocks?.clocks.next,
        moves,
        records,
        removed: monitoring.removed,
        contacts,
        contactPerson,
        twins: twins.items,
        arithmetic: arithmetic(lead, h),
        outcome,
        // a refused form comes back with what was typed in it
        entered,
        today,
        minEnd: publicityMinimumEnd(today, deployment.procedure, calendar),
        tomorrow: addDays(today, 1),
        events: lead.events.map((e) => ({ ...e, who: actorName(e.actor), at: new Date(e.at) })),
        tz,
        categories: CATEGORIES,
      },
      status,
    );
  }

  /** The assessment spelled out, line by line, as the cadre would check it by hand. */
  function arithmetic(lead: NonNullable<Awaited<ReturnType<Queries['get']>>>, h: ReturnType<typeof helpers>): string[] {
    const i = lead.income;
    // the yuan a year the assessment counted: a range at its middle, a month's figure ×12
    const amount = (v: unknown) => yuanOf(moneySchema.safeParse(v).data);
    const size = typeof lead.householdSize === 'number' ? lead.householdSize : null;
    const y = (n: number | null) => (n === null ? h.t('calc.unknown') : h.num(n));
    const lines: string[] = [];
    const parts = ['A28', 'A29', 'A30', 'A31', 'A32'].map((k) => amount(i[k as 'A28']));
    lines.push(
      i.A33 === null
        ? h.t('calc.a33_missing', { missing: ['A28', 'A29', 'A30', 'A31', 'A32'].filter((_k, n) => parts[n] === null).join('、') })
        : h.t('calc.a33', { a28: y(parts[0]!), a29: y(parts[1]!), a30: y(parts[2]!), a31: y(parts[3]!), a32: y(parts[4]!), a33: y(i.A33) }),
    );
    if (i.A34 !== null && size) lines.push(h.t('calc.a34', { a33: y(i.A33), size, a34: y(i.A34) }));
    if (i.A37 !== null) lines.push(h.t('calc.a37', { a33: y(i.A33), a35: y(amount(i.A35)), a36: y(amount(i.A36)), a37: y(i.A37) }));
    else if (i.A33 !== null) lines.push(h.t('calc.a37_missing'));
    if (i.A38 !== null && size) lines.push(h.t('calc.a38', { a37: y(i.A37), size, a38: y(i.A38) }));
    if (i.line === null) lines.push(h.t('calc.no_line'));
    else if (i.A38 !== null && i.A34 !== null) {
      const line = { line: y(i.line), year: i.lineYear ?? '' };
      lines.push(h.t(i.A38 <= i.line ? 'calc.a38_within' : 'calc.a38_above', { a38: y(i.A38), ...line }));
      if (i.A38 <= i.line) lines.push(h.t(i.A34 <= i.line ? 'calc.a34_within' : 'calc.a34_above', { a34: y(i.A34), ...line }));
    }
    lines.push(h.t('calc.result', { category: h.category(lead.category) }));
    return lines;
  }

  r.get('/leads/:id', async (req: Req, res) => leadPage(req, res, String(req.params.id)));

  r.post('/leads/:id', form, csrf, async (req: Req, res) => {
    const v = req.viewer!;
    const id = String(req.params.id);
    if (!isLeadId(id) || !(await queries.inScope(v.actor.scope, id))) return page(res, 'message', v.lng, { ...chrome(req), title: 'lead.not_found_title', text: 'lead.not_found' }, 404);
    const parsed = moveForm.safeParse(req.body);
    const h = helpers(v.lng);
    if (!parsed.success || (!parsed.data.to && !parsed.data.record)) return leadPage(req, res, id, { ok: false, text: h.t('lead.bad_form') }, 400, typedBack(req.body));
    const f = parsed.data;
    let out: Awaited<ReturnType<Intake['moveAs']>>;
    if (f.record) {
      out = await intake.recordAs(v.actor, id, f.record, { note: f.note, contactStaffId: f.contactStaffId }, now());
    } else {
      let duplicateOf: string | undefined;
      if (f.to === 'duplicate' && f.duplicateOf) {
        // the original by its receipt number (what staff have in hand) or its id
        const found = isLeadId(f.duplicateOf) ? { items: [{ id: f.duplicateOf }] } : await queries.list(v.actor.scope, { q: f.duplicateOf }, { limit: 1 }, now());
        duplicateOf = found.items[0]?.id ?? '00000000-0000-4000-8000-000000000000';
      }
      out = await intake.moveAs(
        v.actor,
        id,
        { to: f.to!, judgement: f.judgement, reason: f.reason, note: f.note, publicityStart: f.publicityStart, publicityEnd: f.publicityEnd, category: f.category, duplicateOf },
        now(),
      );
    }
    if (!out.ok) return leadPage(req, res, id, { ok: false, text: refusalText(out.refusal, v.lng) }, 409, f);
    logger.info({ staff: v.staff.id, lead: id, move: f.to ?? f.record }, 'console move');
    return leadPage(req, res, id, { ok: true, text: h.t('lead.done', { what: f.to ? h.t(`move.${f.to}`) : h.t(`record.${f.record}`) }) });
  });

  /** What a form that did not parse carried, as text (each field cut to its form's length), to fill it in again. */
  function typedBack(body: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    if (!body || typeof body !== 'object') return out;
    for (const k of ['to', 'record', 'judgement', 'reason', 'note', 'publicityStart', 'publicityEnd', 'category', 'duplicateOf', 'contactStaffId']) {
      const val = (body as Record<string, unknown>)[k];
      if (typeof val === 'string') out[k] = val.slice(0, 1000);
    }
    return out;
  }

  // ---- 打印: the paper of the procedure, pre-filled (print.ts) ----
  const printer = createPrinter({ deployment });
  const leadLink = (id: string) => `${deps.baseUrl().replace(/\/$/, '')}/console/leads/${id}`;
  const villageLeadsOf = (v: Viewer, village: string, stages: Stage[]) => villageLeads(queries, v.actor.scope, village, stages, now());
  const villageOf = (v: Viewer, q: unknown) => (typeof q === 'string' && /^\d{12}$/.test(q) && places.villages.has(q) && coversPlace(v.actor.scope, q) ? q : undefined);

  r.get('/print/visit/:id', async (req: Req, res) => {
    const v = req.viewer!;
    const id = String(req.params.id);
    const lead = isLeadId(id) ? await queries.get(v.actor.scope, id, now()) : undefined;
    if (!lead) return page(res, 'message', v.lng, { ...chrome(req), title: 'lead.not_found_title', text: 'lead.not_found' }, 404);
    await logRead(v, [id], 'print_visit');
    res.type('html').send(await printer.visit([lead], { lng: v.lng, phones: phonesFor(v), linkOf: leadLink, back: `/console/leads/${id}` }));
  });
  r.get('/print/check/:id', async (req: Req, res) => {
    const v = req.viewer!;
    const id = String(req.params.id);
    const lead = isLeadId(id) ? await queries.get(v.actor.scope, id, now()) : undefined;
    if (!lead) return page(res, 'message', v.lng, { ...chrome(req), title: 'lead.not_found_title', text: 'lead.not_found' }, 404);
    if (lead.stage !== 'confirmed') return page(res, 'message', v.lng, { ...chrome(req), title: 'paper.title_check', text: 'paper.check.not_confirmed', back: `/console/leads/${id}` }, 409);
    await logRead(v, [id], 'print_check');
    res.type('html').send(printer.check(lead, { lng: v.lng, phones: phonesFor(v), now: now(), back: `/console/leads/${id}` }));
  });
  r.get('/print/summary', async (req: Req, res) => {
    const v = req.viewer!;
    const rows = await exports.summaryRows(v.actor.scope);
    res.type('html').send(printer.summary(placeName(v.staff.placeCode), rows, { lng: v.lng, today: localDate(now(), tz), back: '/console' }));
  });
  r.get('/print/visit', async (req: Req, res) => {
    const v = req.viewer!;
    const village = villageOf(v, req.query.village);
    if (!village) return page(res, 'message', v.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404);
    const leads = await villageLeadsOf(v, village, ['received', 'assigned']);
    await logRead(v, leads.map((l) => l.id), 'print_visit');
    res.type('html').send(await printer.visit(leads, { lng: v.lng, phones: phonesFor(v), linkOf: leadLink, back: `/console/leads?village=${village}`, village: placeName(village) }));
  });
  r.get('/print/publicity', async (req: Req, res) => {
    const v = req.viewer!;
    const village = villageOf(v, req.query.village);
    if (!village) return page(res, 'message', v.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404);
    const leads = await villageLeadsOf(v, village, ['publicized']);
    await logRead(v, leads.map((l) => l.id), 'print_publicity');
    res.type('html').send(printer.publicity(village, leads, { lng: v.lng, back: `/console/leads?village=${village}` }));
  });

  // ---- 村宣传海报: a township's posters, within the viewer's place (a village's staff: their own village's) ----
  const makePosters = deps.posters;
  if (makePosters) {
    const many = (q: unknown): string[] | undefined => (q === undefined ? undefined : (Array.isArray(q) ? q : [q]).map(String).slice(0, 500));
    /** The township and villages asked for, if the viewer's place covers them; undefined when it does not. */
    const posterRequest = (v: Viewer, townshipQ: unknown, villageQ: unknown): { township: string; villages: string[] | undefined } | undefined => {
      const scope = v.actor.scope;
      const asked = many(villageQ)?.filter((x) => x !== '');
      if (scope.kind === 'village') {
        const own = places.villages.get(scope.code);
        if (!own || (townshipQ !== undefined && townshipQ !== own.township.code) || (asked?.length && asked.some((x) => x !== scope.code))) return undefined;
        return { township: own.township.code, villages: [scope.code] };
      }
      const township = typeof townshipQ === 'string' ? townshipQ : scope.kind === 'township' ? scope.code : undefined;
      const tw = township !== undefined && /^\d{9}$/.test(township) ? places.townships.get(township) : undefined;
      if (!tw || !coversPlace(scope, tw.township.code) || tw.township.villages.length === 0) return undefined;
      if (!asked?.length) return { township: tw.township.code, villages: undefined };
      const own = new Set(tw.township.villages.map((x) => x.code));
      return asked.every((x) => own.has(x)) ? { township: tw.township.code, villages: [...new Set(asked)] } : undefined;
    };

    r.get('/posters', (req: Req, res) => {
      const v = req.viewer!;
      const scope = v.actor.scope;
      const townships = [...places.townships.values()]
        .filter((x) => coversPlace(scope, x.township.code) || (scope.kind === 'village' && scope.code.startsWith(x.township.code)))
        .map((x) => ({ code: x.township.code, name: x.township.name, villages: (scope.kind === 'village' ? x.township.villages.filter((y) => y.code === scope.code) : x.township.villages).map((y) => ({ code: y.code, name: y.name })) }))
        .filter((x) => x.villages.length > 0);
      page(res, 'posters', v.lng, { ...chrome(req), kind: scope.kind, townships });
    });
    r.get('/posters/print', async (req: Req, res) => {
      const v = req.viewer!;
      const want = posterRequest(v, req.query.township, req.query.village);
      if (!want) return page(res, 'message', v.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404);
      const html = await makePosters(want.township, want.villages, v.lng);
      logger.info({ staff: v.staff.id, township: want.township, villages: want.villages?.length ?? 'all' }, 'console posters');
      res.setHeader('content-security-policy', selfContainedCsp(html));
      if (req.query.download !== undefined) res.setHeader('content-disposition', `attachment; filename="posters-${want.villages?.length === 1 ? want.villages[0] : want.township}.html"`);
      res.type('html').send(html);
    });
  }

  // ---- 空白村 ----
  r.get('/blank', async (req: Req, res) => {
    const v = req.viewer!;
    const today = localDate(now(), tz);
    const from = typeof req.query.from === 'string' && date.safeParse(req.query.from).success ? req.query.from : addDays(today, -90);
    const to = typeof req.query.to === 'string' && date.safeParse(req.query.to).success ? req.query.to : today;
    const rows = await queries.blankVillages(v.actor.scope, from <= to ? from : to, to);
    const byTownship = new Map<string, { code: string; name: string; villages: typeof rows }>();
    for (const x of rows) {
      const tw = byTownship.get(x.townshipCode) ?? { code: x.townshipCode, name: x.township, villages: [] };
      tw.villages.push(x);
      byTownship.set(x.townshipCode, tw);
    }
    page(res, 'blank', v.lng, { ...chrome(req), from, to, count: rows.length, townships: [...byTownship.values()] });
  });

  // ---- 人员 and 访问记录: county only ----
  const countyOnly: RequestHandler = (req: Req, res, next) => {
    if (placeKindOf(req.viewer!.staff.role) !== 'county') return page(res, 'message', req.viewer!.lng, { ...chrome(req), title: 'county_only_title', text: 'county_only' }, 403);
    next();
  };

  // 监测对象回退、清退情况统计表 (annex 5): the county's, of one year (this one unless ?year=YYYY) or ?year=all
  const rollbackYear = (q: unknown): number | 'all' | undefined => {
    if (q === undefined) return Number(localDate(now(), tz).slice(0, 4));
    if (q === 'all') return 'all';
    return typeof q === 'string' && /^20\d\d$/.test(q) ? Number(q) : undefined;
  };
  r.get('/print/rollback', countyOnly, async (req: Req, res) => {
    const v = req.viewer!;
    const year = rollbackYear(req.query.year);
    if (year === undefined) return page(res, 'message', v.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404);
    const rows = await exports.rollbackRows(v.actor.scope, year === 'all' ? undefined : year);
    await logRead(v, [...new Set(rows.map((x) => x.leadId))], 'print_rollback');
    const h = helpers(v.lng);
    const period = year === 'all' ? h.t('paper.rollback.all_years') : h.t('paper.rollback.year', { year });
    const thisYear = Number(localDate(now(), tz).slice(0, 4));
    const years = [thisYear, thisYear - 1, 'all' as const].map((y) => ({ label: y === 'all' ? h.t('paper.rollback.all_years') : h.t('paper.rollback.year', { year: y }), href: `/console/print/rollback?year=${y}`, current: y === year }));
    res.type('html').send(printer.rollback(placeName(v.staff.placeCode), rows, { lng: v.lng, today: localDate(now(), tz), period, back: '/console', xlsx: `/console/print/rollback.xlsx?year=${year}`, years }));
  });
  r.get('/print/rollback.xlsx', countyOnly, async (req: Req, res) => {
    const v = req.viewer!;
    const year = rollbackYear(req.query.year);
    if (year === undefined) return page(res, 'message', v.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404);
    const rows = await exports.rollbackRows(v.actor.scope, year === 'all' ? undefined : year);
    await logRead(v, [...new Set(rows.map((x) => x.leadId))], 'export_rollback');
    res.setHeader('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    res.setHeader('content-disposition', `attachment; filename="rollback-${v.actor.scope.code}-${year}.xlsx"`);
    await exports.rollbackXlsx(rows, res, v.lng, localDate(now(), tz));
  });

  async function staffPage(req: Req, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const v = req.viewer!;
    const county = v.actor.scope.code;
    const all = (await staff.list()).filter((s) => s.countyCode === county);
    const byId = new Map(all.map((s) => [s.id, s]));
    const dead = await deps.deliveries.list('dead', { staffIds: [...byId.keys()] });
    const forwarding = await deps.forwarding.list('dead', { countyCode: county });
    const roleOrder = (r: string) => ['county_officer', 'township_reviewer', 'village_cadre', 'contact_person'].indexOf(r);
    page(
      res,
      'staff',
      v.lng,
      {
        ...chrome(req),
        people: all
          .filter((s) => !s.removedAt)
          .sort((a, b) => a.placeCode.localeCompare(b.placeCode) || roleOrder(a.role) - roleOrder(b.role))
          .map((s) => ({ ...s, place: placeName(s.placeCode), self: s.id === v.staff.id })),
        dead: dead.map((d) => ({ ...d, id: String(d.id), who: byId.get(d.staffId!)?.name ?? '' })),
        forwarding: forwarding.map((d) => ({ ...d, id: String(d.id) })),
        roles: STAFF_ROLES,
        places: [
          { code: county, name: placeName(county) },
          ...[...places.townships.values()].filter((x) => x.county.code === county).map((x) => ({ code: x.township.code, name: x.township.name })),
          ...[...places.villages.values()].filter((x) => x.county.code === county).map((x) => ({ code: x.village.code, name: `${x.township.name} ${x.village.name}` })),
        ],
        tz,
        ...extra,
      },
      status,
    );
  }
  r.get('/staff', countyOnly, (req: Req, res) => staffPage(req, res));
  r.post('/staff/invite', form, countyOnly, csrf, async (req: Req, res) => {
    const v = req.viewer!;
    const role = String(req.body?.role ?? '');
    const place = String(req.body?.place ?? '');
    const typed = opt(oneLine(50)).safeParse(typeof req.body?.name === 'string' ? req.body.name : undefined);
    const name = typed.success && typed.data ? typed.data : undefined;
    if (!typed.success || !STAFF_ROLES.includes(role as StaffRole) || !coversPlace(v.actor.scope, place)) return staffPage(req, res, { problem: 'staff.invite_bad' }, 400);
    try {
      const { code, expiresAt } = await staff.createInvite(role, place, name, now());
      logger.info({ staff: v.staff.id, role }, 'console invite made');
      return staffPage(req, res, { invite: { code, expiresAt, role, place: placeName(place), name } });
    } catch {
      return staffPage(req, res, { problem: 'staff.invite_bad_place' }, 400);
    }
  });
  r.post('/staff/:id/remove', form, countyOnly, csrf, async (req: Req, res) => {
    const v = req.viewer!;
    const id = String(req.params.id);
    const target = z.uuid().safeParse(id).success ? await staff.byId(id) : undefined;
    if (!target || target.countyCode !== v.actor.scope.code) return staffPage(req, res, { problem: 'staff.not_found' }, 404);
    if (target.id === v.staff.id) return staffPage(req, res, { problem: 'staff.not_yourself' }, 409);
    await staff.remove(target.id, now());
    await auth.endAllOf(target.id, now());
    logger.info({ staff: v.staff.id, removed: target.id }, 'console staff removed');
    return staffPage(req, res, { removed: target.name ?? '' });
  });
  r.post('/staff/deliveries/:id/retry', form, countyOnly, csrf, async (req: Req, res) => {
    const id = /^\d{1,18}$/.test(String(req.params.id)) ? BigInt(String(req.params.id)) : undefined;
    const v = req.viewer!;
    const county = (await staff.list()).filter((s) => s.countyCode === v.actor.scope.code).map((s) => s.id);
    const mine = id !== undefined && (await deps.deliveries.list('dead', { staffIds: county, id })).length === 1;
    const ok = mine && (await deps.deliveries.retry(id, now()));
    return staffPage(req, res, { retried: ok ? 'staff.retried' : 'staff.retry_failed' }, ok ? 200 : 409);
  });
  r.post('/staff/forwarding/:id/retry', form, countyOnly, csrf, async (req: Req, res) => {
    const id = /^\d{1,18}$/.test(String(req.params.id)) ? BigInt(String(req.params.id)) : undefined;
    const v = req.viewer!;
    const mine = id !== undefined && (await deps.forwarding.list('dead', { countyCode: v.actor.scope.code, id })).length === 1;
    const ok = mine && (await deps.forwarding.retry(id, now()));
    return staffPage(req, res, { retried: ok ? 'staff.retried' : 'staff.retry_failed' }, ok ? 200 : 409);
  });

  r.get('/access', countyOnly, async (req: Req, res) => {
    const v = req.viewer!;
    const before = typeof req.query.before === 'string' && /^\d{1,18}$/.test(req.query.before) ? BigInt(req.query.before) : undefined;
    const log = await queries.accessLog(v.actor.scope, { before, limit: 100 });
    const people = new Map((await staff.list()).map((s) => [s.id, s]));
    const tokens = new Map((await deps.tokens.list()).map((x) => [x.id, x]));
    const h = helpers(v.lng);
    page(res, 'access', v.lng, {
      ...chrome(req),
      rows: log.items.map((x) => ({
        ...x,
        who: x.staff_id ? `${people.get(x.staff_id)?.name ?? h.t('unnamed')}（${people.get(x.staff_id) ? h.role(people.get(x.staff_id)!.role) : ''}）` : x.token_id ? h.t('access.token', { name: tokens.get(x.token_id)?.name ?? '' }) : '',
        place: placeName(x.village_code),
      })),
      next: log.next !== null ? `/console/access?before=${log.next}` : null,
      tz,
    });
  });

  // ---- attachments: the file kept from the channel, if it was fetched ----
  r.get('/media/:id', async (req: Req, res) => {
    const v = req.viewer!;
    const id = String(req.params.id);
    const file = z.uuid().safeParse(id).success ? await intake.attachment(v.actor.scope, id) : undefined;
    if (!file || !file.data) return void res.status(404).type('text/plain').send(helpers(v.lng).t('lead.media_missing'));
    await logRead(v, [file.leadId], 'media');
    res.setHeader('content-type', file.mime ?? 'application/octet-stream');
    res.setHeader('content-disposition', 'inline');
    res.send(file.data);
  });

  r.use((req: Req, res) => page(res, 'message', req.viewer!.lng, { ...chrome(req), title: 'not_found_title', text: 'not_found' }, 404));
  r.use(((err, req: Req, res, _next) => {
    const lng = req.viewer?.lng ?? languageOf(req);
    // the body parser's refusals are the sender's (too large, too many fields, an unknown charset, a broken body):
    // said in words with their own status, never a 500
    // (and express's own: a path with a broken %-escape is 400, though it does not say expose)
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      logger.warn({ status, type: String((err as { type?: unknown }).type ?? '') }, 'console request refused');
      const text = status === 413 ? 'too_large' : status === 415 ? 'bad_charset' : 'bad_request';
      return page(res, 'message', lng, { ...(req.viewer ? chrome(req) : {}), title: 'bad_request_title', text }, status);
    }
    logger.error({ err: errorFields(err) }, 'console page failed');
    if (res.headersSent) return void res.destroy();
    res.status(500).type('html').send(render('message', { h: helpers(lng), title: 'error_title', text: 'error_text' }));
  }) as express.ErrorRequestHandler);

  return r;
}
