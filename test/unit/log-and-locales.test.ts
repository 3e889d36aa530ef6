import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/config.ts';
import { memoryLogger } from '../helpers/log.ts';
import { LANGUAGES, readLocales, tFor, pickLanguage } from '../../server/i18n.ts';

describe('logging', () => {
  it('writes one JSON line per event and redacts personal fields at any of the first levels', () => {
    const { logger, lines, text } = memoryLogger();
    logger.info({ phone: '13800138000', lead: { idNumber: '530925199001011234', name: '张三' }, req: { body: { text: '家里有人生病' } } }, 'event');
    logger.info({ count: 3 }, 'another');
    expect(lines()).toHaveLength(2);
    expect(lines()[0]).toMatchObject({ msg: 'event', level: 'info', phone: '[redacted]', lead: { idNumber: '[redacted]', name: '[redacted]' } });
    expect(text()).not.toMatch(/13800138000|530925199001011234|张三|生病/);
    expect(lines()[1]).toMatchObject({ count: 3 });
  });
});

function keys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('locales', () => {
  it('has the same keys in every language, with no empty text', () => {
    const all = readLocales();
    const reference = all['zh-CN']!;
    for (const lng of LANGUAGES) {
      expect(Object.keys(all[lng]!).sort()).toEqual(Object.keys(reference).sort());
      for (const ns of Object.keys(reference)) {
        expect(keys(all[lng]![ns]!).sort(), `${lng}/${ns}.json`).toEqual(keys(reference[ns]!).sort());
        for (const k of keys(all[lng]![ns]!)) expect(tFor(lng, ns)(k), `${lng}/${ns}:${k}`).not.toBe('');
      }
    }
  });

  it('answers in Chinese unless English is asked for', () => {
    expect(pickLanguage(undefined)).toBe('zh-CN');
    expect(pickLanguage('en-US,en;q=0.9')).toBe('en');
    expect(pickLanguage('zh-TW')).toBe('zh-CN');
    expect(tFor('en')('http.not_found')).toBe('There is nothing at this address.');
    expect(tFor('zh-CN')('http.not_found')).toBe('没有这个地址。');
  });
});

describe('every refusal of the procedure has words', () => {
  it('on the chat desk and the console (desk.refusal) and in the API (api.refusal), for each code the intake can answer', () => {
    // the codes as the procedure and the intake write them: a new refusal without words fails here
    const source = ['server/intake/procedure.ts', 'server/intake/leads.ts'].map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')).join('\n');
    const codes = new Set([...source.matchAll(/code: '([a-z_]+)'/g)].map((m) => m[1]!));
    expect(codes.size).toBeGreaterThan(15);
    // answered by the API with their own status and words (404, 403, 422)
    const ownWords = new Set(['not_found', 'not_your_move', 'original_not_found']);
    for (const lng of LANGUAGES) {
      for (const code of codes) {
        expect(tFor(lng, 'bot')(`desk.refusal.${code}`), `${lng} desk.refusal.${code}`).not.toBe(`desk.refusal.${code}`);
        if (!ownWords.has(code)) expect(tFor(lng)(`api.refusal.${code}`), `${lng} api.refusal.${code}`).not.toBe(`api.refusal.${code}`);
      }
    }
  });
});
