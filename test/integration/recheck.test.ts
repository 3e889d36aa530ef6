import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start, type Running } from '../../server/main.ts';
import type { Outbound } from '../../bot/engine/types.ts';
import { zonedInstant } from '../../server/time.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

// 回头看: when a confirmed household's risk is marked eliminated, its contact person is reminded to re-check it
// `recheckAfterMonths` later (6 in the sample deployment), again every `followUpRepeatDays` until the re-check is
// recorded, and never after that.

const V1 = '530925102208';
const at = (date: string, time = '09:00') => zonedInstant(date, time, 'Asia/Shanghai');

describe(`回头看 after the risk is eliminated, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  let sent: Array<{ chatId: string; message: Outbound }> = [];
  let contactId = '';

  beforeEach(async () => {
    place = await freshDatabase();
    app = await start(testConfig(place), memoryLogger().logger, { host: '127.0.0.1', scheduler: false, deliveryIntervalMs: 0 });
    sent = [];
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 25,
      send: async (chatId, message) => {
        sent.push({ chatId, message });
        return { ok: true };
      },
    });
    const { code } = await app.staff.createInvite('contact_person', V1, '李联系', at('2026-11-01'));
    const joined = await app.staff.join({ channel: 'telegram', userId: 'cp1', chatId: 'cp1', language: 'zh-CN' }, code, at('2026-11-01'));
    if (!joined.ok) throw new Error(`join failed: ${joined.reason}`);
    contactId = joined.staff.id;
  });
  afterEach(async () => {
    await app.stop();
    await place.cleanup();
  });

  /** A lead received on 2 Nov 2026 and confirmed on 13 Nov. */
  async function confirmedLead() {
    const { id, receiptNo } = await app.intake.receiveLead(newLead({ villageCode: V1, headName: '赵大山' }), at('2026-11-02', '10:00'));
    const moves = [
      [{ to: 'visited', judgement: 'fits' }, '2026-11-04'],
      [{ to: 'compared' }, '2026-11-04'],
      [{ to: 'publicized', publicityStart: '2026-11-05', publicityEnd: '2026-11-11' }, '2026-11-05'],
      [{ to: 'township_reviewed' }, '2026-11-12'],
      [{ to: 'confirmed', category: 'marginal' }, '2026-11-13'],
    ] as const;
    for (const [m, day] of moves) expect((await app.intake.move(id, { ...m }, 'test', at(day, '10:00'))).ok).toBe(true);
    return { id, receiptNo };
  }

  /** One reminder tick, then the staff outbox until it is empty; what the contact person was sent. */
  async function tickAndSend(day: string) {
    const before = sent.length;
    const tick = await app.scheduler.tick(at(day));
    for (let i = 0; i < 10 && (await app.deliveries.deliverDue(new Date(at(day).getTime() + i * 1000))).sent > 0; i++);
    return { tick, texts: sent.slice(before).filter((s) => s.chatId === 'cp1').map((s) => s.message.text) };
  }

  const followUp = async (id: string) => app.db.prisma.lead.findUniqueOrThrow({ where: { id }, select: { followUpKind: true, followUpDue: true, riskEliminatedOn: true } });
  const day = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;

  it('marking the risk eliminated needs a contact person', async () => {
    const { id } = await confirmedLead();
    expect(await app.intake.record(id, 'risk_eliminated', {}, 'test', at('2027-03-10'))).toMatchObject({ ok: false, refusal: { code: 'contact_person_required' } });
    expect(await followUp(id)).toEqual({ followUpKind: null, followUpDue: null, riskEliminatedOn: null });
  });

  it('sets a re-check 6 months later, reminds the contact person then and every 7 days, and stops once it is recorded', async () => {
    const { id, receiptNo } = await confirmedLead();
    expect((await app.intake.record(id, 'plan', { contactStaffId: contactId, note: '医疗救助' }, 'test', at('2026-11-15', '10:00'))).ok).toBe(true);
    expect(await followUp(id)).toMatchObject({ followUpKind: 'follow_up' });

    expect((await app.intake.record(id, 'risk_eliminated', { note: '收入稳定超过监测线半年' }, 'test', at('2027-03-10', '10:00'))).ok).toBe(true);
    const f = await followUp(id);
    expect({ kind: f.followUpKind, due: day(f.followUpDue), eliminatedOn: day(f.riskEliminatedOn) }).toEqual({ kind: 'recheck', due: '2027-09-10', eliminatedOn: '2027-03-10' });
    const tasks = await app.intake.tasks({ kind: 'village', code: V1 }, 'contact_person', contactId, 0, 10);
    expect(tasks.rows.map((r) => [r.receipt_no, r.kind, r.due])).toEqual([[receiptNo, 'recheck', '2027-09-10']]);

    // the monthly follow-ups are over: nothing until the re-check falls due
    expect(await app.scheduler.preview(at('2027-04-12'))).toEqual([]);
    expect(await app.scheduler.preview(at('2027-09-09'))).toEqual([]);

    let r = await tickAndSend('2027-09-10');
    expect(r.tick).toMatchObject({ due: 1, messages: 1 });
    expect(r.texts).toEqual([`📋 回头看：${receiptNo}（勐库镇冰岛村 赵大山）已标注风险消除半年，请在 2027-09-10 前后回访核实。回访后点“已跟进”。`]);
    // not recorded yet: asked again a week later
    r = await tickAndSend('2027-09-17');
    expect(r.texts).toHaveLength(1);
    expect(r.texts[0]).toContain(`📋 回头看：${receiptNo}`);

    expect((await app.intake.record(id, 'follow_up', { note: '回访核实，收入稳定' }, 'test', at('2027-09-17', '15:00'))).ok).toBe(true);
    expect(await followUp(id)).toMatchObject({ followUpKind: null, followUpDue: null });
    expect((await app.intake.tasks({ kind: 'village', code: V1 }, 'contact_person', contactId, 0, 10)).total).toBe(0);
    r = await tickAndSend('2027-09-24');
    expect(r).toMatchObject({ tick: { due: 0 }, texts: [] });
    for (const later of ['2027-10-18', '2028-03-10', '2028-09-11']) expect(await app.scheduler.preview(at(later))).toEqual([]);
  });
});
