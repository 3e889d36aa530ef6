import { describe, expect, it } from 'vitest';
import { isQuiet } from '../../server/quiet-hours.ts';
import { zonedInstant } from '../../server/time.ts';

// Quiet hours in the deployment's zone: nothing goes out to staff from `from` (included) to `to` (excluded).
const TZ = 'Asia/Shanghai';
const at = (time: string, date = '2026-12-10') => zonedInstant(date, time, TZ);

describe('quiet hours', () => {
  it.each([
    ['11:59', false],
    ['12:00', true],
    ['13:00', true],
    ['13:59', true],
    ['14:00', false],
    ['21:30', false],
    ['03:00', false],
  ])('inside one day (12:00–14:00): at %s quiet is %s', (time, quiet) => {
    expect(isQuiet(at(time), { from: '12:00', to: '14:00' }, TZ)).toBe(quiet);
  });

  it.each([
    ['20:59', false],
    ['21:00', true],
    ['23:59', true],
    ['00:00', true],
    ['07:59', true],
    ['08:00', false],
    ['12:30', false],
  ])('across midnight (21:00–08:00): at %s quiet is %s', (time, quiet) => {
    expect(isQuiet(at(time), { from: '21:00', to: '08:00' }, TZ)).toBe(quiet);
  });

  it('reads the clock in the deployment\'s zone, not the server\'s', () => {
    // 12:30 in Shanghai is 04:30 UTC and 13:30 in Tokyo
    const noon = new Date('2026-12-10T04:30:00Z');
    expect(isQuiet(noon, { from: '12:00', to: '14:00' }, TZ)).toBe(true);
    expect(isQuiet(noon, { from: '12:00', to: '14:00' }, 'UTC')).toBe(false);
    expect(isQuiet(noon, { from: '13:00', to: '14:00' }, 'Asia/Tokyo')).toBe(true);
  });
});
