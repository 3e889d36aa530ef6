import type { Answers, Button, Capabilities, Flow, FlowContext, Inbound, Outbound, State, Step } from './types.ts';
import { onlyNumbers, parseChoiceNumbers, parseYesNo, parsePlaceText, townshipKey, villageKey } from '../parse/index.ts';
import { buttons as ids, readButton } from '../buttons.ts';

/**
 * Runs a declared flow for one person: pure, so it knows nothing of messengers or databases. Given the state,
 * one inbound message and a context, it returns the new state, what to say, and an effect for the caller
 * (submit, cancel, …) when the conversation needs the outside world.
 */

export type Place = { code: string; name: string };
export type PlaceTree = { townships: Array<Place & { villages: Array<Place & { officialName?: string | undefined }> }> };

export type EngineContext = FlowContext & {
  flow: Flow;
  caps: Capabilities;
  places: PlaceTree;
  /** the consent text to show and sign for these answers (a proxy signs on the household's behalf), with its version and hash */
  consent: (answers: Answers) => { version: string; text: string; hash: string };
};

/**
 * What the caller must do: submit the report (the summary's flow, signed), save the answers (a flow that ends by
 * saving), keep the draft for later (cancelled: paused), or drop it (deleted).
 */
export type Effect = { type: 'submit' } | { type: 'save' } | { type: 'cancelled' } | { type: 'deleted' } | { type: 'stopped' };
export type Result = { state: State; out: Outbound[]; effect?: Effect };

const SUMMARY = 'summary';
const EDIT_PICK = 'edit_pick';
const CONSENT = 'consent';
const SIGNATURE = 'signature';
const CONFIRM_CANCEL = 'confirm_cancel';
const STOPPED = 'stopped';
/** Places that are not a step of the flow. */
const SPECIAL = new Set([SUMMARY, EDIT_PICK, CONSENT, SIGNATURE, CONFIRM_CANCEL, STOPPED]);

/** The navigation buttons' ids, and what a typed "back", "skip", "done" stands for. */
const NAV = {
  back: ids.nav.encode({ to: 'back' }),
  skip: ids.nav.encode({ to: 'skip' }),
  more: ids.nav.encode({ to: 'more' }),
  done: ids.nav.encode({ to: 'done' }),
  summary: ids.nav.encode({ to: 'summary' }),
  township: ids.nav.encode({ to: 'township' }),
} as const;

/** Words a person may type instead of tapping a navigation button (each language's list lives in locales). */
const NAV_WORDS = ['back', 'skip', 'done', 'cancel', 'restart', 'help'] as const;
function navWord(ctx: EngineContext, text: string): (typeof NAV_WORDS)[number] | undefined {
  const norm = text.trim().toLowerCase();
  for (const nav of NAV_WORDS) {
    const words = ctx.t(`engine.words.${nav}`).split('|');
    if (words.includes(norm)) return nav;
  }
  return undefined;
}

export function stepById(flow: Flow, id: string | null | undefined): Step | undefined {
  return flow.steps.find((s) => s.id === id);
}

export function applicable(flow: Flow, answers: Answers): Step[] {
  return flow.steps.filter((s) => !s.when || s.when(answers));
}

/** The step after `from` (or the first), skipping steps that do not apply; in edit mode, the next unanswered one. */
function nextAt(flow: Flow, answers: Answers, from: string | null, editing: boolean, prefilled: string[] = []): string {
  const steps = applicable(flow, answers);
  const idx = from ? flow.steps.findIndex((s) => s.id === from) : -1;
  for (const s of steps) {
    if (flow.steps.indexOf(s) <= idx) continue;
    if ((editing || prefilled.includes(s.id)) && answers[s.id] !== undefined) continue;
    return s.id;
  }
  return SUMMARY;
}

/** The first required question that applies and has no answer yet. */
function firstMissing(flow: Flow, answers: Answers): string | undefined {
  return applicable(flow, answers).find((s) => !s.optional && answers[s.id] === undefined)?.id;
}

/** Drops answers to steps that no longer apply (e.g. relation after switching to "myself"); what no step asks (the photos sent with the story) stays. */
function prune(flow: Flow, answers: Answers): Answers {
  const keep = new Set(applicable(flow, answers).map((s) => s.id));
  const asked = new Set(flow.steps.map((s) => s.id));
  return Object.fromEntries(Object.entries(answers).filter(([k]) => keep.has(k) || !asked.has(k)));
}

