import type { AuthContext } from './types.js';

interface Entry {
  context: AuthContext;
  /** The token's `exp`, checked on every hit. */
  exp: number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Access tokens already verified, keyed by their exact string, so a client
 * sending the same token again costs a Map lookup instead of an HMAC and a
 * JSON parse. Only a token that passed every check is stored; expiry is
 * checked again on every hit (by the caller, at the current second);
 * contexts are frozen because requests share them. Oldest entries go first
 * once `size` is reached. Access tokens are never revoked, so there is
 * nothing else to re-check.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  get(token: string): Entry | undefined {
    return this.#entries.get(token);
  }

  /** Freezes and stores the context; returns it. */
  set(token: string, context: AuthContext, exp: number): AuthContext {
    deepFreeze(context);
    if (this.#size === 0) return context;
    if (this.#entries.size >= this.#size) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { context, exp });
    return context;
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }
}
