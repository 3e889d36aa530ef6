/**
 * The benchmark's driver, run in a worker thread of the benchmark process (see bench/selfreport.ts): the fake
 * Bot API servers (and with --channel wecom the fake WeCom API) and the simulated people, off the app's event
 * loop (with --channel web: browsers on the app's page, and a flood from one address). It talks to 127.0.0.1 only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { rmSync, writeSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { startFakeBotApi, type FakeApi, type FakeApiStats, type Keyboard } from '../test/fakes/bot-api.ts';
import { OPEN_KFID, startFakeWecom, type FakeWecom, type MenuItem } from '../test/fakes/wecom-api.ts';
import { createEnvelope } from '../bot/channels/wecom/crypto.ts';
import { peerScript, reportScript, WEB_VILLAGE, webReportScript, type Step } from './script.ts';
import { percentiles, type ApiStats, type DriverData, type DriverResult, type FloodResult, type LoadResult, type PhaseResult, type ToDriver, type ToMain } from './protocol.ts';

const port = parentPort!;
const { opts, botInfo, secret, db, dataDir, wecom } = workerData as DriverData;
const send = (m: ToMain) => port.postMessage(m);

// Backstop for a main thread stuck in synchronous code, where its own --max-seconds timer cannot fire.
setTimeout(() => {
  writeSync(2, `\nbench: the app's thread has not finished ${opts.maxSeconds + 30} s after the start; killing the process.\n`);
  writeSync(1, `${JSON.stringify({ channel: opts.channel, db, people: opts.people, error: 'timeout (main thread stuck)' })}\n`);
  rmSync(dataDir, { recursive: true, force: true });
  process.kill(process.pid, 'SIGKILL');
}, (opts.maxSeconds + 30) * 1000).unref();

// ---------------------------------------------------------------------------------------------------------

/** `web`: the app's page (`…/r`); it calls no fake API (`api` only gives empty statistics) */
type Target =
  | { kind: 'ours' | 'echo' | 'peer'; url: string; api: FakeApi }
  | { kind: 'wecom'; url: string; api: FakeWecom }
  | { kind: 'web'; url: string; api: { takeStats(): FakeApiStats } };
/** `extId`: the person's external_userid on WeCom; `web`: their browser on the page (made at their first step) */
type Person = { userId: number; chatId: number; extId: string; script: Step[]; step: number; from: object; chat: object; web?: Browser };
type Outcome = { status: number; http: number; latency: number; texts: string[] };

// unique across runs: the app ignores an update_id it has recorded before (a PostgreSQL database outlives a run)
let nextUpdateId = Date.now() * 100;
let nextMessageId = 1;

function person(userId: number, script: (userId: number) => Step[] = reportScript): Person {
  return {
    userId,
    chatId: userId,
    extId: `wmBench${userId}`,
    script: script(userId),
    step: 0,
    from: { id: userId, is_bot: false, first_name: 'Bench', language_code: 'zh-hans' },
    chat: { id: userId, type: 'private', first_name: 'Bench' },
  };
}

class StepError extends Error {}

/**
 * The load generator's HTTP client: node:http with a keep-alive agent. Free sockets are reused oldest first
 * ('fifo'), so under a steady load every pooled connection stays in use instead of some idling until the
 * keep-alive timeout closes them and new ones must be opened; an idle socket is closed by this side after 4 s,
 * before the server's 5 s keep-alive timeout can reset it.
 */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'fifo', timeout: 4000 });

