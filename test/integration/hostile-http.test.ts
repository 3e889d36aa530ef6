import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Running } from '../../server/main.ts';
import { createTokens } from '../../server/intake/tokens.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { startFakeBotApi, WEBHOOK_SECRET, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

// What an unauthenticated or hostile caller can make the HTTP side do: grow the metrics without bound, put a raw
// path in the log, make the server parse a body before it knows who is asking, or answer 500 to a client's mistake.

const NOW = new Date('2026-11-24T02:00:00Z');

/** A raw request (supertest and fetch normalise what we want to send badly). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string) {
  const u = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe(`hostile HTTP callers, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let app: Running;
  let token = '';
  const log = memoryLogger();

  beforeAll(async () => {
    place = await freshDatabase();
    api = await startFakeBotApi();
    app = await startWithTelegram(place, api, log.logger, NOW, { manual: true });
    token = (await createTokens(app.db).create('county', { kind: 'county', code: '530925' })).token;
    await app.intake.receiveLead(newLead(), NOW);
  });
  afterAll(async () => {
    await app.stop();
    await api.close();
    await place.cleanup();
  });

  const linesSince = (n: number) => log.lines().slice(n);

  it('labels metrics and request logs by route pattern or "(unmatched)", never by the raw path', async () => {
    const before = (await (await fetch(`${app.url}/metrics`)).text()).length;
    const mark = log.lines().length;
    for (let i = 0; i < 300; i++) {
      const r = await raw(app.url, 'POST', `/x/1380013${String(i).padStart(4, '0')}`, { 'content-type': 'application/json' }, '{');
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
    // a lead id in a route's path is a parameter: labelled by the pattern
    await fetch(`${app.url}/api/v1/leads/13800138000`, { headers: { authorization: `Bearer ${token}` } });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).not.toMatch(/1380013/);
    expect(metrics).toMatch(/http_requests_total\{method="POST",route="\(unmatched\)",status="404"\} 300/);
    expect(metrics).toMatch(/route="\/api\/v1\/leads\/:id"/);
    // 300 distinct paths added a handful of series, not hundreds
    expect(metrics.length - before).toBeLessThan(6000);
    const lines = linesSince(mark);
    expect(lines.filter((l) => l.msg === 'http request')).toHaveLength(301);
    expect(JSON.stringify(lines)).not.toMatch(/1380013/);
  });

  it('does not read a body before the caller is known: no token, no secret → 401, whatever the body', async () => {
    const bad = '{'.repeat(10);
    let r = await raw(app.url, 'POST', '/api/v1/leads/7b0c2ad4-4ec4-4a8e-9e83-2b1a5d0a9f11/events', { 'content-type': 'application/json' }, bad);
    expect(r.status).toBe(401);
    r = await raw(app.url, 'POST', '/telegram/webhook', { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong-secret-0000000' }, bad);
    expect(r.status).toBe(401);
    // the same body with the token is read, and refused as what it is
    r = await raw(app.url, 'POST', '/api/v1/leads/7b0c2ad4-4ec4-4a8e-9e83-2b1a5d0a9f11/events', { 'content-type': 'application/json', authorization: `Bearer ${token}` }, bad);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('bad_json');
    // a 2 MB body without a token is refused before it is read into memory as JSON
    r = await raw(app.url, 'POST', '/api/v1/leads/7b0c2ad4-4ec4-4a8e-9e83-2b1a5d0a9f11/events', { 'content-type': 'application/json' }, JSON.stringify({ a: 'x'.repeat(2_000_000) }));
    expect(r.status).toBe(401);
  });

  it('answers a client\'s mistakes with 4xx and one log line without the payload, never 500', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const mark = log.lines().length;
    const leadPath = '/api/v1/leads/7b0c2ad4-4ec4-4a8e-9e83-2b1a5d0a9f11/events';
    const cases: Array<{ what: string; send: () => Promise<{ status: number; body: string }>; status: number; code: string }> = [
      {
        what: 'a charset other than UTF-8',
        send: () => raw(app.url, 'POST', leadPath, { ...auth, 'content-type': 'application/json; charset=latin1' }, '{"to":"visited"}'),
        status: 415,
        code: 'unsupported_charset',
      },
      {
        what: 'an unknown Content-Encoding',
        send: () => raw(app.url, 'POST', leadPath, { ...auth, 'content-type': 'application/json', 'content-encoding': 'x-secret-13800138000' }, '{"to":"visited"}'),
        status: 415,
        code: 'unsupported_encoding',
      },
      {
        what: 'a gzip body that is not gzip',
        send: () => raw(app.url, 'POST', leadPath, { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, 'not gzip 13800138000'),
        status: 400,
        code: 'bad_body',
      },
      {
        what: 'a year-0 date filter',
        send: () => raw(app.url, 'GET', '/api/v1/leads?receivedFrom=0000-01-01', auth),
        status: 400,
        code: 'bad_request',
      },
      {
        what: 'a date filter after the year 2099',
        send: () => raw(app.url, 'GET', '/api/v1/leads?receivedTo=9999-12-31', auth),
        status: 400,
        code: 'bad_request',
      },
      {
        what: 'deeply nested JSON to the API',
        send: () => raw(app.url, 'POST', leadPath, { ...auth, 'content-type': 'application/json' }, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`),
        status: 400,
        code: 'too_deep',
      },
      {
        what: 'deeply nested JSON to the webhook',
        send: () =>
          raw(app.url, 'POST', '/telegram/webhook', { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET }, `{"update_id":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
        status: 400,
        code: 'too_deep',
      },
      {
        what: 'a Telegram callback without `from`',
        send: () =>
          raw(
            app.url,
            'POST',
            '/telegram/webhook',
            { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
            JSON.stringify({ update_id: 991, callback_query: { id: '1', chat_instance: 'c', data: 'start:new 13800138000' } }),
          ),
        status: 400,
        code: 'bad_update',
      },
      {
        what: 'a Telegram message whose `from` is not a user',
        send: () =>
          raw(
            app.url,
            'POST',
            '/telegram/webhook',
            { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
            JSON.stringify({ update_id: 992, message: { message_id: 1, date: 1, chat: { id: 5, type: 'private' }, from: 'x', text: '13800138000' } }),
          ),
        status: 400,
        code: 'bad_update',
      },
    ];
    for (const c of cases) {
      const r = await c.send();
      expect({ what: c.what, status: r.status }).toEqual({ what: c.what, status: c.status });
      expect({ what: c.what, code: (JSON.parse(r.body) as { error: { code: string } }).error.code }).toEqual({ what: c.what, code: c.code });
    }
    const lines = linesSince(mark);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(JSON.stringify(lines)).not.toMatch(/13800138000|stack/);
    // one line per request: the request log line only
    expect(lines).toHaveLength(cases.length);
    // a gzip body that is gzip is read
    const ok = await raw(app.url, 'GET', '/api/v1/leads?receivedFrom=2026-01-01', auth);
    expect(ok.status).toBe(200);
    const zipped = await raw(app.url, 'POST', leadPath, { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync('{"to":"visited","judgement":"fits"}'));
    expect(zipped.status).toBe(404); // read and understood: that lead does not exist
  });
});
