import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { loadConfig, loadDotEnv, ConfigError, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { openDatabase, type Database } from './db/index.ts';
import { createMetrics } from './metrics.ts';
import { createApp, finishApp } from './http/app.ts';
import { displayPath } from './config-error.ts';

export type Running = {
  config: Config;
  db: Database;
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
};

export async function start(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Running> {
  const db = await openDatabase(config);
  let server: Server | undefined;
  try {
    const applied = await db.migrate();
    logger.info({ database: db.kind, applied }, applied.length ? 'applied database migrations' : 'database schema is up to date');
    if (db.kind === 'pglite') logger.info({ dataDir: displayPath(config.dataDir) }, 'using the embedded database');

    let shuttingDown = false;
    const metrics = createMetrics();
    const app = createApp({ db, logger, metrics, isShuttingDown: () => shuttingDown });
    opts.routes?.(app);
    finishApp(app, logger);

    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, opts.host ?? '0.0.0.0', () => resolve(s));
      s.once('error', reject);
    });
    const listening = server;
    const address = listening.address() as AddressInfo;
    const url = `http://127.0.0.1:${address.port}`;
    logger.info({ port: address.port, deployment: displayPath(config.deploymentPath) }, 'listening');

    let stopping: Promise<void> | undefined;
    const stop = (reason = 'stop') => {
      stopping ??= (async () => {
        shuttingDown = true;
        logger.info({ reason }, 'shutting down: no new requests, finishing those in flight');
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
    return { config, db, server: listening, url, stop };
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
    logger.fatal({ err: e }, 'start-up failed');
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.stop(signal).then(
        () => process.exit(0),
        (e) => {
          logger.error({ err: e }, 'error while shutting down');
          process.exit(1);
        },
      );
    });
  }
}


