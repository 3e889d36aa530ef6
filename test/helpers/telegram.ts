import { start, type Running } from '../../server/main.ts';
import type { Logger } from '../../server/log.ts';
import { testConfig, type TestPlace } from './db.ts';
import { BOT_INFO, BOT_TOKEN, WEBHOOK_SECRET, type FakeApi } from '../fakes/bot-api.ts';

/**
 * Starts the whole app with the Telegram channel in webhook mode against a fake Bot API (test/fakes/bot-api.ts).
 * `now` is a date or a clock; `manual` leaves the reminder cron and the staff message worker off, so a test drives
 * them with its clock.
 */
export async function startWithTelegram(place: TestPlace, api: FakeApi, logger: Logger, now: Date | (() => Date), opts: { manual?: boolean } = {}): Promise<Running> {
  return start(
    testConfig(place, { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET, TELEGRAM_API_ROOT: api.url }),
    logger,
    { host: '127.0.0.1', now: typeof now === 'function' ? now : () => now, telegramBotInfo: BOT_INFO, ...(opts.manual ? { scheduler: false, deliveryIntervalMs: 0 } : {}) },
  );
}
