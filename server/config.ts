import cron from 'node-cron';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadDeployment, type Deployment } from './deployment.ts';
import { ConfigError } from './config-error.ts';

export { ConfigError };

/**
 * The project folder (where package.json is): two levels up from this file when it runs as TypeScript (tsx, vitest),
 * three when it runs compiled from dist/ (`npm start`). Locales, migrations and the sample deployment live there.
 */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = resolve(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'fanpin-selfreport') return dir;
    if (dirname(dir) === dir) throw new Error(`package.json of fanpin-selfreport not found above ${from}`);
  }
}
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const SAMPLE_DEPLOYMENT = resolve(REPO_ROOT, 'server/deployments/530925-shuangjiang.yaml');

/** What a variable documents about itself: shown in README and .env.example, both generated from here. */
type Doc = { description: string; example?: string; secret?: boolean };
const docs = new Map<string, Doc>();
function documented<T extends z.ZodType>(name: string, schema: T, doc: Doc): T {
  docs.set(name, doc);
  return schema;
}

const postgresUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgresql:' || url.protocol === 'postgres:') && url.hostname !== '' && url.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'must be a URL of the form postgresql://USER:PASSWORD@HOST:5432/DATABASE (value not shown)');

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every environment variable the process reads. Empty values count as unset.
 * Later modules add their variables here, each with a description.
 */
