import { createHash, randomUUID } from 'node:crypto';
import type { TFunction } from 'i18next';
import type { Database } from '../server/db/index.ts';
import type { Crypto } from '../server/crypto.ts';
import type { Deployment } from '../server/deployment.ts';
import type { Intake } from '../server/intake/leads.ts';
import type { Logger } from '../server/log.ts';
import type { Metrics } from '../server/metrics.ts';
import { LANGUAGES, tFor, type Language } from '../server/i18n.ts';
import { addDays } from '../server/time.ts';
import { begin, displayValue, render, type EngineContext, type PlaceTree, type Result } from './engine/engine.ts';
import { emptyState, type Answers, type Capabilities, type Flow, type Inbound, type Outbound, type State } from './engine/types.ts';
import { CONDITIONS, detailAnswers, detailsFlow, selfReportFlow } from './flows/selfreport.ts';
import type { Money } from './parse/index.ts';
import type { Exclusion, HouseholdType, IncomeField, RiskType } from '../server/intake/assessment.ts';
import { INCOME_FIELDS } from '../server/intake/assessment.ts';
import { buttons as ids } from './buttons.ts';
import { errorFields, isTransient } from '../server/errors.ts';
import type { Desk } from './desk.ts';
import { createScreens, type Converse } from './screens.ts';
import type { StaffMember } from '../server/staff/accounts.ts';
import type { ChannelPort, InboundUpdate } from './channels/port.ts';

/**
 * One conversation turn, whatever the channel: record the update, load the person's state, run the flow or a
 * command, store the new state and the replies in one transaction, return the replies for the adapter to send.
 * Record, then act (ARCHITECTURE principle 2): a redelivered update is answered once.
 */

export type Who = { channel: string; userId: string; chatId: string; languageCode?: string | undefined };
/** A person's conversation as a turn reads it: state, language, status, and the staff member they are, if looked up. */
export type Row = { state: State; language: Language; status: string; staff?: StaffMember | undefined };
export type Turn = { who: Who; platformId: string; payload: unknown; input: Inbound; caps: Capabilities };
export type TurnResult = { replies: Outbound[]; duplicate: boolean };

const flow = selfReportFlow;
/** The flow a state is walking: the report, or the details added after its receipt. */
export const flowOf = (state: State): Flow => (state.flow === 'details' ? detailsFlow : selfReportFlow);
/** Failed handlings (or sends) of one update before it is dead-lettered and no longer retried. */
export const MAX_UPDATE_ATTEMPTS = 5;
/**
 * A sender's claim on an update's replies lasts this long: a sender that died after claiming (a crash, a kill)
 * leaves replies that another delivery or the sweeper may claim again once it has passed.
 */
export const REPLY_LEASE_MS = 30_000;

export function placeTree(d: Deployment): PlaceTree {
  return {
    townships: d.counties.flatMap((c) =>
      c.townships.map((t) => ({ code: t.code, name: t.name, villages: t.villages.map((v) => ({ code: v.code, name: v.name, officialName: v.officialName })) })),
    ),
  };
}

/**
 * The consent text as shown (its version from the deployment, its words from locales) and the hash of exactly that
 * text. A proxy signs on the household's behalf (本人受……委托), naming the relation; the household's own consent is
 * taken at the visit.
 */
export function consentFor(deployment: Deployment, t: TFunction, answers: Answers = {}) {
  const version = deployment.consent.version;
  const proxy = answers.reporter === 'family' || answers.reporter === 'other';
  const params = { county: deployment.counties[0]!.name, head: String(answers.headName ?? ''), relation: answers.relation ? t(`relation_noun.${String(answers.relation)}`) : '' };
  const text = proxy ? t(`consent.${version}_proxy`, { ...params, defaultValue: t(`consent.${version}`, params) }) : t(`consent.${version}`, params);
  return { version, text, hash: createHash('sha256').update(text, 'utf8').digest('hex') };
}

/** Everything the engine needs for one turn, in one language, for the flow being walked (the report by default). */
export function makeEngineContext(deployment: Deployment, lng: Language, caps: Capabilities, now: Date, places = placeTree(deployment), walking: Flow = flow): EngineContext {
  const t = tFor(lng, 'bot');
  return { t: (k, p) => t(k, p ?? {}), now, flow: walking, caps, places, consent: (answers) => consentFor(deployment, t, answers), ...(caps.voice === false ? { voice: false } : {}) };
}

