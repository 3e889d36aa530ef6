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
});