/** Words every prompt of the flow may use ({{household}}), and the i18next context of its prompts ("proxy"). */
function flowParams(ctx: EngineContext, answers: Answers): Record<string, unknown> {
  const context = ctx.flow.context?.(answers);
  return { ...(ctx.flow.params?.(ctx, answers) ?? {}), ...(context ? { context } : {}) };
}

function rows(buttons: Button[], perRow: number): Button[][] {
  const out: Button[][] = [];
  for (let i = 0; i < buttons.length; i += perRow) out.push(buttons.slice(i, i + perRow));
  return out;
}

/** Lays out choices for the channel: buttons where it has them, numbered lines where it has not. */
function present(ctx: EngineContext, text: string, choiceRows: Button[][]): Outbound {
  const flat = choiceRows.flat();
  if (flat.length === 0) return { text };
  if (ctx.caps.buttons) return { text, buttons: choiceRows };
  const lines = flat.map((b, i) => `${i + 1}. ${b.label}`);
  return { text: `${text}\n\n${lines.join('\n')}\n${ctx.t('engine.reply_with_number')}` };
}

/** Choices on screen for the current place, in the order the numbered fallback uses. */
function currentButtons(state: State, ctx: EngineContext): Button[] {
  const rendered = render(state, ctx);
  return (rendered.buttons ?? []).flat().length > 0 ? rendered.buttons!.flat() : renderButtons(state, ctx).flat();
}

function pageOf<T>(items: T[], page: number, size: number): { items: T[]; more: boolean } {
  const start = page * size;
  return { items: items.slice(start, start + size), more: start + size < items.length };
}

function navRow(ctx: EngineContext, state: State, step: Step | undefined): Button[] {
  const nav: Button[] = [];
  if (state.history.length > 0 || state.editing) nav.push({ id: NAV.back, label: ctx.t('engine.buttons.back') });
  if (step?.optional) nav.push({ id: NAV.skip, label: ctx.t('engine.buttons.skip') });
  return nav;
}

