import { describe, expect, it } from 'vitest';
import { GrammyError } from 'grammy';
import { telegramOutcome } from '../../bot/channels/telegram/index.ts';
import { wecomOutcome } from '../../bot/channels/wecom/index.ts';
import { WecomApiError } from '../../bot/channels/wecom/api.ts';

// What a platform's refusal means for the message (and so for the person): waited out, dropped because nobody can be
// reached, dead-lettered because it can never go, or tried again later. The conversation and the staff outbox act
// on these outcomes alone, whichever messenger it was.
const grammy = (code: number, description: string, retryAfter?: number) =>
  new GrammyError(`Call to 'sendMessage' failed! (${code}: ${description})`, { ok: false, error_code: code, description, ...(retryAfter ? { parameters: { retry_after: retryAfter } } : {}) }, 'sendMessage', {});

describe('what a failed send means', () => {
  it.each([
    ['Telegram 429 waits as long as it says', grammy(429, 'Too Many Requests: retry after 7', 7), { kind: 'retry_after', retryAfterS: 7 }],
    ['Telegram 403 (blocked the bot): unreachable, and said so', grammy(403, 'Forbidden: bot was blocked by the user'), { kind: 'unreachable', blocked: true }],
    ['Telegram 400 chat not found: unreachable', grammy(400, 'Bad Request: chat not found'), { kind: 'unreachable' }],
    ['Telegram 400 otherwise: refused for good', grammy(400, 'Bad Request: message is too long'), { kind: 'rejected' }],
    ['Telegram 502: failed for now', grammy(502, 'Bad Gateway'), { kind: 'error' }],
    ['a network error: failed for now', new TypeError('fetch failed'), { kind: 'error' }],
  ])('%s', (_name, e, expected) => {
    const outcome = telegramOutcome(e);
    expect(outcome).toMatchObject({ ok: false, ...expected });
    if (!outcome.ok && expected.kind !== 'unreachable') expect('blocked' in outcome).toBe(false);
  });

  it('keeps the platform’s words in the reason, for the dead-letter list', () => {
    expect(telegramOutcome(grammy(400, 'Bad Request: message is too long'))).toMatchObject({ error: expect.stringContaining('GrammyError 400: Bad Request: message is too long') });
    expect(wecomOutcome(new WecomApiError(60111, 'invalid userid', 'message/send'))).toMatchObject({ error: '60111 invalid userid' });
  });

  it.each([
    ['WeCom 45009 (over the app’s frequency): waits a minute', 45009, { kind: 'retry_after', retryAfterS: 60 }],
    ['WeCom 60111 (no such member): unreachable', 60111, { kind: 'unreachable' }],
    ['WeCom 81013 (member outside the app): unreachable', 81013, { kind: 'unreachable' }],
    ['WeCom -1 (system busy): failed for now', -1, { kind: 'error' }],
  ])('%s', (_name, errcode, expected) => {
    expect(wecomOutcome(new WecomApiError(errcode, 'x', 'message/send'))).toMatchObject({ ok: false, ...expected });
  });
});
