import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Running } from '../../server/main.ts';
import { MAX_UPDATE_ATTEMPTS, REPLY_LEASE_MS } from '../../bot/conversation.ts';
import { TELEGRAM_CAPS } from '../../bot/channels/telegram/index.ts';
import { createCrypto, resolveMasterKey } from '../../server/crypto.ts';
import { freshDatabase, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startWithTelegram } from '../helpers/telegram.ts';

// Updates that fail: a poison update must not hold back the others, a lost reply must reach the person once, and
// nothing a caller typed may reach the log through a database error.

const NOW = new Date('2026-11-24T02:00:00Z');

describe(`unfinished Telegram updates, ${TEST_DB}`, () => {
  let place: TestPlace;
  let api: FakeApi;
  let app: Running;
  const log = memoryLogger();

  beforeEach(async () => {
    place = await freshDatabase();
    api = await startFakeBotApi();
    app = await startWithTelegram(place, api, log.logger, NOW, { manual: true });
  });
  afterEach(async () => {
    await app.stop();
    await api.close();
    await place.cleanup();
  });

  const person = (id: number) => telegramPerson(`${app.url}/telegram/webhook`, api, id);
  /** The sweeper, as its timer runs it, but for updates of any age. */
  const sweep = () => app.telegram!.sweep(-60_000);
  const sent = (chatId: number) => api.calls.filter((c) => c.method === 'sendMessage' && c.payload.chat_id === chatId).map((c) => String(c.payload.text));

  it('answers every one of several messages one person sends at the same moment, each once, none lost to the others', async () => {
    const p = person(5150);
    await p.say('/start');
    const before = sent(5150).length;
    // eight different updates of one person at once: they clash on the person's conversation and are run again on
    // the state the others left, one after the other
    const updates = Array.from({ length: 8 }, () => p.textUpdate('/status'));
    const answers = await Promise.all(updates.map((u) => p.deliver(u)));
    expect(answers.map((a) => a.status)).toEqual(updates.map(() => 200));
    expect(sent(5150).length - before).toBe(8);
    expect(sent(5150).slice(before).every((t) => t === sent(5150)[before])).toBe(true);
    const rows = await app.db.prisma.inboundUpdate.findMany({ where: { platformId: { in: updates.map((u) => String(u.update_id)) } } });
    expect(rows.map((r) => [r.handledAt !== null, r.replies, r.attempts, r.deadAt])).toEqual(updates.map(() => [true, null, 0, null]));
  });

  it('answers once an update that was recorded but never handled (a crash between the two)', async () => {
    const p = person(5101);
    const update = p.textUpdate('/start');
    // the process recorded it and died: the row is there, unhandled, and Telegram had no answer
    await app.db.prisma.inboundUpdate.create({ data: { channel: 'telegram', platformId: String(update.update_id), payload: encrypt(app, update) } });
    expect(sent(5101)).toEqual([]);
    expect(await sweep()).toBe(1);
    expect(sent(5101)).toHaveLength(1);
    expect(sent(5101)[0]).toContain('申报不收任何费用');
    expect(await sweep()).toBe(0);
    // Telegram redelivers it after all: recognised, not answered again
    expect((await p.deliver(update)).status).toBe(200);
    expect(sent(5101)).toHaveLength(1);
  });

  it('sends replies claimed by a sender that died, once its claim has lapsed', async () => {
    const p = person(5102);
    // handled, and its replies claimed by a sender that then died (a SIGKILL between claiming and sending)
    const update = p.textUpdate('/start');
    const turn = await app.conversations.turn({ who: { channel: 'telegram', userId: '5102', chatId: '5102' }, platformId: String(update.update_id), payload: update, input: { kind: 'command', name: 'start', arg: '' }, caps: TELEGRAM_CAPS });
    expect(turn.replies).toHaveLength(1);
    expect(await app.conversations.claimReplies('telegram', String(update.update_id))).toBe(true);
    // within the lease nobody else sends them (the first sender may still be at it)
    expect(await sweep()).toBe(0);
    expect((await p.deliver(update)).status).toBe(200);
    expect(sent(5102)).toEqual([]);
    // the lease passes with the first sender gone: the sweeper sends them, once
    await app.db.prisma.inboundUpdate.updateMany({ where: { platformId: String(update.update_id) }, data: { repliedAt: new Date(Date.now() - REPLY_LEASE_MS - 1000) } });
    expect(await sweep()).toBe(1);
    expect(sent(5102)).toHaveLength(1);
    expect(await sweep()).toBe(0);
    expect((await p.deliver(update)).status).toBe(200);
    expect(sent(5102)).toHaveLength(1);
  });

  it('after a crash between two replies of one update, sends only the one that had not gone out', async () => {
    const p = person(5106);
    await p.say('/start');
    await p.tap('开始申报');
    const update = p.textUpdate('/status'); // in a report: "my reports", then the question again
    const who = { channel: 'telegram', userId: '5106', chatId: '5106' };
    const turn = await app.conversations.turn({ who, platformId: String(update.update_id), payload: update, input: { kind: 'command', name: 'status', arg: '' }, caps: TELEGRAM_CAPS });
    expect(turn.replies).toHaveLength(2);
    const before = sent(5106).length;
    // a sender claimed them, sent the first, marked it, and died before the second
    expect(await app.conversations.claimReplies('telegram', String(update.update_id))).toBe(true);
    await app.conversations.replyDelivered('telegram', String(update.update_id));
    await app.db.prisma.inboundUpdate.updateMany({ where: { platformId: String(update.update_id) }, data: { repliedAt: new Date(Date.now() - REPLY_LEASE_MS - 1000) } });
    expect(await sweep()).toBe(1);
    expect(sent(5106).slice(before)).toEqual([turn.replies[1]!.text]);
    expect((await p.deliver(update)).status).toBe(200);
    expect(sent(5106).length).toBe(before + 1);
  });

  it('a button with a well-formed id that is not a UUID is answered "not found", and nothing it held reaches the log', async () => {
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', '王村长', NOW);
    const cadre = person(5103);
    await cadre.say(`/join ${code}`);
    const mark = log.lines().length;
    for (const data of ['lead:13800138000-aaaa-bbbb-cccc-ddddeeeeffff', 'act:13800138000-aaaa-bbbb-cccc-ddddeeeeffff:fits', 'act:zzzzzzzz-1380-0138-0000-000000000000:compared']) {
      const r = await cadre.deliver({
        update_id: Math.floor(Math.random() * 1e9),
        callback_query: { id: 'q', from: { id: 5103, is_bot: false, first_name: 'T' }, chat_instance: 'c', data, message: { message_id: 1, date: 0, chat: { id: 5103, type: 'private' } } },
      });
      expect(r.status).toBe(200);
      expect(r.texts[0]).toBe('没有这条申报，或不在您负责的范围内。');
    }
    const lines = log.lines().slice(mark);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('13800138000');
    expect(await app.db.prisma.inboundUpdate.count({ where: { handledAt: null } })).toBe(0);
  });

  it('dead-letters an update that keeps failing, and the sweeper gets past such updates to a genuine one', async () => {
    const { code } = await app.staff.createInvite('village_cadre', '530925102208', '王村长', NOW);
    const cadre = person(5104);
    await cadre.say(`/join ${code}`);
    const { id: leadId } = await app.intake.receiveLead(newLead(), NOW);
    // a lead whose card cannot be read, ever (as a bug would have it): every tap on it fails
    const real = app.intake.leadWithClocks.bind(app.intake);
    app.intake.leadWithClocks = async (id: string, now?: Date) => {
      if (id === leadId) throw Object.assign(new Error('invalid input syntax: "13800138000"'), { name: 'PrismaClientKnownRequestError', code: 'P2007' });
      return real(id, now);
    };
    const mark = log.lines().length;
    const poison = [];
    for (let i = 0; i < 60; i++) {
      const u = { update_id: 900_000 + i, callback_query: { id: `q${i}`, from: { id: 5104, is_bot: false, first_name: 'T' }, chat_instance: 'c', data: `lead:${leadId}`, message: { message_id: 1, date: 0, chat: { id: 5104, type: 'private' } } } };
      poison.push(u);
      expect((await cadre.deliver(u)).status).toBe(500); // Telegram will redeliver it
    }
    // a genuine update, recorded after the 60 and never handled (the process died)
    const household = person(5105);
    const genuine = household.textUpdate('/start');
    await app.db.prisma.inboundUpdate.create({ data: { channel: 'telegram', platformId: String(genuine.update_id), payload: encrypt(app, genuine) } });

    // the first sweep takes the least-tried first: the genuine update is answered at once
    await sweep();
    expect(sent(5105)).toHaveLength(1);
    // each sweep counts a failure on every poison update it tried; at the limit they are dead-lettered
    for (let i = 0; i < MAX_UPDATE_ATTEMPTS + 1; i++) await sweep();
    const rows = await app.db.prisma.inboundUpdate.findMany({ where: { platformId: { in: poison.map((u) => String(u.update_id)) } } });
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.deadAt !== null && r.attempts === MAX_UPDATE_ATTEMPTS)).toBe(true);
    expect(rows.every((r) => r.error && !r.error.includes('13800138000'))).toBe(true);
    expect(await sweep()).toBe(0);
    // a redelivery of a dead-lettered update is answered 200 and left alone
    expect((await cadre.deliver(poison[0]!)).status).toBe(200);
    expect(sent(5105)).toHaveLength(1);
    expect(log.text()).not.toContain('13800138000');
    expect(log.lines().slice(mark).filter((l) => l.msg === 'telegram webhook update failed; Telegram will retry')).toHaveLength(60);
  });
});

/** The payload as the app stores it (encrypted with its key). */
function encrypt(app: Running, update: unknown) {
  const { key } = resolveMasterKey({ configured: app.config.encryptionKey, dataDir: app.config.dataDir, embedded: app.db.kind === 'pglite' });
  return createCrypto(key).encryptJson(update);
}
