import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/index.ts';
import type { Intake } from '../../server/intake/leads.ts';
import { deadlinesDue, followUpsDue, openCounts } from '../../server/intake/due.ts';
import { TEST_DB } from '../helpers/db.ts';
import { freshIntake, newLead } from '../helpers/leads.ts';

// What the reminder scheduler asks intake for: a deadline or follow-up falling on the last day asked about is due
// (a cadre is nudged on the day itself, not a day late), one a day later is not; a visited lead carries the
// judgement of its latest visit, which decides who acts next.
const ZERO = '00000000-0000-0000-0000-000000000000';

describe(`what is due, ${TEST_DB}`, () => {
  let db: Database;
  let intake: Intake;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, intake, close } = await freshIntake());
  });
  afterAll(() => close());

  it('counts a deadline or follow-up on the day asked about as due, the day after as not, and reads the latest visit judgement', async () => {
    const at = new Date('2026-12-01T02:00:00Z');
    const [onDay, dayAfter, visited, follow] = await Promise.all([0, 1, 2, 3].map(() => intake.receiveLead(newLead(), at)));
    await db.prisma.$executeRaw`UPDATE lead SET next_deadline_due = '2026-12-10', next_deadline_kind = 'identify' WHERE id = ${onDay!.id}::uuid`;
    await db.prisma.$executeRaw`UPDATE lead SET next_deadline_due = '2026-12-11', next_deadline_kind = 'identify' WHERE id = ${dayAfter!.id}::uuid`;
    await db.prisma.$executeRaw`UPDATE lead SET stage = 'visited', next_deadline_due = '2026-12-09', next_deadline_kind = 'identify' WHERE id = ${visited!.id}::uuid`;
    for (const [judgement, minute] of [['fits', 1], ['does_not_fit', 2]] as const)
      await db.prisma.leadEvent.create({ data: { leadId: visited!.id, at: new Date(at.getTime() + minute * 60_000), actor: 'test', kind: 'move', fromStage: 'assigned', toStage: 'visited', data: { judgement } } });
    const tx = db.prisma as unknown as Parameters<typeof deadlinesDue>[0];
    const due = await deadlinesDue(tx, '2026-12-10', { due: '0001-01-01', id: ZERO }, 100);
    const ids = due.map((d) => d.id);
    expect(ids).toContain(onDay!.id);
    expect(ids).not.toContain(dayAfter!.id);
    expect(due.find((d) => d.id === visited!.id)).toMatchObject({ stage: 'visited', judgement: 'does_not_fit', deadlineDue: '2026-12-09' });

    const staff = await db.prisma.$queryRaw<Array<{ id: string }>>`SELECT gen_random_uuid()::text AS id`;
    await db.prisma.$executeRaw`UPDATE lead SET stage = 'confirmed', contact_staff_id = ${staff[0]!.id}::uuid, follow_up_kind = 'follow_up', follow_up_due = '2026-12-10' WHERE id = ${follow!.id}::uuid`;
    expect((await followUpsDue(tx, '2026-12-10', ZERO, 100)).map((f) => f.id)).toEqual([follow!.id]);
    expect(await followUpsDue(tx, '2026-12-09', ZERO, 100)).toEqual([]);
    expect((await openCounts(tx, '2026-12-10')).followUps).toEqual([{ staffId: staff[0]!.id, n: 1 }]);
    expect((await openCounts(tx, '2026-12-09')).followUps).toEqual([]);
  });
});
