/**
 * @module http/inflight
 * Work that outlives its response (a streamed turn whose client went away keeps running until it
 * is stored). Shutdown waits for it, so SIGTERM never loses a turn that was already accepted.
 */
export class Inflight {
  readonly #pending = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.#pending.add(settled);
    settled.then(() => this.#pending.delete(settled));
    return work;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Resolves when everything tracked so far (and anything tracked meanwhile) has settled. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
