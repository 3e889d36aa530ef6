import type { Intake } from '../server/intake/leads.ts';
import type { Language } from '../server/i18n.ts';
import { FINAL, type Stage } from '../server/intake/procedure.ts';
import { begin, handle, render, type EngineContext, type PlaceTree, type Result } from './engine/engine.ts';
import { emptyState, type Answers, type Capabilities, type Flow, type Outbound, type State } from './engine/types.ts';
import { detailAnswers, detailsFlow } from './flows/selfreport.ts';
import { parseYesNo } from './parse/index.ts';
import type { Row, Turn, Who } from './conversation.ts';
import { buttons as ids, isStale, readButton } from './buttons.ts';

/**
 * The household's screens beside the flow: the welcome (with a village from a poster's link), "my reports",
 * withdrawing a report, the other language, and what idle chatter gets; then the flow's own steps. Pure of the
 * database but for intake's reads and the withdrawal itself: the turn (bot/conversation.ts) records, loads, saves.
 */

export type Converse = (turn: Turn, row: Row, ctx: EngineContext) => Promise<Result & { language?: Language; status?: string }>;

export function createScreens(deps: { intake: Intake; places: PlaceTree; flow: Flow; engineContext: (lng: Language, caps: Capabilities, now: Date, walking?: Flow) => EngineContext }) {
  const { intake, places, flow, engineContext } = deps;

  /** Turns a deep-link payload ("v530925102208") into prefilled answers. */
  function prefillFrom(arg: string): Answers {
    const m = /^v(\d{12})$/.exec(arg.trim());
    if (!m) return {};
    const tw = places.townships.find((x) => x.villages.some((v) => v.code === m[1]));
    return tw ? { place: { township: tw.code, village: m[1] } } : {};
  }

  function welcome(state: State, ctx: EngineContext, hasDraft: boolean): Outbound {
    const t = ctx.t;
    const buttons = hasDraft
      ? [[{ id: ids.start.encode({ what: 'resume' }), label: t('welcome.resume') }], [{ id: ids.start.encode({ what: 'new' }), label: t('welcome.new') }]]
      : [[{ id: ids.start.encode({ what: 'new' }), label: t('welcome.start') }]];
    buttons.push([{ id: ids.start.encode({ what: 'status' }), label: t('welcome.my_reports') }, { id: ids.start.encode({ what: 'language' }), label: t('welcome.other_language') }]);
    const text = `${t('welcome.text')}${state.prefill?.place ? `\n\n${t('welcome.village_from_link', { village: villageName(state.prefill) })}` : ''}`;
    return ctx.caps.buttons ? { text, buttons } : { text: `${text}\n\n${t('welcome.text_commands')}` };
  }

  function villageName(a: Answers): string {
    const p = a.place as { township: string; village: string } | undefined;
    const tw = places.townships.find((x) => x.code === p?.township);
    return `${tw?.name ?? ''}${tw?.villages.find((v) => v.code === p?.village)?.name ?? ''}`;
  }

  /** "My reports": each with its stage, and the details still to add offered until the visit (a button each, or typed 补充). */
  async function statusMessage(who: Who, ctx: EngineContext): Promise<Outbound> {
    const leads = await intake.leadsOfReporter(who.channel, who.userId);
    if (leads.length === 0) return { text: ctx.t('status.none') };
    const lines = leads.map((l) => ctx.t(l.detailsOpen ? 'status.line_details' : 'status.line', { receipt: l.receiptNo, date: l.createdAt.toISOString().slice(0, 10), stage: ctx.t(`stage.${l.stage}`) }));
    const text = `${ctx.t('status.title')}\n\n${lines.join('\n')}`;
    const open = leads.filter((l) => l.detailsOpen);
    if (open.length === 0) return { text };
    if (!ctx.caps.buttons) return { text: `${text}\n\n${ctx.t('details.offer_words')}` };
    return { text, buttons: open.map((l) => [{ id: ids.details.encode({ what: 'now', leadId: l.id }), label: ctx.t('details.add_to', { receipt: l.receiptNo }) }]) };
  }

  /**
   * Starts the details of one of the person's reports (the newest open one when none is named): the questions
   * already answered are not asked again. Refused, in words, once the visit has recorded them.
   */
  async function startDetails(who: Who, row: Row, ctx: EngineContext, caps: Capabilities, leadId?: string): Promise<Result & { status?: string }> {
    const found = await intake.detailsOf(who.channel, who.userId, leadId);
    if (!found) return { state: row.state, out: [{ text: ctx.t('details.not_found') }] };
    if (!found.open) return { state: row.state, out: [{ text: ctx.t(found.closed ? 'details.closed' : 'details.too_late') }] };
    const dctx = engineContext(row.language, caps, ctx.now, detailsFlow);
    const r = begin(detailsFlow.version, dctx, found.answers);
    if (r.state.at === 'summary' || r.state.at === null) return { state: row.state, out: [{ text: ctx.t('details.nothing_left') }] };
    // a paused report waits beside the details (it comes back, still paused, when they end)
    const state = row.state;
    const paused = state.flow !== 'details' && Object.keys(state.answers).length > 0 && state.resumeAt !== undefined ? state : state.parked;
    return { state: { ...r.state, flow: 'details', leadId: found.id, ...(paused ? { parked: paused } : {}) }, out: [{ text: ctx.t('details.intro', { receipt: found.receiptNo }) }, ...r.out], status: 'active' };
  }

  /**
   * Everything that is not a step of the flow: start, status, withdraw, language, and idle chatter; `again` runs a
   * turn from the top (the staff desk included), as when a command leaves a withdrawal that was being confirmed.
   */
  async function converse(turn: Turn, row: Row, ctx: EngineContext, again: Converse): Promise<Awaited<ReturnType<Converse>>> {
    const { input, who } = turn;
    const state = row.state;
    const t = ctx.t;
    const hasDraft = Object.keys(state.answers).length > 0 && state.resumeAt !== undefined;
    const inFlow = state.at !== null;
    const tapped = input.kind === 'choice' ? readButton(input.id) : undefined;
    // a welcome button does what the command of its name does
    const command = input.kind === 'command' ? input.name : tapped?.family === 'start' ? tapped.what : undefined;
    // Any command leaves a withdrawal that was being confirmed.
    if (command && state.withdrawing) return again(turn, { ...row, state: { ...state, withdrawing: undefined } }, ctx);
    // Leaving the details for the welcome, a new report or another report's details: what was given is saved, and
    // the rest of the turn runs outside them
    if (state.flow === 'details' && state.leadId && (command === 'start' || command === 'new' || tapped?.family === 'details')) {
      // saved before anything reads the report again (its own button tapped again asks only what is still missing)
      await intake.addDetails(who.channel, who.userId, state.leadId, detailAnswers(state.answers), ctx.now, `${who.channel}:${turn.platformId}`);
      const r = await again(turn, { ...row, state: state.parked ?? emptyState(flow.version) }, engineContext(row.language, turn.caps, ctx.now));
      return { ...r, status: r.status ?? (r.state.at ? 'active' : 'idle') };
    }
    // the details of a report sent: now (after the receipt, or from "my reports"), or later
    if (tapped?.family === 'details') {
      if (tapped.what === 'later') return { state, out: [{ text: t('details.later_ok') }, ...(inFlow ? [render(state, ctx)] : [])] };
      if (inFlow && state.flow !== 'details') return { state, out: [{ text: t('details.finish_first') }, render(state, ctx)] };
      return startDetails(who, row, ctx, turn.caps, tapped.leadId);
    }
    switch (command) {
      case 'start': {
        const prefill = prefillFrom(input.kind === 'command' ? input.arg : '');
        const draft = inFlow || hasDraft;
        const next: State = { ...state, at: null, resumeAt: draft ? (state.at ?? state.resumeAt ?? null) : undefined, prefill };
        return { state: next, out: [welcome(next, ctx, draft)] };
      }
      // outside a report, starting again means a new one: a draft kept by /cancel is dropped, as inside one
      case 'restart':
      case 'new': {
        // /restart in the details: the details from their first question
        if (command === 'restart' && state.flow === 'details') return handle(state, { kind: 'command', name: 'restart', arg: '' }, ctx);
        const r = begin(flow.version, ctx, state.prefill ?? {});
        return { ...r, status: 'active' };
      }
      case 'resume': {
        if (!hasDraft) return again({ ...turn, input: { kind: 'choice', id: ids.start.encode({ what: 'new' }) } }, row, ctx);
        const at = state.resumeAt ?? null;
        const r = at ? { state: { ...state, at, resumeAt: undefined }, out: [render({ ...state, at }, ctx)] } : begin(flow.version, ctx, state.answers);
        return { ...r, status: 'active' };
      }
      case 'status':
        return { state, out: [await statusMessage(who, ctx), ...(inFlow ? [render(state, ctx)] : [])] };
      case 'lang':
      case 'language': {
        const language: Language = row.language === 'zh-CN' ? 'en' : 'zh-CN';
        const next = engineContext(language, turn.caps, ctx.now, state.flow === 'details' ? detailsFlow : flow);
        return { state, out: [{ text: next.t('language.switched') }, ...(inFlow ? [render(state, next)] : [])], language };
      }
      case 'withdraw': {
        const open = (await intake.leadsOfReporter(who.channel, who.userId)).filter((l) => !FINAL.includes(l.stage as Stage));
        if (open.length === 0) return { state, out: [{ text: t('withdraw.none') }] };
        const buttons = open.map((l) => [{ id: ids.withdraw.encode({ leadId: l.id }), label: l.receiptNo }]);
        buttons.push([{ id: ids.withdraw.encode({ answer: 'keep' }), label: t('withdraw.keep') }]);
        const out = ctx.caps.buttons
          ? { text: t('withdraw.pick'), buttons }
          : { text: `${t('withdraw.pick')}\n${open.map((l, i) => `${i + 1}. ${l.receiptNo}`).join('\n')}\n${t('withdraw.pick_numbers')}` };
        return { state: { ...state, withdrawing: {} }, out: [out] };
      }
    }

    if (state.withdrawing) {
      const id = input.kind === 'choice' ? input.id : input.kind === 'text' ? input.text.trim() : '';
      const b = readButton(id);
      const answer = b.family === 'withdraw' ? b.answer : undefined;
      const back = (text: string): Result => {
        const restored: State = { ...state, withdrawing: undefined };
        return { state: restored, out: [{ text }, ...(restored.at ? [render(restored, ctx)] : [])] };
      };
      if (answer === 'keep' || answer === 'no') return back(t('withdraw.kept'));
      if (!state.withdrawing.leadId) {
        let leadId = b.family === 'withdraw' ? b.leadId : undefined;
        if (!leadId && /^\d+$/.test(id)) {
          const open = (await intake.leadsOfReporter(who.channel, who.userId)).filter((l) => !FINAL.includes(l.stage as Stage));
          leadId = open[Number(id) - 1]?.id;
        }
        const lead = (await intake.leadsOfReporter(who.channel, who.userId)).find((l) => l.id === leadId);
        if (!lead) return back(t('withdraw.not_found'));
        const buttons = [[{ id: ids.withdraw.encode({ answer: 'yes' }), label: t('withdraw.yes') }, { id: ids.withdraw.encode({ answer: 'no' }), label: t('withdraw.no') }]];
        const text = t('withdraw.confirm', { receipt: lead.receiptNo });
        return { state: { ...state, withdrawing: { leadId: lead.id } }, out: [ctx.caps.buttons ? { text, buttons } : { text: `${text}\n${t('withdraw.confirm_words')}` }] };
      }
      const typed = input.kind === 'text' ? parseYesNo(input.text) : undefined;
      const yes = answer === 'yes' || (typed?.ok === true && typed.value);
      const no = typed?.ok === true && !typed.value;
      if (no) return back(t('withdraw.kept'));
      if (!yes) return { state, out: [{ text: t('withdraw.confirm_words') }] };
      const r = await intake.withdraw(who.channel, who.userId, state.withdrawing.leadId, ctx.now);
      return back(t(`withdraw.${r}`));
    }

    if (!inFlow) {
      if (input.kind === 'command' && input.name === 'help') return { state, out: [{ text: t('engine.help_idle') }] };
      if (input.kind === 'text') {
        const word = input.text.trim().toLowerCase();
        if (t('welcome.start_words').split('|').includes(word)) return again({ ...turn, input: { kind: 'choice', id: ids.start.encode({ what: hasDraft ? 'resume' : 'new' }) } }, row, ctx);
        if (t('welcome.resume_words').split('|').includes(word)) return again({ ...turn, input: { kind: 'choice', id: ids.start.encode({ what: 'resume' }) } }, row, ctx);
        if (t('details.start_words').split('|').includes(word)) return startDetails(who, row, ctx, turn.caps);
        // "家里房子被水冲坏了，想申报": a hardship told straight away starts the report, keeping the words as what happened
        if (!hasDraft && toldHardship(input.text, t)) {
          const r = begin(flow.version, ctx, { ...(state.prefill ?? {}), whatHappened: input.text.trim().slice(0, 500) });
          return { ...r, state: { ...r.state, prefill: state.prefill }, out: [{ text: t('welcome.story_kept') }, ...r.out], status: 'active' };
        }
      }
      const shown = await again({ ...turn, input: { kind: 'command', name: 'start', arg: '' } }, row, ctx);
      // a button no longer understood (an old message's, or garbled): said so above the welcome or the staff menu
      if (isStale(tapped) && shown.out[0]) return { ...shown, out: [{ ...shown.out[0], text: `${t('engine.stale_button_idle')}\n\n${shown.out[0].text}` }, ...shown.out.slice(1)] };
      return shown;
    }
    return handle(state, input, ctx);
  }


  return { converse };
}

/**
 * Whether words typed at the welcome tell of a hardship (and so start a report) rather than greet or ask: a few
 * words naming one of the locale's hardship words ("房子被水冲坏了", "老伴住院了"); a question about the bot is not one.
 */
export function toldHardship(text: string, t: (key: string) => string): boolean {
  const s = text.trim().toLowerCase();
  if (s.startsWith('/')) return false;
  const letters = [...s.replace(/[\s\p{P}\p{S}\d]/gu, '')].length;
  return letters >= 4 && t('welcome.hardship_words').split('|').some((w) => w && s.includes(w));
}
