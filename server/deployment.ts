import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { ConfigError, displayPath } from './config-error.ts';

/**
 * The deployment file: the rules of one deployment as data (ARCHITECTURE principle 4).
 * Holds the place tree (county → township → village with official division codes) and the income lines per
 * province and year. Later modules add their sections (routing, campaigns, consent text version).
 */

const digits = (n: number, what: string) =>
  z
    .string({ error: `must be a ${n}-digit ${what} division code, written in quotes` })
    .regex(new RegExp(`^\\d{${n}}$`), `must be a ${n}-digit ${what} division code`);

/** The roles staff can have (server/staff). */
export const STAFF_ROLES = ['village_cadre', 'contact_person', 'township_reviewer', 'county_officer'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

const hhmm = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be a time such as 21:00');

const name = z.string({ error: 'must be a name' }).trim().min(1, 'must not be empty');

const village = z.strictObject({
  code: digits(12, 'village'),
  /** the name people know it by, shown in the picker and on forms: 冰岛村, 公很社区 */
  name,
  /** the full official name of the 统计用区划代码: 冰岛村民委员会, 公很社区居民委员会 */
  officialName: z.string().trim().min(1).optional(),
  /** a 村民委员会 (village) or a 社区/居民委员会 (community) */
  kind: z.enum(['village', 'community']).default('village'),
  /** true where the village list could not be verified against the official division codes. */
  sample: z.boolean().default(false),
});

/** A public office number printed on the publicity list (公示 监督电话): a landline, a mobile or a hotline such as 12317. */
const supervisionPhone = z
  .string({ error: 'must be a phone number such as 0883-7221234 or 12317' })
  .trim()
  .regex(/^[0-9][0-9\- ]{2,18}[0-9]$/, 'must be a phone number such as 0883-7221234 or 12317');

const township = z.strictObject({
  code: digits(9, 'township'),
  name,
  /** the township's supervision number for the publicity list; unset, the list leaves a line to write it by hand */
  supervisionPhone: supervisionPhone.optional(),
  villages: z.array(village).default([]),
});

const county = z.strictObject({
  code: digits(6, 'county'),
  name,
  province: z.strictObject({ code: digits(6, 'province'), name }),
  city: z.strictObject({ code: digits(6, 'prefecture'), name }),
  /** the county's supervision number for the publicity list (公示 监督电话) */
  supervisionPhone: supervisionPhone.optional(),
  townships: z.array(township).min(1, 'must list at least one township'),
});

const incomeLine = z.strictObject({
  province: digits(6, 'province'),
  year: z.number({ error: 'must be a year such as 2022' }).int().min(2015).max(2100),
  /** null: not filled in yet (deployment init leaves it to the operator); start-up warns, and no lead uses it */
  yuanPerPerson: z.number({ error: 'must be an amount in yuan, or null until it is known' }).positive('must be more than 0').nullable(),
  source: z.string().optional(),
});

export const deploymentSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1 (the only format version so far)' }),
    name,
    timezone: z.string().default('Asia/Shanghai'),
    /** where the place tree's codes come from: the edition of the 统计用区划代码 (deployment init writes 2023) */
    divisionCodes: z.strictObject({ edition: z.number().int().min(2009).max(2100), source: z.string().optional() }).optional(),
    counties: z.array(county).min(1, 'must list at least one county'),
    incomeLines: z.array(incomeLine).min(1, 'must list at least one income line'),
    /** The 承诺授权书 shown before submitting: its text lives in locales/ under consent.<version>. */
    consent: z.strictObject({ version: z.string().regex(/^v\d+$/, 'must look like v1') }).default({ version: 'v1' }),
    /** The identification procedure's clocks, in days. */
    procedure: z
      .strictObject({
        identificationDays: z.number().int().positive().default(15),
        publicityDays: z.number().int().positive().default(5),
        /** Yunnan counts publicity in working days; elsewhere calendar days */
        publicityDayType: z.enum(['calendar', 'working']).default('calendar'),
        planDays: z.number().int().positive().default(10),
      })
      .default({ identificationDays: 15, publicityDays: 5, publicityDayType: 'calendar', planDays: 10 }),
    /** When staff are nudged (server/reminders): offsets in days before a deadline, escalation, quiet hours, follow-ups. */
    reminders: z
      .strictObject({
        /** days before a deadline on which the role that must act is nudged (0 = on the day); daily once overdue */
        deadlineOffsets: z.array(z.number().int().min(0).max(60)).min(1).default([5, 2, 1, 0]),
        /** an overdue lead goes to the township reviewer at once, and to the county officer after this many days */
        escalateToCountyAfterDays: z.number().int().min(0).max(60).default(3),
        quietHours: z
          .strictObject({ from: hhmm, to: hhmm })
          .default({ from: '21:00', to: '08:00' }),
        /** contact persons: a follow-up every N months after confirmation or the last follow-up */
        followUpEveryMonths: z.number().int().min(1).max(12).default(1),
        /** a 回头看 re-check this many months after the risk was marked eliminated */
        recheckAfterMonths: z.number().int().min(1).max(24).default(6),
        /** a follow-up not yet recorded is asked about again every N days */
        followUpRepeatDays: z.number().int().min(1).max(60).default(7),
      })
      .default({ deadlineOffsets: [5, 2, 1, 0], escalateToCountyAfterDays: 3, quietHours: { from: '21:00', to: '08:00' }, followUpEveryMonths: 1, recheckAfterMonths: 6, followUpRepeatDays: 7 }),
    /** Hard cut-offs of work campaigns ("6月10日24时前完成全部数据录入"): countdown nudges to the audience. */
    campaigns: z
      .array(
        z.strictObject({
          id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'must be a short id of lower-case letters, digits, - and _'),
          name,
          /** local date and time of the cut-off; "2026-06-10 24:00" is the end of 10 June */
          cutoff: z.string().regex(/^\d{4}-\d{2}-\d{2} (?:[01]\d|2[0-4]):[0-5]\d$/, 'must be a local date and time such as "2026-06-10 24:00"'),
          roles: z.array(z.enum(STAFF_ROLES)).min(1).default([...STAFF_ROLES]),
          /** division codes (county, township or village) the campaign covers; empty means the whole deployment */
          places: z.array(z.string().regex(/^\d{6}(\d{3}(\d{3})?)?$/, 'must be a 6-, 9- or 12-digit division code')).default([]),
          /** days before the cut-off's date on which the countdown goes out (0 = on the day) */
          offsets: z.array(z.number().int().min(0).max(90)).min(1).default([7, 3, 1, 0]),
        }),
      )
      .default([]),
    /**
     * How long what people typed and what staff were sent is kept: drafts never submitted (and the recorded updates
     * that carry their words) after their last answer, the outbox's rows once sent or given up, reminder keys.
     */
    retention: z
      // `staffMessageDays` was the name before staff messages and county deliveries shared one outbox: still read
      .preprocess((v) => {
        if (!v || typeof v !== 'object' || !('staffMessageDays' in v)) return v;
        const { staffMessageDays, ...rest } = v as Record<string, unknown>;
        return 'outboxDays' in rest ? v : { ...rest, outboxDays: staffMessageDays };
      }, z.strictObject({
        draftDays: z.number().int().min(1).max(365).default(30),
        outboxDays: z.number().int().min(1).max(365).default(30),
        reminderKeyDays: z.number().int().min(30).max(3650).default(180),
      }))
      .default({ draftDays: 30, outboxDays: 30, reminderKeyDays: 180 }),
    /** Local days off and make-up working days, on top of the national holiday calendar. */
    calendar: z
      .strictObject({
        holidays: z.array(z.strictObject({ date: z.iso.date({ error: 'must be a date such as 2026-03-02' }), name: z.string().optional() })).default([]),
        workdays: z.array(z.strictObject({ date: z.iso.date({ error: 'must be a date such as 2026-03-02' }), name: z.string().optional() })).default([]),
      })
      .default({ holidays: [], workdays: [] }),
  })
  .superRefine((d, ctx) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: d.timezone });
    } catch {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'must be an IANA time zone such as Asia/Shanghai' });
    }
    const seen = new Map<string, string>();
    const unique = (code: string, path: (string | number)[]) => {
      const before = seen.get(code);
      if (before) ctx.addIssue({ code: 'custom', path, message: `code ${code} is already used at ${before}` });
      else seen.set(code, formatPath(path));
    };
    d.counties.forEach((c, ci) => {
      unique(c.code, ['counties', ci, 'code']);
      if (!c.code.startsWith(c.province.code.slice(0, 2)))
        ctx.addIssue({ code: 'custom', path: ['counties', ci, 'code'], message: `must start with its province's digits ${c.province.code.slice(0, 2)}` });
      if (!c.code.startsWith(c.city.code.slice(0, 4)))
        ctx.addIssue({ code: 'custom', path: ['counties', ci, 'code'], message: `must start with its prefecture's digits ${c.city.code.slice(0, 4)}` });
      c.townships.forEach((t, ti) => {
        const tpath = ['counties', ci, 'townships', ti];
        unique(t.code, [...tpath, 'code']);
        if (!t.code.startsWith(c.code))
          ctx.addIssue({ code: 'custom', path: [...tpath, 'code'], message: `must start with its county's code ${c.code}` });
        t.villages.forEach((v, vi) => {
          const vpath = [...tpath, 'villages', vi, 'code'];
          unique(v.code, vpath);
          if (!v.code.startsWith(t.code)) ctx.addIssue({ code: 'custom', path: vpath, message: `must start with its township's code ${t.code}` });
        });
      });
    });
    const campaignIds = new Set<string>();
    d.campaigns.forEach((c, i) => {
      if (campaignIds.has(c.id)) ctx.addIssue({ code: 'custom', path: ['campaigns', i, 'id'], message: `id ${c.id} is used twice` });
      campaignIds.add(c.id);
      c.places.forEach((code, pi) => {
        if (!seen.has(code)) ctx.addIssue({ code: 'custom', path: ['campaigns', i, 'places', pi], message: `${code} is not in the place tree` });
      });
    });
    const lines = new Map<string, number>();
    d.incomeLines.forEach((l, i) => {
      const key = `${l.province}/${l.year}`;
      if (lines.has(key))
        ctx.addIssue({ code: 'custom', path: ['incomeLines', i], message: `duplicates incomeLines[${lines.get(key)}] (same province and year)` });
      else lines.set(key, i);
    });
  });