/** The buttons of the current place (without the text). */
function renderButtons(state: State, ctx: EngineContext): Button[][] {
  const t = ctx.t;
  const at = state.at;
  if (at === SUMMARY) return [[{ id: ids.summary.encode({ answer: 'ok' }), label: t('engine.buttons.summary_ok') }], [{ id: ids.summary.encode({ answer: 'edit' }), label: t('engine.buttons.summary_edit') }]];
  if (at === EDIT_PICK) {
    const steps = applicable(ctx.flow, state.answers).filter((s) => s.kind !== 'notice');
    // in the summary's words: "您父母家的电话", the proxy's "您的电话"
    const params = flowParams(ctx, state.answers);
    return [...rows(steps.map((s) => ({ id: ids.edit.encode({ step: s.id }), label: t(`steps.${s.id}.label`, params) })), 2), [{ id: NAV.summary, label: t('engine.buttons.to_summary') }]];
  }
  if (at === CONSENT) return [[{ id: ids.consent.encode({ answer: 'yes' }), label: t('engine.buttons.consent_yes') }], [{ id: ids.consent.encode({ answer: 'no' }), label: t('engine.buttons.consent_no') }]];
  if (at === SIGNATURE) return [[{ id: NAV.back, label: t('engine.buttons.back') }]];
  if (at === CONFIRM_CANCEL) {
    // "取消" means a pause; throwing away what was filled in is its own button (a report already sent has nothing to throw away)
    const pause = [{ id: ids.cancel.encode({ answer: 'yes' }), label: t(`engine.buttons.${ctx.flow.end === 'save' ? 'pause_details' : 'pause'}`) }];
    const remove = ctx.flow.end === 'save' ? [] : [[{ id: ids.cancel.encode({ answer: 'delete' }), label: t('engine.buttons.delete_draft') }]];
    return [pause, ...remove, [{ id: ids.cancel.encode({ answer: 'no' }), label: t('engine.buttons.cancel_no') }]];
  }
  if (at === STOPPED) return [[{ id: NAV.back, label: t('engine.buttons.back') }]];
  const step = stepById(ctx.flow, at);
  if (!step) return [];
  const nav = navRow(ctx, state, step);
  const perRow = ctx.caps.buttonsPerRow;
  const room = Math.max(2, ctx.caps.maxButtons - 3);
  switch (step.kind) {
    case 'single': {
      const all = step.options!(ctx, state.answers).map((o) => ({ id: ids.option.encode({ step: step.id, option: o.id }), label: o.label }));
      const { items, more } = pageOf(all, state.page ?? 0, room);
      return [...rows(items, perRow), ...(more ? [[{ id: NAV.more, label: t('engine.buttons.more') }]] : []), nav].filter((r) => r.length);
    }
    case 'multi': {
      const picked = new Set(state.picking ?? []);
      // numbered where a tap cannot be shown toggled in place, so "1、3" can be typed as well
      const number = ctx.caps.multiSelect === false ? (i: number) => `${i + 1}. ` : () => '';
      const all = step.options!(ctx, state.answers).map((o, i) => ({ id: ids.option.encode({ step: step.id, option: o.id }), label: `${picked.has(o.id) ? '✅ ' : ''}${number(i)}${o.label}` }));
      return [...rows(all, perRow), [{ id: NAV.done, label: t('engine.buttons.done') }], nav].filter((r) => r.length);
    }
    case 'yesno':
    case 'notice':
      return [
        [
          { id: ids.option.encode({ step: step.id, option: 'yes' }), label: t(step.kind === 'notice' ? `steps.${step.id}.yes` : 'engine.buttons.yes') },
          { id: ids.option.encode({ step: step.id, option: 'no' }), label: t(step.kind === 'notice' ? `steps.${step.id}.no` : 'engine.buttons.no') },
        ],
        nav,
      ].filter((r) => r.length);
    case 'place': {
      if (!state.township) {
        const all = ctx.places.townships.map((tw) => ({ id: ids.township.encode({ code: tw.code }), label: tw.name }));
        const { items, more } = pageOf(all, state.page ?? 0, room);
        return [...rows(items, perRow), ...(more ? [[{ id: NAV.more, label: t('engine.buttons.more') }]] : []), nav].filter((r) => r.length);
      }
      const tw = ctx.places.townships.find((x) => x.code === state.township);
      const all = (tw?.villages ?? []).map((v) => ({ id: ids.village.encode({ code: v.code }), label: v.name }));
      const { items, more } = pageOf(all, state.page ?? 0, room);
      return [
        ...rows(items, perRow),
        ...(more ? [[{ id: NAV.more, label: t('engine.buttons.more') }]] : []),
        [{ id: NAV.township, label: t('engine.buttons.other_township') }],
        nav,
      ].filter((r) => r.length);
    }
    default: {
      // a question answered in words or by a voice note / photo: once one has come, "done" instead of "skip"
      const sent = step.media ? mediaOf(state.answers).length : 0;
      if (sent > 0) return [[{ id: NAV.done, label: t('engine.buttons.media_done') }], nav.filter((b) => b.id !== NAV.skip)].filter((r) => r.length);
      return [nav].filter((r) => r.length);
    }
  }
}

/** The counted steps of the flow, and the summary when it has one: the total never changes mid-way. */
function progressTotal(flow: Flow): number {
  return flow.steps.filter((s) => s.counted !== false).length + (flow.end === 'save' ? 0 : 1);
}

/**
 * "第 3/8 步": a follow-up question (the relation after "for my parents", the disaster's kind) shares the number of
 * the counted question before it, so the total is the same for everyone.
 */
function progressLine(ctx: EngineContext, at: string): string {
  const idx = ctx.flow.steps.findIndex((s) => s.id === at);
  const total = progressTotal(ctx.flow);
  const n = idx < 0 ? total : Math.max(1, ctx.flow.steps.slice(0, idx + 1).filter((s) => s.counted !== false).length);
  return ctx.t(ctx.flow.progressKey ?? 'engine.progress', { n, total });
}

function summaryText(state: State, ctx: EngineContext): string {
  const lines = applicable(ctx.flow, state.answers)
    .filter((s) => s.kind !== 'notice')
    .map((s) => ctx.t('engine.summary_line', { label: ctx.t(`steps.${s.id}.label`, flowParams(ctx, state.answers)), value: displayValue(s, state.answers, ctx) }));
  return `${progressLine(ctx, SUMMARY)}\n${ctx.t('engine.summary_title')}\n\n${lines.join('\n')}\n\n${ctx.t('engine.summary_hint')}`;
}

/** Photos and voice notes sent with an answer (kept in the answers under `media`). */
function mediaOf(answers: Answers): Array<{ kind: string; fileId: string }> {
  return Array.isArray(answers.media) ? (answers.media as Array<{ kind: string; fileId: string }>) : [];
}

