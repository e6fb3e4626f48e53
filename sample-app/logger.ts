/**
 * The app's log: one JSON object per line (pino), on stdout. Request lines
 * come from pino-http (request-log.ts); security events from audit.ts.
 * Rule for every caller: never pass a token, a password or a secret; the
 * redaction paths below are the safety net, not the plan.
 */
import { pino, type DestinationStream, type Logger as PinoLogger, type SerializerFn } from 'pino';

export type { PinoLogger };

/** A line's fields besides its message: `event`, `userId`, `req`... */
export type LogFields = Record<string, unknown>;

/**
 * A logger of your own, if not pino: `createApp` writes to it through pino
 * (see `toPino`), so it gets every line, request lines included, redacted.
 */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /** `error` is an `Error` carrying only the original's name, message and stack. */
  error(message: string, error?: unknown): void;
}

/**
 * Replaced by `[Redacted]` wherever they appear: the headers that carry
 * credentials, and every password or token field, at the top level or one
 * or two levels down (`{ body: { password } }`, `{ req: { body: { password } } }`).
 */
const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'accessToken', 'refreshToken', 'token'];
export const REDACT: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

/**
 * An error as its type, message and stack only: its other properties (a
 * client library's request options, a response body) might hold credentials.
 */
const err: SerializerFn = (value: unknown) => {
  if (!(value instanceof Error)) return { message: String(value) };
  return { type: value.name, message: value.message, stack: value.stack ?? `${value.name}: ${value.message}` };
};

/** What every logger of the app is built with (createApp applies it to a logger you pass too). */
export const LOG_SETTINGS = { redact: [...REDACT], serializers: { err } };

/**
 * Characters JSON leaves as they are but a terminal or log viewer may not:
 * DEL and the C1 controls (NEL ends a line in some viewers), the Unicode
 * line and paragraph separators, and the bidi controls that make a line read
 * as something else. (JSON itself escapes CR, LF and the other C0 controls.)
 */
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `line` with every unsafe character written as a `\uXXXX` escape. Outside
 * strings a JSON line is plain ASCII, so these can only sit inside strings,
 * where the escape means the very same character: the JSON is unchanged.
 */
export function escapeUnsafe(line: string): string {
  return line.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A logger writing JSON lines to `destination` (default: stdout, written
 * synchronously so that nothing is lost at `process.exit`). Times are ISO
 * strings; every line is one line, whatever text it quotes.
 */
export function createLogger(destination: DestinationStream = pino.destination({ dest: 1, sync: true })): PinoLogger {
  const escaped: DestinationStream = {
    write: (line: string) => {
      destination.write(escapeUnsafe(line));
    },
  };
  return pino(
    {
      ...LOG_SETTINGS,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) }, // "level":"warn" rather than 40
    },
    escaped,
  );
}

function isPino(logger: Logger | PinoLogger): logger is PinoLogger {
  return typeof (logger as Partial<PinoLogger>).child === 'function';
}

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err']);

/**
 * `logger` as a pino logger: a pino logger is used as it is; a plain
 * `Logger` gets each line pino writes, parsed back into its message and fields.
 */
export function toPino(logger: Logger | PinoLogger): PinoLogger {
  if (isPino(logger)) return logger;
  const plain = logger;
  return createLogger({
    write: (line: string) => {
      const record = JSON.parse(line) as LogFields & {
        level: string;
        msg?: string;
        err?: { type?: string; message?: string; stack?: string };
      };
      const message = record.msg ?? '';
      const fields = Object.fromEntries(Object.entries(record).filter(([key]) => !HIDDEN.has(key)));
      if (record.level === 'error' || record.level === 'fatal') {
        const { err } = record;
        plain.error(
          message,
          err && Object.assign(new Error(err.message), { name: err.type ?? 'Error', stack: err.stack }),
        );
      } else if (record.level === 'warn') {
        plain.warn(message, fields);
      } else {
        plain.info(message, fields);
      }
    },
  });
}