function httpCall(url: string, method: 'GET' | 'POST', body?: string, xml = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> =
      body === undefined
        ? {}
        : xml
          ? { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) }
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-telegram-bot-api-secret-token': secret };
    const req = request(url, { method, agent, headers, timeout: opts.requestTimeoutMs }, (res) => {
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${opts.requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function deliver(t: Extract<Target, { api: FakeApi }>, p: Person, update: object): Promise<Outcome> {
  const ib = t.api.inbox(p.chatId);
  ib.texts = [];
  ib.calls = 0;
  ib.lastAt = 0;
  const start = performance.now();
  let status: number;
  try {
    status = await httpCall(t.url, 'POST', JSON.stringify(update));
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new StepError(`request failed after ${Math.round(performance.now() - start)} ms: ${err.code ?? err.message}`);
  }
  const http = performance.now() - start;
  return { status, http, latency: ib.calls > 0 ? ib.lastAt - start : http, texts: ib.texts };
}

function pickButton(kb: Keyboard | undefined, labels: string[]) {
  const buttons = kb?.buttons ?? [];
  for (const label of labels) {
    const b = buttons.find((x) => x.text === label) ?? buttons.find((x) => x.text.includes(label));
    if (b) return b;
  }
  throw new StepError(`no button "${labels.join('" or "')}" in: ${buttons.map((b) => b.text).join(' | ') || '(no keyboard)'}`);
}

async function runStep(t: Target, p: Person): Promise<Outcome> {
  const step = p.script[p.step]!;
  if (t.kind === 'wecom') return runWecomStep(t, p, step);
  if (t.kind === 'web') return runWebStep(t, p, step);
  const update_id = nextUpdateId++;
  const date = Math.floor(Date.now() / 1000);
  let update: object;
  if ('say' in step) {
    // the peer's bot.command() needs the bot_command entity Telegram sends; the app's updates stay as they were
    const command = t.kind === 'peer' ? /^\/\w+/.exec(step.say) : null;
    const entities = command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {};
    update = { update_id, message: { message_id: nextMessageId++, date, chat: p.chat, from: p.from, text: step.say, ...entities } };
  } else {
    const kb = t.kind === 'echo' ? undefined : t.api.inbox(p.chatId).keyboard;
    const data = t.kind === 'echo' ? 'x' : pickButton(kb, step.tap).data;
    update = {
      update_id,
      callback_query: {
        id: `${p.chatId}:${update_id}`,
        from: p.from,
        chat_instance: `bench-${p.chatId}`,
        data,
        message: { message_id: kb?.messageId ?? 1, date, chat: p.chat, from: botInfo, text: kb?.text ?? 'ok' },
      },
    };
  }
  const out = await deliver(t, p, update);
  if (out.status !== 200) throw new StepError(`HTTP ${out.status}`);
  if (t.kind !== 'echo') checkReply(step, out);
  return out;
}

function checkReply(step: Step, out: Outcome) {
  if (out.texts.length === 0) throw new StepError('no reply');
  if (step.expect && !out.texts.some((x) => x.includes(step.expect!))) throw new StepError(`expected "${step.expect}", got: ${out.texts.join(' / ').replace(/\n/g, ' ').slice(0, 160)}`);
}

// ---------------------------------------------------------------------------------------------------------
// WeCom 微信客服: the message is queued on the fake API, a signed and encrypted kf_msg_or_event callback tells the
// app to pull; the app answers the callback at once, pulls (kf/sync_msg) and answers (kf/send_msg). The main
// thread says when the app has sent every answer to a message ('answered', from conversations.repliesSent); the
// latency is callback POST start → the last kf/send_msg to the person, stamped by the fake API in this thread.

const envelope = createEnvelope({ token: wecom.callbackToken, encodingAesKey: wecom.callbackAesKey, receiverId: wecom.corpId });
const callbackTag = Date.now().toString(36);
let callbackSeq = 0;

/** A kf_msg_or_event callback as the platform posts it (test/fakes/wecom-api.ts kfEventXml + encryptedCallback). */
function kfCallback(): { query: string; body: string } {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e9));
  const token = `bench${callbackTag}${++callbackSeq}`; // the app's dedupe key holds it: unique per callback
  const inner = `<xml><ToUserName><![CDATA[${wecom.corpId}]]></ToUserName><CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[${token}]]></Token><OpenKfId><![CDATA[${OPEN_KFID}]]></OpenKfId></xml>`;
  const encrypted = envelope.encrypt(inner);
  const signature = envelope.signature(timestamp, nonce, encrypted);
  return {
    query: `msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`,
    body: `<xml><ToUserName><![CDATA[${wecom.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[${wecom.agentId}]]></AgentID></xml>`,
  };
}

/** Messages whose answers are awaited, by msgid. */
const awaiting = new Map<string, { resolve: () => void; timer: NodeJS.Timeout }>();

function answeredSignal(msgid: string) {
  const w = awaiting.get(msgid);
  if (!w) return; // given up on already
  awaiting.delete(msgid);
  clearTimeout(w.timer);
  w.resolve();
}

function awaitAnswer(msgid: string): { done: Promise<void>; cancel: () => void } {
  let cancel = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      awaiting.delete(msgid);
      reject(new StepError(`no answer in ${opts.requestTimeoutMs} ms`));
    }, opts.requestTimeoutMs);
    awaiting.set(msgid, { resolve, timer });
    cancel = () => {
      awaiting.delete(msgid);
      clearTimeout(timer);
    };
  });
  done.catch(() => {}); // read below, or cancelled
  return { done, cancel };
}

