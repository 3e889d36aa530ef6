import { z } from 'zod';

/**
 * Text typed into a form or an API body, as the database can keep it: control characters are refused (a NUL
 * cannot even be stored; the others are nobody's typing), so they never reach a query as a 500.
 */

/** One line (a search, a receipt number, a name). */
export const oneLine = (max: number) => z.string().trim().max(max).regex(/^\P{Cc}*$/u, 'must not hold control characters');

/** A box of text (a note, a reason): line breaks and tabs as typed, no other control characters. */
export const paragraph = (max: number) => z.string().max(max).regex(/^(?:\P{Cc}|[\t\r\n])*$/u, 'must not hold control characters');