export function createConversations(deps: { db: Database; crypto: Crypto; intake: Intake; deployment: Deployment; logger: Logger; metrics?: Metrics; now?: () => Date; desk?: Desk }) {
  const { db, crypto, intake, deployment, logger } = deps;
  const clock = deps.now ?? (() => new Date());
  const places = placeTree(deployment);
  const engineContext = (lng: Language, caps: Capabilities, now: Date, walking: Flow = flow) => makeEngineContext(deployment, lng, caps, now, places, walking);

  const screens = createScreens({ intake, places, flow, engineContext });

  /** A conversation as stored. */
  type Stored = { id: string; state: Uint8Array; version: number; language: string; status: string; draftExpiresAt: Date | null };

  /** A turn that is not the staff desk's goes to the household's screens and the flow (bot/screens.ts). */
  async function converse(turn: Turn, row: Row, ctx: EngineContext): Promise<Awaited<ReturnType<Converse>>> {
    const { input, who } = turn;
    const state = row.state;
    const t = ctx.t;
    const hasDraft = Object.keys(state.answers).length > 0 && state.resumeAt !== undefined;
    const inFlow = state.at !== null;

    // Staff: /join for anyone, and for staff the menu, tasks and lead cards (ARCHITECTURE: the staff commands).
    if (deps.desk && turn.caps.staffDesk !== false && !state.withdrawing) {
      const handled = await deps.desk.handle({ input, state, who, language: row.language, caps: turn.caps, now: ctx.now, staff: row.staff, hasDraft: hasDraft || inFlow });
      // A tap on a lead card in the middle of a report: afterwards, the question they were at is shown again.
      if (handled) return handled.state.at && !handled.state.desk && input.kind === 'choice' ? { ...handled, out: [...handled.out, render(handled.state, ctx)] } : handled;
    }
    return screens.converse(turn, row, ctx, converse);
  }

  /**
   * The lead the short report makes: the details (household, incomes, when) are not known yet and come later
   * (intake.addDetails). A proxy's own phone is kept beside the household's; the household's, when given, is the
   * lead's phone (the one duplicates are found by).
   */
  function leadFrom(turn: Turn, state: State, now: Date, version: number) {
    const a = state.answers;
    const place = a.place as { township: string; village: string };
    const incomes = Object.fromEntries(INCOME_FIELDS.map((f) => [f, (a[f] as Money | undefined) ?? { kind: 'unknown' }])) as Record<IncomeField, Money>;
    const { phone, householdPhone, idNumber, signature, media, ...rest } = a;
    const proxy = a.reporter !== 'self';
    // a draft begun before the short report may hold old yes/no answers: the new question, when answered, wins
    const conditions = Array.isArray(a.conditions) ? (a.conditions as string[]) : undefined;
    const has = (c: (typeof CONDITIONS)[number]) => (conditions ? conditions.includes(c) : a[c] === true);
    const size = typeof a.householdSize === 'number' ? a.householdSize : null;
    return {
      // keyed by the draft as it was read (the conversation's version), not by the update: two updates signing the
      // same draft at once (a double tap from two tabs, a reload) make one lead, and the second turn runs again on
      // what the first left
      submissionKey: `${turn.who.channel}:${turn.who.userId}:v${version}`,
      channel: turn.who.channel,
      reporterId: turn.who.userId,
      reporterRelation: proxy ? `${String(a.reporter)}:${String(a.relation)}` : null,
      villageCode: place.village,
      headName: String(a.headName),
      phone: String(householdPhone ?? phone),
      // kept beside the household's only when they differ (without the household's, the proxy's is the lead's phone)
      reporterPhone: proxy && householdPhone && householdPhone !== phone ? String(phone) : null,
      idNumber: (idNumber as string | null | undefined) ?? null,
      // (a draft begun before the short report may already hold the details)
      householdSize: size,
      householdType: size === null ? null : ((a.householdType as HouseholdType | undefined) ?? null),
      phoneIsHousehold: !proxy || householdPhone !== undefined && householdPhone !== null,
      incomes,
      risks: (a.risks as RiskType[]) ?? [],
      guarantees: { housingUnsafe: has('housingUnsafe'), childOutOfSchool: has('childOutOfSchool'), waterUnsafe: has('waterUnsafe'), noMedicalInsurance: has('noMedicalInsurance') },
      exclusions: size === null ? [] : ((a.exclusions as Exclusion[] | undefined) ?? []).filter((x) => (x as string) !== 'none'),
      eventDescribed: false,
      answers: rest,
      consent: {
        textVersion: state.consent!.version,
        textHash: state.consent!.hash,
        language: '',
        signedAt: now,
        typedName: String(signature),
        sensitiveNoticeAt: state.sensitiveNoticeAt ? new Date(state.sensitiveNoticeAt) : null,
      },
      attachments: (media as Array<{ kind: string; fileId: string }> | undefined) ?? [],
    };
  }

  /**
   * Records the update and loads the person's conversation in one round trip; or recognises a redelivery and
   * returns the stored replies still owed (and the index of the first of them).
   */
  async function record(turn: Turn): Promise<{ handled: true; replies?: Outbound[]; from?: number } | { handled: false; conversation: Stored | undefined }> {
    const { channel, userId } = turn.who;
    const rows = await db.sql<{ fresh: boolean } & Partial<Stored>>`
      WITH ins AS (
        INSERT INTO inbound_update (channel, platform_id, payload) VALUES (${channel}::text, ${turn.platformId}::text, ${crypto.encryptJson(turn.payload)}::bytea)
        ON CONFLICT (channel, platform_id) DO NOTHING RETURNING id)
      SELECT EXISTS (SELECT 1 FROM ins) AS fresh, c.id::text AS id, c.state, c.version, c.language, c.status, c.draft_expires_at AS "draftExpiresAt"
      FROM (SELECT 1) AS one LEFT JOIN conversation c ON c.channel = ${channel}::text AND c.user_id = ${userId}::text`;
    const got = rows[0]!;
    if (got.fresh) return { handled: false, conversation: got.id ? (got as Stored) : undefined };
    const row = await db.prisma.inboundUpdate.findUniqueOrThrow({ where: { channel_platformId: { channel, platformId: turn.platformId } } });
    if (row.deadAt) return { handled: true }; // failed too often: dead-lettered, answered and left alone
    if (!row.handledAt) return { handled: false, conversation: await load(channel, userId) }; // recorded, then the process died before handling it: handle it now
    const claimLapsed = !row.repliedAt || row.repliedAt.getTime() < Date.now() - REPLY_LEASE_MS;
    // the replies still owed: those after the ones a sender marked as gone out before it died
    if (row.replies && claimLapsed) return { handled: true, replies: crypto.decryptJson<Outbound[]>(row.replies).slice(row.repliesSent), from: row.repliesSent };
    return { handled: true };
  }

  async function load(channel: string, userId: string): Promise<Stored | undefined> {
    return (await db.prisma.conversation.findUnique({ where: { channel_userId: { channel, userId } }, select: { id: true, state: true, version: true, language: true, status: true, draftExpiresAt: true } })) ?? undefined;
  }

  /**
   * Saves the turn in one statement: the conversation (only at the version it was read at; a new one only if
   * there is none yet), and the update marked handled with its replies, claimed for sending by this request.
   * Nothing is saved when a racing request handled the update meanwhile ('handled'), or changed the conversation
   * ('clash': run the turn again on the new state).
   */
  async function save(turn: Turn, existing: Stored | undefined, data: { state: Uint8Array; status: string; draftExpiresAt: Date | null; language: string }, replies: Outbound[], now: Date, claim: boolean): Promise<{ outcome: 'saved'; seq: bigint } | { outcome: 'handled' } | { outcome: 'clash' }> {
    const { channel, userId, chatId } = turn.who;
    const box = crypto.encryptJson(replies);
    // a claim is on the wall clock, as leases are (`now` is the product's clock, which tests may fix)
    const claimed = claim && replies.length > 0 ? new Date() : null;
    const rows = existing
      ? await db.sql<{ pending: boolean; seq: string | null }>`
          WITH pending AS (
            SELECT id FROM inbound_update WHERE channel = ${channel}::text AND platform_id = ${turn.platformId}::text AND handled_at IS NULL FOR UPDATE),
          c AS (
            UPDATE conversation SET state = ${data.state}::bytea, version = version + 1, status = ${data.status}::text, draft_expires_at = ${data.draftExpiresAt}::timestamptz,
              language = ${data.language}::text, chat_id = ${chatId}::text, updated_at = ${now}::timestamptz
            WHERE id = ${existing.id}::uuid AND version = ${existing.version}::int AND EXISTS (SELECT 1 FROM pending) RETURNING id),
          u AS (
            UPDATE inbound_update SET handled_at = ${now}::timestamptz, replies = ${box}::bytea, replied_at = ${claimed}::timestamptz
            WHERE id = (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM c) RETURNING id)
          SELECT EXISTS (SELECT 1 FROM pending) AS pending, (SELECT id::text FROM u) AS seq`
      : await db.sql<{ pending: boolean; seq: string | null }>`
          WITH pending AS (
            SELECT id FROM inbound_update WHERE channel = ${channel}::text AND platform_id = ${turn.platformId}::text AND handled_at IS NULL FOR UPDATE),
          c AS (
            INSERT INTO conversation (id, channel, user_id, chat_id, state, status, draft_expires_at, language, updated_at)
            SELECT ${randomUUID()}::uuid, ${channel}::text, ${userId}::text, ${chatId}::text, ${data.state}::bytea, ${data.status}::text, ${data.draftExpiresAt}::timestamptz, ${data.language}::text, ${now}::timestamptz
            WHERE EXISTS (SELECT 1 FROM pending)
            ON CONFLICT (channel, user_id) DO NOTHING RETURNING id),
          u AS (
            UPDATE inbound_update SET handled_at = ${now}::timestamptz, replies = ${box}::bytea, replied_at = ${claimed}::timestamptz
            WHERE id = (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM c) RETURNING id)
          SELECT EXISTS (SELECT 1 FROM pending) AS pending, (SELECT id::text FROM u) AS seq`;
    const r = rows[0]!;
    return r.seq !== null ? { outcome: 'saved', seq: BigInt(r.seq) } : r.pending ? { outcome: 'clash' } : { outcome: 'handled' };
  }

  /**
   * One more failed handling or send of an update: counted, and dead-lettered at the limit (or at once when
   * `final`: it can never succeed). A database that is down for now is not held against the update. `e` is the
   * error, or the platform's own words for a failed send. Never throws.
   */
  async function failed(channel: string, platformId: string, e: unknown, final = false): Promise<void> {
    if (isTransient(e)) {
      await db.prisma.inboundUpdate.updateMany({ where: { channel, platformId }, data: { repliedAt: null } }).catch(() => undefined);
      return;
    }
    const error = (typeof e === 'string' ? e : JSON.stringify(errorFields(e))).slice(0, 500);
    await db.prisma.$executeRaw`
      UPDATE inbound_update SET attempts = attempts + 1, error = ${error}, replied_at = NULL,
        dead_at = CASE WHEN ${final} OR attempts + 1 >= ${MAX_UPDATE_ATTEMPTS} THEN now() ELSE dead_at END
      WHERE channel = ${channel} AND platform_id = ${platformId} AND dead_at IS NULL`.catch(() => undefined);
  }

  /**
   * A handling that failed: counted like a failed send, but only while the update is still unhandled (a racing
   * request that failed must not count against, or release the claim of, the one that handled it); another update
   * of the same person winning every retry is a clash, not the update's fault.
   */
  async function handlingFailed(channel: string, platformId: string, e: unknown): Promise<void> {
    if (isTransient(e) || e instanceof ConcurrentTurn) return;
    const error = JSON.stringify(errorFields(e)).slice(0, 500);
    await db.prisma.$executeRaw`
      UPDATE inbound_update SET attempts = attempts + 1, error = ${error},
        dead_at = CASE WHEN attempts + 1 >= ${MAX_UPDATE_ATTEMPTS} THEN now() ELSE dead_at END
      WHERE channel = ${channel} AND platform_id = ${platformId} AND dead_at IS NULL AND handled_at IS NULL`.catch(() => undefined);
  }

  /**
   * Sends an update's replies through its channel, once whichever request or sweep gets there first: claimed,
   * each marked as it goes out (a crash resends only the rest), released when sending failed for now (the update
   * is redelivered or swept, and the failure counted). What the outcome of a send means is decided here for every
   * channel: unreachable drops the replies (with the reason), refused dead-letters the update, anything else
   * releases them and counts a failure.
   */
  async function answer(port: ChannelPort, u: InboundUpdate, replies: Outbound[], from = 0, claimed?: bigint): Promise<void> {
    const { channel } = port;
    if (replies.length === 0) return;
    // replies saved by this request were claimed with the save; replies owed from before are claimed now
    const seq = claimed ?? (await self.claimRepliesId(channel, u.platformId));
    if (seq === undefined) return;
    let used = 0;
    for (const [i, out] of replies.entries()) {
      const index = from + i;
      const outcome = await port.send(u.chatId, out, { seq, index, used, ref: u.replyRef });
      if (outcome.ok) {
        used += outcome.used ?? 1;
        // each message sent is marked at once: a crash after it resends only what had not gone out
        if (i < replies.length - 1) await self.replyDelivered(channel, u.platformId);
        continue;
      }
      if (outcome.kind === 'unreachable') {
        logger.warn({ channel, update: String(seq), reason: outcome.error }, outcome.blocked ? 'recipient unreachable (blocked the bot); replies dropped' : 'recipient unreachable; replies dropped');
        await db.prisma.inboundUpdate.updateMany({ where: { channel, platformId: u.platformId }, data: { replies: null, error: outcome.error.slice(0, 500) } });
        return;
      }
      if (outcome.kind === 'rejected') {
        logger.error({ channel, update: String(seq), reason: outcome.error }, `${channel} refused a reply; dead-lettered`);
        await failed(channel, u.platformId, outcome.error, true);
        return;
      }
      // the platform asked to wait: not the update's fault, so not counted; other failures count towards the limit
      if (outcome.kind === 'retry_after') await db.prisma.inboundUpdate.updateMany({ where: { channel, platformId: u.platformId }, data: { repliedAt: null, error: outcome.error.slice(0, 500) } });
      else await failed(channel, u.platformId, outcome.error);
      throw new SendFailed(`${channel}: ${outcome.error}`);
    }
    await self.repliesSent(channel, u.platformId);
  }

  /** One turn of an update that was recorded and not handled before. */
  async function handleTurn(turn: Turn, loaded: Stored | undefined, claim: boolean): Promise<TurnResult & { claimed?: bigint }> {
    const { who } = turn;
    for (let attempt = 0; ; attempt++) {
      const now = clock();
      // the conversation came with the update's record; after a clash, read again
      const existing = attempt === 0 ? loaded : await load(who.channel, who.userId);
      const row: Row = existing
        ? { state: crypto.decryptJson<State>(existing.state), language: existing.language as Language, status: existing.status }
        : { state: emptyState(flow.version), language: pickUserLanguage(who.languageCode), status: 'idle' };
      // staff are looked up only where a turn may be theirs (outside a report, a command, a staff button, a
      // reason being asked): a household answering the report's questions costs nothing here
      const maybeStaff = deps.desk && turn.caps.staffDesk !== false && (!existing || row.state.at === null || row.state.desk !== undefined || turn.input.kind === 'command' || (turn.input.kind === 'choice' && deps.desk.owns(turn.input.id)));
      row.staff = maybeStaff ? await deps.desk!.member(who.channel, who.userId) : undefined;
      const ctx = engineContext(row.language, turn.caps, now, flowOf(row.state));
      let result = await converse(turn, row, ctx);
      let status = result.status ?? (result.state.at ? 'active' : row.status === 'active' && !result.state.at ? 'idle' : row.status);
      let draftExpiresAt: Date | null = status === 'cancelled' ? (existing?.draftExpiresAt ?? null) : addDaysDate(now, deployment.retention.draftDays);

      const details = result.state.flow === 'details' && result.state.leadId ? result.state.leadId : undefined;
      if (details && (result.effect?.type === 'save' || result.effect?.type === 'cancelled')) {
        // the details given so far are saved to the report, whether all were answered or the person paused
        const given = detailAnswers(result.state.answers);
        // keyed by the update: a redelivery, or this turn run again after a clash, saves them once
        const saved = await intake.addDetails(who.channel, who.userId, details, given, now, `${who.channel}:${turn.platformId}`);
        // all answered: what was understood, in the questions' words ("约 7,000–8,000 元", "每月…全年…")
        const said = result.effect.type === 'save' ? (saved === 'added' ? detailsSaid(ctx, result.state.answers) : ctx.t(`details.${saved}`)) : saved === 'added' ? undefined : ctx.t(`details.${saved}`);
        // a report paused before the details comes back, still paused
        const parked = result.state.parked;
        result = { state: parked ?? emptyState(flow.version), out: said ? [...result.out, { text: said }] : result.out };
        status = parked ? 'cancelled' : 'idle';
        if (parked) draftExpiresAt = addDaysDate(now, deployment.retention.draftDays);
      } else if (result.effect?.type === 'cancelled') {
        result = { ...result, state: { ...result.state, resumeAt: result.state.at, at: null } };
        status = 'cancelled';
        draftExpiresAt = addDaysDate(now, deployment.retention.draftDays);
      } else if (result.effect?.type === 'deleted') {
        // the unsent draft is thrown away: nothing of it is kept
        result = { ...result, state: emptyState(flow.version) };
        status = 'idle';
      }
      if (result.effect?.type === 'submit') {
        const lead = leadFrom(turn, result.state, now, existing?.version ?? 0);
        lead.consent.language = row.language;
        const received = await intake.receiveLead(lead, now);
        const days = deployment.procedure.identificationDays;
        const proxy = lead.reporterRelation !== null;
        const receipt = ctx.t(proxy ? 'receipt.done_proxy' : 'receipt.done', { receipt: received.receiptNo, days, by: addDays(received.reportedOn, days) });
        // staff filing for a household (替农户申报) are with it: the details follow at once; a household is offered them
        const staff = deps.desk && turn.caps.staffDesk !== false ? (row.staff ?? (await deps.desk.member(who.channel, who.userId))) : undefined;
        const detailsCtx = engineContext(row.language, turn.caps, now, detailsFlow);
        const carried = { reporter: result.state.answers.reporter, relation: result.state.answers.relation };
        if (staff) {
          const first = begin(detailsFlow.version, detailsCtx, carried);
          result = { state: { ...first.state, flow: 'details', leadId: received.id }, out: [{ text: `${receipt}\n\n${ctx.t('details.at_once')}`, receipt: received.receiptNo }, ...first.out] };
          status = 'active';
        } else {
          result = { state: { ...emptyState(flow.version) }, out: [{ ...detailsOffer(ctx, receipt, received.id), receipt: received.receiptNo }] };
          status = 'idle';
        }
        draftExpiresAt = null;
        logger.info({ channel: who.channel, lead: received.id, category: received.assessment.category }, 'self-report submitted');
        deps.metrics?.reportsSubmitted.inc({ channel: who.channel });
      }
      if (status === 'idle' && Object.keys(result.state.answers).length === 0) draftExpiresAt = null;

      const stateBox = crypto.encryptJson(result.state);
      const saved = await save(turn, existing, { state: stateBox, status, draftExpiresAt, language: result.language ?? row.language }, result.out, now, claim);
      if (saved.outcome === 'handled') {
        // another request (a redelivery racing this one) handled the update meanwhile: this turn is the duplicate
        deps.metrics?.botUpdates.inc({ channel: who.channel, outcome: 'duplicate' });
        return { replies: [], duplicate: true };
      }
      if (saved.outcome === 'clash') {
        if (attempt < 5) continue; // another update of the same person was handled meanwhile: run again on its state
        throw new ConcurrentTurn();
      }
      deps.metrics?.botUpdates.inc({ channel: who.channel, outcome: 'handled' });
      return { replies: result.out, duplicate: false, ...(claim && result.out.length > 0 ? { claimed: saved.seq } : {}) };
    }
  }

  /**
   * Group commit of the marks written after a turn (its replies have gone out; a callback has been handled): the
   * marks of requests that finish while one statement is being written go out together in the next, so under load
   * many turns share one round trip (and a burst of thousands, as when a long 微信客服 pull ends and every callback
   * it served is done at once, is a few statements, not thousands queued for the pool's connections). Each caller
   * still waits for its own mark to be written.
   */
  function groupCommit(write: (channels: string[], platformIds: string[]) => Promise<unknown>) {
    let pending: Array<{ channel: string; platformId: string; done: () => void; fail: (e: unknown) => void }> = [];
    let writing = false;
    async function flush() {
      writing = true;
      while (pending.length > 0) {
        const batch = pending.splice(0, 5000);
        try {
          await write(batch.map((b) => b.channel), batch.map((b) => b.platformId));
          for (const b of batch) b.done();
        } catch (e) {
          for (const b of batch) b.fail(e);
        }
      }
      writing = false;
    }
    return (channel: string, platformId: string) =>
      new Promise<void>((done, fail) => {
        pending.push({ channel, platformId, done, fail });
        if (!writing) void flush();
      });
  }
  const markSent = groupCommit(
    (channels, ids) => db.sql`
      UPDATE inbound_update SET replies = NULL
      WHERE (channel, platform_id) IN (SELECT * FROM unnest(${channels}::text[], ${ids}::text[]))`,
  );
  const markHandled = groupCommit(
    (channels, ids) => db.sql`
      UPDATE inbound_update SET handled_at = now()
      WHERE (channel, platform_id) IN (SELECT * FROM unnest(${channels}::text[], ${ids}::text[]))`,
  );

  async function step(turn: Turn, claim: boolean): Promise<TurnResult & { from?: number; claimed?: bigint }> {
    const recorded = await record(turn);
    if (recorded.handled) {
      deps.metrics?.botUpdates.inc({ channel: turn.who.channel, outcome: 'duplicate' });
      return { replies: recorded.replies ?? [], duplicate: true, ...(recorded.from ? { from: recorded.from } : {}) };
    }
    try {
      return await handleTurn(turn, recorded.conversation, claim);
    } catch (e) {
      // counted on the update (it is retried by a redelivery or the sweeper, then dead-lettered), and rethrown
      await handlingFailed(turn.who.channel, turn.platformId, e);
      throw e;
    }
  }

  const self = {
    /**
     * Records an update (a redelivery is recognised) and runs the person's turn: state and replies stored in one
     * transaction, the replies returned unsent (`run` sends them). For a redelivery: the replies still owed.
     */
    turn: (turn: Turn) => self.step(turn, false),
    /** `turn`, and with `claim` the replies saved are claimed for this request to send (what `run` does). */
    step,

    /**
     * One update through a channel, top to bottom: record it and load the person (one round trip), run the turn,
     * save state and replies, claimed for sending (one round trip), send them. Throws when handling or sending
     * failed for now (the channel answers its platform so that the update comes again).
     */
    async run(port: ChannelPort, u: InboundUpdate): Promise<TurnResult> {
      const who = { channel: port.channel, userId: u.userId, chatId: u.chatId, languageCode: u.languageCode };
      const result = await self.step({ who, platformId: u.platformId, payload: u.payload, input: u.input, caps: port.caps }, true);
      await answer(port, u, result.replies, result.from, result.claimed);
      return result;
    },

    /**
     * Records an update that is not a person's turn (a platform's "there is something to pull"): true when it is
     * new, false for a redelivery. `handled` marks it done; until then the sweeper hands it back (`unfinished`).
     */
    async recordOnly(channel: string, platformId: string, payload: unknown): Promise<boolean> {
      try {
        await db.prisma.inboundUpdate.create({ data: { channel, platformId, payload: crypto.encryptJson(payload) } });
        return true;
      } catch (e) {
        if ((e as { code?: string }).code === 'P2002') return false;
        throw e;
      }
    },
    handled: (channel: string, platformId: string): Promise<void> => markHandled(channel, platformId),
    /** The platform reports later that a reply it accepted did not arrive: noted on the update, not retried. */
    async undelivered(seq: bigint, reason: string): Promise<void> {
      await db.prisma.inboundUpdate.updateMany({ where: { id: seq }, data: { error: reason.slice(0, 500) } });
    },

    /**
     * Claiming the replies of an update before sending them: one sender wins when a redelivery races the first
     * handling; a claim lapses after REPLY_LEASE_MS, so replies claimed by a sender that died are sent by the next.
     */
    async claimReplies(channel: string, platformId: string): Promise<boolean> {
      return (await self.claimRepliesId(channel, platformId)) !== undefined;
    },
    /** The same claim, returning the recorded update's id (a channel may name its sent messages after it). */
    async claimRepliesId(channel: string, platformId: string): Promise<bigint | undefined> {
      const now = new Date();
      const rows = await db.prisma.$queryRaw<Array<{ id: bigint }>>`
        UPDATE inbound_update SET replied_at = ${now}
        WHERE channel = ${channel} AND platform_id = ${platformId} AND replies IS NOT NULL AND dead_at IS NULL
          AND (replied_at IS NULL OR replied_at < ${new Date(now.getTime() - REPLY_LEASE_MS)}) RETURNING id`;
      return rows[0]?.id;
    },
    /** One more of an update's replies has gone out (the sender holds the claim; the rest follow). */
    async replyDelivered(channel: string, platformId: string): Promise<void> {
      await db.prisma.inboundUpdate.updateMany({ where: { channel, platformId }, data: { repliesSent: { increment: 1 } } });
    },
    /** All of an update's replies have gone out: marked together with those of other requests finishing now. */
    repliesSent: (channel: string, platformId: string): Promise<void> => markSent(channel, platformId),

    /**
     * Updates recorded but never handled (the process died, or handling failed), and replies saved but never
     * sent (or claimed by a sender that died), older than `olderThanMs`: a sweeper hands their payloads to the
     * channel again. The least-tried first, so updates that keep failing never hold back the others; those
     * dead-lettered are left alone.
     */
    async unfinished(channel: string, olderThanMs: number, now = new Date(), limit = 50): Promise<unknown[]> {
      const before = new Date(now.getTime() - olderThanMs);
      const since = new Date(now.getTime() - 86_400_000);
      const lapsed = new Date(now.getTime() - REPLY_LEASE_MS);
      const rows = await db.prisma.inboundUpdate.findMany({
        where: {
          channel,
          deadAt: null,
          receivedAt: { lt: before, gt: since },
          OR: [{ handledAt: null }, { NOT: { replies: null }, OR: [{ repliedAt: null }, { repliedAt: { lt: lapsed } }] }],
        },
        orderBy: [{ attempts: 'asc' }, { id: 'asc' }],
        take: limit,
        select: { payload: true },
      });
      return rows.map((r) => crypto.decryptJson<unknown>(r.payload));
    },

    /** Deletes drafts nobody touched for `retention.draftDays` (30) (cancelled, or simply abandoned): never-submitted data is not kept. */
    async purgeDrafts(now = clock()): Promise<number> {
      // Recorded updates hold what people typed: kept while a redelivery is possible, deleted after the draft period.
      await db.prisma.inboundUpdate.deleteMany({ where: { receivedAt: { lt: addDaysDate(now, -deployment.retention.draftDays) } } });
      const expired = await db.prisma.conversation.findMany({ where: { draftExpiresAt: { lt: now } }, select: { id: true, version: true } });
      let n = 0;
      for (const c of expired) {
        const r = await db.prisma.conversation.updateMany({
          where: { id: c.id, version: c.version },
          data: { state: crypto.encryptJson(emptyState(flow.version)), status: 'idle', draftExpiresAt: null, version: { increment: 1 } },
        });
        n += r.count;
      }
      return n;
    },
  };
  return self;
}

