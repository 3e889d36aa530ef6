import { describe, expect, it } from 'vitest';
import { errorFields } from '../../server/errors.ts';

// A database error's text quotes what it was given; a log line about it must not.
describe('errorFields', () => {
  it('keeps only the type and codes of a Prisma error whose text quotes the input', () => {
    const e = Object.assign(new Error('Invalid `prisma.lead.findUnique()` invocation:\n  id: "13800138000"'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2007',
      meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '22P02', originalMessage: 'invalid input syntax for type uuid: "13800138000"' } } },
    });
    const f = errorFields(e);
    expect(f).toEqual({ type: 'PrismaClientKnownRequestError', code: 'P2007', sqlState: '22P02' });
    expect(JSON.stringify(f)).not.toContain('13800138000');
  });

  it('keeps only the code of a PostgreSQL server error', () => {
    const e = Object.assign(new Error('duplicate key value violates unique constraint: Key (phone)=(13800138000)'), { severity: 'ERROR', code: '23505' });
    expect(errorFields(e)).toEqual({ type: 'Error', code: '23505' });
  });

  it('keeps the first line of other errors, cut short', () => {
    const e = new TypeError(`Cannot read properties of undefined (reading 'id')\n    at handler (x.ts:1:1)`);
    expect(errorFields(e)).toEqual({ type: 'TypeError', message: "Cannot read properties of undefined (reading 'id')" });
    expect(errorFields(new Error('x'.repeat(500))).message).toHaveLength(200);
    expect(errorFields('plain string')).toEqual({ type: 'string', message: 'plain string' });
  });

  it('describes the error a wrapper carries (grammY\'s BotError), not the wrapper\'s text that quotes it', () => {
    const inner = Object.assign(new Error('invalid input syntax: "13800138000"'), { name: 'PrismaClientKnownRequestError', code: 'P2007' });
    const botError = Object.assign(new Error(`PrismaClientKnownRequestError in middleware: ${inner.message}`), { name: 'BotError', error: inner });
    expect(errorFields(botError)).toEqual({ type: 'PrismaClientKnownRequestError', code: 'P2007' });
    const caused = new Error('wrapped', { cause: new TypeError('x is undefined') });
    expect(errorFields(caused)).toEqual({ type: 'TypeError', message: 'x is undefined' });
  });
});

describe('the logger', () => {
  it('writes an error passed raw as its type and codes, and keeps a described one as it is', async () => {
    const { memoryLogger } = await import('../helpers/log.ts');
    const log = memoryLogger();
    log.logger.error({ err: Object.assign(new Error('Key (phone)=(13800138000) exists'), { severity: 'ERROR', code: '23505' }) }, 'raw');
    log.logger.error({ err: errorFields(new TypeError('boom')) }, 'described');
    expect(log.lines().map((l) => l.err)).toEqual([{ type: 'Error', code: '23505' }, { type: 'TypeError', message: 'boom' }]);
    expect(log.text()).not.toContain('13800138000');
  });
});
