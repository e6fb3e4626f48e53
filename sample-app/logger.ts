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

export const consoleLogger: Logger = {
  info: (message) => { console.log(message); },
  warn: (message) => { console.warn(message); },
  error: (message, error) => {
    if (error === undefined) console.error(message);
    else console.error(message, error instanceof Error ? error.stack ?? error.message : inspect(error));
  },
};
