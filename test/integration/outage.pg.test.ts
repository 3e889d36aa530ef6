import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { REPO_ROOT } from '../../server/config.ts';
import { createCrypto } from '../../server/crypto.ts';
import { freshDatabase, TEST_ENCRYPTION_KEY } from '../helpers/db.ts';
import { spawnServer } from '../helpers/process.ts';
import { BOT_TOKEN, WEBHOOK_SECRET, startFakeBotApi, telegramPerson } from '../fakes/bot-api.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

/** Resolves once `check` holds; polls the condition (the event itself), up to `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The county's system: records each forwarded event it is sent. */
async function startCountyReceiver() {
  const received: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/intake`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// The shared PostgreSQL server is never stopped: the app reaches it through a TCP relay that the test cuts.
// PGlite runs inside the process and has no server to lose, so this is a PostgreSQL test only.
describe('a PostgreSQL outage (the server goes away, then comes back)', () => {
  it('does not end the process: not ready and webhook refused while down, every worker logs its failed rounds and resumes after', async () => {
    const place = await freshDatabase();
    const real = new URL(place.databaseUrl!);
    const proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
    const viaProxy = new URL(real);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const api = await startFakeBotApi();
    const county = await startCountyReceiver();
    // the sample deployment without quiet hours, so the staff message worker reads the database at any hour
    const deploymentDir = mkdtempSync(join(tmpdir(), 'outage-'));
    const deployment = join(deploymentDir, 'deployment.yaml');
    const sample = readFileSync(join(REPO_ROOT, 'server', 'deployments', '530925-shuangjiang.yaml'), 'utf8');
    writeFileSync(deployment, sample.replace(/quietHours: \{[^}]*\}/, 'quietHours: { from: "00:00", to: "00:00" }'));
    const server = spawnServer({
      DATABASE_URL: viaProxy.toString(),
      DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      DATA_DIR: place.dataDir,
      DEPLOYMENT_CONFIG: deployment,
      PORT: '0',
      LOG_LEVEL: 'info',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TELEGRAM_API_ROOT: api.url,
      INTAKE_WEBHOOK_URL: county.url,
      INTAKE_WEBHOOK_SECRET: 'county-secret-0123456789',
      REMINDER_CRON: '* * * * * *', // every second, so the test sees several ticks fail
    });
    const direct = new pg.Client({ connectionString: place.databaseUrl });
    try {
      const lines = () =>
        server
          .stdout()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level: string; msg: string; err?: Record<string, unknown> });
      const count = (msg: string) => lines().filter((l) => l.msg === msg).length;
      const { port } = (await server.waitForLog('listening', 120_000)) as { port: number };
      const base = `http://127.0.0.1:${port}`;
      const gone = () => new Error(`the server process is gone (exit code ${server.child.exitCode}):\n${server.stderr()}`);
      const get = (path: string) => fetch(`${base}${path}`).catch(() => Promise.reject(gone()));
      const person = telegramPerson(`${base}/telegram/webhook`, api, 4242);
      expect((await get('/readyz')).status).toBe(200);
      expect((await person.say('/start')).status).toBe(200);

      proxy.cut();
      const down = await get('/readyz');
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'not_ready', error: 'database unreachable' });
      // Telegram sends an update until it gets a 200: this one must not be taken as done
      const update = person.textUpdate('/help');
      const refused = await person.deliver(update).catch(() => Promise.reject(gone()));
      expect(refused.status).toBeGreaterThanOrEqual(500);
      expect(refused.texts).toEqual([]);

      // Each worker fails round after round and keeps going: one line per failed round.
      const workers = ['forwarding round failed', 'staff delivery round failed', 'reminder tick failed'];
      await until('every worker to fail twice', () => {
        if (server.child.exitCode !== null) throw gone();
        return workers.every((m) => count(m) >= 2);
      });
      expect((await get('/healthz')).status).toBe(200); // the process is up, only the database is not
      expect((await get('/readyz')).status).toBe(503);

      // Work that waits in the database meanwhile (written past the relay): a staff message and a forwarded event.
      await direct.connect();
      const crypto = createCrypto(Buffer.from(TEST_ENCRYPTION_KEY, 'base64'));
      const now = new Date();
      await direct.query(
        "INSERT INTO outbox (kind, lane, thread, key, payload, next_attempt_at, created_at) VALUES ('staff', $2, $3, $1, $4, $5, $5)",
        [randomUUID(), 'telegram', '777', Buffer.from(crypto.encryptJson({ text: 'staff message queued during the outage' })), now],
      );
      const eventKey = randomUUID();
      const lead = randomUUID();
      await direct.query("INSERT INTO outbox (kind, lane, thread, lead_id, key, event, payload, next_attempt_at) VALUES ('county', 'county', $1::text, $1::uuid, $2, $3, $4, $5)", [
        lead,
        eventKey,
        'lead.received',
        Buffer.from(crypto.encryptJson({ event: 'lead.received', idempotencyKey: eventKey })),
        now,
      ]);

      proxy.restore();
      await until('ready again', async () => (await get('/readyz')).status === 200);
      const redelivered = await person.deliver(update);
      expect(redelivered.status).toBe(200);
      expect(redelivered.texts.length).toBeGreaterThan(0);
      await until('the forwarding worker to deliver the waiting event', () => county.received.some((b) => b.idempotencyKey === eventKey));
      await until('the staff message worker to send the waiting message', () => api.textsTo(777).length === 1);
      expect(api.textsTo(777)).toEqual(['staff message queued during the outage']);

      expect(server.child.exitCode).toBeNull();
      expect(server.stderr()).toBe('');
      // Nothing else went wrong: the error lines are the workers' per-round lines and the refused webhook update.
      const errors = new Set(lines().filter((l) => l.level === 'error' || l.level === 'fatal').map((l) => l.msg));
      expect([...errors].sort()).toEqual([...workers, 'telegram webhook update failed; Telegram will retry'].sort());
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      await direct.end().catch(() => {});
      await proxy.close();
      await api.close();
      await county.close();
      await place.cleanup();
      rmSync(deploymentDir, { recursive: true, force: true });
    }
  }, 180_000);
});
