import type { DeskAction } from './flows/staff.ts';

/**
 * What a button carries: one codec per family of buttons, so that no id is built or taken apart by hand.
 *
 * An id goes to the messenger with the button and comes back when it is tapped: Telegram's callback_data (1-64
 * bytes), a 微信客服 menu item's click id (1-64 bytes), a WeCom app card button's key (at most 1,024 bytes). Every
 * id is therefore at most 64 bytes, ASCII only, and `encode` refuses (throws) a value that would not fit or would
 * not read back, rather than send a button that could never work.
 *
 * The form is `<version>.<family>.<field>…`: `2.act.<lead id>.publicize_today`, `2.tasks.3`, `2.option.risks.illness`.
 * Buttons sent before the version marker existed (version 1: `act:<lead id>:pub0`, `lead:<lead id>`,
 * `act:<lead id>:cp0`, `tasks:0`, `o:risks:illness`, …) stay in people's chats and still read as the same values.
 * An id of another version, of no known family, or garbled reads as stale: the person is told the button has
 * expired (`engine.stale_button` inside a report, `engine.stale_button_idle` outside one).
 *
 * A family's `decode` answers the value, `STALE` (the id is of this family but cannot be read), or undefined (the
 * id is not of this family); `readButton` asks every family and answers the value with its family, or `STALE`.
 * Values from version-1 ids are passed on as they came (a lead id in one is not checked as a UUID here): the
 * reader checks them as it always did (the desk checks lead ids before anything reads the database with them).
 */

export const BUTTON_VERSION = 2;
/** The smallest limit of the messengers' button data (Telegram callback_data, 微信客服 menu click id). */
export const BUTTON_ID_MAX_BYTES = 64;

export type Stale = { readonly stale: true; readonly family?: undefined };
export const STALE: Stale = Object.freeze({ stale: true as const });
export const isStale = (v: unknown): v is Stale => typeof v === 'object' && v !== null && (v as { stale?: unknown }).stale === true;

export type Codec<T> = {
  readonly family: string;
  /** The id for a button carrying `value`; throws when it cannot be carried (over 64 bytes, or a field out of shape). */
  encode(value: T): string;
  /** The value a tapped id carries; STALE for an id of this family that cannot be read; undefined for another family's. */
  decode(id: string): T | Stale | undefined;
};

/** A field of a version-2 id: letters, digits, `_` and `-` (never the `.` between fields). */
const FIELD = /^[A-Za-z0-9_-]+$/;
const VERSIONED = /^(\d{1,3})\.([a-z_]+)(?:\.(.*))?$/s;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function codec<T>(family: string, spec: { write: (v: T) => Array<string | undefined>; read: (fields: string[]) => T | undefined; v1?: (id: string) => T | Stale | undefined }): Codec<T> {
  const c: Codec<T> = {
    family,
    encode(value) {
      const fields = spec.write(value);
      const id = [String(BUTTON_VERSION), family, ...fields].join('.');
      // ASCII only (FIELD), so the length is the byte count; the value is not put in the message (it may be a lead id)
      if (fields.some((f) => f === undefined || !FIELD.test(f)) || id.length > BUTTON_ID_MAX_BYTES) throw new Error(`a "${family}" button cannot carry this value`);
      return id;
    },
    decode(id) {
      const m = VERSIONED.exec(id);
      if (!m) return spec.v1 ? spec.v1(id) : undefined;
      if (m[2] !== family) return undefined;
      if (m[1] !== String(BUTTON_VERSION)) return STALE;
      return spec.read(m[3] === undefined ? [] : m[3].split('.')) ?? STALE;
    },
  };
  return c;
}

// ---- fields

