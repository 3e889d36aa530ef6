/**
 * What a log line may say about an error. A database error's text quotes the query and the values it was given
 * (an id someone typed, a name, a phone number), so for Prisma, driver-adapter and PostgreSQL errors only the
 * type and the codes are kept. Other errors keep their first line, cut short; stacks are left out (their first
 * line repeats the message).
 */
export type LoggedError = { type: string; code?: string; sqlState?: string; message?: string };

const MAX_MESSAGE = 200;

export function isDatabaseError(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const x = e as { name?: unknown; code?: unknown; severity?: unknown; meta?: { driverAdapterError?: unknown } };
  const name = typeof x.name === 'string' ? x.name : '';
  if (name.startsWith('PrismaClient') || name === 'DriverAdapterError') return true;
  if (x.meta?.driverAdapterError) return true;
  // node-postgres: a server error carries its severity and a five-character SQLSTATE
  return typeof x.severity === 'string' && typeof x.code === 'string' && /^[0-9A-Z]{5}$/.test(x.code);
}

export function errorFields(e: unknown): LoggedError {
  if (!(e instanceof Error) && (typeof e !== 'object' || e === null)) return { type: typeof e, message: String(e).slice(0, MAX_MESSAGE) };
  const x = e as Error & { code?: unknown; meta?: { driverAdapterError?: { cause?: { code?: unknown; originalCode?: unknown } } } };
  const type = typeof x.name === 'string' && x.name ? x.name : 'Error';
  const code = typeof x.code === 'string' || typeof x.code === 'number' ? String(x.code) : undefined;
  if (isDatabaseError(e)) {
    const cause = x.meta?.driverAdapterError?.cause;
    const sqlState = cause && typeof (cause.originalCode ?? cause.code) === 'string' ? String(cause.originalCode ?? cause.code) : undefined;
    return { type, ...(code ? { code } : {}), ...(sqlState ? { sqlState } : {}) };
  }
  const first = String(x.message ?? '').split('\n')[0]!.slice(0, MAX_MESSAGE);
  return { type, ...(code ? { code } : {}), ...(first ? { message: first } : {}) };
}
