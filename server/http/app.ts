import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../log.ts';
import type { Database } from '../db/index.ts';
import type { Metrics } from '../metrics.ts';
import { pickLanguage, tFor } from '../i18n.ts';
import { errorFields } from '../errors.ts';

export type AppDeps = { db: Database; logger: Logger; metrics: Metrics; isShuttingDown: () => boolean; /** express "trust proxy" (TRUST_PROXY); default: no proxy is believed */ trustProxy?: boolean | number | string };

/** A JSON error with a stable code; `message` is in the caller's language (Accept-Language). */
export function sendError(req: Request, res: Response, status: number, code: string, key: string, params: Record<string, unknown> = {}, details?: unknown): void {
  const t = tFor(pickLanguage(req.get('accept-language')));
  res.status(status).json({ error: { code, message: t(key, params), ...(details !== undefined ? { details } : {}) } });
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The label of a request in metrics and logs: the matched route's pattern (`/api/v1/leads/:id`), else the group a
 * mount point gave it (`/api/v1`, for a request its router refused before any route), else "(unmatched)". Never
 * the raw path: it is unbounded (each distinct path would be a new metric series) and may carry personal data.
 */
function routeLabel(req: Request, res: Response): string {
  if (req.route?.path && typeof req.route.path === 'string') return `${typeof res.locals.mount === 'string' ? res.locals.mount : req.baseUrl}${req.route.path}`;
  return typeof res.locals.routeGroup === 'string' ? res.locals.routeGroup : '(unmatched)';
}

/** Marks the requests under a mount point, so a refusal before any of its routes matched is labelled by it. */
export function routeGroup(label: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.routeGroup = label;
    res.locals.mount = label;
    next();
  };
}

/**
 * One log line per request: method, route pattern, status, duration. Never the path, query string, body or
 * headers, which may carry personal data or tokens.
 */
function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeLabel(req, res);
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method, route }, seconds);
      if (route === '/healthz' || route === '/readyz' || route === '/metrics') return;
      logger.info({ method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http request');
    });
    next();
  };
}

/** Deeper than this, a JSON body is refused before it is parsed (JSON.stringify of it would overflow the stack). */
export const MAX_JSON_DEPTH = 64;

class TooDeep extends Error {
  status = 400;
  expose = true;
  type = 'entity.too.deep';
}

/** Scans raw JSON for its nesting depth, strings skipped; throws past `max`. */
export function checkJsonDepth(buf: Buffer, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw new TooDeep('too deep');
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * A JSON body parser for one route or router, mounted after its authentication: nothing is read before the
 * caller is known. UTF-8 only; gzip, deflate and br are inflated; nesting is limited.
 */
export function jsonBody(limit: string): RequestHandler {
  return express.json({ limit, verify: (_req, _res, buf) => checkJsonDepth(buf) });
}

/** body-parser's error types, as answers: status and stable code. */
const BODY_ERRORS: Record<string, [number, string]> = {
  'entity.too.large': [413, 'too_large'],
  'entity.parse.failed': [400, 'bad_json'],
  'entity.too.deep': [400, 'too_deep'],
  'charset.unsupported': [415, 'unsupported_charset'],
  'encoding.unsupported': [415, 'unsupported_encoding'],
};

export function createApp(deps: AppDeps) {
  const { db, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-* are believed only from the proxies TRUST_PROXY names: anyone could send them otherwise.
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(requestLog(logger, metrics));
  app.use((req, res, next) => {
    if (deps.isShuttingDown()) {
      res.set('connection', 'close');
      return sendError(req, res, 503, 'shutting_down', 'http.shutting_down');
    }
    next();
  });
  // No body parser here: each route reads its body after it knows who is asking (jsonBody).

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
    const e = err as { type?: string; status?: number; expose?: boolean; limit?: number };
    // A client's mistake (a body that is too large, not JSON, not UTF-8, compressed in an unknown way, cut off):
    // a 4xx with a stable code; the request log line is the only line about it.
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose !== false) {
      const [status, code] = BODY_ERRORS[e.type ?? ''] ?? [e.status, 'bad_body'];
      if (res.headersSent) return void res.destroy();
      return sendError(req, res, status, code, `http.${code}`, code === 'too_large' ? { limit: e.limit ? `${Math.round(e.limit / 1024)} KB` : '' } : {});
    }
    logger.error({ err: errorFields(err) }, 'unhandled error in request');
    if (res.headersSent) return void res.destroy(); // a stream cut half-way: the client sees the failure

    sendError(req, res, 500, 'internal', 'http.internal');
  };
  app.use(onError);
}