export type Deployment = z.infer<typeof deploymentSchema>;
export type County = Deployment['counties'][number];
export type Township = County['townships'][number];
export type Village = Township['villages'][number];
export type Campaign = Deployment['campaigns'][number];
export type ReminderRules = Deployment['reminders'];

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(top level)';
}

/** Parses and validates a deployment file. Every problem is reported with its field path (and line, for YAML). */
export function parseDeployment(text: string, file: string): Deployment {
  const shown = displayPath(file);
  const yaml = extname(file) !== '.json';
  const lineCounter = new LineCounter();
  let raw: unknown;
  let doc: ReturnType<typeof parseDocument> | undefined;
  if (yaml) {
    doc = parseDocument(text, { lineCounter, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        `The deployment file ${shown} is not valid YAML:`,
        doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
      );
    }
    raw = doc.toJS();
  } else {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`The deployment file ${shown} is not valid JSON:`, [(e as Error).message]);
    }
  }
  const result = deploymentSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    let where = '';
    if (doc) {
      // Point at the nearest existing node of the path, so a missing field points at its parent.
      for (let n = issue.path.length; n >= 0; n--) {
        const node = doc.getIn(issue.path.slice(0, n), true);
        if (isNode(node) && node.range) {
          where = ` (line ${lineCounter.linePos(node.range[0]).line})`;
          break;
        }
      }
    }
    return `${formatPath(issue.path)}${where}: ${issue.message}`;
  });
  throw new ConfigError(`The deployment file ${shown} has ${problems.length} problem(s):`, problems);
}