function pickMenuItem(menu: MenuItem[] | undefined, labels: string[]): MenuItem {
  const items = menu ?? [];
  for (const label of labels) {
    const b = items.find((x) => x.content === label) ?? items.find((x) => x.content.includes(label));
    if (b) return b;
  }
  throw new StepError(`no menu item "${labels.join('" or "')}" in: ${items.map((b) => b.content).join(' | ') || '(no menu)'}`);
}

/** The menu's item to turn to the next page of a long list (WeCom menus show a few items a page). */
const NEXT_PAGE = '下一页';

async function runWecomStep(t: Extract<Target, { kind: 'wecom' }>, p: Person, step: Step): Promise<Outcome> {
  const ib = t.api.inbox(p.extId);
  if ('tap' in step) {
    // a person looking for their village in a long list turns the pages, as on the phone: each page is an update
    for (let pages = 0; pages < 20 && !step.tap.some((label) => (ib.menu ?? []).some((x) => x.content.includes(label))); pages++) {
      const next = (ib.menu ?? []).find((x) => x.content.includes(NEXT_PAGE));
      if (!next) break;
      await wecomRoundTrip(t, p, step, next);
    }
  }
  const item = 'say' in step ? undefined : pickMenuItem(ib.menu, step.tap);
  return wecomRoundTrip(t, p, step, item);
}

/** One message (a text, or a tap on `item`) through 微信客服: the callback, then the bot's answer pulled and sent. */
async function wecomRoundTrip(t: Extract<Target, { kind: 'wecom' }>, p: Person, step: Step, item: MenuItem | undefined): Promise<Outcome> {
  const ib = t.api.inbox(p.extId);
  const cb = kfCallback();
  ib.texts = [];
  ib.calls = 0;
  ib.lastAt = 0;
  const start = performance.now();
  const { msgid } = t.api.queue(p.extId, item ? item.content : (step as { say: string }).say, item?.id);
  const answer = awaitAnswer(msgid);
  let status: number;
  try {
    status = await httpCall(`${t.url}?${cb.query}`, 'POST', cb.body, true);
  } catch (e) {
    answer.cancel();
    const err = e as Error & { code?: string };
    throw new StepError(`callback failed after ${Math.round(performance.now() - start)} ms: ${err.code ?? err.message}`);
  }
  const http = performance.now() - start;
  if (status !== 200) {
    answer.cancel();
    throw new StepError(`callback HTTP ${status}`);
  }
  await answer.done;
  const out = { status, http, latency: ib.calls > 0 ? ib.lastAt - start : performance.now() - start, texts: ib.texts };
  checkReply(step, out);
  return out;
}


// ---------------------------------------------------------------------------------------------------------
// The web page (--channel web): each person is one phone browser, with its own cookie (rid) and its own address
// (X-Forwarded-For; the app runs with TRUST_PROXY=loopback). The first step opens the poster's link
// (GET /r?v=<village>, a 303 to /r, then GET /r); each answer is the screen's form POSTed with HX-Request: true
// (the page swaps in place: the app answers the new screen's HTML at once): csrf and u (the form's hidden fields),
// and c=<the button's id> for a tap or t=<text> for a typed answer. The latency is request start → the new
// screen's HTML read. The browser asks for gzip, as phones do; the static assets (cached by a browser for an
// hour) are not fetched.

type Browser = { addr: string; cookie: string; main: string; csrf: string; u: string; sawReceipt: boolean };

// a random start: a rerun on the same PostgreSQL database meets no counts of its own left in rate_limit
let addressSeq = Math.floor(Math.random() * 2 ** 23);
/** An address of its own for each browser, as each phone behind its carrier has (10.0.0.1 …). */
function nextAddress(): string {
  const n = (addressSeq++ % (2 ** 24 - 2)) + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
const newBrowser = (): Browser => ({ addr: nextAddress(), cookie: '', main: '', csrf: '', u: '', sawReceipt: false });

type WebResponse = { status: number; headers: IncomingHttpHeaders; body: string };

/** One request of a browser: its cookie and address, gzip accepted (and undone), the cookie it is given kept. */
function webCall(url: string, b: Browser, method: 'GET' | 'POST', form?: string, htmx = false): Promise<WebResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'x-forwarded-for': b.addr,
      accept: 'text/html,application/xhtml+xml',
      'accept-encoding': 'gzip',
      'accept-language': 'zh-CN,zh;q=0.9',
      ...(b.cookie ? { cookie: b.cookie } : {}),
      ...(htmx ? { 'hx-request': 'true' } : {}),
      ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) }),
    };
    const req = request(url, { method, agent, headers, timeout: opts.requestTimeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
          for (const c of res.headers['set-cookie'] ?? []) {
            const m = /^rid=([^;]*)/.exec(c);
            if (m) b.cookie = `rid=${m[1]}`;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${opts.requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(form);
  });
}

const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
/** A page's words without its markup (for an error message). */
const wordsOf = (html: string) => unescapeHtml((/<main[^>]*>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? html).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()).slice(0, 160);

/** The screen shown: what the person reads (<main>), the answer form's hidden fields, a receipt number if one is shown. */
function readScreen(b: Browser, html: string) {
  const main = /<main id="main">([\s\S]*?)<\/main>/.exec(html)?.[1];
  if (main === undefined) throw new StepError(`no <main> in the page: ${html.slice(0, 160)}`);
  b.main = main;
  const at = main.indexOf('class="answer"');
  const form = at >= 0 ? main.slice(at) : main;
  b.csrf = unescapeHtml(/name="csrf" value="([^"]*)"/.exec(form)?.[1] ?? '');
  b.u = unescapeHtml(/name="u" value="([^"]*)"/.exec(form)?.[1] ?? '');
  const receipt = /class="receipt-no">([^<]+)</.exec(main);
  if (receipt) {
    receipts.add(unescapeHtml(receipt[1]!.trim()));
    b.sawReceipt = true;
  }
}

