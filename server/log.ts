import { pino, type Logger, type LoggerOptions } from 'pino';
import { errorFields } from './errors.ts';

/**
 * Field names that may carry personal information. Any log object holding one of these keys, at the top level
 * or one or two levels down, has the value replaced by "[redacted]". Later modules add their fields here.
 */
export const REDACTED_FIELDS = [
  'phone',
  'idNumber',
  'idCard',
  'name',
  'headName',
  'signature',
  'text',
  'answers',
  'payload',
  'income',
  'address',
  'authorization',
  'cookie',
  'password',
  'token',
  'secret',
  'databaseUrl',
  'DATABASE_URL',
] as const;

function redactPaths(fields: readonly string[]): string[] {
  return fields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'fanpin' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(REDACTED_FIELDS), censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    // `err` holds errorFields(e) (type and codes, never a database's text); a raw error passed by mistake is
    // reduced the same way instead of being written whole by pino's default serializer
    serializers: { err: (v: unknown) => (v instanceof Error ? errorFields(v) : v) },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