/** What the screen offers to tap, named: a re-ask says these, not "the buttons below" when there is only "back". */
function offered(state: State, ctx: EngineContext): string {
  const labels = currentButtons(state, ctx)
    .filter((b) => b.id !== NAV.back && b.id !== NAV.more)
    .map((b) => ctx.t('engine.quoted', { label: b.label.replace(/^✅ /, '') }));
  if (labels.length === 0) return ctx.t(state.at === SIGNATURE ? 'errors.signature' : 'engine.only_back');
  return ctx.t('engine.tap_one_of', { labels: labels.join(ctx.t('engine.or')) });
}

export function displayValue(step: Step, answers: Answers, ctx: EngineContext): string {
  const v = answers[step.id];
  const unanswered = v === undefined || v === null || (Array.isArray(v) && v.length === 0 && step.kind !== 'multi');
  // a story told by voice notes alone has no words, but is not skipped
  if (unanswered && !(step.media && step.display && mediaOf(answers).length > 0)) return ctx.t('summary.skipped');
  if (step.kind === 'place') {
    const p = v as { township: string; village: string };
    const tw = ctx.places.townships.find((x) => x.code === p.township);
    return `${tw?.name ?? p.township} ${tw?.villages.find((x) => x.code === p.village)?.name ?? p.village}`;
  }
  if (step.display) return step.display(v, ctx, answers);
  return String(v);
}

/** Kinds whose stored answer reads back as what was typed. */
const TYPED_AGAIN = new Set(['text', 'count', 'phone', 'idNumber']);

/** The message for where the person is now. */
export function render(state: State, ctx: EngineContext): Outbound {
  const t = ctx.t;
  const buttons = renderButtons(state, ctx);
  const special = (text: string, progress?: string): Outbound => ({ ...present(ctx, text, buttons), ask: { kind: state.at!, ...(progress ? { progress } : {}) } });
  switch (state.at) {
    case SUMMARY:
      return special(summaryText(state, ctx), progressLine(ctx, SUMMARY));
    case EDIT_PICK:
      return special(t('engine.edit_pick'));
    case CONSENT:
      return special(`${ctx.consent(state.answers).text}\n\n${t('engine.consent_question')}`);
    case SIGNATURE:
      return special(t('engine.signature', flowParams(ctx, state.answers)));
    case CONFIRM_CANCEL:
      return special(t(ctx.flow.end === 'save' ? 'engine.cancel_question_details' : 'engine.cancel_question'));
    case STOPPED:
      return special(t('engine.stopped'));
  }
  const step = stepById(ctx.flow, state.at);
  if (!step) return { text: t('engine.nothing_open') };
  const params = { ...flowParams(ctx, state.answers), ...(step.params?.(ctx, state.answers) ?? {}) };
  // where voice notes cannot be sent, a question that invites them asks for words or photos only
  const ownWords = t(`steps.${step.id}.prompt`, params);
  let prompt = step.media && ctx.caps.voice === false ? t(`steps.${step.id}.prompt_photos`, { ...params, defaultValue: ownWords }) : ownWords;
  if (step.kind === 'place' && state.township) {
    prompt = t('engine.pick_village', { township: ctx.places.townships.find((x) => x.code === state.township)?.name ?? '' });
  }
  if (step.kind === 'multi' && ctx.caps.buttons) prompt += `\n${t(ctx.caps.multiSelect === false ? 'engine.multi_hint_menu' : 'engine.multi_hint')}`;
  if (step.kind === 'multi' && !ctx.caps.buttons) prompt += `\n${t('engine.multi_hint_numbers')}`;
  if (step.kind === 'place' && !state.township) prompt += `\n${t('engine.place_search_hint')}`;
  if (step.media && mediaOf(state.answers).length > 0) prompt += `\n${t('engine.story_media_received', { count: mediaOf(state.answers).length })}`;
  const progress = progressLine(ctx, step.id);
  // an answer given in words before (back, 修改): a form shows it in its field, to be kept or changed
  const given = state.answers[step.id];
  const value = TYPED_AGAIN.has(step.kind) && (typeof given === 'string' || typeof given === 'number') ? String(given) : undefined;
  return { ...present(ctx, `${progress}\n${prompt}`, buttons), ask: { kind: step.kind, progress, ...(step.media ? { media: true } : {}), ...(value !== undefined ? { value } : {}) } };
}

function say(state: State, ctx: EngineContext, before?: string): Result {
  const msg = render(state, ctx);
  return { state, out: [before ? { ...msg, text: `${before}\n\n${msg.text}` } : msg] };
}

