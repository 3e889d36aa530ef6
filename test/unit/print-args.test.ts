import { describe, expect, it } from 'vitest';
import { printArgs } from '../../server/console/print-command.ts';

// `npm run cli -- print <kind> …`: the operator's words checked before anything is read. A flag without its value,
// two places at once or a flag the kind does not take is a mistake said so (the usage), never a guess.
const args = (s: string) => s.split(' ').filter(Boolean);

describe('print arguments', () => {
  it('takes each kind with its place and --out', () => {
    expect(printArgs('visit', args('--lead 530925-20261202-0001 --out f.html'))).toEqual({ kind: 'visit', lead: '530925-20261202-0001', village: undefined, county: undefined, year: undefined, out: 'f.html', lng: 'zh-CN' });
    expect(printArgs('visit', args('--village 530925102208 --out f.html --lang en'))).toMatchObject({ village: '530925102208', lng: 'en' });
    expect(printArgs('publicity', args('--out f.html --village 530925102208'))).toMatchObject({ village: '530925102208', out: 'f.html' });
    expect(printArgs('check', args('--lead x --out f.html'))).toMatchObject({ lead: 'x' });
    expect(printArgs('summary', args('--county 530925 --out f.html'))).toMatchObject({ county: '530925' });
    expect(printArgs('rollback', args('--county 530925 --year all --out f.html'))).toMatchObject({ county: '530925', year: 'all' });
    expect(printArgs('rollback', args('--county 530925 --out f.html'))).toMatchObject({ year: undefined });
  });

  it('refuses what it would otherwise have to guess', () => {
    for (const [kind, line] of [
      ['rollback', '--county 530925 --year --out f.html'], // --year without its value
      ['rollback', '--county 530925 --year 2026'], // no --out
      ['rollback', '--year 2026 --out f.html'], // no county
      ['visit', '--lead x --village 530925102208 --out f.html'], // two places
      ['visit', '--out f.html'], // no place
      ['check', '--village 530925102208 --out f.html'], // a check form is per household
      ['publicity', '--lead x --out f.html'], // a publicity list is per village
      ['summary', '--county 530925 --year 2026 --out f.html'], // the summary has no year
      ['summary', '--county 530925 --lead x --out f.html'],
      ['visit', '--lead x --lead y --out f.html'], // twice
      ['visit', '--lead x --out f.html --lang fr'],
      ['visit', '--lead x --out'],
      ['visit', 'stray --lead x --out f.html'],
    ] as const) {
      expect(printArgs(kind, args(line)), `${kind} ${line}`).toBeUndefined();
    }
  });
});