export const envSchema = z.object({
  PORT: documented(
    'PORT',
    z.coerce.number({ error: 'must be a port number' }).int('must be a whole number').min(0, 'must be 0 to 65535').max(65535, 'must be 0 to 65535').default(3000),
    { description: 'HTTP port for the API, webhooks, health checks and metrics (0: any free port).' },
  ),
  DATABASE_URL: documented('DATABASE_URL', postgresUrl.optional(), {
    description: 'PostgreSQL server to use. Unset: the embedded database (PGlite) in DATA_DIR, nothing to install.',
    example: 'postgresql://fanpin:secret@127.0.0.1:5432/fanpin',
    secret: true,
  }),
  DATABASE_WAIT_S: documented('DATABASE_WAIT_S', z.coerce.number({ error: 'must be a number of seconds' }).int().min(0).max(3600).default(30), {
    description:
      'At start-up, how long to keep trying a PostgreSQL server that refuses connections or is starting (it may be restarting too), before giving up with exit code 1. A wrong password or database name stops at once (exit code 2).',
  }),
  DATA_DIR: documented('DATA_DIR', z.string().default('./data'), {
    description: 'Folder for the embedded database and local key files. Relative paths are resolved from the working directory.',
  }),
  DEPLOYMENT_CONFIG: documented('DEPLOYMENT_CONFIG', z.string().optional(), {
    description:
      'Path to the deployment file (YAML or JSON): place tree, income lines, and later routing and campaigns. Unset: the sample deployment for 530925 shipped in server/deployments/.',
    example: './my-county.yaml',
  }),
  DATA_ENCRYPTION_KEY: documented('DATA_ENCRYPTION_KEY', z.string().optional(), {
    description:
      'Master key (32 bytes, base64) for personal data at rest: phone and ID numbers, drafts, recorded updates. Required with DATABASE_URL. Unset with the embedded database: a key file is made in DATA_DIR (0600).',
    example: '(openssl rand -base64 32)',
    secret: true,
  }),
  TELEGRAM_BOT_TOKEN: documented('TELEGRAM_BOT_TOKEN', z.string().regex(/^\d+:[\w-]+$/, 'must look like 123456:ABC-DEF… (from @BotFather)').optional(), {
    description: 'Telegram bot token from @BotFather. Unset: the Telegram channel is off.',
    example: '123456789:AAH...',
    secret: true,
  }),
  TELEGRAM_MODE: documented('TELEGRAM_MODE', z.enum(['polling', 'webhook'], { error: 'must be polling or webhook' }).default('polling'), {
    description: 'How Telegram updates arrive: polling (no public address needed) or webhook at POST /telegram/webhook.',
  }),
  TELEGRAM_WEBHOOK_SECRET: documented('TELEGRAM_WEBHOOK_SECRET', z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z, a-z, 0-9, _ and -').optional(), {
    description: "Required in webhook mode: Telegram sends it in X-Telegram-Bot-Api-Secret-Token and requests without it are refused. Give the same value to setWebhook's secret_token.",
    secret: true,
  }),
  TELEGRAM_API_ROOT: documented('TELEGRAM_API_ROOT', z.url({ error: 'must be a URL' }).default('https://api.telegram.org'), {
    description: 'Bot API server: the public one, a self-hosted Bot API server, or a local fake for tests.',
  }),
  INTAKE_WEBHOOK_URL: documented('INTAKE_WEBHOOK_URL', z.url({ error: 'must be an http(s) URL' }).optional(), {
    description: "The county's own system: each new lead and each move is POSTed there as JSON keyed by the official field codes. Unset: nothing is forwarded.",
    example: 'https://county.example/intake/hook',
  }),
  INTAKE_WEBHOOK_SECRET: documented('INTAKE_WEBHOOK_SECRET', z.string().min(16, 'must be at least 16 characters').optional(), {
    description: 'Required with INTAKE_WEBHOOK_URL: key of the HMAC-SHA256 signature in the X-Signature header (t=<unix seconds>,v1=<hex of HMAC over "t.body">).',
    secret: true,
  }),
  OUTBOX_MAX_ATTEMPTS: documented('OUTBOX_MAX_ATTEMPTS', z.coerce.number({ error: 'must be a number' }).int().min(1).max(100).default(12), {
    description: 'Delivery attempts before a forwarded event is dead-lettered (backoff doubles from 30 s up to 1 h, with jitter).',
  }),
  OUTBOX_TIMEOUT_MS: documented('OUTBOX_TIMEOUT_MS', z.coerce.number({ error: 'must be a number' }).int().min(100).max(120_000).default(10_000), {
    description: 'How long one delivery waits for the county system to answer.',
  }),
  WECOM_CORP_ID: documented('WECOM_CORP_ID', z.string().regex(/^\w{6,40}$/, 'must be the CorpID from 我的企业 → 企业信息 (letters and digits)').optional(), {
    description: 'WeCom organization (CorpID). Set: the WeCom channel is on (微信客服 for households, the self-built app for staff); then the four WECOM_AGENT_* / WECOM_CALLBACK_* variables are required. Unset: off.',
  }),
  WECOM_AGENT_ID: documented('WECOM_AGENT_ID', z.string().regex(/^\d{1,12}$/, 'must be the AgentId of the self-built app (digits)').optional(), {
    description: 'AgentId of the self-built app (应用管理 → the app).',
  }),
  WECOM_AGENT_SECRET: documented('WECOM_AGENT_SECRET', z.string().min(10, 'must be the app Secret').optional(), {
    description: "The self-built app's Secret. Since late 2023 it also calls the 微信客服 API when the app is placed under 微信客服 → 可调用接口的应用.",
    secret: true,
  }),
  WECOM_CALLBACK_TOKEN: documented('WECOM_CALLBACK_TOKEN', z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be the Token set on the callback page (up to 32 letters and digits)').optional(), {
    description: "Token of the app's callback (接收消息 → 设置API接收), for the URL /wecom/app/callback (and /wecom/kf/callback unless WECOM_KF_CALLBACK_TOKEN is set).",
    secret: true,
  }),
  WECOM_CALLBACK_AES_KEY: documented('WECOM_CALLBACK_AES_KEY', z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be the 43-character EncodingAESKey').optional(), {
    description: "EncodingAESKey of the app's callback (43 characters).",
    secret: true,
  }),
  WECOM_API_ROOT: documented('WECOM_API_ROOT', z.url({ error: 'must be a URL' }).default('https://qyapi.weixin.qq.com'), {
    description: 'WeCom server API root: the public one, or a local fake for tests.',
  }),
  WECOM_KF_SECRET: documented('WECOM_KF_SECRET', z.string().min(10, 'must be the 微信客服 Secret').optional(), {
    description: 'Only for organizations set up before late 2023: the 微信客服 Secret. Unset: the app Secret is used.',
    secret: true,
  }),
  WECOM_KF_CALLBACK_TOKEN: documented('WECOM_KF_CALLBACK_TOKEN', z.string().regex(/^[A-Za-z0-9]{1,32}$/, 'must be up to 32 letters and digits').optional(), {
    description: "Only with WECOM_KF_SECRET: the 微信客服 callback's own Token. Unset: WECOM_CALLBACK_TOKEN.",
    secret: true,
  }),
  WECOM_KF_CALLBACK_AES_KEY: documented('WECOM_KF_CALLBACK_AES_KEY', z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be the 43-character EncodingAESKey').optional(), {
    description: "Only with WECOM_KF_SECRET: the 微信客服 callback's own EncodingAESKey. Unset: WECOM_CALLBACK_AES_KEY.",
    secret: true,
  }),
  WECOM_KF_LINK: documented(
    'WECOM_KF_LINK',
    z
      .string()
      .refine((v) => {
        try {
          const u = new URL(v);
          return u.protocol === 'https:' && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be the https link of the 微信客服 account, such as https://work.weixin.qq.com/kfid/kfc0123456789abcdef')
      .optional(),
    {
      description:
        "The 微信客服 account's link (微信客服 → the account → 客服链接, https://work.weixin.qq.com/kfid/kfc…). Set: each village poster (`npm run cli -- posters`, the console) also carries a QR code of it, with scene_param=v and the village's code (v530925102208) added, so the chat knows the village. Unset: the posters carry the web page's QR code only. Independent of the other WECOM_ variables.",
      example: 'https://work.weixin.qq.com/kfid/kfc0123456789abcdef',
    },
  ),
  REMINDER_CRON: documented('REMINDER_CRON', z.string().refine((v) => cron.validate(v), 'must be a cron expression such as "* * * * *"').default('* * * * *'), {
    description: 'When the reminder scheduler runs its tick (node-cron syntax, in the deployment\'s time zone). Each tick sends only what is due and not yet sent.',
  }),
  TELEGRAM_SEND_RATE: documented('TELEGRAM_SEND_RATE', z.coerce.number({ error: 'must be a number' }).int().min(1).max(30).default(25), {
    description: 'Messages a second the bot sends to staff (Telegram allows about 30 a second per bot, one a second per chat).',
  }),
  WECOM_SEND_RATE: documented('WECOM_SEND_RATE', z.coerce.number({ error: 'must be a number' }).int().min(1).max(100).default(20), {
    description: 'Messages a second the WeCom app sends to staff; each member also gets at most 30 a minute and 1,000 an hour (the platform drops the rest).',
  }),
  PUBLIC_BASE_URL: documented(
    'PUBLIC_BASE_URL',
    z
      .string()
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be an http(s) address such as https://fanpin.example.gov.cn (no query, no user name)')
      .transform((v) => v.replace(/\/+$/, ''))
      .optional(),
    {
      description: 'The address people reach the product at (https in production): every link the product sends (console log-in links) is built on it, and the console cookie is Secure when it is https. Unset: http://localhost:PORT.',
      example: 'https://fanpin.example.gov.cn',
    },
  ),
  TRUST_PROXY: documented(
    'TRUST_PROXY',
    z
      .string()
      .regex(/^(false|true|\d{1,2}|loopback|linklocal|uniquelocal|[0-9a-fA-F.:/, ]+)$/, 'must be false, true, a number of proxies, loopback, or addresses of the proxies (comma-separated)')
      .default('false'),
    {
      description: 'Whether X-Forwarded-For/-Proto/-Host from a reverse proxy are believed (express "trust proxy"): false, true, a number of proxy hops, loopback, or the proxies\' addresses. When believed, a request the proxy received over https gets the console\'s Secure cookie and HSTS even without an https PUBLIC_BASE_URL. Leave false when nothing sits in front.',
      example: 'loopback',
    },
  ),
  LOG_LEVEL: documented('LOG_LEVEL', z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'), {
    description: 'Log verbosity. Logs are JSON lines on stdout and never contain personal data.',
  }),
});

