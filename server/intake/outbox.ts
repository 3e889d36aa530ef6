import { createHmac, randomUUID } from 'node:crypto';
import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import type { Logger } from '../log.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { tFor } from '../i18n.ts';
import { createRounds } from '../rounds.ts';
import { readAnswers, yuanOf } from './answers.ts';

/**
 * Forwarding to the county's own system through an outbox: a row written in the same transaction as the change
 * it reports, then delivered by a worker with exponential backoff and jitter. A delivery that gets a 2xx is never
 * sent again; one that dies mid-way is sent again after its lock expires (the idempotency key lets the receiver
 * recognise it). After the configured attempts a row is dead-lettered for an operator to look at.
 */

export type Forwarding = { url: string; secret: string; maxAttempts: number; timeoutMs: number };
type Tx = Prisma.TransactionClient;
type LeadForPayload = Prisma.LeadGetPayload<object>;

const LOCK_MS = 5 * 60_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

/** The signature header: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">. */
export function sign(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

export function backoffMs(attempts: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + random()));
}

/** A lead as the county system reads it: keyed by the official data-collection form's field codes (annex 3). */
export function formPayload(lead: LeadForPayload, crypto: Crypto, deployment: Deployment, t = tFor('zh-CN', 'common')) {
  const place = placeIndex(deployment).villages.get(lead.villageCode);
  const a = readAnswers(lead.answers);
  const money = yuanOf;
  const num = (v: Prisma.Decimal | null) => (v === null ? null : Number(v));
  return {
    leadId: lead.id,
    receiptNo: lead.receiptNo,
    source: lead.source,
    stage: lead.stage,
    reportedOn: lead.reportedOn.toISOString().slice(0, 10),
    address: place && {
      province: place.county.province,
      city: place.county.city,
      county: { code: place.county.code, name: place.county.name },
      township: { code: place.township.code, name: place.township.name },
      village: { code: place.village.code, name: place.village.name },
    },
    phone: crypto.decrypt(lead.phoneEnc),
    A3_preliminary: ['unstable_escaped', 'marginal', 'sudden_hardship'].includes(lead.category) ? t(`official.A3.${lead.category}`) : null,
    A4: a.householdType === 'escaped',
    members: [{ A5: lead.headName, A7: lead.idNumberEnc ? crypto.decrypt(lead.idNumberEnc) : null, A8: t('official.A8_head') }],
    householdSize: a.householdSize ?? null,
    labourers: a.labourers ?? null,
    A23: a.housingUnsafe ?? null,
    A24: a.childOutOfSchool ?? null,
    A25: a.waterUnsafe ?? null,
    A26: a.noMedicalInsurance ?? null,
    A27: a.risks.map((r) => t(`official.A27.${r}`)),
    A27a: a.disasterType ? t(`official.A27a.${a.disasterType}`) : null,
    A28: money(a.a28),
    A29: money(a.a29),
    A30: money(a.a30),
    A31: money(a.a31),
    A32: money(a.a32),
    A33: num(lead.a33),
    A34: num(lead.a34),
    A35: money(a.a35),
    A36: money(a.a36),
    A37: num(lead.a37),
    A38: num(lead.a38),
    incomeLine: num(lead.incomeLine),
    flags: lead.flags,
    greenChannel: lead.greenChannel,
    whatHappened: a.whatHappened ?? null,
    possibleDuplicates: lead.possibleDuplicates,
  };
}

