/**
 * The refresh tokens of a population of sessions, first in first out: a
 * request takes the oldest, its answer puts the successor at the back, so
 * every session is refreshed in turn and never twice at once.
 */
export class TokenQueue {
  #items: string[];
  #head = 0;

  constructor(tokens: Iterable<string>) {
    this.#items = [...tokens];
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  take(): string {
    if (this.size === 0)
      throw new Error('bench: the refresh-token queue ran dry (population too small for the connections)');
    const token = this.#items[this.#head++]!;
    // Drop the consumed front now and then, so the array does not grow without end.
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return token;
  }

  put(token: string): void {
    this.#items.push(token);
  }
}