/** The id of the screen's button with the label (or an alternative; the first found wins), as a tap sends it. */
function pickWebButton(main: string, labels: string[]): string {
  const buttons = [...main.matchAll(/<button\b[^>]*\bname="c" value="([^"]*)"[^>]*>([\s\S]*?)<\/button>/g)].map((m) => ({
    id: unescapeHtml(m[1]!),
    // a ticked box's mark and "已选" are not its label
    text: unescapeHtml(m[2]!.replace(/<span class="(box|picked)"[^>]*>[\s\S]*?<\/span>/g, '').replace(/<[^>]+>/g, '')).trim(),
  }));
  for (const label of labels) {
    const b = buttons.find((x) => x.text === label) ?? buttons.find((x) => x.text.includes(label));
    if (b) return b.id;
  }
  throw new StepError(`no button "${labels.join('" or "')}" on the page: ${buttons.map((b) => b.text).join(' | ') || '(no buttons)'}`);
}

async function runWebStep(t: Extract<Target, { kind: 'web' }>, p: Person, step: Step): Promise<Outcome> {
  const b = (p.web ??= newBrowser());
  const start = performance.now();
  let res: WebResponse;
  try {
    if ('say' in step && step.say === '/start') {
      // the poster's QR code: the welcome with the village chosen, then the plain address (as the browser follows)
      const first = await webCall(`${t.url}?v=${WEB_VILLAGE}`, b, 'GET');
      if (first.status !== 303) throw new StepError(`GET /r?v=…: HTTP ${first.status} ${wordsOf(first.body)}`);
      res = await webCall(new URL(first.headers.location ?? '/r', t.url).href, b, 'GET');
    } else {
      const answer = 'tap' in step ? `c=${encodeURIComponent(pickWebButton(b.main, step.tap))}` : `t=${encodeURIComponent(step.say)}`;
      res = await webCall(t.url, b, 'POST', `csrf=${encodeURIComponent(b.csrf)}&u=${encodeURIComponent(b.u)}&${answer}`, true);
    }
  } catch (e) {
    if (e instanceof StepError) throw e;
    const err = e as Error & { code?: string };
    throw new StepError(`request failed after ${Math.round(performance.now() - start)} ms: ${err.code ?? err.message}`);
  }
  const ms = performance.now() - start;
  if (res.status !== 200) throw new StepError(`HTTP ${res.status} ${wordsOf(res.body)}`);
  readScreen(b, res.body);
  const out = { status: res.status, http: ms, latency: ms, texts: [b.main] };
  checkReply(step, out);
  if (p.step === p.script.length - 1 && !b.sawReceipt) throw new StepError('the report ended without a receipt number shown on the page (class="receipt-no")');
  return out;
}

/**
 * The flood: one address (one browser) sends `rate` requests a second for `seconds`, open loop (each at its time,
 * whatever the app answers meanwhile), on keep-alive connections of its own: GET /r with its cookie and POST /r
 * with a wrong CSRF token, alternately. Both count against the address: past its limit the app refuses it (429)
 * from memory.
 */
/** The realistic load runs this long before the flood begins. */
const FLOOD_LEAD_IN_S = 5;
const floodAgent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'fifo', timeout: 4000 });

