/**
 * Where the app writes what it has to say. Tests pass their own to capture
 * lines; the server uses the console. Rule for every caller: never pass a
 * token, a password or a secret.
 */
import { inspect } from 'node:util';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** `error` is printed as its stack only (no other properties, which might hold request data). */
  error(message: string, error?: unknown): void;
}

/**
 * C0 and C1 control characters (CR and LF above all), DEL, the Unicode line and
 * paragraph separators and the bidi controls: anything that could end a log
 * line early or make it read as something else.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' };

/** `text` on one line: every unsafe character written as an escape (`\r`, `\x1b`, `\u2028`). */
export function escapeLine(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/**
 * An error's stack with its message escaped: the frames keep their line
 * breaks, but a message (which may quote client input) stays on the first line.
 */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return escapeLine(inspect(error));
  const head = error.message === '' ? error.name : `${error.name}: ${error.message}`;
  const stack = error.stack ?? head;
  return stack.startsWith(head) ? escapeLine(head) + stack.slice(head.length) : escapeLine(stack);
}

/** Writes to the console, escaping control characters so no text can forge or split a log line. */
export const consoleLogger: Logger = {
  info: (message) => { console.log(escapeLine(message)); },
  warn: (message) => { console.warn(escapeLine(message)); },
  error: (message, error) => {
    if (error === undefined) console.error(escapeLine(message));
    else console.error(escapeLine(message), describe(error));
  },
};