/** A several-answer question comes back (back, 修改) with its answer ticked, to change rather than to give again. */
function pickingAt(ctx: EngineContext, at: string, answers: Answers): string[] | undefined {
  const v = answers[at];
  return stepById(ctx.flow, at)?.kind === 'multi' && Array.isArray(v) ? (v as string[]) : undefined;
}

/** Moves to `at`, remembering where we were for "back". */
function goTo(state: State, ctx: EngineContext, at: string, before?: string): Result {
  const history = state.at && state.at !== at && state.at !== CONFIRM_CANCEL ? [...state.history, state.at] : state.history;
  return say({ ...state, at, history, misses: 0, picking: pickingAt(ctx, at, state.answers), page: undefined, township: undefined }, ctx, before);
}

/** The same question redrawn after a toggle or a page turn: channels that can edit replace the tapped message. */
function redraw(state: State, ctx: EngineContext): Result {
  return { state, out: [{ ...render(state, ctx), replace: true }] };
}

function answered(state: State, ctx: EngineContext, step: Step, value: unknown): Result {
  const answers = prune(ctx.flow, { ...state.answers, [step.id]: value });
  const base: State = { ...state, answers };
  if (step.kind === 'notice' && step.id === 'sensitiveNotice' && value === true) base.sensitiveNoticeAt = ctx.now.toISOString();
  if (step.kind === 'notice' && value === false && step.stopsOnNo) return goTo(base, ctx, STOPPED);
  const next = nextAt(ctx.flow, answers, step.id, Boolean(state.editing), state.prefilled);
  // a flow that ends by saving (the details after a receipt) has no summary: the caller saves the answers
  if (next === SUMMARY && ctx.flow.end === 'save') return { state: { ...base, at: null, editing: false }, out: [], effect: { type: 'save' } };
  if (next === SUMMARY) return goTo({ ...base, editing: false }, ctx, SUMMARY);
  return goTo(base, ctx, next);
}

/** Errors that mean "answer with what is on the screen": the re-ask names what it offers. */
const TAP_ERRORS = new Set(['use_buttons', 'yesno_unclear', 'choice_format']);

/** A wrong answer: the reason and an example, then the same question again; every earlier answer stays. */
function miss(state: State, ctx: EngineContext, code: string): Result {
  const step = stepById(ctx.flow, state.at);
  const misses = state.misses + 1;
  const parts = [`❗ ${TAP_ERRORS.has(code) ? offered(state, ctx) : ctx.t(`errors.${code}`, { defaultValue: ctx.t('errors.generic') })}`];
  if (step) {
    const example = ctx.t(`steps.${step.id}.example`, { defaultValue: '' });
    if (example) parts.push(ctx.t('engine.example', { example }));
    if (misses >= 3) parts.push(ctx.t(step.optional ? 'engine.many_misses_optional' : 'engine.many_misses'));
  }
  return say({ ...state, misses }, ctx, parts.join('\n'));
}

function back(state: State, ctx: EngineContext): Result {
  if (state.at && stepById(ctx.flow, state.at)?.kind === 'place' && state.township) return say({ ...state, township: undefined, page: undefined }, ctx);
  if (state.editing) return goTo({ ...state, editing: false, history: state.history }, ctx, SUMMARY);
  const history = [...state.history];
  let prev = history.pop();
  // Skip places that no longer apply after an answer changed.
  while (prev && prev !== SUMMARY && prev !== CONSENT && !applicable(ctx.flow, state.answers).some((s) => s.id === prev)) prev = history.pop();
  if (!prev) return say(state, ctx, ctx.t('engine.first_step'));
  return say({ ...state, at: prev, history, misses: 0, picking: pickingAt(ctx, prev, state.answers), page: undefined, township: undefined }, ctx);
}

/** Starts the flow from the first question (keeping prefilled answers, e.g. the village from a QR poster). */
export function begin(flowVersion: number, ctx: EngineContext, prefill: Answers = {}): Result {
  // the prefill is kept (a QR poster's village): starting again keeps what the link said
  const state: State = { flowVersion, at: null, answers: prefill, history: [], misses: 0, prefilled: Object.keys(prefill), ...(Object.keys(prefill).length ? { prefill } : {}) };
  return goTo(state, ctx, nextAt(ctx.flow, prefill, null, true));
}