async function runFlood(t: Extract<Target, { kind: 'web' }>, rate: number, seconds: number): Promise<Omit<FloodResult, 'others' | 'leadInS' | 'floodStartS' | 'othersBefore' | 'othersDuring'>> {
  const b = newBrowser();
  const total = Math.round(rate * seconds);
  const byStatus: Record<string, number> = {};
  const latency: number[] = [];
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const wrongForm = () => `csrf=${'0'.repeat(32)}&u=${randomUUID()}&c=x`;
  const fire = (i: number) => {
    const form = i % 2 === 0 ? wrongForm() : undefined;
    const headers: Record<string, string | number> = {
      'x-forwarded-for': b.addr,
      'accept-encoding': 'gzip',
      ...(b.cookie ? { cookie: b.cookie } : {}),
      ...(form ? { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) } : {}),
    };
    const t0 = performance.now();
    inFlight++;
    const req = request(t.url, { method: form ? 'POST' : 'GET', agent: floodAgent, headers, timeout: opts.requestTimeoutMs }, (res) => {
      for (const c of res.headers['set-cookie'] ?? []) {
        const m = /^rid=([^;]*)/.exec(c);
        if (m) b.cookie = `rid=${m[1]}`;
      }
      res.on('end', () => {
        inFlight--;
        answered++;
        latency.push(performance.now() - t0);
        const k = String(res.statusCode ?? 0);
        byStatus[k] = (byStatus[k] ?? 0) + 1;
      });
      res.on('error', () => {
        inFlight--;
        failed++;
      });
      res.resume();
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      inFlight--;
      failed++;
    });
    req.end(form);
  };
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (sent < due) fire(sent++);
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const sendSeconds = (performance.now() - t0) / 1000;
  const drainUntil = performance.now() + opts.requestTimeoutMs + 1000;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
  floodAgent.destroy();
  return {
    rate,
    seconds,
    sent,
    sentPerS: sent / Math.max(seconds, sendSeconds),
    answered,
    answeredPerS: answered / ((performance.now() - t0) / 1000),
    byStatus,
    refused: byStatus['429'] ?? 0,
    failed,
    latency: percentiles(latency),
  };
}

// ---------------------------------------------------------------------------------------------------------

let errorCount = 0;
const errorSamples: string[] = [];
const receipts = new Set<string>();

function fail(phase: string, p: Person, e: unknown) {
  errorCount++;
  if (errorSamples.length < 20) {
    const step = p.script[p.step];
    const what = step ? ('say' in step ? `say "${step.say}"` : `tap "${step.tap[0]}"`) : '?';
    errorSamples.push(`${phase}: person ${p.userId}, step ${p.step + 1} (${what}): ${e instanceof StepError ? e.message : String((e as Error)?.stack ?? e)}`);
  }
}

class Recorder {
  latency: number[] = [];
  http: number[] = [];
  /** when each update was sent (performance.now()) */
  sentAt: number[] = [];
  updates = 0;
  reports = 0;
  errors = 0;
  add(o: Outcome) {
    this.updates++;
    this.latency.push(o.latency);
    this.http.push(o.http);
    this.sentAt.push(performance.now() - o.latency);
  }
  /** The latencies of the updates sent in each second from t0 on. */
  bySecond(t0: number, seconds: number) {
    const bins = Array.from({ length: Math.ceil(seconds) }, () => [] as number[]);
    this.sentAt.forEach((at, i) => bins[Math.min(bins.length - 1, Math.max(0, Math.floor((at - t0) / 1000)))]!.push(this.latency[i]!));
    return bins.map((b) => {
      const q = percentiles(b);
      return { n: q.n, p50: q.p50, p99: q.p99, max: q.max };
    });
  }
}

/** The update was the report's last: count it as completed (its receipt number came back on the way: noted). */
function finished(_t: Target, _o: Outcome, rec: Recorder) {
  rec.reports++;
}

/** A receipt number in an answer (the report is submitted before its details are added, mid-script). */
function noteReceipt(t: Target, o: Outcome) {
  if (t.kind !== 'ours' && t.kind !== 'wecom') return;
  for (const text of o.texts) {
    const m = /回执号：(\S+)/.exec(text);
    if (m) receipts.add(m[1]!);
  }
}

function progress(label: string, rec: Recorder, total?: number) {
  const t0 = performance.now();
  const timer = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    send({ type: 'progress', text: `${label}: ${rec.updates}${total ? `/${total}` : ''} updates, ${rec.reports} reports, ${rec.errors} errors, ${s.toFixed(0)} s` });
  }, 5000);
  return () => clearInterval(timer);
}