export function loadDeployment(file: string): Deployment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError('Cannot read the deployment file (DEPLOYMENT_CONFIG):', [`${displayPath(file)}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`]);
  }
  return parseDeployment(text, file);
}

const indexes = new WeakMap<Deployment, ReturnType<typeof buildPlaceIndex>>();

/** Places by code, for routing and pickers; built once per deployment. */
export function placeIndex(d: Deployment) {
  let idx = indexes.get(d);
  if (!idx) indexes.set(d, (idx = buildPlaceIndex(d)));
  return idx;
}

function buildPlaceIndex(d: Deployment) {
  const villages = new Map<string, { village: Village; township: Township; county: County }>();
  const townships = new Map<string, { township: Township; county: County }>();
  const counties = new Map<string, County>();
  for (const county of d.counties) {
    counties.set(county.code, county);
    for (const township of county.townships) {
      townships.set(township.code, { township, county });
      for (const village of township.villages) villages.set(village.code, { village, township, county });
    }
  }
  return { villages, townships, counties };
}

/** The income line for a province and year; falls back to the latest earlier year, and says so. */
export function incomeLineFor(d: Deployment, provinceCode: string, year: number) {
  const candidates = d.incomeLines.filter((l) => l.province === provinceCode && l.year <= year && l.yuanPerPerson !== null).sort((a, b) => b.year - a.year);
  const line = candidates[0];
  if (!line || line.yuanPerPerson === null) return undefined;
  return { yuanPerPerson: line.yuanPerPerson, year: line.year, exactYear: line.year === year };
}
