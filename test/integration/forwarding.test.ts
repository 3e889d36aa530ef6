import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import express from 'express';
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database } from '../../server/db/index.ts';
import { createCrypto } from '../../server/crypto.ts';
import { createIntake } from '../../server/intake/leads.ts';
import { createForwarding, type Forwarding } from '../../server/intake/forwarding.ts';
import { createOutbox } from '../../server/outbox/outbox.ts';
import { createDeliveries } from '../../server/staff/deliveries.ts';
import { loadDeployment } from '../../server/deployment.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import { openFreshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

const deployment = loadDeployment(SAMPLE_DEPLOYMENT);
const SECRET = 'county-secret-0123456789';
const crypto = createCrypto(Buffer.alloc(32, 5));
const T0 = new Date('2026-11-24T02:00:00Z');
const later = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

type Received = { body: string; key: string | undefined; signature: string | undefined };

/** The county's own system, played by a local server: fails the first N requests, or answers slowly. */
async function receiver(behaviour: { failFirst?: number; status?: number; delayMs?: number } = {}) {
  const received: Received[] = [];
  let failures = behaviour.failFirst ?? 0;
  const app = express();
  app.use(express.text({ type: '*/*', limit: '5mb' }));
  app.post('/hook', async (req, res) => {
    received.push({ body: req.body as string, key: req.get('idempotency-key'), signature: req.get('x-signature') });
    if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    if (failures > 0) {
      failures--;
      return void res.status(behaviour.status ?? 500).send('busy');
    }
    res.status(200).json({ ok: true });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    heal: () => (failures = 0),
    failAgain: (n: number) => (failures = n),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe(`forwarding to the county system, ${TEST_DB}`, () => {
  let place: TestPlace;
  let db: Database;
  let closeReceiver: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    ({ place, db } = await openFreshDatabase());
  });
  afterEach(async () => {
    await db.close();
    await closeReceiver?.();
    await place.cleanup();
  });

  function wire(forwarding: Forwarding, database = db) {
    const core = createOutbox({ db: database, crypto, deployment, logger: memoryLogger().logger });
    const outbox = createForwarding({ db: database, outbox: core, crypto, deployment, forwarding });
    const intake = createIntake({ db: database, crypto, deployment, forwarding: outbox });
    return { outbox, intake, core };
  }

  it('POSTs each new lead and move once, keyed by the official field codes, signed, with an idempotency key', async () => {
    const rx = await receiver();
    closeReceiver = rx.close;
    const { outbox, intake } = wire({ url: rx.url, secret: SECRET, maxAttempts: 5, timeoutMs: 2000 });
    const { id } = await intake.receiveLead(newLead({ idNumber: '53092519900101123X', risks: ['illness', 'disaster'] }), T0);
    expect(await intake.move(id, { to: 'compared' }, 'token:x', T0)).toMatchObject({ ok: false }); // refused: nothing to forward
    await intake.move(id, { to: 'visited', judgement: 'fits' }, 'token:x', later(1));
    expect(await outbox.deliverDue(later(2))).toEqual({ sent: 2, failed: 0, dead: 0, paused: 0 });
    expect(await outbox.deliverDue(later(3))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 });
    expect(rx.received).toHaveLength(2);

    const [first, second] = rx.received.map((r) => ({ ...r, json: JSON.parse(r.body) }));
    expect(first!.json.event).toBe('lead.received');
    expect(first!.key).toBe(first!.json.idempotencyKey);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(first!.signature!)!;
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${first!.body}`).digest('hex'));
    expect(first!.json.lead).toMatchObject({
      receiptNo: '530925-20261124-0001',
      address: { village: { code: '530925102208', name: '冰岛村' } },
      members: [{ A5: '李明', A7: '53092519900101123X', A8: '户主' }],
      A27: ['因病', '因自然灾害'],
      A28: 6000,
      A33: 6000,
      A34: 2000,
      A38: 2000,
      A3_preliminary: '边缘易致贫户',
    });
    expect(second!.json).toMatchObject({ event: 'lead.moved', move: { from: 'received', to: 'visited', judgement: 'fits', actor: 'token:x' } });
  });

  it('retries with backoff after failures and timeouts, keeps one lead\'s events in order, and survives a restart', async () => {
    const rx = await receiver({ failFirst: 2 });
    closeReceiver = rx.close;
    const forwarding = { url: rx.url, secret: SECRET, maxAttempts: 6, timeoutMs: 2000 };
    let { outbox, intake } = wire(forwarding);
    const { id } = await intake.receiveLead(newLead(), T0);
    // the move names the lead in capitals, as some county systems print ids: still the same lead's thread
    await intake.move(id.toUpperCase(), { to: 'assigned' }, 'system', T0);
    expect(await outbox.deliverDue(T0)).toEqual({ sent: 0, failed: 1, dead: 0, paused: 0 }); // the move waits behind the failed receipt
    expect(await outbox.deliverDue(T0)).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 }); // not due yet
    const row = await db.prisma.outbox.findFirstOrThrow({ where: { event: 'lead.received' } });
    expect(row).toMatchObject({ state: 'failed', attempts: 1, lastError: 'HTTP 500' });
    // 30 s after the first failure, spread by the jitter (0.5..1.5)
    expect(row.nextAttemptAt.getTime() - T0.getTime()).toBeGreaterThanOrEqual(15_000);
    expect(row.nextAttemptAt.getTime() - T0.getTime()).toBeLessThanOrEqual(45_000 + 1000);

    // The process restarts between attempts: new objects on the same database.
    await db.close();
    db = await openDatabase(place);
    ({ outbox, intake } = wire(forwarding));
    expect(await outbox.deliverDue(later(2))).toEqual({ sent: 0, failed: 1, dead: 0, paused: 0 });
    expect(await outbox.deliverDue(later(10))).toEqual({ sent: 2, failed: 0, dead: 0, paused: 0 });
    const events = rx.received.map((r) => JSON.parse(r.body).event);
    expect(events).toEqual(['lead.received', 'lead.received', 'lead.received', 'lead.moved']);
    expect(new Set(rx.received.slice(0, 3).map((r) => r.key)).size).toBe(1);
  });

  it('waits 30 s, 1, 2, 4 … minutes up to an hour between attempts to a receiver that keeps failing, then dead-letters it after OUTBOX_MAX_ATTEMPTS', async () => {
    const rx = await receiver({ failFirst: 1000, status: 503 });
    closeReceiver = rx.close;
    const forwarding = testConfig(place, { INTAKE_WEBHOOK_URL: rx.url, INTAKE_WEBHOOK_SECRET: SECRET }).forwarding!;
    expect(forwarding.maxAttempts).toBe(12); // the default of OUTBOX_MAX_ATTEMPTS
    const { outbox, intake } = wire(forwarding);
    await intake.receiveLead(newLead(), T0);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5); // jitter factor 1.0
    const waits: number[] = [];
    const outcomes: Array<Record<string, number>> = [];
    try {
      let now = T0;
      for (let attempt = 1; attempt <= 12; attempt++) {
        if (attempt > 1) expect(await outbox.deliverDue(new Date(now.getTime() - 1))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 }); // not due yet
        outcomes.push(await outbox.deliverDue(now));
        const row = await db.prisma.outbox.findFirstOrThrow();
        expect(row.attempts).toBe(attempt);
        if (row.state === 'dead') break;
        expect(row).toMatchObject({ state: 'failed', lastError: 'HTTP 503' });
        // seconds to the next attempt, measured from the time the round started (a round takes milliseconds)
        waits.push(Math.floor((row.nextAttemptAt.getTime() - now.getTime()) / 1000));
        now = row.nextAttemptAt;
      }
    } finally {
      random.mockRestore();
    }
    expect(waits).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]);
    expect(outcomes.slice(0, 11).every((o) => o.failed === 1 && o.dead === 0)).toBe(true);
    expect(outcomes[11]).toEqual({ sent: 0, failed: 0, dead: 1, paused: 0 });
    expect(outcomes).toHaveLength(12);
    const [dead] = await outbox.list('dead');
    expect(dead).toMatchObject({ attempts: 12, lastError: 'HTTP 503', event: 'lead.received' });
    expect(rx.received).toHaveLength(12);
    expect(new Set(rx.received.map((r) => r.key)).size).toBe(1); // one event, sent twelve times
    // dead is final: nothing more is tried, however long one waits
    expect(await outbox.deliverDue(new Date(T0.getTime() + 30 * 86_400_000))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 });
    expect(rx.received).toHaveLength(12);
  });

  it('claims a delivery at the given time exactly: one due a millisecond later waits, however slowly the clock is read', async () => {
    const rx = await receiver({});
    closeReceiver = rx.close;
    const { outbox, intake } = wire({ url: rx.url, secret: SECRET, maxAttempts: 12, timeoutMs: 2000 });
    await intake.receiveLead(newLead(), T0);
    // every read of the clock 5 ms after the one before (a busy machine between two lines)
    const real = Date.now.bind(Date);
    let reads = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => real() + 5 * ++reads);
    try {
      expect(await outbox.deliverDue(new Date(T0.getTime() - 1))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 });
    } finally {
      clock.mockRestore();
    }
    expect(rx.received).toHaveLength(0);
    expect(await outbox.deliverDue(T0)).toEqual({ sent: 1, failed: 0, dead: 0, paused: 0 });
  });

  it('gives up on a receiver that does not answer in time, dead-letters after the attempts, and an operator can retry', async () => {
    const rx = await receiver({ delayMs: 1500 });
    closeReceiver = rx.close;
    const { outbox, intake } = wire({ url: rx.url, secret: SECRET, maxAttempts: 2, timeoutMs: 300 });
    await intake.receiveLead(newLead(), T0);
    expect(await outbox.deliverDue(T0)).toEqual({ sent: 0, failed: 1, dead: 0, paused: 0 });
    expect((await outbox.list('failed'))[0]!.lastError).toBe('no answer within 300 ms');
    expect(await outbox.deliverDue(later(120))).toEqual({ sent: 0, failed: 0, dead: 1, paused: 0 });
    const [dead] = await outbox.list('dead');
    expect(dead).toMatchObject({ attempts: 2, event: 'lead.received' });
    expect(await outbox.deliverDue(later(240))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 });
    expect(await outbox.retry(dead!.id, later(241))).toBe(true);
    const fast = await receiver();
    const retried = wire({ url: fast.url, secret: SECRET, maxAttempts: 2, timeoutMs: 300 }).outbox;
    expect(await retried.deliverDue(later(241))).toEqual({ sent: 1, failed: 0, dead: 0, paused: 0 });
    expect(fast.received).toHaveLength(1);
    await fast.close();
  });

  it('a delivery left locked by a process that died mid-way goes out once the lock expires', async () => {
    const rx = await receiver();
    closeReceiver = rx.close;
    const { outbox, intake } = wire({ url: rx.url, secret: SECRET, maxAttempts: 3, timeoutMs: 2000 });
    await intake.receiveLead(newLead(), T0);
    await db.prisma.outbox.updateMany({ data: { lockedUntil: later(5) } }); // claimed, then the process died
    expect(await outbox.deliverDue(later(1))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 });
    expect(await outbox.deliverDue(later(6))).toEqual({ sent: 1, failed: 0, dead: 0, paused: 0 });
    expect(rx.received).toHaveLength(1);
  });

  it('deletes deliveries sent 30 days ago, but keeps one given up (it holds its lead\'s later events for an operator)', async () => {
    const rx = await receiver({ failFirst: 1, status: 503 });
    closeReceiver = rx.close;
    const { outbox, intake, core } = wire({ url: rx.url, secret: SECRET, maxAttempts: 1, timeoutMs: 2000 });
    await intake.receiveLead(newLead(), T0);
    expect(await outbox.deliverDue(T0)).toMatchObject({ dead: 1 });
    const { id } = await intake.receiveLead(newLead(), T0);
    expect(await outbox.deliverDue(T0)).toMatchObject({ sent: 1 });
    expect((await outbox.list('sent'))[0]!.leadId).toBe(id);
    expect(await core.purge(later(29 * 24 * 60))).toBe(0);
    expect(await core.purge(later(31 * 24 * 60))).toBe(1);
    expect(await outbox.list('sent')).toHaveLength(0);
    expect(await outbox.list('dead')).toHaveLength(1);
  });

  it('a lead\'s event given up holds its later events until an operator sends it again; staff message commands never see it', async () => {
    const rx = await receiver({ failFirst: 1, status: 503 });
    closeReceiver = rx.close;
    const { outbox, intake, core } = wire({ url: rx.url, secret: SECRET, maxAttempts: 1, timeoutMs: 2000 });
    const { id } = await intake.receiveLead(newLead(), T0);
    expect(await outbox.deliverDue(T0)).toMatchObject({ dead: 1 });
    await intake.move(id, { to: 'assigned' }, 'system', later(1));
    expect(await outbox.deliverDue(later(2))).toEqual({ sent: 0, failed: 0, dead: 0, paused: 0 }); // held behind the dead receipt
    expect(rx.received).toHaveLength(1);
    // the staff messages' commands (`npm run cli -- deliveries list|retry`) are about staff messages only
    const deliveries = createDeliveries({ outbox: core, crypto, maxAttempts: 3 });
    const [dead] = await outbox.list('dead');
    expect(await deliveries.list()).toEqual([]);
    expect(await deliveries.retry(dead!.id, later(3))).toBe(false);
    expect(await outbox.retry(dead!.id, later(3))).toBe(true);
    expect(await outbox.deliverDue(later(3))).toMatchObject({ sent: 2 });
    expect(rx.received.slice(1).map((r) => JSON.parse(r.body).event)).toEqual(['lead.received', 'lead.moved']);
  });
});
