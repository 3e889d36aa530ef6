import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readdirSync } from 'node:fs';
import { MIGRATIONS_DIR } from '../../server/db/schema-engine.ts';
import request from 'supertest';
import pg from 'pg';
import { start, type Running } from '../../server/main.ts';
import { openDatabase } from '../../server/db/index.ts';
import { createApp, finishApp } from '../../server/http/app.ts';
import { createMetrics } from '../../server/metrics.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { createTokens } from '../../server/intake/tokens.ts';

describe(`HTTP on ${TEST_DB}`, () => {
  let place: TestPlace;
  let running: Running | undefined;
  beforeEach(async () => {
    place = await freshDatabase();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await place.cleanup();
  });

  it('answers health, readiness and metrics, and JSON errors in the caller\'s language', async () => {
    const log = memoryLogger();
    running = await start(testConfig(place), log.logger, { host: '127.0.0.1' });
    const http = request(running.url);

    expect((await http.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: TEST_DB, pendingMigrations: [] });

    const missing = await http.get('/no/such/page?phone=13800138000');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'not_found', message: '没有这个地址。' } });
    const english = await http.get('/no/such/page').set('accept-language', 'en-GB');
    expect(english.body.error.message).toBe('There is nothing at this address.');

    // bodies are read by the routes that take one, after the caller is known: a body to an unknown path is not read
    const nowhere = await http.post('/anything').set('content-type', 'application/json').send('{"a":');
    expect(nowhere.status).toBe(404);
    const { token } = await createTokens(running.db).create('county', { kind: 'county', code: '530925' });
    const events = '/api/v1/leads/7b0c2ad4-4ec4-4a8e-9e83-2b1a5d0a9f11/events';
    const badJson = await http.post(events).set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send('{"a":');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('bad_json');
    const huge = await http.post(events).set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send(JSON.stringify({ a: 'x'.repeat(100_000) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error).toEqual({ code: 'too_large', message: '请求内容太大（上限 64 KB）。' });

    const metrics = await http.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\(unmatched\)",status="404"\} 2/);
    expect(metrics.text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1",status="400"\} 1/);

    // Request log: one line per request, with the route but never the query string.
    const requests = log.lines().filter((l) => l.msg === 'http request');
    expect(requests).toHaveLength(5);
    expect(log.text()).not.toContain('13800138000');
  });

  it('reports not ready while migrations are missing', async () => {
    await place.cleanup();
    place = await freshDatabase({ empty: true });
    const db = await openDatabase(place);
    try {
      const app = createApp({ db, logger: memoryLogger().logger, metrics: createMetrics(), isShuttingDown: () => false });
      finishApp(app, memoryLogger().logger);
      const before = await request(app).get('/readyz');
      expect(before.status).toBe(503);
      expect(before.body.status).toBe('not_ready');
      expect(before.body.pendingMigrations).toEqual(readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{14}_/.test(f)).sort());
      await db.migrate();
      expect((await request(app).get('/readyz')).status).toBe(200);
    } finally {
      await db.close();
    }
  });

  it('on stop, finishes the request in flight, refuses new ones, and closes the database', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    running = await start(testConfig(place), memoryLogger().logger, {
      host: '127.0.0.1',
      routes: (app) =>
        app.get('/slow', async (_req, res) => {
          entered();
          await gate;
          res.json({ finished: true });
        }),
    });
    const { url, db } = running;
    const slow = fetch(`${url}/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await inside;
    const stopped = running.stop('test');
    await vi.waitFor(() => expect(running!.server.listening).toBe(false), { timeout: 10_000, interval: 10 });
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    release();
    expect(await slow).toEqual({ status: 200, body: { finished: true } });
    await stopped;
    if (TEST_DB === 'pglite') {
      await expect(db.prisma.inboundUpdate.count()).rejects.toThrow();
    } else {
      // Prisma would reconnect on a new query, so look from the server's side: no connection of ours is left.
      const admin = new pg.Client({ connectionString: place.databaseUrl });
      await admin.connect();
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await admin.end();
      expect(rows[0].n).toBe(0);
    }
    running = undefined;
  });
});

describe(`stop right after start, ${TEST_DB}`, () => {
  it('does not hang when stopped while start-up work is still running', async () => {
    const place = await freshDatabase({ empty: true });
    try {
      const running = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1' });
      const stopped = running.stop('test');
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('stop() hung')), 15_000));
      await Promise.race([stopped, timeout]);
    } finally {
      await place.cleanup();
    }
  });
});
