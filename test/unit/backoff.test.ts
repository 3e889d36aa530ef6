import { describe, expect, it } from 'vitest';
import { backoffMs, settlement } from '../../server/outbox/outbox.ts';

// The delay before the next delivery attempt (forwarding to the county, messages to staff): 30 s after the first
// failure, doubling after each, never more than one hour, then spread by a jitter factor between 0.5 and 1.5.

const S = 1000;
const middle = () => 0.5; // jitter factor 1.0
const lowest = () => 0; // factor 0.5
const highest = () => 1 - 1e-12; // factor just under 1.5

describe('delivery backoff', () => {
  it.each([
    [1, 30 * S],
    [2, 60 * S],
    [3, 120 * S],
    [4, 240 * S],
    [5, 480 * S],
    [6, 960 * S],
    [7, 1920 * S],
    [8, 3600 * S], // 3,840 s doubled: capped at one hour
    [9, 3600 * S],
    [12, 3600 * S],
    [40, 3600 * S], // no overflow past the cap however many attempts
  ])('after attempt %i the base delay is %i ms', (attempts, ms) => {
    expect(backoffMs(attempts, middle)).toBe(ms);
  });

  it('spreads each delay between half and one and a half times the base', () => {
    expect(backoffMs(1, lowest)).toBe(15 * S);
    expect(backoffMs(1, highest)).toBe(45 * S);
    expect(backoffMs(3, lowest)).toBe(60 * S);
    expect(backoffMs(3, highest)).toBe(180 * S);
    // the jitter is applied to the capped delay
    expect(backoffMs(12, lowest)).toBe(1800 * S);
    expect(backoffMs(12, highest)).toBe(5400 * S);
    for (let i = 0; i < 200; i++) {
      const ms = backoffMs(4);
      expect(ms).toBeGreaterThanOrEqual(120 * S);
      expect(ms).toBeLessThanOrEqual(360 * S);
    }
  });
});

describe('what a send does to its outbox row (every lane alike)', () => {
  const now = new Date('2026-12-01T02:00:00Z');
  const half = () => 0.5;
  it('sent counts the attempt; a platform asking to wait pauses without using one', () => {
    expect(settlement({ ok: true }, 2, 12, now, half)).toEqual({ state: 'sent', attempts: 3 });
    expect(settlement({ ok: false, kind: 'retry_after', retryAfterS: 7, error: '429' }, 11, 12, now, half)).toEqual({ state: 'paused', until: new Date(now.getTime() + 7000) });
  });
  it('a recipient who cannot be reached, or a message refused for good, is given up at once', () => {
    expect(settlement({ ok: false, kind: 'unreachable', blocked: true, error: '403' }, 0, 12, now, half)).toEqual({ state: 'dead', attempts: 1 });
    expect(settlement({ ok: false, kind: 'rejected', error: '400' }, 0, 12, now, half)).toEqual({ state: 'dead', attempts: 1 });
  });
  it('a failure for now waits its backoff, until the last attempt allowed', () => {
    expect(settlement({ ok: false, kind: 'error', error: 'HTTP 502' }, 0, 12, now, half)).toEqual({ state: 'failed', attempts: 1, nextAttemptAt: new Date(now.getTime() + 30 * S) });
    expect(settlement({ ok: false, kind: 'error', error: 'HTTP 502' }, 10, 12, now, half)).toMatchObject({ state: 'failed', attempts: 11 });
    expect(settlement({ ok: false, kind: 'error', error: 'HTTP 502' }, 11, 12, now, half)).toEqual({ state: 'dead', attempts: 12 });
  });
});