/** Closed loop: every person walks one whole report, each answer sent as soon as the previous one is answered. */
async function closedLoop(phase: string, t: Target, people: Person[], rec: Recorder) {
  const stop = progress(phase, rec, people.reduce((n, p) => n + p.script.length, 0));
  try {
    await Promise.all(
      people.map(async (p) => {
        for (p.step = 0; p.step < p.script.length; p.step++) {
          try {
            const o = await runStep(t, p);
            rec.add(o);
            noteReceipt(t, o);
            if (p.step === p.script.length - 1) finished(t, o, rec);
          } catch (e) {
            rec.errors++;
            fail(phase, p, e);
            return; // this person gives up
          }
        }
      }),
    );
  } finally {
    stop();
  }
}

function apiStats(api: { takeStats(): FakeApiStats }): ApiStats {
  const s = api.takeStats();
  return { calls: s.calls, byMethod: s.byMethod, handleMsMean: s.calls ? s.handleMsSum / s.calls : 0, unknownChat: s.unknownChat };
}

function phaseResult(name: string, people: number, seconds: number, rec: Recorder, api: { takeStats(): FakeApiStats }, elu: number): PhaseResult {
  return {
    name,
    people,
    updates: rec.updates,
    seconds,
    updatesPerS: rec.updates / seconds,
    latency: percentiles(rec.latency),
    http: percentiles(rec.http),
    reports: rec.reports,
    errors: rec.errors,
    api: apiStats(api),
    driverElu: elu,
  };
}

/**
 * Opens `n` keep-alive connections to the target's server (n requests for GET /healthz at once, a 404 on the
 * baseline), so a measured phase does not begin with n connections opened against a server that is about to be
 * saturated (the app then accepts them one by one between its other work: seconds of delay for the last ones).
 */
async function openConnections(t: Target, n: number) {
  const url = new URL('/healthz', t.url).href;
  // a pooled connection the server has just closed (keep-alive timeout) answers ECONNRESET: open a new one
  const once = () => httpCall(url, 'GET').catch((e: Error & { code?: string }) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? httpCall(url, 'GET') : Promise.reject(e)));
  await Promise.all(Array.from({ length: n }, once));
}

/** The report the people walk on a target: on the web page, without the township and village taps (the poster chose them). */
const scriptOf = (t: Target) => (t.kind === 'web' ? webReportScript : reportScript);

async function measuredClosedLoop(name: string, t: Target, firstId: number, script?: (userId: number) => Step[]): Promise<PhaseResult> {
  const people = Array.from({ length: opts.people }, (_, i) => person(firstId + i, script ?? scriptOf(t)));
  const rec = new Recorder();
  t.api.takeStats();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await closedLoop(name, t, people, rec);
  const seconds = (performance.now() - t0) / 1000;
  return phaseResult(name, people.length, seconds, rec, t.api, performance.eventLoopUtilization(elu0).utilization);
}

/**
 * Open loop: a scheduler offers updates at a fixed rate; each goes to the person who has been ready longest (their
 * previous answer answered and their pause over), so nobody has two updates in flight. When nobody is ready the
 * tick is dropped and counted. People start a new report when they finish one (on the web page as a new browser:
 * the next person to scan the poster).
 */
async function openLoop(t: Target, firstId: number, name = 'load', seconds = opts.seconds, rec = new Recorder()): Promise<LoadResult> {
  const people = Array.from({ length: opts.people }, (_, i) => person(firstId + i, scriptOf(t)));
  const ready: Person[] = [...people];
  const offered = Math.round(opts.rate * seconds);
  const windowMs = seconds * 1000;
  let fired = 0;
  let sent = 0;
  let dropped = 0;
  let inFlight = 0;
  let open = true;
  const think = () => opts.thinkMs * (0.25 + 1.5 * Math.random());

  async function fire(p: Person) {
    try {
      const o = await runStep(t, p);
      rec.add(o);
      noteReceipt(t, o);
      p.step++;
      if (p.step === p.script.length) {
        finished(t, o, rec);
        p.step = 0;
        delete p.web;
      }
    } catch (e) {
      rec.errors++;
      fail(name, p, e);
      p.step = 0; // starts over with /start
      delete p.web;
    } finally {
      inFlight--;
      if (open) setTimeout(() => ready.push(p), think());
    }
  }

  t.api.takeStats();
  const stop = progress(name === 'load' ? 'realistic load' : name, rec);
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const due = Math.min(offered, Math.floor((elapsed / 1000) * opts.rate));
      while (fired < due) {
        fired++;
        const p = ready.shift();
        if (!p) {
          dropped++;
          continue;
        }
        sent++;
        inFlight++;
        void fire(p);
      }
      if (fired >= offered && elapsed >= windowMs) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 2);
  });
  open = false;
  const drainUntil = performance.now() + opts.requestTimeoutMs + 1000;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 10));
  stop();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const base = phaseResult(name, people.length, seconds, rec, t.api, elu);
  return {
    ...base,
    updatesPerS: sent / seconds,
    rate: opts.rate,
    durationS: seconds,
    offered,
    sent,
    dropped,
    thinkMs: opts.thinkMs,
    unfinished: people.filter((p) => p.step > 0).length,
    bySecond: rec.bySecond(t0, seconds),
  };
}

