/**
 * The messages waiting to go down one gRPC stream: producers push from anywhere (for the brain: dispatch,
 * acks, signals from other instances), the stream drains it in order. It ends either cleanly or with an
 * error the stream's handler then throws, which is how the brain ends a node's stream.
 */
export class Outbox<T> implements AsyncIterable<T> {
  readonly #queue: T[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #error: unknown;

  get ended(): boolean {
    return this.#ended;
  }

  push(message: T): void {
    if (this.#ended) return;
    this.#queue.push(message);
    this.#wake?.();
  }

  /** Ends the stream after what is queued; with `error`, the stream ends with it instead. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (error !== undefined) this.#queue.length = 0;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
