/** What the benchmark's main thread (the app) and its driver worker (fake Bot API + simulated people) exchange. */

export type Channel = 'telegram' | 'wecom' | 'web';

export type BenchOptions = {
  /** how the simulated people talk to the app: the Telegram webhook, WeCom 微信客服 (callback + kf/sync_msg), or the web page (/r) */
  channel: Channel;
  people: number;
  rate: number;
  seconds: number;
  warmup: number;
  /** mean pause between a person's answers in the realistic-load phase, ms */
  thinkMs: number;
  /** per-request timeout of the load generator, ms */
  requestTimeoutMs: number;
  /** the whole run's limit, seconds */
  maxSeconds: number;
  /** --channel web: requests a second the flood sends from one address, and for how long (the others at `rate` meanwhile) */
  floodRate: number;
  floodSeconds: number;
};

/** The WeCom settings the app runs with (test/fakes/wecom-api.ts WECOM): the driver signs and encrypts callbacks with them. */
export type WecomSettings = { corpId: string; agentId: string; callbackToken: string; callbackAesKey: string };

/** `dataDir`: the app's temporary DATA_DIR, removed by the driver's backstop watchdog */
export type DriverData = { opts: BenchOptions; botInfo: unknown; secret: string; db: string; dataDir: string; wecom: WecomSettings };

export type Pct = { n: number; mean: number; p50: number; p90: number; p99: number; max: number };

export type ApiStats = { calls: number; byMethod: Record<string, number>; handleMsMean: number; unknownChat: number };

export type PhaseResult = {
  name: string;
  people: number;
  updates: number;
  seconds: number;
  updatesPerS: number;
  /**
   * webhook request start → the last Bot API call the update caused (wecom: callback POST start → the last
   * kf/send_msg to that person it caused; web: the answer's POST start → the new screen's HTML read, the poster's
   * GET /r?v=… and the redirected GET /r together for the first)
   */
  latency: Pct;
  /** webhook (wecom: callback) request start → HTTP response read (web: as `latency`) */
  http: Pct;
  reports: number;
  errors: number;
  api: ApiStats;
  /** event-loop utilisation of the driver thread during the phase (0..1) */
  driverElu: number;
};

export type LoadResult = PhaseResult & {
  rate: number;
  durationS: number;
  offered: number;
  sent: number;
  /** ticks at which no person was ready (every person thinking or waiting for an answer) */
  dropped: number;
  thinkMs: number;
  /** reports begun but not finished when the phase ended */
  unfinished: number;
  /** the latencies of the updates sent in each second of the phase */
  bySecond: Array<{ n: number; p50: number; p99: number; max: number }>;
};

/**
 * --channel web, the flood phase: the others walk their reports at the realistic rate (`others`, the whole phase);
 * after `leadInS` seconds one address sends `rate` requests a second for `seconds` (GET /r with its cookie and POST
 * /r with a wrong CSRF token, alternately). `othersDuring`: the latencies of the others' updates sent while the
 * flood lasted; `othersBefore`: of those sent before it.
 */
export type FloodResult = {
  others: LoadResult;
  leadInS: number;
  /** when the flood began, seconds into the phase */
  floodStartS: number;
  othersBefore: Pct;
  othersDuring: Pct;
  rate: number;
  seconds: number;
  /** requests the flood sent, and sent a second (what it achieved of `rate`) */
  sent: number;
  sentPerS: number;
  /** responses it got (a second), by HTTP status; refused: 429; failed: no response (timeout, reset) */
  answered: number;
  answeredPerS: number;
  byStatus: Record<string, number>;
  refused: number;
  failed: number;
  /** the flood's own response times */
  latency: Pct;
};

export type ScriptShape = { updates: number; taps: number; messages: number; wrong: number };

export type DriverResult = {
  script: ScriptShape;
  peerScript: ScriptShape;
  warmup: { reports: number; updates: number; seconds: number; errors: number; baselineUpdates: number };
  saturation: PhaseResult;
  baseline: PhaseResult;
  load: LoadResult;
  /** the peer baseline (bench/peer-bot.ts); undefined when it was skipped (`peerSkipped` says why) */
  peer: PhaseResult | undefined;
  peerSkipped: string | undefined;
  peerWarmup: { reports: number; updates: number; errors: number };
  /** --channel web: the app's saturation on its Telegram webhook in the same run (the same people, after a warm-up), and the flood */
  telegram: PhaseResult | undefined;
  flood: FloodResult | undefined;
  /** --channel web: the report the people walk there (no township and village taps: the poster's link chose the village) */
  webScript: ScriptShape | undefined;
  /** reports to the app (the peer's are not in these); telegram and flood: --channel web only */
  reports: { warmup: number; saturation: number; load: number; telegram: number; flood: number; total: number; distinctReceipts: number };
  errorCount: number;
  errorSamples: string[];
  /** peak RSS of the process up to the end of the app's phases (before the peer starts) */
  peakRssBytes: number;
  /** the same, over the whole run including the peer */
  peakRssWithPeerBytes: number;
};

export type ToMain =
  | { type: 'ready'; apiUrl: string; baselineApiUrl: string; peerApiUrl: string; wecomApiUrl: string }
  /** start the peer baseline now; answered by 'peer-ready' */
  | { type: 'peer-start' }
  | { type: 'mark'; phase: string; seq: number }
  | { type: 'progress'; text: string }
  | { type: 'done'; result: DriverResult }
  | { type: 'fatal'; message: string }
  | { type: 'closed' };

/**
 * `go`: `webhookUrl` is the app's Telegram webhook, its 微信客服 callback URL with --channel wecom, or its web page
 * (`…/r`) with --channel web; `telegramUrl` is the Telegram webhook (web runs measure it too).
 * `answered`: (wecom) the app has sent every answer to the customer message `msgid` (conversations.repliesSent).
 * `peer-ready`: the peer baseline's webhook URL, or null and why it was skipped.
 */
export type ToDriver =
  | { type: 'go'; webhookUrl: string; telegramUrl: string; baselineUrl: string }
  | { type: 'ack'; seq: number }
  | { type: 'answered'; msgid: string }
  | { type: 'peer-ready'; url: string | null; skipped?: string }
  | { type: 'close' };

export function percentiles(values: number[]): Pct {
  const n = values.length;
  if (n === 0) return { n: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from(values).sort();
  const at = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[n - 1]! };
}
