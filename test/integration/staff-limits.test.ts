import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../server/main.ts';
import { JOIN_FAILURES_PER_MINUTE } from '../../server/staff/accounts.ts';
import { TELEGRAM_CAPS } from '../../bot/channels/telegram/index.ts';
import { KF_CAPS } from '../../bot/channels/wecom/index.ts';
import { freshDatabase, TEST_DB, testConfig, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';
import { start } from '../../server/main.ts';

// Limits that must hold when a caller tries many times at once, and the least a staff member sees. The tests
// run in order with the clock only moving forward, as the county-wide window of failed joins expects.

const NOW = new Date('2026-11-24T02:00:00Z');
const V = '530925102208';

describe(`staff limits and exposure, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  let n = 0;

  beforeAll(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', now: () => NOW, scheduler: false, deliveryIntervalMs: 0 });
  });
  afterAll(async () => {
    await app.stop();
    await place.cleanup();
  });

  const say = (userId: string, text: string, caps = TELEGRAM_CAPS, channel = 'telegram') => {
    const m = /^\/(\w+)\s*(.*)$/.exec(text);
    const input = m ? { kind: 'command' as const, name: m[1]!, arg: m[2]! } : { kind: 'text' as const, text };
    return app.conversations.turn({ who: { channel, userId, chatId: userId }, platformId: `limits-${++n}`, payload: {}, input, caps });
  };
  const who = (userId: string) => ({ channel: 'telegram', userId, chatId: userId, language: 'zh-CN' });

  it('40 simultaneous /join from one account: only the first 3 codes are looked at', async () => {
    const { code } = await app.staff.createInvite('village_cadre', V, undefined, NOW);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => app.staff.join(who('7100'), i === 39 ? code : 'WRONG-CODE', NOW)));
    const checked = results.filter((r) => r.ok || r.reason === 'wrong');
    expect(checked.length).toBeLessThanOrEqual(3);
    expect(results.filter((r) => !r.ok && r.reason === 'slow_down').length).toBeGreaterThanOrEqual(37);
    // the account waits, even with the right code, until the wait is over
    const later = await app.staff.join(who('7100'), code, new Date(NOW.getTime() + 10_000));
    expect(later).toMatchObject({ ok: false, reason: 'slow_down' });
    const afterWait = await app.staff.join(who('7100'), code, new Date(NOW.getTime() + 61 * 60_000));
    expect(afterWait.ok).toBe(true);
    // a success starts the account afresh
    expect(await app.db.prisma.joinAttempt.count({ where: { userId: '7100' } })).toBe(0);
  });

  it('a household on 微信客服 never reaches /join: it is a household\'s message', async () => {
    const { code } = await app.staff.createInvite('village_cadre', V, undefined, NOW);
    const r = await say('wmHousehold1', `/join ${code}`, KF_CAPS, 'wecom');
    expect(r.replies[0]!.text).not.toMatch(/加入成功|邀请码/);
    expect(await app.db.prisma.staff.count({ where: { channel: 'wecom' } })).toBe(0);
    expect(await app.db.prisma.joinAttempt.count({ where: { channel: 'wecom' } })).toBe(0);
    // the code is still good for the staff app
    expect((await app.staff.join({ channel: 'wecom-app', userId: 'zhangsan', chatId: 'zhangsan', language: 'zh-CN' }, code, NOW)).ok).toBe(true);
  });

  it('a contact person sees only the households assigned to them (and their phones), not the whole village', async () => {
    const invite = async (role: string, userId: string) => {
      const { code } = await app.staff.createInvite(role, V, role, NOW);
      const r = await say(userId, `/join ${code}`);
      expect(r.replies[0]!.text).toMatch(/加入成功/);
      return (await app.staff.byIdentity('telegram', userId))!;
    };
    const contact = await invite('contact_person', '7401');
    const mine = await app.intake.receiveLead(newLead({ villageCode: V, phone: '13912340001' }), NOW);
    const other = await app.intake.receiveLead(newLead({ villageCode: V, phone: '13912340002' }), NOW);
    for (const id of [mine.id, other.id]) {
      for (const [to, extra] of [['visited', { judgement: 'fits' }], ['compared', {}]] as const) expect((await app.intake.move(id, { to, ...extra }, 'system', NOW)).ok).toBe(true);
    }
    const lead = await app.db.prisma.lead.findUniqueOrThrow({ where: { id: mine.id } });
    await app.db.prisma.$executeRaw`UPDATE lead SET stage = 'confirmed', contact_staff_id = ${contact.id}::uuid, follow_up_kind = 'follow_up', follow_up_due = reported_on WHERE id = ${lead.id}::uuid`;
    await app.db.prisma.$executeRaw`UPDATE lead SET stage = 'confirmed' WHERE id = ${other.id}::uuid`;
    const card = await app.conversations.turn({ who: { channel: 'telegram', userId: '7401', chatId: '7401' }, platformId: `limits-${++n}`, payload: {}, input: { kind: 'choice', id: `lead:${mine.id}` }, caps: TELEGRAM_CAPS });
    expect(card.replies[0]!.text).toContain('13912340001');
    const notMine = await app.conversations.turn({ who: { channel: 'telegram', userId: '7401', chatId: '7401' }, platformId: `limits-${++n}`, payload: {}, input: { kind: 'choice', id: `lead:${other.id}` }, caps: TELEGRAM_CAPS });
    expect(notMine.replies[0]!.text).toBe('没有这条申报，或不在您负责的范围内。');
    expect(JSON.stringify(notMine.replies)).not.toContain('13912340002');
    // and the access log shows only the card they were shown
    expect((await app.db.prisma.accessLog.findMany({ where: { staffId: contact.id } })).map((r) => r.leadId)).toEqual([mine.id]);
  });
  it('limits failed joins a minute across all accounts, and tells people in words', async () => {
    const at = new Date(NOW.getTime() + 2 * 3600_000); // a fresh minute
    const results = await Promise.all(Array.from({ length: JOIN_FAILURES_PER_MINUTE + 10 }, (_, i) => app.staff.join(who(`72${i}`), 'WRONG-CODE', at)));
    expect(results.filter((r) => !r.ok && r.reason === 'wrong')).toHaveLength(JOIN_FAILURES_PER_MINUTE);
    expect(results.filter((r) => !r.ok && r.reason === 'busy')).toHaveLength(10);
    const { code } = await app.staff.createInvite('village_cadre', V, undefined, at);
    const busy = await app.staff.join(who('7300'), code, new Date(at.getTime() + 1000));
    expect(busy).toMatchObject({ ok: false, reason: 'busy', waitSeconds: 59 });
    // an account refused for the county-wide limit is not held to its own: its attempt was given back
    expect((await app.db.prisma.joinAttempt.findUniqueOrThrow({ where: { channel_userId: { channel: 'telegram', userId: '7300' } } })).failures).toBe(0);
    // next minute, joining works again
    expect((await app.staff.join(who('7300'), code, new Date(at.getTime() + 61_000))).ok).toBe(true);
    // an instance whose clock is a little behind counts into the same window, it does not restart it
    expect(await app.staff.join(who('7301'), 'WRONG', new Date(at.getTime() + 59_000))).toMatchObject({ reason: 'wrong' });
    const row = await app.db.prisma.rateWindow.findUniqueOrThrow({ where: { key: 'join-failures' } });
    expect(row.windowStart.getTime()).toBe(Math.floor((at.getTime() + 61_000) / 60_000) * 60_000);
  });

  it('says so in words when everyone must wait', async () => {
    const at = new Date(NOW.getTime() + 5 * 3600_000);
    await Promise.all(Array.from({ length: JOIN_FAILURES_PER_MINUTE }, (_, i) => app.staff.join(who(`75${i}`), 'WRONG-CODE', at)));
    const r = await app.conversations.turn({ who: { channel: 'telegram', userId: '7599', chatId: '7599' }, platformId: `limits-${++n}`, payload: {}, input: { kind: 'command', name: 'join', arg: 'ABCD-EFGH' }, caps: TELEGRAM_CAPS });
    expect(r.replies[0]!.text).toMatch(/^现在尝试加入的人太多了，请 \d+ 秒后再试。$/);
  });
});