/** "Added to the report", with each detail as it was understood, in the words of its question. */
function detailsSaid(ctx: EngineContext, answers: Answers): string {
  const lines = detailsFlow.steps
    .filter((st) => answers[st.id] !== undefined)
    .map((st) => ctx.t('engine.summary_line', { label: ctx.t(`steps.${st.id}.label`), value: displayValue(st, answers, ctx) }));
  return `${ctx.t('details.saved')}\n\n${lines.join('\n')}`;
}

/** The receipt, with the offer to add the details now or later (typed words where there are no buttons). */
export function detailsOffer(ctx: EngineContext, receipt: string, leadId: string): Outbound {
  const text = `${receipt}\n\n${ctx.t('details.offer')}`;
  if (!ctx.caps.buttons) return { text: `${text}\n${ctx.t('details.offer_words')}` };
  return { text, buttons: [[{ id: ids.details.encode({ what: 'now', leadId }), label: ctx.t('details.now') }], [{ id: ids.details.encode({ what: 'later' }), label: ctx.t('details.later') }]] };
}

class ConcurrentTurn extends Error {}
/** A reply the platform did not take, for now: the update is sent again by a redelivery or the sweeper. */
export class SendFailed extends Error {}


function addDaysDate(now: Date, days: number): Date {
  return new Date(now.getTime() + days * 86_400_000);
}

function pickUserLanguage(code: string | undefined): Language {
  if (code && code.toLowerCase().startsWith('en')) return 'en';
  return LANGUAGES[0];
}

export type Conversations = ReturnType<typeof createConversations>;
