import { OptionError } from './errors.js';

/** A plain object (not null, not an array): what every options object must be. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses unknown keys (typos), naming them with `path` in front: `accessToken.expiresIn`. */
export function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new OptionError(`unknown option ${path}${key} (known: ${allowed.join(', ')})`);
    }
  }
}
