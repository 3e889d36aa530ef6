import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../log.ts';
import type { Database } from '../db/index.ts';
import type { Metrics } from '../metrics.ts';
import { pickLanguage, tFor } from '../i18n.ts';
import { errorFields } from '../errors.ts';

export type AppDeps = { db: Database; logger: Logger; metrics: Metrics; isShuttingDown: () => boolean };

/** A JSON error with a stable code; `message` is in the caller's language (Accept-Language). */
export function sendError(req: Request, res: Response, status: number, code: string, key: string, params: Record<string, unknown> = {}, details?: unknown): void {
  const t = tFor(pickLanguage(req.get('accept-language')));
  res.status(status).json({ error: { code, message: t(key, params), ...(details !== undefined ? { details } : {}) } });
}

/**
 * One log line per request: method, route pattern, status, duration. Never the query string, body or headers,
 * which may carry personal data or tokens.
 */
function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : res.statusCode === 404 ? '(unmatched)' : req.baseUrl || req.path;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      if (route === '/healthz' || route === '/readyz' || route === '/metrics') return;
      logger.info({ method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http request');
    });
    next();
  };
}

export function createApp(deps: AppDeps) {
  const { db, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestLog(logger, metrics));
  app.use((req, res, next) => {
    if (deps.isShuttingDown()) {
      res.set('connection', 'close');
      return sendError(req, res, 503, 'shutting_down', 'http.shutting_down');
    }
    next();
  });
  app.use(express.json({ limit: '1mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await db.readiness();
    res.status(r.ok ? 200 : 503).json({ status: r.ok ? 'ready' : 'not_ready', database: db.kind, pendingMigrations: r.pending, ...(r.error ? { error: r.error } : {}) });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  return app;
}

/** Added after every route: unknown paths and errors become JSON. */
export function finishApp(app: express.Express, logger: Logger): void {
  app.use((req, res) => sendError(req, res, 404, 'not_found', 'http.not_found'));
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e = err as { type?: string; status?: number; name?: string };
    if (e.type === 'entity.too.large') return sendError(req, res, 413, 'too_large', 'http.too_large');
    if (e.type === 'entity.parse.failed') return sendError(req, res, 400, 'bad_json', 'http.bad_json');
    logger.error({ err: errorFields(err) }, 'unhandled error in request');
    if (res.headersSent) return void res.destroy(); // a stream cut half-way: the client sees the failure

    sendError(req, res, 500, 'internal', 'http.internal');
  };
  app.use(onError);
}
