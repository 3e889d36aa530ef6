import type { z } from 'zod';

/** What any messenger's update becomes (ARCHITECTURE principle 1). */
export type Inbound =
  | { kind: 'text'; text: string }
  | { kind: 'choice'; id: string }
  | { kind: 'command'; name: string; arg: string }
  | { kind: 'media'; media: 'photo' | 'voice'; fileId: string }
  | { kind: 'unsupported' };

export type { Button, Outbound } from '../../server/outbox/message.ts';
import type { Outbound } from '../../server/outbox/message.ts';

/**
 * What a channel can show. Where buttons are missing, choices are numbered and answered with "1、3". Where
 * buttons cannot be toggled in place (multiSelect false: a menu item is one tap that sends one message), the
 * choices of a several-answer question are numbered too, answered "1、3" or one tap at a time and "选好了".
 */
export type Capabilities = {
  buttons: boolean;
  maxButtons: number;
  buttonsPerRow: number;
  multiSelect?: boolean;
  /** false: a channel for households only (微信客服): no staff desk, no `/join`, no staff lookup on each turn */
  staffDesk?: boolean;
  /** false: voice notes cannot be sent (the web page): prompts that invite them use their `_photos` words */
  voice?: boolean;
};

export type Answers = Record<string, unknown>;

export type Option = { id: string; label: string };

export type StepKind = 'text' | 'count' | 'money' | 'phone' | 'idNumber' | 'date' | 'single' | 'multi' | 'place' | 'yesno' | 'notice';

export type FlowContext = {
  t: (key: string, params?: Record<string, unknown>) => string;
  now: Date;
  /** wrong answers to the question being asked, so far (a parser may take more after a few) */
  misses?: number;
  /** false where voice notes cannot be sent (the channel's capability, for words that name what was sent) */
  voice?: boolean;
};

/** A question. Its words live in locales under `<ns>:steps.<id>.*` (prompt, label, example). */
export type Step = {
  id: string;
  kind: StepKind;
  optional?: boolean;
  /** asked only when this holds for the answers so far */
  when?: (a: Answers) => boolean;
  /** choices for single / multi steps */
  options?: (ctx: FlowContext, a: Answers) => Option[];
  /** multi: the option that means "none of these" and clears the others */
  exclusive?: string;
  /** turns typed text into the stored answer; issues carry error codes (locale keys under errors.) */
  parser?: (ctx: FlowContext, a: Answers) => z.ZodType<unknown, string>;
  /** shown in the summary */
  display?: (value: unknown, ctx: FlowContext, a: Answers) => string;
  /** prompt parameters */
  params?: (ctx: FlowContext, a: Answers) => Record<string, unknown>;
  /** a notice step: answering "no" stops the report here */
  stopsOnNo?: boolean;
  /** false: a follow-up of the question before it, shown with its number in the progress line */
  counted?: boolean;
  /** a question answered in words or by voice notes and photos (kept in the answers' `media`), or both */
  media?: boolean;
};

export type Flow = {
  id: string;
  version: number;
  ns: string;
  steps: Step[];
  /** what follows the last question: the summary, consent and signature ('summary', the default), or saving the answers as they are */
  end?: 'summary' | 'save';
  /** the progress line's locale key ("第 {{n}}/{{total}} 步") */
  progressKey?: string;
  /** words every prompt may use (who the household is to the person: 您家, 您父母家, 这户人家) */
  params?: (ctx: FlowContext, a: Answers) => Record<string, unknown>;
  /** the i18next context of the prompts ('proxy': the `prompt_proxy` text where there is one) */
  context?: (a: Answers) => string | undefined;
};

/** Conversation state: stored (encrypted) in one row per person and channel. Nothing lives in memory. */
export type State = {
  flowVersion: number;
  /** where the person is: a step id, or one of the special places */
  at: string | null;
  answers: Answers;
  history: string[];
  misses: number;
  /** selections being toggled in a multi-choice step */
  picking?: string[];
  page?: number;
  /** place picker: the township chosen, waiting for the village */
  township?: string;
  /** answering from the summary's edit list: return to the summary afterwards */
  editing?: boolean;
  /** where a cancel confirmation returns to */
  returnTo?: string | null;
  sensitiveNoticeAt?: string;
  consent?: { version: string; hash: string; shownAt: string; agreedAt?: string };
  /** a withdrawal being confirmed, beside whatever the person was doing (which `at` keeps) */
  withdrawing?: { leadId?: string };
  /** staff: a reason or note asked for after a tap on a lead card; the next text answers it */
  desk?: { awaiting: 'reason' | 'note'; leadId: string; action: string };
  /** a cancelled draft resumes here */
  resumeAt?: string | null;
  /** answers a deep link fills in before the first question (the village of a QR poster) */
  prefill?: Answers;
  /** steps answered by such a link: not asked, still shown in the summary and editable */
  prefilled?: string[];
  /** the flow being walked, when it is not the report itself: 'details', the household's details after a receipt */
  flow?: 'details';
  /** the report those details add to */
  leadId?: string;
  /** a report paused to add another's details: it comes back, paused, when they are done */
  parked?: State;
};

export const emptyState = (flowVersion: number): State => ({ flowVersion, at: null, answers: {}, history: [], misses: 0 });
