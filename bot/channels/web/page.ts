import { join } from 'node:path';
import type { Request } from 'express';
import { Eta } from 'eta';
import { REPO_ROOT } from '../../../server/config.ts';
import { memoT, pickLanguage, tFor, type Language } from '../../../server/i18n.ts';
import type { Button, Outbound } from '../../engine/types.ts';
import { buttons as ids, readButton } from '../../buttons.ts';

/**
 * The web page's HTML (views/*.eta, every `<%= %>` escaped): the engine's replies drawn as one screen. The last
 * reply is the question (its progress line apart, its last paragraph large, a text field where words are asked,
 * a photo picker where photos are taken, each choice a full-width button, toggles with a drawn box); the replies
 * before it are notes above. Words come from locales (`web.*` in bot.json), as the replies themselves do.
 */

const eta = new Eta({ views: join(REPO_ROOT, 'bot/channels/web/views'), cache: true, autoEscape: true, autoTrim: [false, 'nl'] });

/** What every page of one browser shows around the screen. */
export type Chrome = { lng: Language; big: boolean };
export type Screen = Chrome & { csrf: string; nonce: string; maxPhotos: number };

/** The page's language: the browser's, Chinese unless English comes first. */
export function languageOf(req: Request): Language {
  return pickLanguage(req.get('accept-language'));
}

const BACK = ids.nav.encode({ to: 'back' });

/** The step forward a screen is for (begin, done choosing, the summary is right, I agree): drawn as the main button. */
function isPrimary(tapped: ReturnType<typeof readButton>): boolean {
  switch (tapped.family) {
    case 'nav':
      return tapped.to === 'done' || tapped.to === 'summary';
    case 'start':
      return tapped.what === 'new' || tapped.what === 'resume';
    case 'summary':
    case 'consent':
      return tapped.answer === 'ok' || tapped.answer === 'yes';
    case 'details':
      return tapped.what === 'now';
    default:
      return false;
  }
}

/** Answers typed in a field (a phone, a number, a name, a story); the rest are tapped. */
const TYPED = new Set(['text', 'count', 'money', 'phone', 'idNumber', 'date', 'signature', 'place']);

type Choice = { id: string; label: string; nav: boolean; box?: 'on' | 'off'; primary?: boolean };
export type Question = {
  progress?: string;
  /** a re-ask's reason, shown above the question */
  alert?: string;
  /** the paragraphs before the question's own */
  lead: string[];
  question: string;
  /** the paragraphs after it (a message that asks nothing) */
  after: string[];
  choices: Choice[];
  field?: { kind: string; inputmode: string; type: string; autocomplete?: string; value?: string };
  photos: boolean;
};

/** The last reply as a question a page can draw. */
export function questionOf(out: Outbound): Question {
  let text = out.text;
  let alert: string | undefined;
  const progress = out.ask?.progress;
  if (progress) {
    if (text.startsWith(`${progress}\n`)) text = text.slice(progress.length + 1);
    else {
      // a re-ask: the reason, then the question with its progress line
      const at = text.indexOf(`\n\n${progress}\n`);
      if (at >= 0) {
        alert = text.slice(0, at);
        text = text.slice(at + progress.length + 3);
      }
    }
  }
  const paragraphs = text.split(/\n{2,}/).filter((p) => p.trim() !== '');
  // a question's own words come last (after a title, a list, the consent's text); a message that asks nothing
  // (the welcome, "my reports") is headed by its first line
  let question: string;
  let after: string[] = [];
  if (out.ask) question = paragraphs.pop() ?? '';
  else {
    const first = (paragraphs.shift() ?? '').split('\n');
    question = first[0] ?? '';
    after = [first.slice(1).join('\n'), ...paragraphs].filter((p) => p.trim() !== '');
    paragraphs.length = 0;
  }
  const kind = out.ask?.kind;
  const multi = kind === 'multi';
  const choices = (out.buttons ?? []).flat().map((b: Button): Choice => {
    const tapped = readButton(b.id);
    // going back, skipping, another page or township: quieter buttons under the answers
    const nav = tapped.family === 'nav' && ['back', 'skip', 'more', 'township'].includes(tapped.to);
    if (multi && tapped.family === 'option') {
      const on = b.label.startsWith('✅ ');
      return { id: b.id, label: on ? b.label.slice(2) : b.label, nav, box: on ? 'on' : 'off' };
    }
    return { id: b.id, label: b.label, nav, ...(isPrimary(tapped) ? { primary: true } : {}) };
  });
  const field = kind && TYPED.has(kind) ? fieldOf(kind, out.ask?.value) : out.ask?.media ? fieldOf('text', out.ask.value) : undefined;
  // "back" goes last, under everything else
  choices.sort((a, b) => Number(a.id === BACK) - Number(b.id === BACK));
  return {
    ...(progress ? { progress } : {}),
    ...(alert ? { alert } : {}),
    lead: paragraphs,
    question,
    after,
    choices,
    ...(field ? { field } : {}),
    photos: out.ask?.media === true,
  };
}

function fieldOf(kind: string, value: string | undefined): NonNullable<Question['field']> {
  const given = value !== undefined ? { value } : {};
  if (kind === 'phone') return { kind, inputmode: 'tel', type: 'tel', autocomplete: 'tel', ...given };
  if (kind === 'count') return { kind, inputmode: 'numeric', type: 'text', ...given };
  if (kind === 'signature') return { kind, inputmode: 'text', type: 'text', autocomplete: 'name', ...given };
  return { kind, inputmode: 'text', type: 'text', ...given };
}

/**
 * The chat's typed commands in the replies ("发 /status …") as what the page offers instead (the buttons at its
 * foot): the pairs are each language's, in locales (`web.command_words`).
 */
const commandWords = new Map<Language, Array<[string, string]>>();
export function pageWords(lng: Language, text: string): string {
  let pairs = commandWords.get(lng);
  if (!pairs) {
    const got = tFor(lng, 'bot')('web.command_words', { returnObjects: true }) as unknown;
    pairs = Array.isArray(got) ? (got as Array<[string, string]>) : [];
    commandWords.set(lng, pairs);
  }
  return pairs.reduce((out, [from, to]) => out.split(from).join(to), text);
}

/** The screen: notes, the receipt when one was given, the question. */
export function renderPage(screen: Screen, replies: Outbound[]): string {
  const t = memoT(screen.lng, 'bot');
  const shown = replies.map((r) => ({ ...r, text: pageWords(screen.lng, r.text) }));
  const last = shown.at(-1) ?? { text: '' };
  const notes = shown.slice(0, -1).map((r) => r.text);
  const receipt = replies.find((r) => r.receipt)?.receipt;
  const q = questionOf(last);
  // a screen that asks nothing and offers nothing gets a way back to the start
  const deadEnd = q.choices.length === 0 && !q.field && !q.photos;
  return eta.render('page', { t, s: screen, notes, receipt, q, deadEnd, title: t('web.title') });
}

export function renderStatus(chrome: Chrome, data: { receipt: string; error?: string; found?: { stage: string; reportedOn: string } }): string {
  const t = memoT(chrome.lng, 'bot');
  return eta.render('status', { t, s: chrome, ...data, title: t('web.status_title') });
}

export function renderRefusal(chrome: Chrome, key: string, params: Record<string, unknown> = {}): string {
  const t = memoT(chrome.lng, 'bot');
  return eta.render('refusal', { t, s: chrome, text: t(key, params), title: t('web.title') });
}