/** Handles one inbound message for a person who is inside the flow (state.at is set). */
export function handle(state: State, input: Inbound, ctx: EngineContext): Result {
  // a draft of an earlier version of the flow, at a question that is no longer asked: on to the first one unanswered
  if (state.at && !SPECIAL.has(state.at) && !stepById(ctx.flow, state.at)) {
    return goTo({ ...state, history: [] }, ctx, firstMissing(ctx.flow, state.answers) ?? SUMMARY);
  }
  // Typed words and numbers stand for the buttons on screen.
  if (input.kind === 'text') {
    const nav = navWord(ctx, input.text);
    if (nav) return handle(state, nav === 'cancel' || nav === 'restart' || nav === 'help' ? { kind: 'command', name: nav, arg: '' } : { kind: 'choice', id: NAV[nav] }, ctx);
    const buttons = currentButtons(state, ctx);
    const step = stepById(ctx.flow, state.at);
    // "没有", "无", "都没有" where the screen has a "none of these" button: that answer, and on
    if (step?.kind === 'multi' && step.exclusive && ctx.t('engine.words.none').split('|').includes(input.text.trim().toLowerCase().replace(/[。.!！]+$/u, ''))) {
      return finishMulti({ ...state, picking: [step.exclusive] }, ctx, step);
    }
    const byLabel = buttons.find((b) => b.label.replace(/^✅ /, '') === input.text.trim());
    if (byLabel) return handle(state, { kind: 'choice', id: byLabel.id }, ctx);
    // A place name may hold a numeral (三和村, 五一村): at the place question only digits pick a button
    if (step?.kind === 'place' && !onlyNumbers(input.text)) {
      const found = placeFound(state, ctx, step, input.text);
      if (found) return found;
    }
    const numbered = !ctx.caps.buttons || (step && (step.kind === 'single' || step.kind === 'multi' || step.kind === 'place'));
    const numericAnswer = step && ['count', 'money', 'phone', 'idNumber', 'date'].includes(step.kind);
    if (numbered && !numericAnswer && buttons.length > 0) {
      const picked = parseChoiceNumbers(input.text, buttons.length);
      if (!picked.ok && picked.error === 'choice_out_of_range') return miss(state, ctx, picked.error);
      if (picked.ok) {
        if (step?.kind === 'multi') {
          const options = picked.value.flatMap((n) => {
            const b = readButton(buttons[n - 1]!.id);
            return b.family === 'option' ? [b.option] : [];
          });
          return finishMulti({ ...state, picking: options }, ctx, step);
        }
        if (picked.value.length !== 1) return miss(state, ctx, 'choose_one');
        return handle(state, { kind: 'choice', id: buttons[picked.value[0]! - 1]!.id }, ctx);
      }
    }
  }

  if (input.kind === 'command') {
    switch (input.name) {
      case 'back':
        return back(state, ctx);
      case 'cancel':
        if (state.at === CONFIRM_CANCEL) return say(state, ctx);
        return say({ ...state, returnTo: state.at, at: CONFIRM_CANCEL }, ctx);
      case 'help':
        return say(state, ctx, ctx.t('engine.help'));
      case 'restart': {
        // the same flow again from its first question (the details of the same report stay the details)
        const r = begin(state.flowVersion, ctx, state.prefill ?? {});
        return state.flow ? { ...r, state: { ...r.state, flow: state.flow, leadId: state.leadId } } : r;
      }
      default:
        return say(state, ctx, ctx.t('engine.unknown_command'));
    }
  }

  if (input.kind === 'unsupported') return say(state, ctx, ctx.t('engine.unsupported'));

  const at = state.at;
  if (input.kind === 'choice') {
    const b = readButton(input.id);
    const nav = b.family === 'nav' ? b.to : undefined;
    if (nav === 'back') return back(state, ctx);
    if (at === CONFIRM_CANCEL && b.family === 'cancel') {
      if (b.answer === 'yes') return { state: { ...state, at: state.returnTo ?? null, returnTo: undefined }, out: [{ text: ctx.t(ctx.flow.end === 'save' ? 'engine.paused_details' : 'engine.cancelled') }], effect: { type: 'cancelled' } };
      if (b.answer === 'delete' && ctx.flow.end !== 'save') return { state: { ...state, at: null, returnTo: undefined }, out: [{ text: ctx.t('engine.deleted') }], effect: { type: 'deleted' } };
      return say({ ...state, at: state.returnTo ?? firstMissing(ctx.flow, state.answers) ?? SUMMARY, returnTo: undefined }, ctx);
    }
    if (at === SUMMARY && b.family === 'summary') {
      if (b.answer === 'ok') {
        // Nothing is signed while a required answer is missing: ask it first, then come back here.
        const missing = firstMissing(ctx.flow, state.answers);
        if (missing) return goTo({ ...state, editing: true }, ctx, missing);
        const consent = ctx.consent(state.answers);
        return goTo({ ...state, consent: { version: consent.version, hash: consent.hash, shownAt: ctx.now.toISOString() } }, ctx, CONSENT);
      }
      return goTo(state, ctx, EDIT_PICK);
    }
    if (at === EDIT_PICK) {
      if (nav === 'summary') return goTo(state, ctx, SUMMARY);
      if (b.family === 'edit') {
        const step = stepById(ctx.flow, b.step);
        if (step) return goTo({ ...state, editing: true }, ctx, step.id);
      }
    }
    if (at === CONSENT && b.family === 'consent') {
      if (b.answer === 'yes') return goTo({ ...state, consent: { ...state.consent!, agreedAt: ctx.now.toISOString() } }, ctx, SIGNATURE);
      return say({ ...state, at: SUMMARY }, ctx, ctx.t('engine.consent_declined'));
    }
    const step = stepById(ctx.flow, at);
    if (step) {
      if (nav === 'skip' && step.optional) return answered(state, ctx, step, skipValue(step));
      if (nav === 'more') return redraw({ ...state, page: (state.page ?? 0) + 1 }, ctx);
      if (step.kind === 'multi' && nav === 'done') return finishMulti(state, ctx, step);
      if (step.media && nav === 'done') return answered(state, ctx, step, state.answers[step.id] ?? null);
      if (step.kind === 'place') {
        if (nav === 'township') return redraw({ ...state, township: undefined, page: undefined }, ctx);
        if (b.family === 'township') return redraw({ ...state, township: b.code, page: undefined }, ctx);
        if (b.family === 'village') {
          const code = b.code;
          const tw = ctx.places.townships.find((x) => x.villages.some((v) => v.code === code));
          if (tw) return answered(state, ctx, step, { township: tw.code, village: code });
        }
      }
      // a choice of this question (one of another question is stale)
      if (b.family === 'option' && b.step === step.id) {
        const option = b.option;
        if (step.kind === 'yesno' || step.kind === 'notice') return answered(state, ctx, step, option === 'yes');
        if (step.kind === 'single' && step.options!(ctx, state.answers).some((o) => o.id === option)) return answered(state, ctx, step, option);
        if (step.kind === 'multi') {
          let picked = new Set(state.picking ?? []);
          if (picked.has(option)) picked.delete(option);
          else if (option === step.exclusive) picked = new Set([option]);
          else {
            picked.add(option);
            if (step.exclusive) picked.delete(step.exclusive);
          }
          return redraw({ ...state, picking: [...picked] }, ctx);
        }
      }
    }
    return say(state, ctx, ctx.t('engine.stale_button'));
  }

  // Media, and typed answers to the question on screen.
  const step = stepById(ctx.flow, at);
  if (input.kind === 'media') {
    if (step?.media) {
      const sent = mediaOf(state.answers);
      if (sent.length >= 5) return say(state, ctx, ctx.t('engine.media_full'));
      return say({ ...state, answers: { ...state.answers, media: [...sent, { kind: input.media, fileId: input.fileId }] } }, ctx);
    }
    return say(state, ctx, ctx.t('engine.media_later'));
  }
  if (at === SIGNATURE) {
    const missing = firstMissing(ctx.flow, state.answers);
    if (missing) return goTo({ ...state, editing: true }, ctx, missing);
    const name = input.text.trim();
    if (name.length < 2 || name.length > 20 || !/^[\p{L}·• ]+$/u.test(name)) return say(state, ctx, `❗ ${ctx.t('errors.signature')}`);
    return { state: { ...state, answers: { ...state.answers, signature: name } }, out: [], effect: { type: 'submit' } };
  }
  if (!step) return say(state, ctx, offered(state, ctx));
  if (step.kind === 'place') return placeSearch(state, ctx, step, input.text);
  if (step.kind === 'yesno' || step.kind === 'notice') {
    const r = parseYesNo(input.text);
    if (!r.ok) return miss(state, ctx, r.error);
    return answered(state, ctx, step, r.value);
  }
  if (!step.parser) return miss(state, ctx, 'use_buttons');
  const parsed = step.parser({ ...ctx, misses: state.misses }, state.answers).safeParse(input.text);
  if (!parsed.success) return miss(state, ctx, parsed.error.issues[0]?.message ?? 'generic');
  return answered(state, ctx, step, parsed.data);
}

