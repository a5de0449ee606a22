/**
 * Reads a request stream ahead of its consumer, up to `capacity` messages, so the consumer can see what
 * already waits behind the message it handles (the brain merges a task's events sent back to back).
 * Messages keep their order; an error of the stream comes after the messages read before it. Reading
 * stops while `capacity` messages wait, so a slow consumer still holds the sender back through the
 * transport's flow control.
 */
export class StreamReadAhead<T> {
  readonly #waiting: T[] = [];
  /** Set once the stream ended: cleanly (`done`) or with an error. */
  #end: { done: true } | { error: unknown } | undefined;
  #stopped = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeReader: (() => void) | undefined;

  constructor(
    private readonly iterator: AsyncIterator<T>,
    private readonly capacity: number,
  ) {
    void this.#read();
  }

  /** The next message, waiting for it; undefined once the stream ended; throws the stream's error. */
  async next(): Promise<T | undefined> {
    while (this.#waiting.length === 0 && this.#end === undefined) {
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
      this.#wakeConsumer = undefined;
    }
    const message = this.#waiting.shift();
    if (message !== undefined) {
      this.#wakeReader?.();
      return message;
    }
    if (this.#end !== undefined && 'error' in this.#end) throw this.#end.error;
    return undefined;
  }

  /** The next message if it was already read and `accept` takes it; otherwise nothing is taken. */
  takeIf(accept: (message: T) => boolean): T | undefined {
    const message = this.#waiting[0];
    if (message === undefined || !accept(message)) return undefined;
    this.#waiting.shift();
    this.#wakeReader?.();
    return message;
  }

  /** The consumer is done: read nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#wakeReader?.();
  }

  async #read(): Promise<void> {
    try {
      while (!this.#stopped) {
        if (this.#waiting.length >= this.capacity) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
          this.#wakeReader = undefined;
          continue;
        }
        const next = await this.iterator.next();
        if (next.done) {
          this.#end = { done: true };
          break;
        }
        this.#waiting.push(next.value);
        this.#wakeConsumer?.();
      }
    } catch (error) {
      this.#end = { error };
    }
    this.#wakeConsumer?.();
  }
}