export type Env = z.infer<typeof envSchema>;

export type WecomConfig = {
  corpId: string;
  agentId: string;
  agentSecret: string;
  callbackToken: string;
  callbackAesKey: string;
  apiRoot: string;
  /** 微信客服: the app's own secret and callback unless an older organization set separate ones */
  kf: { secret: string; callbackToken: string; callbackAesKey: string };
};

export type Config = {
  port: number;
  databaseUrl: string | undefined;
  /** seconds to keep trying an unreachable PostgreSQL server at start-up */
  databaseWaitS: number;
  dataDir: string;
  deploymentPath: string;
  logLevel: (typeof logLevels)[number];
  /** where people reach the product (no trailing slash); unset: the listening address */
  publicBaseUrl: string | undefined;
  /** express "trust proxy" */
  trustProxy: boolean | number | string;
  deployment: Deployment;
  encryptionKey: string | undefined;
  telegram: { token: string; mode: 'polling' | 'webhook'; webhookSecret: string | undefined; apiRoot: string } | undefined;
  forwarding: { url: string; secret: string; maxAttempts: number; timeoutMs: number } | undefined;
  reminderCron: string;
  telegramSendRate: number;
  wecom: WecomConfig | undefined;
  wecomSendRate: number;
  /** the 微信客服 account's link (https://work.weixin.qq.com/kfid/kfc…), for the village posters' second QR code */
  wecomKfLink: string | undefined;
  /** attempts before a staff message is dead-lettered (the same setting as forwarding) */
  deliveryMaxAttempts: number;
};