function skipValue(step: Step): unknown {
  switch (step.kind) {
    case 'money':
      return { kind: 'unknown' };
    case 'multi':
      return [];
    default:
      return null;
  }
}

function finishMulti(state: State, ctx: EngineContext, step: Step): Result {
  const picked = state.picking ?? [];
  if (picked.length === 0 && !step.optional) return miss(state, ctx, 'pick_at_least_one');
  const order = step.options!(ctx, state.answers).map((o) => o.id);
  return answered(state, ctx, step, order.filter((id) => picked.includes(id)));
}

type Township = PlaceTree['townships'][number];
type VillageHit = { tw: Township; v: Township['villages'][number] };

/**
 * The villages a typed name means: whole names (exact: true) first, else names holding it; those of `township`
 * before others.
 */
function villagesNamed(townships: Township[], q: string, township: string | undefined): { hits: VillageHit[]; exact: boolean } {
  if (q.length === 0) return { hits: [], exact: false };
  const all = townships.flatMap((tw) => tw.villages.map((v) => ({ tw, v })));
  const exact = all.filter(({ v }) => villageKey(v.name) === q || (v.officialName !== undefined && villageKey(v.officialName) === q));
  const found = exact.length > 0 ? exact : all.filter(({ v }) => v.name.includes(q));
  const here = found.filter((x) => x.tw.code === township);
  return { hits: here.length > 0 ? here : found, exact: exact.length > 0 };
}

