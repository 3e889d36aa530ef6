import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, type Running } from '../../server/main.ts';
import { SAMPLE_DEPLOYMENT } from '../../server/config.ts';
import type { Outbound } from '../../bot/engine/types.ts';
import { zonedInstant } from '../../server/time.ts';
import { freshDatabase, testConfig, TEST_DB, type TestPlace } from '../helpers/db.ts';
import { memoryLogger } from '../helpers/log.ts';
import { newLead } from '../helpers/leads.ts';

// Quiet hours inside one day, set in the deployment file (reminders.quietHours 12:00–14:00 instead of the sample's
// 21:00–08:00): the staff outbox sends nothing inside them and sends what waited once they end; the reminder tick
// plans nothing inside them.

const V1 = '530925102208';
const at = (date: string, time: string) => zonedInstant(date, time, 'Asia/Shanghai');

describe(`quiet hours from the deployment file, ${TEST_DB}`, () => {
  let place: TestPlace;
  let app: Running;
  let sent: Array<{ chatId: string; message: Outbound }> = [];

  beforeEach(async () => {
    place = await freshDatabase();
    const sample = readFileSync(SAMPLE_DEPLOYMENT, 'utf8');
    const lunch = sample.replace('quietHours: { from: "21:00", to: "08:00" }', 'quietHours: { from: "12:00", to: "14:00" }');
    expect(lunch).not.toBe(sample);
    const file = join(place.dataDir, 'deployment.yaml');
    writeFileSync(file, lunch);
    app = await start(testConfig(place, { DEPLOYMENT_CONFIG: file }), memoryLogger().logger, { host: '127.0.0.1', scheduler: false, deliveryIntervalMs: 0 });
    expect(app.config.deployment.reminders.quietHours).toEqual({ from: '12:00', to: '14:00' });
    sent = [];
    app.deliveries.registerSender('telegram', {
      ratePerSecond: 25,
      send: async (chatId, message) => {
        sent.push({ chatId, message });
        return { ok: true };
      },
    });
    const { code } = await app.staff.createInvite('village_cadre', V1, '王村长', at('2026-12-01', '09:00'));
    const joined = await app.staff.join({ channel: 'telegram', userId: 'c1', chatId: 'c1', language: 'zh-CN' }, code, at('2026-12-01', '09:00'));
    expect(joined.ok).toBe(true);
  });
  afterEach(async () => {
    await app.stop();
    await place.cleanup();
  });

  it('sends a new-report notice up to 11:59, holds one from 12:00 to 13:59:59, and sends it at 14:00', async () => {
    await app.intake.receiveLead(newLead({ villageCode: V1 }), at('2026-12-01', '11:58'));
    expect(await app.deliveries.deliverDue(at('2026-12-01', '11:59'))).toMatchObject({ sent: 1 });
    expect(sent).toHaveLength(1);

    await app.intake.receiveLead(newLead({ villageCode: V1 }), at('2026-12-01', '12:00'));
    expect(await app.deliveries.deliverDue(at('2026-12-01', '12:00'))).toMatchObject({ sent: 0 });
    expect(await app.deliveries.deliverDue(at('2026-12-01', '13:00'))).toMatchObject({ sent: 0 });
    expect(await app.deliveries.deliverDue(new Date(at('2026-12-01', '13:59').getTime() + 59_000))).toMatchObject({ sent: 0 });
    expect(sent).toHaveLength(1);
    expect(await app.db.prisma.outbox.count({ where: { kind: 'staff', state: 'pending' } })).toBe(1);
    expect(await app.deliveries.deliverDue(at('2026-12-01', '14:00'))).toMatchObject({ sent: 1 });
    expect(sent.map((s) => s.chatId)).toEqual(['c1', 'c1']);
    expect(sent.every((s) => s.message.text.startsWith('【新申报】'))).toBe(true);
  });

  it('the default night hours no longer hold: a notice goes out at 22:00', async () => {
    await app.intake.receiveLead(newLead({ villageCode: V1 }), at('2026-12-01', '21:30'));
    expect(await app.deliveries.deliverDue(at('2026-12-01', '22:00'))).toMatchObject({ sent: 1 });
  });

  it('the reminder tick plans nothing inside the quiet hours and plans the reminder at 14:00', async () => {
    // received 1 Dec: identification due 16 Dec; 5 days before is Fri 11 Dec
    const lead = await app.intake.receiveLead(newLead({ villageCode: V1 }), at('2026-12-01', '10:00'));
    await app.deliveries.deliverDue(at('2026-12-01', '10:00')); // the new-report notice
    sent = [];
    expect(await app.scheduler.preview(at('2026-12-11', '12:30'))).toEqual([]);
    expect(await app.scheduler.tick(at('2026-12-11', '12:30'))).toMatchObject({ planned: 0, due: 0, messages: 0 });
    expect(await app.db.prisma.reminder.count()).toBe(0);
    expect(await app.scheduler.tick(at('2026-12-11', '14:00'))).toMatchObject({ due: 1, messages: 1 });
    expect(await app.deliveries.deliverDue(at('2026-12-11', '14:00'))).toMatchObject({ sent: 1 });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.message.text).toContain(`⏰ ${lead.receiptNo}`);
    expect(sent[0]!.message.text).toContain('识别期限 2026-12-16，还有 5 天');
  });
});