const uuid = {
  write: (v: string) => (UUID.test(v) ? v : undefined),
  read: (s: string | undefined) => (s !== undefined && UUID.test(s) ? s : undefined),
};
const word = (max: number) => {
  const re = new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`);
  return { write: (v: string) => (re.test(v) ? v : undefined), read: (s: string | undefined) => (s !== undefined && re.test(s) ? s : undefined) };
};
const count = (digits: number) => {
  const re = new RegExp(`^\\d{1,${digits}}$`);
  return {
    write: (v: number) => (Number.isSafeInteger(v) && v >= 0 && re.test(String(v)) ? String(v) : undefined),
    read: (s: string | undefined) => (s !== undefined && re.test(s) ? Number(s) : undefined),
  };
};
/** A closed set of values, each with the name it has in an id. */
const names = <K extends string>(table: Record<K, string>) => {
  const back = new Map(Object.entries(table).map(([k, v]) => [v as string, k as K]));
  return { write: (v: K) => (Object.hasOwn(table, v) ? table[v] : undefined), read: (s: string | undefined) => (s === undefined ? undefined : back.get(s)) };
};
const same = <K extends string>(values: readonly K[]) => names(Object.fromEntries(values.map((v) => [v, v])) as unknown as Record<K, string>);

/** `prefix:<rest>` of version 1: the rest, or undefined for another prefix. */
const after = (id: string, prefix: string): string | undefined => (id.startsWith(prefix) ? id.slice(prefix.length) : undefined);
/** A version-1 id of a closed set (`nav:back`): the value, STALE for another word after the prefix. */
const oneOfV1 = <K extends string, T>(prefix: string, words: readonly K[], make: (k: K) => T) => (id: string): T | Stale | undefined => {
  const rest = after(id, prefix);
  if (rest === undefined) return undefined;
  return (words as readonly string[]).includes(rest) ? make(rest as K) : STALE;
};
const only = <T>(fields: string[], n: number, v: T | undefined): T | undefined => (fields.length === n ? v : undefined);

// ---- the staff desk (bot/desk.ts, bot/flows/staff.ts)

/** Each desk action's name in an id (version 2), readable; the version-1 names are the actions themselves. */
const ACTION_NAMES: Record<DeskAction, string> = {
  contacted: 'contacted',
  fits: 'fits',
  notfit: 'does_not_fit',
  compared: 'compared',
  pub0: 'publicize_today',
  pub1: 'publicize_tomorrow',
  reviewed: 'reviewed',
  cat_unstable_escaped: 'cat_unstable_escaped',
  cat_marginal: 'cat_marginal',
  cat_sudden_hardship: 'cat_sudden_hardship',
  exclude: 'exclude',
  contact: 'name_contact_person',
  fu: 'follow_up',
  elim: 'risk_eliminated',
};
const action = names(ACTION_NAMES);
const PAGE = count(6);
const V1_PAGE = count(4);
const INDEX = count(2);
const V1_ACTIONS = Object.keys(ACTION_NAMES);

/** One page of `/tasks` (0 is the first). */
const tasks = codec<{ page: number }>('tasks', {
  write: (v) => [PAGE.write(v.page)],
  read: (f) => {
    const page = PAGE.read(f[0]);
    return only(f, 1, page === undefined ? undefined : { page });
  },
  v1: (id) => {
    const rest = after(id, 'tasks:');
    if (rest === undefined) return undefined;
    const page = V1_PAGE.read(rest);
    return page === undefined ? STALE : { page };
  },
});

/** A lead's card. */
const lead = codec<{ leadId: string }>('lead', {
  write: (v) => [uuid.write(v.leadId)],
  read: (f) => {
    const leadId = uuid.read(f[0]);
    return only(f, 1, leadId === undefined ? undefined : { leadId });
  },
  v1: (id) => {
    const rest = after(id, 'lead:');
    if (rest === undefined) return undefined;
    return rest ? { leadId: rest } : STALE;
  },
});

const V1_ACT = /^act:([^:]+):(\w+)$/;
/** One of the next moves on a lead's card. */
const act = codec<{ leadId: string; action: DeskAction }>('act', {
  write: (v) => [uuid.write(v.leadId), action.write(v.action)],
  read: (f) => {
    const leadId = uuid.read(f[0]);
    const a = action.read(f[1]);
    return only(f, 2, leadId === undefined || a === undefined ? undefined : { leadId, action: a });
  },
  v1: (id) => {
    if (!id.startsWith('act:')) return undefined;
    const m = V1_ACT.exec(id);
    if (!m) return STALE;
    if (/^cp\d{1,2}$/.test(m[2]!)) return undefined; // the contact person picker's
    return V1_ACTIONS.includes(m[2]!) ? { leadId: m[1]!, action: m[2] as DeskAction } : STALE;
  },
});

const V1_PICK = /^act:([^:]+):cp(\d{1,2})$/;
/** The village's contact person at `index` (in the order the picker listed them) named for a lead. */
const pick_contact = codec<{ leadId: string; index: number }>('pick_contact', {
  write: (v) => [uuid.write(v.leadId), INDEX.write(v.index)],
  read: (f) => {
    const leadId = uuid.read(f[0]);
    const index = INDEX.read(f[1]);
    return only(f, 2, leadId === undefined || index === undefined ? undefined : { leadId, index });
  },
  v1: (id) => {
    const m = V1_PICK.exec(id);
    return m ? { leadId: m[1]!, index: Number(m[2]) } : undefined;
  },
});

const DESK = ['skip', 'web'] as const;
const DESK_WORD = same(DESK);
/** The desk's own buttons: skip the reason or note asked for; a log-in link to the console. */
const desk = codec<{ what: (typeof DESK)[number] }>('desk', {
  write: (v) => [DESK_WORD.write(v.what)],
  read: (f) => {
    const what = DESK_WORD.read(f[0]);
    return only(f, 1, what && { what });
  },
  v1: oneOfV1('desk:', DESK, (what) => ({ what })),
});

// ---- the household's screens (bot/screens.ts), and the staff menu's way back to them

const STARTS = ['new', 'resume', 'status', 'language', 'menu'] as const;
const START = same(STARTS);
/** The welcome's and the staff menu's buttons: each does what the command of its name does. */
const start = codec<{ what: (typeof STARTS)[number] }>('start', {
  write: (v) => [START.write(v.what)],
  read: (f) => {
    const what = START.read(f[0]);
    return only(f, 1, what && { what });
  },
  v1: oneOfV1('start:', ['new', 'resume', 'status', 'lang', 'menu'] as const, (w) => ({ what: w === 'lang' ? 'language' : w })),
});

const ANSWERS = ['keep', 'yes', 'no'] as const;
const ANSWER = same(ANSWERS);
/** Withdrawing a report: which one (a lead id), then keep it, or yes / no. */
const withdraw = codec<{ leadId: string; answer?: undefined } | { answer: (typeof ANSWERS)[number]; leadId?: undefined }>('withdraw', {
  write: (v) => [v.answer !== undefined ? ANSWER.write(v.answer) : uuid.write(v.leadId)],
  read: (f) => {
    const answer = ANSWER.read(f[0]);
    if (answer) return only(f, 1, { answer });
    const leadId = uuid.read(f[0]);
    return only(f, 1, leadId === undefined ? undefined : { leadId });
  },
  v1: (id) => {
    const rest = after(id, 'wd:');
    if (rest === undefined) return undefined;
    if ((ANSWERS as readonly string[]).includes(rest)) return { answer: rest as (typeof ANSWERS)[number] };
    return rest ? { leadId: rest } : STALE;
  },
});

// ---- the flow's engine (bot/engine/engine.ts)

const NAV = ['back', 'skip', 'more', 'done', 'summary', 'township'] as const;
const NAV_WORD = same(NAV);
/** Moving about a report: back, skip, more choices, done (a several-answer question, the media step), to the summary, another township. */
const nav = codec<{ to: (typeof NAV)[number] }>('nav', {
  write: (v) => [NAV_WORD.write(v.to)],
  read: (f) => {
    const to = NAV_WORD.read(f[0]);
    return only(f, 1, to && { to });
  },
  v1: oneOfV1('nav:', NAV, (to) => ({ to })),
});

const SUMMARY = ['ok', 'edit'] as const;
const SUMMARY_WORD = same(SUMMARY);
/** The summary: all correct (on to the consent), or change an answer. */
const summary = codec<{ answer: (typeof SUMMARY)[number] }>('summary', {
  write: (v) => [SUMMARY_WORD.write(v.answer)],
  read: (f) => {
    const answer = SUMMARY_WORD.read(f[0]);
    return only(f, 1, answer && { answer });
  },
  v1: oneOfV1('sum:', SUMMARY, (answer) => ({ answer })),
});

const YES_NO = ['yes', 'no'] as const;
const YES_NO_WORD = same(YES_NO);
const yesNo = (family: string, prefix: string) =>
  codec<{ answer: (typeof YES_NO)[number] }>(family, {
    write: (v) => [YES_NO_WORD.write(v.answer)],
    read: (f) => {
      const answer = YES_NO_WORD.read(f[0]);
      return only(f, 1, answer && { answer });
    },
    v1: oneOfV1(prefix, YES_NO, (answer) => ({ answer })),
  });
/** Agreeing to the consent text, or not. */
const consent = yesNo('consent', 'consent:');
const CANCELS = ['yes', 'no', 'delete'] as const;
const CANCEL_WORD = same(CANCELS);
/** "取消": pause and keep what was filled in (yes, as version 1 had it), throw the unsent draft away (delete), or go on (no). */
const cancel = codec<{ answer: (typeof CANCELS)[number] }>('cancel', {
  write: (v) => [CANCEL_WORD.write(v.answer)],
  read: (f) => {
    const answer = CANCEL_WORD.read(f[0]);
    return only(f, 1, answer && { answer });
  },
  v1: oneOfV1('cancel:', YES_NO, (answer) => ({ answer })),
});

const DETAILS = ['now', 'later'] as const;
const DETAILS_WORD = same(DETAILS);
/** After a receipt, and in "my reports": add the household's details to a report now (which one), or later. */
const details = codec<{ what: 'now'; leadId: string } | { what: 'later'; leadId?: undefined }>('details', {
  write: (v) => (v.what === 'now' ? [DETAILS_WORD.write(v.what), uuid.write(v.leadId)] : [DETAILS_WORD.write(v.what)]),
  read: (f) => {
    const what = DETAILS_WORD.read(f[0]);
    if (what === 'later') return only(f, 1, { what });
    const leadId = uuid.read(f[1]);
    return what === 'now' && leadId !== undefined ? only(f, 2, { what, leadId }) : undefined;
  },
});

/** Step ids and option ids are the flow's own words (bot/flows/): short enough for both to fit one id. */
const STEP = word(24);
const OPTION = word(24);

/** The summary's list of answers to change: the question to ask again. */
const edit = codec<{ step: string }>('edit', {
  write: (v) => [STEP.write(v.step)],
  read: (f) => {
    const step = STEP.read(f[0]);
    return only(f, 1, step === undefined ? undefined : { step });
  },
  v1: (id) => {
    const rest = after(id, 'edit:');
    if (rest === undefined) return undefined;
    return rest ? { step: rest } : STALE;
  },
});

/** A choice of a question: its step and the option (yes / no for a yes-or-no question). */
const option = codec<{ step: string; option: string }>('option', {
  write: (v) => [STEP.write(v.step), OPTION.write(v.option)],
  read: (f) => {
    const step = STEP.read(f[0]);
    const o = OPTION.read(f[1]);
    return only(f, 2, step === undefined || o === undefined ? undefined : { step, option: o });
  },
  v1: (id) => {
    if (!id.startsWith('o:')) return undefined;
    const m = /^o:([^:]+):(.+)$/s.exec(id);
    return m ? { step: m[1]!, option: m[2]! } : STALE;
  },
});

const CODE = word(24);
const place = (family: string, prefix: string) =>
  codec<{ code: string }>(family, {
    write: (v) => [CODE.write(v.code)],
    read: (f) => {
      const code = CODE.read(f[0]);
      return only(f, 1, code === undefined ? undefined : { code });
    },
    v1: (id) => {
      const rest = after(id, prefix);
      if (rest === undefined) return undefined;
      return rest ? { code: rest } : STALE;
    },
  });
/** The place question: a township (its villages follow), then a village. */
const township = place('township', 'tw:');
const village = place('village', 'vl:');

/** Every family, by the name it has in its ids. */
export const buttons = { tasks, lead, act, pick_contact, desk, start, withdraw, nav, summary, edit, consent, cancel, details, option, township, village } as const;

export type Family = keyof typeof buttons;
type ValueOf<C> = C extends Codec<infer T> ? T : never;
/** A tapped button's value with its family. */
export type Tapped = { [F in Family]: ValueOf<(typeof buttons)[F]> & { family: F } }[Family];

/** What a tapped id carries, whichever family it is of; STALE for an id no family reads. */
export function readButton(id: string): Tapped | Stale {
  for (const family of Object.keys(buttons) as Family[]) {
    const v = (buttons[family] as Codec<object>).decode(id);
    if (v !== undefined && !isStale(v)) return { ...v, family } as Tapped;
  }
  return STALE;
}
