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

/** The error a wrapper carries (grammY's BotError as `error`, others as `cause`), innermost first. */
function wrapped(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let x: unknown = e; x && typeof x === 'object' && chain.length < 5; ) {
    chain.push(x);
    const next = (x as { error?: unknown; cause?: unknown }).error ?? (x as { cause?: unknown }).cause;
    if (next === x || !(next instanceof Error || (next && typeof next === 'object' && 'message' in next))) break;
    x = next;
  }
  return chain.reverse();
}

export function errorFields(e: unknown): LoggedError {
  if (!(e instanceof Error) && (typeof e !== 'object' || e === null)) return { type: typeof e, message: String(e).slice(0, MAX_MESSAGE) };
  // a wrapper (grammY's BotError) quotes the error it carries: describe the innermost one, by its own rules
  const chain = wrapped(e);
  if (chain.length > 1) return errorFields(chain[0]);
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

/** Driver-adapter error kinds that say the database could not be reached, not that the request was wrong. */
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'DatabaseDoesNotExist', 'ConnectionClosed', 'SocketTimeout', 'TlsConnectionError', 'TooManyConnections', 'TransactionAlreadyClosed']);

/**
 * Whether an error says the database (or the network to it) is down for now, rather than that this input fails:
 * such a failure is not held against the update being handled (it is retried, never dead-lettered for it).
 */
export function isTransient(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const x = e as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown; originalCode?: unknown; code?: unknown } } }; cause?: unknown };
  const code = typeof x.code === 'string' ? x.code : '';
  if (['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)) return true;
  if (/^(08|57P0|53)/.test(code)) return true; // SQLSTATE: connection exception, operator intervention, insufficient resources
  const cause = x.meta?.driverAdapterError?.cause;
  if (cause) {
    if (typeof cause.kind === 'string' && UNREACHABLE_KINDS.has(cause.kind)) return true;
    const state = String(cause.originalCode ?? cause.code ?? '');
    if (/^(08|57P0|53)/.test(state)) return true;
  }
  return x.cause !== undefined && x.cause !== e ? isTransient(x.cause) : false;
}
