/** The memory store's DPoP proof record: per user, the `jti`s used at login and refresh, until they expire. */
import type { ProofUse } from '../store-types.js';

export class MemoryProofs {
  /** userId -> jti -> Unix seconds it is kept until. */
  readonly #seen = new Map<string, Map<string, number>>();

  /** True if this user used `proof.jti` before (still remembered); else remembers it for `proof.ttl` seconds. */
  replayed(userId: string, proof: ProofUse, now: number): boolean {
    let jtis = this.#seen.get(userId);
    if (jtis === undefined) this.#seen.set(userId, (jtis = new Map<string, number>()));
    const until = jtis.get(proof.jti);
    if (until !== undefined && until > now) return true;
    jtis.set(proof.jti, now + proof.ttl);
    return false;
  }

  /** Forgets what has expired by `now`. */
  trim(now: number): void {
    for (const [userId, jtis] of this.#seen) {
      for (const [jti, until] of jtis) if (until <= now) jtis.delete(jti);
      if (jtis.size === 0) this.#seen.delete(userId);
    }
  }

  clear(): void {
    this.#seen.clear();
  }
}
