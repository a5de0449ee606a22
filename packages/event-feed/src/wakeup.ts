/**
 * A wake-up call that is not lost when it comes while nobody waits: the next wait returns at once. Free of
 * dependencies (exported as `@foundation/event-feed/wakeup`), so the node-agent uses it without Redis.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  wake(): void {
    this.#pending = true;
    this.#resolve?.();
  }

  /**
   * Resolves on a wake-up (also one that came before), after `timeoutMs` (Infinity: no timeout), or when
   * `signal` aborts (at once when it already has).
   */
  async next(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (!this.#pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#resolve = undefined;
          resolve();
        };
        // setTimeout would fire at once for a delay past 2^31-1 ms, Infinity included.
        const timer = Number.isFinite(timeoutMs) ? setTimeout(done, timeoutMs) : undefined;
        signal.addEventListener('abort', done);
        this.#resolve = done;
      });
    }
    this.#pending = false;
  }
}
