/**
 * A one-slot signal between producers and the single loop that sends: `notify` wakes the loop if it waits,
 * or makes its next `wait` return at once, so no notification between two checks is ever lost.
 */
export class Wakeup {
  private pending = false;
  private resolveWaiter: (() => void) | undefined;

  notify(): void {
    const resolve = this.resolveWaiter;
    if (resolve === undefined) {
      this.pending = true;
      return;
    }
    this.resolveWaiter = undefined;
    resolve();
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.resolveWaiter = resolve));
  }
}