function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  return out;
}

export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const result = envSchema
    .superRefine((e, ctx) => {
      if (e.INTAKE_WEBHOOK_URL && !e.INTAKE_WEBHOOK_SECRET)
        ctx.addIssue({ code: 'custom', path: ['INTAKE_WEBHOOK_SECRET'], message: 'required when INTAKE_WEBHOOK_URL is set' });
      const wecomParts = ['WECOM_AGENT_ID', 'WECOM_AGENT_SECRET', 'WECOM_CALLBACK_TOKEN', 'WECOM_CALLBACK_AES_KEY'] as const;
      const wecomOptional = ['WECOM_KF_SECRET', 'WECOM_KF_CALLBACK_TOKEN', 'WECOM_KF_CALLBACK_AES_KEY'] as const;
      if (e.WECOM_CORP_ID) {
        for (const k of wecomParts) if (!e[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'required when WECOM_CORP_ID is set' });
      } else {
        for (const k of [...wecomParts, ...wecomOptional]) if (e[k]) ctx.addIssue({ code: 'custom', path: ['WECOM_CORP_ID'], message: `required when ${k} is set (the WeCom channel is partly configured)` });
      }
      if (e.TELEGRAM_MODE === 'webhook' && e.TELEGRAM_BOT_TOKEN && !e.TELEGRAM_WEBHOOK_SECRET)
        ctx.addIssue({ code: 'custom', path: ['TELEGRAM_WEBHOOK_SECRET'], message: 'required when TELEGRAM_MODE=webhook' });
    })
    .safeParse(withoutEmpty(env));
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const shown = docs.get(name)?.secret ? '' : env[name] === undefined ? ' (not set)' : ` (got ${JSON.stringify(env[name])})`;
    return `${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError('Invalid environment variables:', problems);
}

/** TRUST_PROXY as express's "trust proxy" setting: a boolean, a hop count, or a list of addresses. */
export function trustProxyValue(v: string): boolean | number | string {
  if (v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** A .env file in the working directory fills in the variables the environment leaves unset. */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = resolve(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Reads the environment and the deployment file; throws ConfigError listing every problem found. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = parseEnv(env);
  const deploymentPath = parsed.DEPLOYMENT_CONFIG ? resolve(cwd, parsed.DEPLOYMENT_CONFIG) : SAMPLE_DEPLOYMENT;
  const deployment = loadDeployment(deploymentPath);
  return {
    port: parsed.PORT,
    databaseUrl: parsed.DATABASE_URL,
    databaseWaitS: parsed.DATABASE_WAIT_S,
    dataDir: resolve(cwd, parsed.DATA_DIR),
    deploymentPath,
    logLevel: parsed.LOG_LEVEL,
    publicBaseUrl: parsed.PUBLIC_BASE_URL,
    trustProxy: trustProxyValue(parsed.TRUST_PROXY),
    deployment,
    encryptionKey: parsed.DATA_ENCRYPTION_KEY,
    telegram: parsed.TELEGRAM_BOT_TOKEN
      ? { token: parsed.TELEGRAM_BOT_TOKEN, mode: parsed.TELEGRAM_MODE, webhookSecret: parsed.TELEGRAM_WEBHOOK_SECRET, apiRoot: parsed.TELEGRAM_API_ROOT }
      : undefined,
    forwarding:
      parsed.INTAKE_WEBHOOK_URL && parsed.INTAKE_WEBHOOK_SECRET
        ? { url: parsed.INTAKE_WEBHOOK_URL, secret: parsed.INTAKE_WEBHOOK_SECRET, maxAttempts: parsed.OUTBOX_MAX_ATTEMPTS, timeoutMs: parsed.OUTBOX_TIMEOUT_MS }
        : undefined,
    reminderCron: parsed.REMINDER_CRON,
    wecomSendRate: parsed.WECOM_SEND_RATE,
    wecomKfLink: parsed.WECOM_KF_LINK,
    wecom: parsed.WECOM_CORP_ID
      ? {
          corpId: parsed.WECOM_CORP_ID,
          agentId: parsed.WECOM_AGENT_ID!,
          agentSecret: parsed.WECOM_AGENT_SECRET!,
          callbackToken: parsed.WECOM_CALLBACK_TOKEN!,
          callbackAesKey: parsed.WECOM_CALLBACK_AES_KEY!,
          apiRoot: parsed.WECOM_API_ROOT,
          kf: {
            secret: parsed.WECOM_KF_SECRET ?? parsed.WECOM_AGENT_SECRET!,
            callbackToken: parsed.WECOM_KF_CALLBACK_TOKEN ?? parsed.WECOM_CALLBACK_TOKEN!,
            callbackAesKey: parsed.WECOM_KF_CALLBACK_AES_KEY ?? parsed.WECOM_CALLBACK_AES_KEY!,
          },
        }
      : undefined,
    telegramSendRate: parsed.TELEGRAM_SEND_RATE,
    deliveryMaxAttempts: parsed.OUTBOX_MAX_ATTEMPTS,
  };
}

/** The variables as documentation rows, in schema order (used for README and .env.example). */
export function envDocs(): Array<{ name: string; default: string | undefined; required: boolean } & Doc> {
  return Object.entries(envSchema.shape).map(([name, schema]) => {
    const doc = docs.get(name);
    if (!doc) throw new Error(`environment variable ${name} has no description`);
    const probe = (schema as z.ZodType).safeParse(undefined);
    const required = !probe.success;
    const dflt = probe.success && probe.data !== undefined ? String(probe.data) : undefined;
    return { name, default: dflt, required, ...doc };
  });
}

/** The text of .env.example, generated from the schema. A test keeps the committed file equal to it. */
export function renderEnvExample(): string {
  const lines = ['# Generated from server/config.ts by `npm run docs:config`. Every variable is optional unless marked required.', ''];
  for (const row of envDocs()) {
    lines.push(`# ${row.description}`);
    if (row.default !== undefined) lines.push(`# Default: ${row.default}`);
    if (row.required) lines.push('# Required.');
    lines.push(`${row.required ? '' : '# '}${row.name}=${row.example ?? row.default ?? ''}`, '');
  }
  return lines.join('\n');
}

/** The configuration table in README.md, between its markers, generated from the schema. */
export function renderEnvTable(): string {
  const rows = envDocs().map(
    (row) => `| \`${row.name}\` | ${row.default !== undefined ? `\`${row.default}\`` : row.required ? 'required' : 'unset'} | ${row.description} |`,
  );
  return ['| variable | default | what it does |', '|---|---|---|', ...rows].join('\n');
}
