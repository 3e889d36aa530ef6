/** What the benchmark's main thread (the app) and its driver worker (fake Bot API + simulated people) exchange. */

export type Channel = 'telegram' | 'wecom';

export type BenchOptions = {
  /** how the simulated people talk to the app: the Telegram webhook, or WeCom 微信客服 (callback + kf/sync_msg) */
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
  /** webhook request start → the last Bot API call the update caused (wecom: callback POST start → the last kf/send_msg to that person it caused) */
  latency: Pct;
  /** webhook (wecom: callback) request start → HTTP response read */
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
  /** reports to the app (the peer's are not in these) */
  reports: { warmup: number; saturation: number; load: number; total: number; distinctReceipts: number };
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
 * `go`: `webhookUrl` is the app's Telegram webhook, or its 微信客服 callback URL with --channel wecom.
 * `answered`: (wecom) the app has sent every answer to the customer message `msgid` (conversations.repliesSent).
 * `peer-ready`: the peer baseline's webhook URL, or null and why it was skipped.
 */
export type ToDriver =
  | { type: 'go'; webhookUrl: string; baselineUrl: string }
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
