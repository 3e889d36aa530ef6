import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type express from 'express';
import { loadConfig, loadDotEnv, ConfigError, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { DatabaseUnreachable, openDatabase, type Database } from './db/index.ts';
import { createMetrics } from './metrics.ts';
import { createApp, finishApp } from './http/app.ts';
import { displayPath } from './config-error.ts';
import cron from 'node-cron';
import type { UserFromGetMe } from 'grammy/types';
import { createCrypto, resolveMasterKey } from './crypto.ts';
import { createIntake, type Intake } from './intake/leads.ts';
import { createConversations, type Conversations } from '../bot/conversation.ts';
import type { Telegram } from '../bot/channels/telegram/index.ts';
import { createTokens } from './intake/tokens.ts';
import { createForwarding, type CountyForwarding } from './intake/forwarding.ts';
import { createOutbox, type Outbox } from './outbox/outbox.ts';
import { createMediaKeeper, type MediaKeeper } from './intake/media.ts';
import { createQueries } from './intake/queries.ts';
import { createExports } from './intake/export.ts';
import { apiRouter, openApiDocument } from './http/api.ts';
import { createStaffAccounts, type StaffAccounts } from './staff/accounts.ts';
import { createDeliveries, type Deliveries } from './staff/deliveries.ts';
import { createScheduler, type Scheduler } from './reminders/scheduler.ts';
import { createDesk } from '../bot/desk.ts';
import type { Wecom } from '../bot/channels/wecom/index.ts';
import { createWeb, type Web, type WebLimits } from '../bot/channels/web/index.ts';
import { postersHtml } from '../bot/channels/web/posters.ts';
import type { ChannelPort } from '../bot/channels/port.ts';
import { errorFields, isTransient } from './errors.ts';
import { allWarnings, warningText } from './places/commands.ts';
import { createConsoleAuth, type ConsoleAuth } from './console/auth.ts';

export type Running = {
  config: Config;
  db: Database;
  conversations: Conversations;
  telegram: Telegram | undefined;
  wecom: Wecom | undefined;
  /** the page a village poster's QR code opens (/r) */
  web: Web;
  intake: Intake;
  /** photos and voice notes fetched from their channel and kept */
  media: MediaKeeper;
  outbox: Outbox;
  forwarding: CountyForwarding;
  staff: StaffAccounts;
  deliveries: Deliveries;
  scheduler: Scheduler;
  consoleAuth: ConsoleAuth;
  /** where people reach the product: PUBLIC_BASE_URL, else this server's own address */
  baseUrl: string;
  server: Server;
  url: string;
  /** Stop accepting, finish in-flight requests, close the database. Safe to call twice. */
  stop(reason?: string): Promise<void>;
};

/** Composition root: database (migrated), HTTP. Later issues add the channels and the scheduler here. */
export type StartOptions = {
  host?: string;
  /** Extra routes mounted before the JSON 404 handler (used by tests; later modules mount theirs in start()). */
  routes?: (app: Express) => void;
  /** the clock the conversations use (tests) */
  now?: () => Date;
  /** how often the forwarding worker looks for deliveries due (tests make it short) */
  outboxIntervalMs?: number;
  /** known Telegram bot identity, so start-up needs no getMe (tests) */
  telegramBotInfo?: UserFromGetMe;
  /** how often the staff message worker runs (default 1 s); 0 leaves it off (tests drive deliverDue) */
  deliveryIntervalMs?: number;
  /** how often photos and voice notes are fetched from their channel and kept (default 15 s); 0: off (tests call media.keepDue) */
  mediaIntervalMs?: number;
  /** false leaves the reminder cron off (tests call scheduler.tick(now)) */
  scheduler?: boolean;
  /** the fetch the WeCom client uses (tests may count or break calls) */
  wecomFetch?: typeof fetch;
  /** the web page's request limits (tests make them small) */
  webLimits?: Partial<WebLimits>;
  /** the official division codes to check the place tree against (default: those `deployment init` fetched, if any) */
  divisionData?: string;
};

export async function start(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Running> {
  const db = await openDatabase({
    ...config,
    onRetry: (problem, attempt) => logger.warn({ attempt, problem, waitS: config.databaseWaitS }, 'PostgreSQL server not reachable yet; trying again'),
  });
  let server: Server | undefined;
  try {
    const applied = await db.migrate();
    logger.info({ database: db.kind, applied }, applied.length ? 'applied database migrations' : 'database schema is up to date');
    if (db.kind === 'pglite') logger.info({ dataDir: displayPath(config.dataDir) }, 'using the embedded database');
    // A place the official list lacks or a line not filled in is worth a word, never a refusal: a county with a
    // change newer than the codes' edition must still start.
    try {
      const { warnings } = await allWarnings(config.deployment, opts.divisionData);
      for (const w of warnings) logger.warn({ deploymentWarning: w.key, ...w.params }, warningText('en', w));
    } catch (e) {
      logger.warn({ err: errorFields(e) }, 'could not check the place tree against the official division codes; starting anyway');
    }

    const master = resolveMasterKey({ configured: config.encryptionKey, dataDir: config.dataDir, embedded: db.kind === 'pglite' });
    if (master.created) logger.warn({ keyFile: displayPath(master.created) }, 'created a new encryption key file for personal data: back it up with DATA_DIR');
    const crypto = createCrypto(master.key);
    // everything the workers send leaves through one outbox: the county system's deliveries and staff messages
    const outbox = createOutbox({ db, crypto, deployment: config.deployment, logger });
    const forwarding = createForwarding({ db, outbox, crypto, deployment: config.deployment, forwarding: config.forwarding });
    const staff = createStaffAccounts({ db, deployment: config.deployment });
    const intake = createIntake({ db, crypto, deployment: config.deployment, forwarding, isContactPerson: (id, village, tx) => staff.isContactPerson(id, village, tx) });
    const media = createMediaKeeper({ db, crypto, logger });
    const metrics = createMetrics();
    const deliveries = createDeliveries({ outbox, crypto, maxAttempts: config.deliveryMaxAttempts });
    const consoleAuth = createConsoleAuth({ db, isActiveStaff: async (id) => (await staff.byId(id)) !== undefined });
    // the listening address is known only after listen(): links made before then wait for it
    let baseUrl = config.publicBaseUrl ?? '';
    const consoleLinkUrl = (token: string) => `${baseUrl}/console/login?t=${token}`;
    const desk = createDesk({
      intake,
      accounts: staff,
      deliveries,
      crypto,
      deployment: config.deployment,
      logger,
      webLink: async (staffId, now) => {
        const r = await consoleAuth.issueLink(staffId, now);
        return r.ok ? { ok: true, url: consoleLinkUrl(r.token), expiresAt: r.expiresAt } : { ok: false, waitSeconds: r.waitSeconds };
      },
    });
    intake.onReceived((tx, leadId, now) => desk.noticeNewLead(tx, leadId, now));
    // a staff member who blocked the bot: the desk tells whoever they escalate to, once
    deliveries.onUnreachable((id, now) => desk.unreachable(id, now, db.prisma));
    const scheduler = createScheduler({ db, deployment: config.deployment, deliveries, logger, render: (s, list) => desk.renderReminders(s, list) });
    const conversations = createConversations({ db, crypto, intake, deployment: config.deployment, logger, metrics, desk, ...(opts.now ? { now: opts.now } : {}) });

    let shuttingDown = false;
    const app = createApp({ db, logger, metrics, isShuttingDown: () => shuttingDown, trustProxy: config.trustProxy });
    // Each channel's code (grammY; the WeCom XML and crypto) is loaded only when that channel is configured.
    const telegram = config.telegram ? (await import('../bot/channels/telegram/index.ts')).createTelegram({ ...config.telegram, ...(opts.telegramBotInfo ? { botInfo: opts.telegramBotInfo } : {}) }, { conversations, logger }) : undefined;
    if (telegram) telegram.mount(app);
    else logger.info('telegram channel off (TELEGRAM_BOT_TOKEN not set)');
    const wecom = config.wecom ? (await import('../bot/channels/wecom/index.ts')).createWecom(config.wecom, { db, crypto, conversations, logger, ...(opts.wecomFetch ? { fetch: opts.wecomFetch } : {}) }) : undefined;
    if (wecom) wecom.mount(app);
    else logger.info('wecom channel off (WECOM_CORP_ID not set)');
    // the web page is always there: a poster's QR code needs nothing configured
    const web = createWeb({ db, crypto, conversations, logger, stageByReceipt: (receipt, tail) => intake.stageByReceipt(receipt, tail), baseUrl: () => baseUrl, ...(opts.webLimits ? { limits: opts.webLimits } : {}) });
    web.mount(app);
    // every channel through its port: the staff outbox sends with it, the media keeper fetches with it
    const ports: Array<[ChannelPort, number]> = [
      ...(telegram ? [[telegram.port, config.telegramSendRate] as [ChannelPort, number]] : []),
      ...(wecom ? [wecom.kf, wecom.app].map((p) => [p, config.wecomSendRate] as [ChannelPort, number]) : []),
      [web.port, 1000],
    ];
    for (const [port, ratePerSecond] of ports) {
      deliveries.registerSender(port.channel, {
        ratePerSecond,
        ...(port.perChat ? { perChat: port.perChat } : {}),
        send: (chatId, out) => port.send(chatId, out),
      });
      if (port.fetchMedia) media.registerSource(port.channel, port.fetchMedia);
    }
    const tokens = createTokens(db);
    const queries = createQueries({ db, crypto, deployment: config.deployment });
    app.get('/api/openapi.json', (_req, res) => {
      res.json(openApiDocument());
    });
    const exports = createExports({ db, crypto, deployment: config.deployment });
    app.use('/api/v1', apiRouter({ intake, queries, tokens, exports, ...(opts.now ? { now: opts.now } : {}) }));
    // The county console's pages (and their code) are loaded with the first request for one, not at start-up.
    let consoleRoutes: Promise<express.Router> | undefined;
    app.use('/console', (req, res, next) => {
      consoleRoutes ??= import('./console/routes.ts').then(({ consoleRouter }) =>
        consoleRouter({ auth: consoleAuth, intake, queries, exports, forwarding, staff, deliveries, tokens, deployment: config.deployment, logger, baseUrl: () => baseUrl,
          // the village posters' QR codes open the web page (the console learns nothing of it but this)
          posters: (township, villages, language) => postersHtml({ deployment: config.deployment, township, villages, baseUrl, kfLink: config.wecomKfLink, language }),
          ...(opts.now ? { now: opts.now } : {}) }),
      );
      consoleRoutes.then((router) => router(req, res, next), next);
    });
    opts.routes?.(app);
    finishApp(app, logger);

    // Drafts never submitted are deleted 30 days after their last answer, what the outbox sent or gave up 30 days
    // after it was made (checked at start and nightly).
    let purging: Promise<unknown> = Promise.resolve();
    const purge = () =>
      (purging = (async () => {
        // on the product's clock (a test's fixed clock too: a purge on the wall clock would delete its fresh rows)
        const now = opts.now?.() ?? new Date();
        const drafts = await conversations.purgeDrafts(now);
        const messages = await outbox.purge(now);
        const reminders = await scheduler.purge(now);
        const sessions = await consoleAuth.purge(now);
        const pages = await web.purge(now, config.deployment.retention.draftDays);
        if (drafts + messages + reminders + sessions + pages > 0) logger.info({ drafts, messages, reminders, sessions, pages }, 'deleted expired drafts, old outbox rows, reminder keys, console log-ins and web pages');
      })().catch((e: unknown) =>
        // a database that is away for now (an outage at start-up) is the outage's, said by /readyz and the workers;
        // the purge runs again the next night
        isTransient(e) ? logger.warn({ err: errorFields(e) }, 'purge could not reach the database; it runs again the next night') : logger.error({ err: errorFields(e) }, 'nightly purge failed'),
      ));
    void purge();
    const purgeJob = cron.schedule('17 3 * * *', purge, { timezone: config.deployment.timezone });

    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, opts.host ?? '0.0.0.0', () => resolve(s));
      s.once('error', reject);
    });
    const listening = server;
    // An idle keep-alive connection is for the client to close (undici after 4 s; a reverse proxy after its own
    // upstream timeout, often 60 s), not the server: a server that closes first races the client's next request on
    // that socket, which then fails with ECONNRESET (a 502 behind nginx). Node's default is 5 s; headersTimeout
    // must stay above it.
    listening.keepAliveTimeout = 65_000;
    listening.headersTimeout = 66_000;
    if (telegram) await telegram.start();
    if (wecom) await wecom.start();
    if (config.forwarding) outbox.start('county', opts.outboxIntervalMs ?? 2000);
    if (opts.mediaIntervalMs !== 0) media.start(opts.mediaIntervalMs ?? 15_000, opts.now);
    if (opts.deliveryIntervalMs !== 0) outbox.start('staff', opts.deliveryIntervalMs ?? 1000, opts.now);
    if (opts.scheduler !== false) scheduler.start(config.reminderCron, opts.now);
    if (config.forwarding) logger.info({ maxAttempts: config.forwarding.maxAttempts }, 'forwarding leads to the county system');
    const address = listening.address() as AddressInfo;
    const url = `http://127.0.0.1:${address.port}`;
    if (!config.publicBaseUrl) baseUrl = `http://localhost:${address.port}`;
    logger.info({ port: address.port, deployment: displayPath(config.deploymentPath) }, 'listening');

    let stopping: Promise<void> | undefined;
    const stop = (reason = 'stop') => {
      stopping ??= (async () => {
        shuttingDown = true;
        logger.info({ reason }, 'shutting down: no new requests, finishing those in flight');
        await purgeJob.stop();
        await telegram?.stop();
        await wecom?.stop();
        await scheduler.stop();
        await outbox.stop();
        await media.stop();
        // PGlite's close() does not wait for a query in flight: let the start-up purge finish first.
        await purging;
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        const timer = setTimeout(() => listening.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(timer);
        await db.close();
        logger.info('stopped');
      })();
      return stopping;
    };
    return { config, db, conversations, telegram, wecom, web, intake, media, outbox, forwarding, staff, deliveries, scheduler, consoleAuth, baseUrl, server: listening, url, stop };
  } catch (e) {
    server?.close();
    await db.close();
    throw e;
  }
}

/** `npm start`: read configuration, start, stop cleanly on SIGTERM/SIGINT. Exit 2 on a configuration problem. */
export async function main(): Promise<void> {
  let config: Config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`\n${e.message}\n\nNothing was started. See README.md, "Configuration".\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  let running: Running;
  try {
    running = await start(config, logger);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`\n${e.message}\n\nNothing was started.\n`);
      process.exit(2);
    }
    // the database is down (an outage, not a setting): exit 1, which a supervisor restarts after its delay
    if (e instanceof DatabaseUnreachable) {
      process.stderr.write(`\n${e.message}\n  (tried for ${config.databaseWaitS} s: DATABASE_WAIT_S)\n\nNothing was started.\n`);
      process.exit(1);
    }
    logger.fatal({ err: errorFields(e) }, 'start-up failed');
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.stop(signal).then(
        () => process.exit(0),
        (e) => {
          logger.error({ err: errorFields(e) }, 'error while shutting down');
          process.exit(1);
        },
      );
    });
  }
}