/**
 * Typed place names: a village (or township) found by name, across the county. A whole name beats a part of one;
 * a name in the township already chosen beats the same name elsewhere; the same name in two townships asks which,
 * and so does a part of a name, even when one village has it ("勐库村" is not 勐库华侨社区 without asking). A
 * township's name typed before one is chosen opens its villages ("大文" is 大文乡 there, "大文村" the village);
 * one typed before the village ("勐库镇冰岛村", "勐库冰岛") looks in that township. Undefined: nothing found.
 */
function placeFound(state: State, ctx: EngineContext, step: Step, text: string): Result | undefined {
  const { name: q, whole, level } = parsePlaceText(text);
  if (q.length === 0) return undefined;
  const townships = ctx.places.townships;
  const township = level === 'village' ? undefined : townships.find((tw) => townshipKey(tw.name) === q);
  if (township && (level === 'township' || !state.township)) return say({ ...state, township: township.code, page: undefined }, ctx);
  let found: { hits: VillageHit[]; exact: boolean } = { hits: [], exact: false };
  for (const tw of townships) {
    const prefix = [tw.name, townshipKey(tw.name)].find((p) => whole.startsWith(p) && whole.length > p.length);
    if (prefix) found = villagesNamed([tw], parsePlaceText(whole.slice(prefix.length)).name, tw.code);
    if (found.hits.length > 0) break;
  }
  // "涂镇" with no township 涂: the village 涂镇村
  if (found.hits.length === 0) found = villagesNamed(townships, level === 'township' ? whole : q, state.township);
  const { hits, exact } = found;
  if (hits.length === 1 && exact) return answered(state, ctx, step, { township: hits[0]!.tw.code, village: hits[0]!.v.code });
  if (hits.length > 0) {
    const room = ctx.caps.maxButtons - 1;
    const buttons = hits.slice(0, room).map((x) => ({ id: ids.village.encode({ code: x.v.code }), label: `${x.tw.name} ${x.v.name}` }));
    const sameName = hits.length > 1 && hits.every((x) => x.v.name === hits[0]!.v.name);
    const prompt =
      hits.length > room
        ? ctx.t('engine.place_too_many', { count: hits.length, shown: room })
        : hits.length === 1
          ? ctx.t('engine.place_did_you_mean')
          : sameName
            ? ctx.t('engine.place_same_name', { name: hits[0]!.v.name })
            : ctx.t('engine.place_several');
    const out = present(ctx, prompt, [...rows(buttons, 1), navRow(ctx, state, step)].filter((r) => r.length));
    return { state: { ...state, misses: 0 }, out: [out] };
  }
  if (township) return say({ ...state, township: township.code, page: undefined }, ctx);
  return undefined;
}

function placeSearch(state: State, ctx: EngineContext, step: Step, text: string): Result {
  return placeFound(state, ctx, step, text) ?? miss(state, ctx, 'place_not_found');
}
