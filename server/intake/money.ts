import { z } from 'zod';

/**
 * An amount of money as it was said, in yuan: an exact amount, one said roughly (大概8000: `approximate`), a range
 * (七八千: from–to, always approximate), or "I don't know" (never 0). `perMonth`: a month's figure as said
 * (一个月一千多); `perYear` makes it yearly.
 */
export const moneySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('amount'), yuan: z.number(), approximate: z.literal(true).optional(), perMonth: z.literal(true).optional() }),
  z.object({ kind: z.literal('range'), from: z.number(), to: z.number(), approximate: z.literal(true), perMonth: z.literal(true).optional() }),
  z.object({ kind: z.literal('unknown') }),
]);
export type Money = z.infer<typeof moneySchema>;

/** A month's figure made yearly (×12, to the fen); anything else as it is. */
export function perYear(m: Money): Money {
  if (m.kind === 'unknown' || !m.perMonth) return m;
  const x12 = (v: number) => Math.round(v * 1200) / 100;
  if (m.kind === 'amount') return { kind: 'amount', yuan: x12(m.yuan), ...(m.approximate ? { approximate: true as const } : {}) };
  return { kind: 'range', from: x12(m.from), to: x12(m.to), approximate: true };
}

/** Whether the figure is not exact (a range or a rough amount): what rests on it is flagged. */
export const isApproximate = (m: Money | undefined): boolean => m !== undefined && m.kind !== 'unknown' && m.approximate === true;

/**
 * The yuan a year an answer counts for: the amount, or a range's middle; a month's figure ×12. Null for "I don't
 * know" and no answer.
 */
export function yuanOf(m: Money | undefined): number | null {
  if (!m) return null;
  const y = perYear(m);
  if (y.kind === 'unknown') return null;
  if (y.kind === 'amount') return y.yuan;
  return Math.round((y.from + y.to) * 50) / 100;
}
