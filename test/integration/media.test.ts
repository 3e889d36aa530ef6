import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { start, type Running } from '../../server/main.ts';
import { freshDatabase, testConfig, TEST_DB, TEST_ENCRYPTION_KEY, type TestPlace } from '../helpers/db.ts';
import { createMediaKeeper } from '../../server/intake/media.ts';
import { createCrypto } from '../../server/crypto.ts';
import { memoryLogger } from '../helpers/log.ts';
import { BOT_INFO, startFakeBotApi, telegramPerson, type FakeApi } from '../fakes/bot-api.ts';
import { startFakeWecom, bothChannels, type FakeWecom } from '../fakes/wecom-api.ts';
import { reportScript } from '../../bench/script.ts';
import { newLead } from '../helpers/leads.ts';

// Photos and voice notes a household sends with a report are fetched through the channel that received them and
// kept (encrypted) with the lead: a WeCom media id expires after 3 days, a cadre opens the lead later.
const NOW = new Date('2026-11-24T02:00:00Z');
const MINUTE = 60_000;

/** An AMR-NB voice note as WeChat records it: the magic line, then 50 frames of 20 ms (one second). */
function amrVoice(): Buffer {
  const frames = Array.from({ length: 50 }, (_v, i) => Buffer.concat([Buffer.from([0x3c]), Buffer.from(Array.from({ length: 31 }, (_w, j) => (i * 31 + j * 7) & 0xff))]));
  return Buffer.concat([Buffer.from('#!AMR\n', 'latin1'), ...frames]);
}
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2000), Buffer.from([0xff, 0xd9])]);

