import type { SessionMeta, TokenAuthEventName, TokenAuthEvents } from './types.js';

export type Listener<E extends TokenAuthEventName> = (event: TokenAuthEvents[E]) => void;

/**
 * The core's events. Listeners run synchronously after the step has
 * happened; one that throws does not change the outcome (the error becomes a
 * process warning).
 */
export class TokenAuthEmitter {
  readonly #listeners = new Map<TokenAuthEventName, Set<Listener<never>>>();

  /** Subscribes to an event (see `TokenAuthEvents`). */
  on<E extends TokenAuthEventName>(event: E, listener: Listener<E>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off<E extends TokenAuthEventName>(event: E, listener: Listener<E>): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  protected emit<E extends TokenAuthEventName>(event: E, payload: TokenAuthEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        process.emitWarning(`express-token-pair: a "${event}" listener threw: ${String(error)}`);
      }
    }
  }
}

/** What a refresh (or grace answer) shows that is worth a `suspicious` event. */
export function suspicions(
  previous: SessionMeta,
  current: SessionMeta,
  refreshes: number,
  limit: number,
  window: number,
): Array<Pick<TokenAuthEvents['suspicious'], 'reason' | 'detail'>> {
  const found: Array<Pick<TokenAuthEvents['suspicious'], 'reason' | 'detail'>> = [];
  if (refreshes > limit) {
    found.push({ reason: 'refresh_rate', detail: `${refreshes} refreshes within ${window} s (limit ${limit})` });
  }
  if (previous.ip !== undefined && current.ip !== undefined && previous.ip !== current.ip) {
    found.push({ reason: 'ip_changed', detail: `from ${previous.ip} to ${current.ip}` });
  }
  if (previous.userAgent !== undefined && current.userAgent !== undefined && previous.userAgent !== current.userAgent) {
    found.push({ reason: 'user_agent_changed', detail: "the user agent differs from the session's last one" });
  }
  return found;
}
