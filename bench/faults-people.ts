import { Agent, request } from 'node:http';
import type { BotMessage, Keyboard } from '../test/fakes/bot-api.ts';
import { reportScript, type Step } from './script.ts';

/**
 * The simulated people of the fault benchmark, and how their replies are judged.
 *
 * A person walks the report of bench/script.ts one step at a time, as Telegram delivers their updates to the
 * webhook: an update that does not get a 200 (another status, a refused or reset connection, no answer within the
 * request timeout) is sent again exactly as it was (the same update_id and payload) after a short pause, until it
 * gets one. Then the person waits for the bot's messages to that step (as many as the calibration run got, up to
 * the reply wait), pauses to think, and answers the next step. A tap uses the button of that label on the last
 * keyboard the bot sent, if it came at the step before or later; when it did not (its message never came, and the
 * keyboard on screen is an older question's) the person taps what the calibration run tapped at that step (button
 * ids do not depend on the person), as if they knew the question: one missing reply does not end the report.
 *
 * Each message the fake Bot API gets for a chat is stamped with the step its person was at when it came (the
 * step's window: from its first delivery until the next step's first delivery).
 */

/** one webhook request: when it began and ended, what came of it ('200', '500', 'ECONNREFUSED', 'TIMEOUT', …), whose step it was */
export type Attempt = { t0: number; t1: number; outcome: string; userId: number; step: number };
export type Calibration = Array<{ texts: string[]; data?: string }>;
export type Received = BotMessage & { window: number };

export type Person = {
  userId: number;
  script: Step[];
  /** the step being walked (its window); -1 before the first */
  step: number;
  /** steps whose update got its 200 */
  sent: number;
  /** when each step's window began (its update's first delivery), performance.now() */
  starts: number[];
  /** each step's update_id */
  updateIds: number[];
  messages: Received[];
  /** taps made from the calibration's button, the bot's keyboard not having come */
  blindTaps: number;
  /** steps after which the person stopped waiting without all the messages the calibration got */
  waitedOut: number;
  resends: number;
  done: boolean;
  wake?: () => void;
};

export type PeopleOptions = {
  webhookUrl: string;
  secret: string;
  botInfo: object;
  keyboard: (chatId: number) => Keyboard | undefined;
  requestTimeoutMs: number;
  resendPauseMs: number;
  replyWaitMs: number;
  thinkMs: number;
  /** every webhook request made, in order */
  attempts: Attempt[];
  stopped: () => boolean;
};

export class Stopped extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** uniform in 0.5..1.5 × ms */
const jitter = (ms: number) => ms * (0.5 + Math.random());

export function newPerson(userId: number): Person {
  return { userId, script: reportScript(userId), step: -1, sent: 0, starts: [], updateIds: [], messages: [], blindTaps: 0, waitedOut: 0, resends: 0, done: false };
}

