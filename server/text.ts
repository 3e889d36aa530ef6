import { z } from 'zod';

/**
 * Text typed into a form or an API body, as the database can keep it: control characters are refused (a NUL
 * cannot even be stored; the others are nobody's typing), and so is half of a surrogate pair alone (JSON can
 * write one; the database refuses it in a JSON column), so neither reaches a query as a 500.
 */

/** One line (a search, a receipt number, a name). */
export const oneLine = (max: number) => z.string().trim().max(max).regex(/^[^\p{Cc}\p{Cs}]*$/u, 'must not hold control characters');

/** A box of text (a note, a reason): line breaks and tabs as typed, no other control characters. */
export const paragraph = (max: number) => z.string().max(max).regex(/^(?:[^\p{Cc}\p{Cs}]|[\t\r\n])*$/u, 'must not hold control characters');
