/** A wake-up call that is not lost when it comes while nobody waits: the next wait returns at once. */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  wake(): void {
    this.#pending = true;
    this.#resolve?.();
  }

  /** Resolves on a wake-up (also one that came before), after `timeoutMs`, or when `signal` aborts. */
  async next(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (!this.#pending) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#resolve = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener('abort', done);
        this.#resolve = done;
      });
    }
    this.#pending = false;
  }
}