describe(`photos and voice notes kept with the lead, ${TEST_DB}`, () => {
  let place: TestPlace;
  let tg: FakeApi;
  let fake: FakeWecom;
  let clock = NOW;
  const apps: Running[] = [];
  const log = memoryLogger();

  async function boot() {
    const config = testConfig(place, bothChannels(fake, tg));
    // the fetch worker is left off: the test runs its rounds with its own clock
    const app = await start(config, log.logger, { host: '127.0.0.1', now: () => clock, telegramBotInfo: BOT_INFO, scheduler: false, deliveryIntervalMs: 0, mediaIntervalMs: 0 });
    apps.push(app);
    return app;
  }

  /**
   * Walks the whole report on Telegram; at the "what happened" step (answered in words or by voice notes and
   * photos) sends what `media` sends instead of the words, taps "发好了", then goes on.
   */
  async function reportOnTelegram(app: Running, userId: number, media: (p: ReturnType<typeof telegramPerson>) => Promise<unknown>, sent: number) {
    const p = telegramPerson(`${app.url}/telegram/webhook`, tg, userId);
    let receipt = '';
    let asked = '';
    let told = false;
    for (const step of reportScript(userId)) {
      if ('say' in step && asked.includes('用一两句话说说发生了什么事')) {
        await media(p);
        const r = await p.tap('发好了');
        expect(r.texts.join('\n')).toContain('请核对您填的内容');
        expect(r.texts.join('\n')).toContain(`• 发生了什么：发了 ${sent} 个语音或照片`);
        asked = r.texts.join('\n');
        told = true;
        continue;
      }
      const r = 'say' in step ? await p.say(step.say) : await p.tap(step.tap.find((l) => p.buttons().some((b) => b.includes(l)))!);
      if (step.expect) expect(r.texts.join('\n')).toContain(step.expect);
      asked = r.texts.join('\n');
      receipt = /\d{6}-\d{8}-\d{4}/.exec(asked)?.[0] ?? receipt;
    }
    expect(told).toBe(true);
    return receipt;
  }

  async function attachmentsOf(app: Running, receipt: string) {
    const lead = await app.db.prisma.lead.findUniqueOrThrow({ where: { receiptNo: receipt }, include: { attachments: { orderBy: { createdAt: 'asc' } } } });
    return { lead, rows: lead.attachments };
  }

  beforeEach(async () => {
    clock = NOW;
    place = await freshDatabase();
    tg = await startFakeBotApi();
    fake = await startFakeWecom();
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop();
    await tg.close();
    await fake.close();
    await place.cleanup();
  });

  it('keeps a Telegram photo and voice note, encrypted, and gives them only inside the place', async () => {
    const app = await boot();
    const voice = Buffer.from('OggS fake opus voice note bytes');
    tg.putFile('photo-roof', JPEG, 'photos/file_1.jpg');
    tg.putFile('voice-1', voice, 'voice/file_2.oga');
    const receipt = await reportOnTelegram(app, 6101, async (p) => {
      expect((await p.photo('photo-roof')).texts[0]).toContain('已收到 1 个');
      expect((await p.voice('voice-1')).texts[0]).toContain('已收到 2 个');
    }, 2);
    expect(receipt).not.toBe('');
    let { lead, rows } = await attachmentsOf(app, receipt);
    expect(rows.map((r) => [r.kind, r.fetchedAt])).toEqual([['photo', null], ['voice', null]]);

    expect(await app.media.keepDue(clock)).toBe(2);
    ({ rows } = await attachmentsOf(app, receipt));
    expect(rows.map((r) => r.mime)).toEqual(['image/jpeg', 'audio/ogg']);
    // stored encrypted: the photo's bytes are not in the row
    expect(Buffer.from(rows[0]!.dataEnc!).includes(JPEG.subarray(0, 64))).toBe(false);
    const village = { kind: 'village' as const, code: lead.villageCode };
    expect(Buffer.compare((await app.intake.attachment(village, rows[0]!.id))!.data!, JPEG)).toBe(0);
    expect((await app.intake.attachment(village, rows[1]!.id))!.data!.toString()).toBe(voice.toString());
    // another village, or a township that is not the lead's, gets nothing
    expect(await app.intake.attachment({ kind: 'village', code: '530925102212' }, rows[0]!.id)).toBeUndefined();
    expect(await app.intake.attachment({ kind: 'township', code: '530925101' }, rows[0]!.id)).toBeUndefined();
    // a second round fetches nothing again
    expect(await app.media.keepDue(new Date(clock.getTime() + 10 * MINUTE))).toBe(0);
    expect(tg.calls.filter((c) => c.method === 'getFile')).toHaveLength(2);
  });

  it('turns a WeChat voice note (AMR, which no browser plays) into WAV, and keeps a 微信客服 photo', async () => {
    const app = await boot();
    // the Telegram test above sends them through the flow (at its "what happened" step); here the lead is made as
    // the flow makes it, with the media ids 微信客服 gave, and the files are fetched through the WeCom adapter
    const kfUser = 'wmMediaVoice';
    const voice = fake.queueMedia(kfUser, 'voice', amrVoice(), 'audio/amr');
    const photo = fake.queueMedia(kfUser, 'image', JPEG, 'image/jpeg');
    const lead = await app.intake.receiveLead(newLead({ channel: 'wecom', attachments: [{ kind: 'voice', fileId: voice.mediaId }, { kind: 'photo', fileId: photo.mediaId }] }), clock);
    expect(await app.media.keepDue(clock)).toBe(2);
    const { rows } = await attachmentsOf(app, lead.receiptNo);
    const wav = (await app.intake.attachment({ kind: 'county', code: '530925' }, rows.find((r) => r.kind === 'voice')!.id))!;
    expect(wav.mime).toBe('audio/wav');
    expect(wav.data!.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(wav.data!.subarray(8, 12).toString('latin1')).toBe('WAVE');
    expect(wav.data!.readUInt32LE(24)).toBe(8000); // AMR-NB: 8 kHz
    expect(wav.data!.readUInt32LE(40)).toBe(8000 * 2); // one second of 16-bit samples
    const jpeg = (await app.intake.attachment({ kind: 'county', code: '530925' }, rows.find((r) => r.kind === 'photo')!.id))!;
    expect(jpeg.mime).toBe('image/jpeg');
    expect(Buffer.compare(jpeg.data!, JPEG)).toBe(0);
    // fetched with the access token, through media/get
    expect(fake.calls.filter((c) => c.path === 'media/get' && c.ok)).toHaveLength(2);
  });

  it('tries again later when the platform fails, gives up with the reason when the file is gone, and keeps nothing twice across instances', async () => {
    const a = await boot();
    // gone from the platform (40007): given up at once, with the reason
    const gone = fake.queueMedia('wmGone', 'image', JPEG, 'image/jpeg');
    fake.expireMedia(gone.mediaId);
    const first = await a.intake.receiveLead(newLead({ channel: 'wecom', attachments: [{ kind: 'photo', fileId: gone.mediaId }] }), clock);
    expect(await a.media.keepDue(clock)).toBe(0);
    let { rows } = await attachmentsOf(a, first.receiptNo);
    expect(rows[0]!.fetchGaveUpAt).not.toBeNull();
    expect(rows[0]!.fetchError).toBe('40007');
    // busy: tried again after a backoff
    const later = fake.queueMedia('wmLater', 'image', JPEG, 'image/jpeg');
    fake.fail('media/get', -1);
    const lead = await a.intake.receiveLead(newLead({ channel: 'wecom', attachments: [{ kind: 'photo', fileId: later.mediaId }] }), clock);
    expect(await a.media.keepDue(clock)).toBe(0);
    ({ rows } = await attachmentsOf(a, lead.receiptNo));
    expect(rows[0]!.fetchGaveUpAt).toBeNull();
    expect(rows[0]!.fetchAttempts).toBe(1);
    expect(rows[0]!.nextFetchAt.getTime()).toBeGreaterThan(clock.getTime());
    // not yet due: nothing is asked
    const asked = fake.calls.filter((c) => c.path === 'media/get').length;
    expect(await a.media.keepDue(new Date(clock.getTime() + 1000))).toBe(0);
    expect(fake.calls.filter((c) => c.path === 'media/get').length).toBe(asked);
    // a second worker on the same database (as another instance runs one): after the backoff, one of the two
    // keeps it, once
    const b = createMediaKeeper({ db: a.db, crypto: createCrypto(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')), logger: log.logger });
    b.registerSource('wecom', a.wecom!.fetchMedia);
    const when = new Date(clock.getTime() + 2 * 3_600_000);
    const kept = await Promise.all([a.media.keepDue(when), b.keepDue(when)]);
    expect(kept[0] + kept[1]).toBe(1);
    ({ rows } = await attachmentsOf(a, lead.receiptNo));
    expect(rows[0]!.fetchedAt).not.toBeNull();
    expect(fake.calls.filter((c) => c.path === 'media/get' && c.ok)).toHaveLength(1);
    // the log says a file could not be kept, never its media id
    const lines = log.lines().filter((l) => l.msg === 'attachment could not be kept');
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(log.lines())).not.toContain(gone.mediaId);
  });
});
