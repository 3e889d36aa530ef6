import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/index.ts';
import type { Intake } from '../../server/intake/leads.ts';
import { freshIntake, newLead } from '../helpers/leads.ts';
import { TEST_DB } from '../helpers/db.ts';

describe(`intake procedure on ${TEST_DB}`, () => {
  let db: Database;
  let intake: Intake;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ db, intake, close } = await freshIntake());
  });
  afterEach(() => close());

  it('routes a lead to its village, township and county, numbers it, and records its receipt as the first event', async () => {
    const r = await intake.receiveLead(newLead({ villageCode: '530925205202' }), new Date('2026-11-30T17:00:00Z')); // 01:00 on 1 Dec in Shanghai
    expect(r.receiptNo).toBe('530925-20261201-0001');
    const { lead, clocks } = (await intake.leadWithClocks(r.id, new Date('2026-12-02T02:00:00Z')))!;
    expect(lead).toMatchObject({ countyCode: '530925', townshipCode: '530925205', villageCode: '530925205202', stage: 'received' });
    expect(lead.events.map((e) => [e.kind, e.toStage, e.actor])).toEqual([['move', 'received', 'household']]);
    expect(clocks.next).toMatchObject({ kind: 'identify', due: '2026-12-16', overdue: false, daysLeft: 14 });
  });

  it('moves a lead through the whole procedure, one append-only event per move', async () => {
    const { id } = await intake.receiveLead(newLead(), new Date('2026-11-02T02:00:00Z'));
    const at = (d: string) => new Date(`${d}T03:00:00Z`);
    expect(await intake.move(id, { to: 'assigned' }, 'system', at('2026-11-02'))).toEqual({ ok: true, stage: 'assigned' });
    expect(await intake.move(id, { to: 'compared' }, 'token:t1', at('2026-11-03'))).toMatchObject({ ok: false, refusal: { code: 'move_not_allowed' } });
    expect((await intake.move(id, { to: 'visited', judgement: 'fits', note: '已入户' }, 'token:t1', at('2026-11-03'))).ok).toBe(true);
    expect((await intake.move(id, { to: 'compared' }, 'token:county', at('2026-11-05'))).ok).toBe(true);
    // The sample deployment counts publicity in working days: from Fri 6 Nov, 5 working days end Thu 12 Nov.
    expect(await intake.move(id, { to: 'publicized', publicityStart: '2026-11-06', publicityEnd: '2026-11-10' }, 'token:t1', at('2026-11-06'))).toMatchObject({
      ok: false,
      refusal: { code: 'publicity_too_short', params: { minEnd: '2026-11-12' } },
    });
    expect((await intake.move(id, { to: 'publicized', publicityStart: '2026-11-06', publicityEnd: '2026-11-12' }, 'token:t1', at('2026-11-06'))).ok).toBe(true);
    expect(await intake.move(id, { to: 'township_reviewed' }, 'token:tw', at('2026-11-12'))).toMatchObject({ ok: false, refusal: { code: 'publicity_not_over' } });
    expect((await intake.move(id, { to: 'township_reviewed' }, 'token:tw', at('2026-11-13'))).ok).toBe(true);
    expect((await intake.move(id, { to: 'confirmed', category: 'marginal' }, 'token:county', at('2026-11-16'))).ok).toBe(true);
    expect(await intake.move(id, { to: 'withdrawn' }, 'household', at('2026-11-17'))).toMatchObject({ ok: false, refusal: { code: 'already_final' } });

    const { lead, clocks } = (await intake.leadWithClocks(id, at('2026-11-20')))!;
    expect(lead.stage).toBe('confirmed');
    expect(lead.events.map((e) => `${e.fromStage ?? ''}→${e.toStage}`)).toEqual([
      '→received',
      'received→assigned',
      'assigned→visited',
      'visited→compared',
      'compared→publicized',
      'publicized→township_reviewed',
      'township_reviewed→confirmed',
    ]);
    expect(lead.events[2]).toMatchObject({ actor: 'token:t1', note: '已入户', data: { judgement: 'fits' } });
    expect(clocks.deadlines.find((d) => d.kind === 'identify')).toMatchObject({ done: true });
    expect(clocks.next).toMatchObject({ kind: 'plan', due: '2026-11-26', daysLeft: 6 });

    await expect(db.prisma.leadEvent.updateMany({ where: { leadId: id }, data: { note: 'rewritten' } })).rejects.toThrow(/append-only/);
    await expect(db.prisma.leadEvent.deleteMany({ where: { leadId: id } })).rejects.toThrow(/append-only/);
  });

  it('records green-channel help without stopping the clocks, and the plan after confirmation stops the 10-day clock', async () => {
    const { id } = await intake.receiveLead(newLead({ risks: ['disaster'] }), new Date('2026-11-02T02:00:00Z'));
    const at = (d: string) => new Date(`${d}T03:00:00Z`);
    expect((await intake.record(id, 'green_channel', { note: '先发放临时救助 2000 元' }, 'token:county', at('2026-11-03'))).ok).toBe(true);
    let c = (await intake.leadWithClocks(id, at('2026-11-04')))!;
    expect(c.lead.stage).toBe('received');
    expect(c.clocks.next).toMatchObject({ kind: 'identify', due: '2026-11-17' });
    expect(await intake.record(id, 'plan', { contactPerson: '王村医' }, 'token:county', at('2026-11-04'))).toMatchObject({ ok: false, refusal: { code: 'plan_needs_confirmed' } });
    await intake.move(id, { to: 'visited', judgement: 'fits' }, 'x', at('2026-11-04'));
    await intake.move(id, { to: 'compared' }, 'x', at('2026-11-04'));
    await intake.move(id, { to: 'publicized', publicityStart: '2026-11-05', publicityEnd: '2026-11-11' }, 'x', at('2026-11-05'));
    await intake.move(id, { to: 'township_reviewed' }, 'x', at('2026-11-12'));
    await intake.move(id, { to: 'confirmed', category: 'sudden_hardship' }, 'x', at('2026-11-13'));
    c = (await intake.leadWithClocks(id, at('2026-11-14')))!;
    expect(c.clocks.next).toMatchObject({ kind: 'plan', due: '2026-11-23' });
    expect(c.lead.confirmedCategory).toBe('sudden_hardship');
    expect((await intake.record(id, 'plan', { contactPerson: '王村医', note: '医疗救助 + 公益岗位' }, 'x', at('2026-11-15'))).ok).toBe(true);
    c = (await intake.leadWithClocks(id, at('2026-12-30')))!;
    expect(c.clocks.next).toBeUndefined();
    expect(c.lead.nextDeadlineDue).toBeNull();
    expect(c.lead.events.filter((e) => e.kind !== 'move').map((e) => [e.kind, e.data])).toEqual([
      ['green_channel', null],
      ['plan', { contactPerson: '王村医' }],
    ]);
  });

  it('flags and links an open lead of the same county with the same phone or ID, without merging', async () => {
    const first = await intake.receiveLead(newLead({ phone: '13711112222', idNumber: null }));
    const other = await intake.receiveLead(newLead({ phone: '13733334444', idNumber: '53092519900101123X' }));
    const second = await intake.receiveLead(newLead({ phone: '13711112222', idNumber: '53092519900101123X' }));
    const leads = await db.prisma.lead.findMany({ orderBy: { createdAt: 'asc' } });
    const byId = new Map(leads.map((l) => [l.id, l]));
    expect(leads).toHaveLength(3);
    expect(byId.get(second.id)!.possibleDuplicates.sort()).toEqual([first.id, other.id].sort());
    expect(byId.get(second.id)!.flags).toContain('possible_duplicate');
    expect(byId.get(first.id)!.possibleDuplicates).toEqual([second.id]);
    expect(byId.get(first.id)!.flags).toContain('possible_duplicate');
    // A closed lead is not a duplicate of a new report.
    await intake.move(first.id, { to: 'not_included', reason: '收入超过监测范围' }, 'token:county');
    const third = await intake.receiveLead(newLead({ phone: '13711112222' }));
    expect((await db.prisma.lead.findUniqueOrThrow({ where: { id: third.id } })).possibleDuplicates).toEqual([second.id]);
  });

  it('two moves of one lead at once: one wins, the other is refused, the history stays consistent', async () => {
    const { id } = await intake.receiveLead(newLead());
    const [a, b] = await Promise.all([intake.move(id, { to: 'withdrawn' }, 'household'), intake.move(id, { to: 'not_included', reason: 'x' }, 'token:c')]);
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
    const events = await db.prisma.leadEvent.findMany({ where: { leadId: id } });
    expect(events).toHaveLength(2);
  });
});
