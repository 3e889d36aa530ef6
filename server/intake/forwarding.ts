import { createHmac, randomUUID } from 'node:crypto';
import type { Prisma } from '../db/generated/client.ts';
import type { Database } from '../db/index.ts';
import type { Crypto } from '../crypto.ts';
import { placeIndex, type Deployment } from '../deployment.ts';
import { tFor } from '../i18n.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { missingDetails, readAnswers, yuanOf } from './answers.ts';

/**
 * Forwarding to the county's own system: the outbox's 'county' lane. A row is written in the same transaction as
 * the change it reports, one thread per lead (its events go in order), and POSTed, signed, by the outbox worker
 * with its backoff. A delivery that gets a 2xx is never sent again; one that dies mid-way is sent again after its
 * lock expires (the idempotency key lets the receiver recognise it). After the configured attempts a row is
 * dead-lettered for an operator to look at.
 */

export type Forwarding = { url: string; secret: string; maxAttempts: number; timeoutMs: number };
type Tx = Prisma.TransactionClient;
type LeadForPayload = Prisma.LeadGetPayload<object>;

const LOCK_MS = 5 * 60_000;
const BATCH = 20;
/** The outbox lane of the county system's deliveries. */
const LANE = 'county';

/** The signature header: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">. */
export function sign(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
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
    // a proxy's own phone (the household's is `phone`)
    reporterPhone: lead.reporterPhoneEnc ? crypto.decrypt(lead.reporterPhoneEnc) : null,
    reporterRelation: lead.reporterRelation,
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
    // the household's details not added yet (asked after the receipt): the visit fills them in
    detailsMissing: missingDetails(lead.answers),
    possibleDuplicates: lead.possibleDuplicates,
  };
}

export function createForwarding(deps: { db: Database; outbox: Outbox; crypto: Crypto; deployment: Deployment; forwarding: Forwarding | undefined; fetch?: typeof fetch }) {
  const { db, outbox, crypto, deployment, forwarding } = deps;
  const doFetch = deps.fetch ?? fetch;

  if (forwarding) {
    outbox.register(LANE, {
      kind: 'county',
      inOrder: true,
      oneAtATime: true,
      // The lock outlasts the longest round (every row timing out), so no other instance takes a row in flight.
      lockMs: Math.max(LOCK_MS, 2 * BATCH * forwarding.timeoutMs),
      batch: BATCH,
      maxAttempts: () => forwarding.maxAttempts,
      deadHint: 'npm run cli -- outbox list --state dead',
      async send(row) {
        const body = crypto.decrypt(row.payload);
        try {
          const res = await doFetch(forwarding.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': row.key, 'x-signature': sign(forwarding.secret, body, Math.floor(Date.now() / 1000)) },
            body,
            signal: AbortSignal.timeout(forwarding.timeoutMs),
          });
          await res.arrayBuffer().catch(() => undefined);
          return res.ok ? { ok: true } : { ok: false, kind: 'error', error: `HTTP ${res.status}` };
        } catch (e) {
          return { ok: false, kind: 'error', error: (e as Error).name === 'TimeoutError' ? `no answer within ${forwarding.timeoutMs} ms` : `${(e as Error).name}: ${(e as Error).message}` };
        }
      },
    });
  }

  /** Called inside the transaction of a change: the event goes out if and only if the change is committed. */
  async function enqueue(tx: Tx, leadId: string, event: 'lead.received' | 'lead.moved' | 'lead.recorded' | 'lead.details_added', extra: Record<string, unknown> = {}, now = new Date()) {
    if (!forwarding) return;
    const lead = await tx.lead.findUniqueOrThrow({ where: { id: leadId } });
    const key = randomUUID();
    const payload = { event, idempotencyKey: key, occurredAt: now.toISOString(), lead: formPayload(lead, crypto, deployment), ...extra };
    // the payload is stored as the exact body sent, so a retry sends the same bytes
    // the thread is the lead's id as stored (lower case): an id the caller wrote in capitals names the same lead, and
    // must not start a thread of its own that the lead's earlier events would not hold back
    await outbox.enqueue(tx, [{ kind: 'county', lane: LANE, thread: lead.id, key, leadId: lead.id, event, payload }], now);
  }

  return {
    enqueue,
    /** Delivers what is due now (the worker does this every few seconds); tests call it to drive a round. */
    deliverDue: (now = new Date()) => outbox.deliverDue('county', now),
    /** Deliveries by state, oldest first; `countyCode`: only those about leads of that county (the console's 人员). */
    async list(state?: string, opts: { countyCode?: string; id?: bigint } = {}) {
      // only the leads of that county that have deliveries (in this state): not every lead of the county
      const leadIds = opts.countyCode
        ? (await db.prisma.$queryRaw<Array<{ id: string }>>`
            SELECT DISTINCT o.lead_id::text AS id FROM outbox o JOIN lead l ON l.id = o.lead_id
            WHERE o.kind = 'county' AND l.county_code = ${opts.countyCode} AND (${state ?? null}::text IS NULL OR o.state = ${state ?? null})`).map((r) => r.id)
        : undefined;
      return outbox.list('county', state, { ...(leadIds ? { leadIds } : {}), ...(opts.id !== undefined ? { id: opts.id } : {}) });
    },
    /** An operator sends a failed or dead delivery again now. */
    retry: (id: bigint, now = new Date()) => outbox.retry('county', id, now),
  };
}

export type CountyForwarding = ReturnType<typeof createForwarding>;