export function createOutbox(deps: { db: Database; crypto: Crypto; deployment: Deployment; logger: Logger; forwarding: Forwarding | undefined; fetch?: typeof fetch }) {
  const { db, crypto, deployment, logger, forwarding } = deps;
  const doFetch = deps.fetch ?? fetch;

  /** Called inside the transaction of a change: the event goes out if and only if the change is committed. */
  async function enqueue(tx: Tx, leadId: string, event: 'lead.received' | 'lead.moved' | 'lead.recorded', extra: Record<string, unknown> = {}, now = new Date()) {
    if (!forwarding) return;
    const lead = await tx.lead.findUniqueOrThrow({ where: { id: leadId } });
    const key = randomUUID();
    const body = { event, idempotencyKey: key, occurredAt: now.toISOString(), lead: formPayload(lead, crypto, deployment), ...extra };
    await tx.outbox.create({ data: { leadId, key, event, payload: crypto.encryptJson(body), nextAttemptAt: now } });
  }

  /**
   * Delivers what is due: claims rows (skipping those another instance holds), each lead's events in order: a
   * lead's next event is claimed only once the one before it is delivered, so rounds repeat while there is work.
   */
  async function deliverDue(now = new Date(), limit = 20, maxRounds = 10): Promise<{ delivered: number; failed: number; dead: number }> {
    const counts = { delivered: 0, failed: 0, dead: 0 };
    if (!forwarding) return counts;
    const started = Date.now();
    for (let round = 0; round < maxRounds; round++) {
      // Each round claims at the time it starts, so a long round does not claim rows whose locks have lapsed. The
      // first claims at `now` exactly: a millisecond ticking between two clock reads must not make due a row that
      // is due 1 ms later (the forwarding test's "not due yet" failed that way, rarely, under load).
      const at = round === 0 ? now : new Date(now.getTime() + (Date.now() - started));
      if ((await deliverRound(at, limit, counts)) === 0) break;
    }
    return counts;
  }

  async function deliverRound(now: Date, limit: number, counts: { delivered: number; failed: number; dead: number }): Promise<number> {
    if (!forwarding) return 0;
    // The lock outlasts the longest round (every row timing out), so no other instance takes a row in flight.
    const lockUntil = new Date(now.getTime() + Math.max(LOCK_MS, 2 * limit * forwarding.timeoutMs));
    const claimed = await db.prisma.$queryRaw<Array<{ id: bigint; key: string; payload: Uint8Array; attempts: number }>>`
      UPDATE outbox SET locked_until = ${lockUntil}
      WHERE id IN (
        SELECT o.id FROM outbox o
        WHERE o.state IN ('pending', 'failed') AND o.next_attempt_at <= ${now}
          AND (o.locked_until IS NULL OR o.locked_until < ${now})
          AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.lead_id = o.lead_id AND e.id < o.id AND e.state IN ('pending', 'failed', 'dead'))
        ORDER BY o.id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, key, payload, attempts`;
    for (const row of claimed.sort((x, y) => Number(x.id - y.id))) {
      const body = crypto.decrypt(row.payload);
      const attempts = row.attempts + 1;
      let error: string | undefined;
      try {
        const res = await doFetch(forwarding.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': row.key, 'x-signature': sign(forwarding.secret, body, Math.floor(Date.now() / 1000)) },
          body,
          signal: AbortSignal.timeout(forwarding.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) error = `HTTP ${res.status}`;
      } catch (e) {
        error = (e as Error).name === 'TimeoutError' ? `no answer within ${forwarding.timeoutMs} ms` : `${(e as Error).name}: ${(e as Error).message}`;
      }
      if (!error) {
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'delivered', attempts, deliveredAt: new Date(), lockedUntil: null, lastError: null } });
        counts.delivered++;
      } else if (attempts >= forwarding.maxAttempts) {
        await db.prisma.outbox.update({ where: { id: row.id }, data: { state: 'dead', attempts, lockedUntil: null, lastError: error } });
        logger.warn({ outbox: String(row.id), attempts, error }, 'forwarding dead-lettered: see `npm run cli -- outbox list --state dead`');
        counts.dead++;
      } else {
        await db.prisma.outbox.update({
          where: { id: row.id },
          data: { state: 'failed', attempts, lockedUntil: null, lastError: error, nextAttemptAt: new Date(now.getTime() + backoffMs(attempts)) },
        });
        counts.failed++;
      }
    }
    return claimed.length;
  }

  const rounds = createRounds(() => deliverDue(), logger, 'forwarding round failed');

  return {
    enqueue,
    deliverDue,
    /** Runs deliverDue every `intervalMs` until stop(); one round at a time. */
    start(intervalMs = 2000) {
      if (forwarding) rounds.start(intervalMs);
    },
    stop: () => rounds.stop(),
    /** Deliveries by state, oldest first; `countyCode`: only those about leads of that county (the console's 人员). */
    async list(state?: string, opts: { countyCode?: string; id?: bigint } = {}) {
      const leadIds = opts.countyCode
        ? (await db.prisma.$queryRaw<Array<{ id: string }>>`
            SELECT DISTINCT o.lead_id::text AS id FROM outbox o JOIN lead l ON l.id = o.lead_id
            WHERE l.county_code = ${opts.countyCode} AND (${state ?? null}::text IS NULL OR o.state = ${state ?? null})`).map((r) => r.id)
        : undefined;
      return db.prisma.outbox.findMany({
        where: { ...(state ? { state } : {}), ...(leadIds ? { leadId: { in: leadIds } } : {}), ...(opts.id !== undefined ? { id: opts.id } : {}) },
        orderBy: { id: 'asc' },
        take: 500,
        select: { id: true, leadId: true, event: true, state: true, attempts: true, nextAttemptAt: true, lastError: true, createdAt: true, deliveredAt: true },
      });
    },
    /** An operator sends a failed or dead delivery again now. */
    async retry(id: bigint, now = new Date()): Promise<boolean> {
      const r = await db.prisma.outbox.updateMany({ where: { id, state: { in: ['dead', 'failed'] } }, data: { state: 'pending', nextAttemptAt: now, lockedUntil: null } });
      return r.count === 1;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