export function createPeople(o: PeopleOptions) {
  // Telegram keeps connections to a webhook open; an idle one is closed here before the server's 5 s keep-alive ends.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, timeout: 4000 });
  let nextUpdateId = 1;
  let nextMessageId = 1;

  function post(body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        o.webhookUrl,
        {
          method: 'POST',
          agent,
          timeout: o.requestTimeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-telegram-bot-api-secret-token': o.secret },
        },
        (res) => {
          res.on('error', reject);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.resume();
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Sends until a 200, the same body each time; returns how many times it was sent again. */
  async function deliver(p: Person, body: string): Promise<number> {
    for (let resends = 0; ; resends++) {
      if (o.stopped()) throw new Stopped();
      const t0 = performance.now();
      let outcome: string;
      try {
        outcome = String(await post(body));
      } catch (e) {
        outcome = (e as { code?: string }).code ?? 'error';
      }
      o.attempts.push({ t0, t1: performance.now(), outcome, userId: p.userId, step: p.step });
      if (outcome === '200') return resends;
      await sleep(jitter(o.resendPauseMs));
    }
  }

  function update(p: Person, k: number, calibration: Calibration | undefined): { body: string; data?: string } {
    const step = p.script[k]!;
    const update_id = nextUpdateId++;
    p.updateIds[k] = update_id;
    const date = Math.floor(Date.now() / 1000);
    const from = { id: p.userId, is_bot: false, first_name: 'Bench', language_code: 'zh-hans' };
    const chat = { id: p.userId, type: 'private', first_name: 'Bench' };
    if ('say' in step) return { body: JSON.stringify({ update_id, message: { message_id: nextMessageId++, date, chat, from, text: step.say } }) };
    const kb = o.keyboard(p.userId);
    // the keyboard the person sees is the one the bot sent at the step before, or later; an older one is a previous
    // question's (its buttons are stale: the bot would only ask the question again)
    const fresh = kb && (k === 0 || kb.at >= (p.starts[k - 1] ?? 0));
    let button = fresh ? pickButton(kb, step.tap) : undefined;
    if (!button) {
      const data = calibration?.[k]?.data;
      if (data === undefined) throw new Error(`no button "${step.tap.join('" or "')}" in: ${kb?.buttons.map((b) => b.text).join(' | ') || '(no keyboard)'}`);
      p.blindTaps++;
      button = { text: step.tap[0]!, data };
    }
    const message = { message_id: kb?.messageId ?? 1, date, chat, from: o.botInfo, text: kb?.text ?? '' };
    return { body: JSON.stringify({ update_id, callback_query: { id: `${p.userId}:${update_id}`, from, chat_instance: `bench-${p.userId}`, data: button.data, message } }), data: button.data };
  }

  /** Waits until `p` has `n` messages in the window of step `k`, or `ms` have passed; false on timeout. */
  async function waitMessages(p: Person, k: number, n: number, ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    const have = () => p.messages.filter((m) => m.window === k).length >= n;
    while (!have()) {
      const left = until - performance.now();
      if (left <= 0 || o.stopped()) return have();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        p.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      p.wake = undefined;
    }
    return true;
  }

  return {
    /** The fake Bot API's hook: stamps the message with its person's step. */
    received(p: Person, m: BotMessage) {
      p.messages.push({ ...m, window: p.step });
      p.wake?.();
    },
    /**
     * The calibration run: one person, no faults. The webhook sends an update's replies before its 200, so the
     * messages of a step are those that came before it (and a short settle after). Checks each step's `expect`.
     */
    async calibrate(p: Person): Promise<Calibration> {
      const out: Calibration = [];
      for (let k = 0; k < p.script.length; k++) {
        p.step = k;
        p.starts[k] = performance.now();
        const { body, data } = update(p, k, undefined);
        const resends = await deliver(p, body);
        if (resends > 0) throw new Error(`calibration: step ${k + 1} needed ${resends} resends with no faults`);
        p.sent++;
        await sleep(200);
        const texts = p.messages.filter((m) => m.window === k).map((m) => m.text);
        const expect = p.script[k]!.expect;
        if (texts.length === 0) throw new Error(`calibration: step ${k + 1} got no reply`);
        if (expect && !texts.some((t) => t.includes(expect))) throw new Error(`calibration: step ${k + 1} expected "${expect}", got: ${texts.join(' / ').replace(/\n/g, ' ').slice(0, 200)}`);
        out.push({ texts: texts.map(normalize), ...(data !== undefined ? { data } : {}) });
      }
      p.done = true;
      return out;
    },
    /** One whole report under faults. */
    async walk(p: Person, calibration: Calibration): Promise<void> {
      try {
        for (let k = 0; k < p.script.length; k++) {
          p.step = k;
          p.starts[k] = performance.now();
          const { body } = update(p, k, calibration);
          p.resends += await deliver(p, body);
          p.sent++;
          if (!(await waitMessages(p, k, calibration[k]!.texts.length, o.replyWaitMs))) p.waitedOut++;
          if (k < p.script.length - 1) await sleep(o.thinkMs * (0.25 + 1.5 * Math.random()));
        }
      } catch (e) {
        if (!(e instanceof Stopped)) throw e;
      } finally {
        p.done = true;
      }
    },
    close: () => agent.destroy(),
  };
}

function pickButton(kb: Keyboard, labels: string[]) {
  for (const label of labels) {
    const b = kb.buttons.find((x) => x.text === label) ?? kb.buttons.find((x) => x.text.includes(label));
    if (b) return b;
  }
  return undefined;
}

/** A bot message compared across people: digits (phone numbers, receipt numbers, dates) do not count. */
export function normalize(text: string): string {
  return text.replace(/\d+/g, '#');
}

export type ReplyJudgement = {
  /** messages the calibration got at a step this person walked that this person never got */
  missing: number;
  /** messages got once more than the calibration got them: a second copy of a step's message */
  doubled: number;
  /** messages that came in a later step's window than their own (sent late, e.g. by the sweeper after a restart) */
  late: number;
  /** messages the calibration never got at any step (a different answer: the conversation went elsewhere) */
  unexpected: number;
  missingSteps: number[];
  doubledSteps: number[];
  unexpectedTexts: string[];
};

/**
 * replies_missing and replies_doubled, per person. `expected[k]` is the calibration's messages at step k
 * (normalized). Each message the person got, in the order it came, is given to a step: the step of its window if
 * that step still lacks a message with that text, else the nearest earlier step that lacks one (it came late: it
 * counts for its own step). A message no step lacks is a copy: it is doubled when some step at or before its window
 * expects that text, else unexpected. Whatever the walked steps still lack at the end is missing.
 */
export function judgeReplies(messages: Received[], expected: string[][], walked: number): ReplyJudgement {
  const lacking = expected.slice(0, walked).map((texts) => [...texts]);
  const j: ReplyJudgement = { missing: 0, doubled: 0, late: 0, unexpected: 0, missingSteps: [], doubledSteps: [], unexpectedTexts: [] };
  for (const m of messages) {
    const text = normalize(m.text);
    const w = Math.min(m.window, walked - 1);
    let home = -1;
    for (let k = w; k >= 0; k--) {
      const i = lacking[k]!.indexOf(text);
      if (i >= 0) {
        lacking[k]!.splice(i, 1);
        home = k;
        break;
      }
    }
    if (home >= 0) {
      if (home < w) j.late++;
      continue;
    }
    let copyOf = -1;
    for (let k = w; k >= 0; k--) if (expected[k]!.includes(text)) {
      copyOf = k;
      break;
    }
    if (copyOf >= 0) {
      j.doubled++;
      j.doubledSteps.push(copyOf + 1);
    } else {
      j.unexpected++;
      j.unexpectedTexts.push(text.replace(/\n/g, ' ').slice(0, 80));
    }
  }
  lacking.forEach((texts, k) => {
    j.missing += texts.length;
    for (let i = 0; i < texts.length; i++) j.missingSteps.push(k + 1);
  });
  return j;
}
