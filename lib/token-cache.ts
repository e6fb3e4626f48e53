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

/** Freezes a context just built from a token: itself, and its claims all the way down (the rest are strings and numbers). */
function freezeContext(context: AuthContext): void {
  Object.freeze(context);
  const { claims } = context;
  Object.freeze(claims);
  for (const name in claims) deepFreeze(claims[name]);
}

/** A generation filled with fewer hits than 1 in THRASHING of its entries is thrashing. */
const THRASHING = 64;
/** While thrashing, 1 in SAMPLE new tokens is stored. */
const SAMPLE = 16;

/** Returns its argument from `new`, so a subclass's private fields land on that object. */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- a constructor is all it is for
class ReturnsTarget {
  constructor(target: object) {
    return target;
  }
}

/** Marks objects as made here; see `newBrand`. */
export interface Brand {
  /** Marks `target` (before it is frozen); returns it. */
  stamp<T extends object>(target: T): T;
  has(value: object): boolean;
}

/**
 * A brand of its own (one per call): `stamp` gives an object a private field
 * that only this brand's `has` can see. No property a caller could read,
 * copy or forge, and the object keeps its prototype and keys. It answers what
 * a WeakSet of the objects would, without a weak table the garbage collector
 * has to sweep: with a new token on every request, that table cost more than
 * the rest of the cache.
 */
export function newBrand(): Brand {
  class Stamp extends ReturnsTarget {
    readonly #stamped = true;
    static has(value: object): boolean {
      return #stamped in value;
    }
  }
  return {
    stamp: (target) => {
      new Stamp(target);
      return target;
    },
    has: (value) => Stamp.has(value),
  };
}

/**
 * Access tokens already verified, keyed by their exact string, so a client
 * sending the same token again costs a Map lookup instead of an HMAC and a
 * JSON parse. Only a token that passed every check is stored; expiry is
 * checked again on every hit (by the caller, at the current second);
 * contexts are frozen because requests share them. Access tokens are never
 * revoked, so there is nothing else to re-check.
 *
 * Two generations of `size / 2` bound it: when the young one fills, it
 * becomes the old one and the previous old one is dropped whole, and a hit in
 * the old generation moves back to the young one. Every step is O(1) (evicting
 * one by one from a Map's front gets slower as deleted slots pile up).
 *
 * Thrashing (a generation filled with fewer hits than 1 in THRASHING of its
 * entries: more distinct tokens in turn than it holds), storing every token
 * only churns memory for the garbage collector, so 1 in SAMPLE new tokens is
 * stored until a generation fills with hits again; a token that keeps coming
 * back is soon among them. Either way an answer is the same: a token not
 * stored is verified in full.
 */
export class TokenCache {
  #young = new Map<string, Entry>();
  #old = new Map<string, Entry>();
  readonly #half: number;
  /** Hits since the young generation started. */
  #hits = 0;
  /** Thrashing: storing 1 in SAMPLE new tokens. */
  #sampling = false;
  #skipped = 0;

  constructor(size: number) {
    this.#half = Math.ceil(size / 2);
  }

  get(token: string): Entry | undefined {
    const young = this.#young.get(token);
    if (young !== undefined) {
      this.#hits++;
      return young;
    }
    const old = this.#old.get(token);
    if (old !== undefined) {
      this.#hits++;
      this.#add(token, old);
    }
    return old;
  }

  /** Freezes (all the way down) and stores a context just built from a token; returns it. */
  set(token: string, context: AuthContext, exp: number): AuthContext {
    freezeContext(context);
    if (this.#half > 0 && !(this.#sampling && ++this.#skipped % SAMPLE !== 0)) this.#add(token, { context, exp });
    return context;
  }

  delete(token: string): void {
    this.#young.delete(token);
    this.#old.delete(token);
  }

  #add(token: string, entry: Entry): void {
    if (this.#young.size >= this.#half) {
      this.#sampling = this.#hits * THRASHING < this.#half;
      this.#hits = 0;
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(token, entry);
  }
}