// ---------------------------------------------------------------------------------------------------------

let seq = 0;
const acks = new Map<number, () => void>();
/** Tells the main thread a phase begins (it switches its app-side counters) and waits for its answer. */
function mark(phase: string): Promise<void> {
  const n = ++seq;
  return new Promise((resolve) => {
    acks.set(n, resolve);
    send({ type: 'mark', phase, seq: n });
  });
}

/** The main thread's answer to 'peer-start': the peer's webhook URL, or why it was skipped. */
let peerStarted: ((m: { url: string | null; skipped?: string }) => void) | undefined;
function startPeer(): Promise<{ url: string | null; skipped?: string }> {
  return new Promise((resolve) => {
    peerStarted = resolve;
    send({ type: 'peer-start' });
  });
}

let peakRss = process.memoryUsage.rss();
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
rssTimer.unref();

const scriptShape = (s: Step[]) => ({ updates: s.length, taps: s.filter((x) => 'tap' in x).length, messages: s.filter((x) => 'say' in x).length, wrong: s.filter((x) => x.wrong).length });

async function run(ours: Target, telegramUrl: string, echo: Target, peerApi: FakeApi): Promise<DriverResult> {
  // warm-up: a few whole reports on the app, the same updates on the baseline; not timed
  await mark('warmup');
  const w0 = performance.now();
  const warm = new Recorder();
  await closedLoop('warm-up', ours, Array.from({ length: opts.warmup }, (_, i) => person(1_000_001 + i, scriptOf(ours))), warm);
  const warmSeconds = (performance.now() - w0) / 1000;
  const warmEcho = new Recorder();
  // the baseline's measured phase lasts seconds, not a minute: warm it with a whole unmeasured pass (up to 200 people)
  await closedLoop('warm-up (baseline)', echo, Array.from({ length: Math.min(opts.people, 200) }, (_, i) => person(4_000_001 + i)), warmEcho);

  // the baseline first: its numbers do not depend on what the app left in the heap
  await mark('connecting');
  await openConnections(echo, opts.people);
  await mark('baseline');
  const baseline = await measuredClosedLoop('baseline', echo, 5_000_001);
  await mark('connecting');
  await openConnections(ours, opts.people);
  await mark('saturation');
  const saturation = await measuredClosedLoop('saturation', ours, 2_000_001);
  // on the web page, the same app's Telegram webhook in the same run, for the ratio of the two (warmed up as above)
  let telegram: PhaseResult | undefined;
  const warmTelegram = new Recorder();
  if (ours.kind === 'web') {
    const tg: Target = { kind: 'ours', url: telegramUrl, api };
    await mark('warmup-telegram');
    await closedLoop('warm-up (telegram)', tg, Array.from({ length: opts.warmup }, (_, i) => person(1_100_001 + i)), warmTelegram);
    await mark('connecting');
    await openConnections(tg, opts.people);
    await mark('saturation-telegram');
    telegram = await measuredClosedLoop('saturation (telegram)', tg, 2_500_001);
  }
  await mark('connecting');
  await openConnections(ours, opts.people);
  await mark('load');
  const load = await openLoop(ours, 3_000_001);
  // on the web page: the realistic load again, by other people, and after FLOOD_LEAD_IN_S (their first answers
  // given: the same state as the load phase's) one address floods the page; the others' latencies are taken from
  // the updates they sent while the flood lasted (and, to compare, from those sent before it)
  let flood: FloodResult | undefined;
  if (ours.kind === 'web') {
    await mark('connecting');
    await openConnections(ours, opts.people);
    await mark('flood');
    const rec = new Recorder();
    const t0 = performance.now();
    const othersDone = openLoop(ours, 8_000_001, 'flood', FLOOD_LEAD_IN_S + opts.floodSeconds, rec);
    await new Promise((r) => setTimeout(r, FLOOD_LEAD_IN_S * 1000));
    const floodStart = performance.now();
    const f = await runFlood(ours, opts.floodRate, opts.floodSeconds);
    const floodEnd = floodStart + opts.floodSeconds * 1000;
    const others = await othersDone;
    const within = (from: number, to: number) => percentiles(rec.latency.filter((_, i) => rec.sentAt[i]! >= from && rec.sentAt[i]! < to));
    flood = { others, leadInS: FLOOD_LEAD_IN_S, floodStartS: (floodStart - t0) / 1000, othersBefore: within(t0, floodStart), othersDuring: within(floodStart, floodEnd), ...f };
  }
  // the peak RSS of the app's phases: the peer below brings its own memory (on PGlite a second database)
  const peakRssBytes = Math.max(peakRss, process.memoryUsage.rss());

  // the peer baseline last, started only now (so nothing of it is in the app's phases), measured as the echo
  // baseline: a whole unmeasured pass, then the connections, then all people at once
  await mark('peer-setup');
  const started = await startPeer();
  let peer: PhaseResult | undefined;
  const warmPeer = new Recorder();
  if (started.url) {
    const peerTarget: Target = { kind: 'peer', url: started.url, api: peerApi };
    await mark('peer-warmup');
    await closedLoop('warm-up (peer)', peerTarget, Array.from({ length: Math.min(opts.people, 200) }, (_, i) => person(7_000_001 + i, peerScript)), warmPeer);
    await mark('connecting');
    await openConnections(peerTarget, opts.people);
    await mark('peer');
    peer = await measuredClosedLoop('peer', peerTarget, 6_000_001, peerScript);
  }
  await mark('end');

  const warmReports = warm.reports + warmTelegram.reports;
  const telegramReports = telegram?.reports ?? 0;
  const floodReports = flood?.others.reports ?? 0;
  return {
    script: scriptShape(reportScript(1)),
    peerScript: scriptShape(peerScript(1)),
    webScript: ours.kind === 'web' ? scriptShape(webReportScript(1)) : undefined,
    warmup: { reports: warmReports, updates: warm.updates + warmTelegram.updates, seconds: warmSeconds, errors: warm.errors + warmTelegram.errors, baselineUpdates: warmEcho.updates },
    saturation,
    baseline,
    load,
    telegram,
    flood,
    peer,
    peerSkipped: started.skipped,
    peerWarmup: { reports: warmPeer.reports, updates: warmPeer.updates, errors: warmPeer.errors },
    reports: {
      warmup: warmReports,
      saturation: saturation.reports,
      load: load.reports,
      telegram: telegramReports,
      flood: floodReports,
      total: warmReports + saturation.reports + load.reports + telegramReports + floodReports,
      distinctReceipts: receipts.size,
    },
    errorCount,
    errorSamples,
    peakRssBytes,
    peakRssWithPeerBytes: Math.max(peakRss, process.memoryUsage.rss()),
  };
}

// lean: no call kept, nothing checked; the people read the per-chat inboxes
const api = await startFakeBotApi({ lean: true, botInfo });
const baselineApi = await startFakeBotApi({ lean: true, botInfo });
const peerApi = await startFakeBotApi({ lean: true, botInfo });
const wecomApi = opts.channel === 'wecom' ? await startFakeWecom({ lean: true }) : undefined;

port.on('message', (m: ToDriver) => {
  if (m.type === 'answered') {
    answeredSignal(m.msgid);
  } else if (m.type === 'peer-ready') {
    peerStarted?.({ url: m.url, ...(m.skipped ? { skipped: m.skipped } : {}) });
    peerStarted = undefined;
  } else if (m.type === 'ack') {
    acks.get(m.seq)?.();
    acks.delete(m.seq);
  } else if (m.type === 'go') {
    const ours: Target = wecomApi
      ? { kind: 'wecom', url: m.webhookUrl, api: wecomApi }
      : opts.channel === 'web'
        ? { kind: 'web', url: m.webhookUrl, api: { takeStats: () => ({ calls: 0, byMethod: {}, handleMsSum: 0, unknownChat: 0 }) } }
        : { kind: 'ours', url: m.webhookUrl, api };
    run(ours, m.telegramUrl, { kind: 'echo', url: m.baselineUrl, api: baselineApi }, peerApi).then(
      (result) => send({ type: 'done', result }),
      (e: unknown) => send({ type: 'fatal', message: String((e as Error)?.stack ?? e) }),
    );
  } else if (m.type === 'close') {
    clearInterval(rssTimer);
    agent.destroy();
    floodAgent.destroy();
    void Promise.all([api.close(), baselineApi.close(), peerApi.close(), wecomApi?.close()]).then(() => send({ type: 'closed' }));
  }
});

send({ type: 'ready', apiUrl: api.url, baselineApiUrl: baselineApi.url, peerApiUrl: peerApi.url, wecomApiUrl: wecomApi?.url ?? '' });
