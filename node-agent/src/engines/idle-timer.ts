/**
 * Fires once after `timeoutMs` without `touch()`. Touching only records the time, so an engine printing
 * thousands of lines does not cost a timer each.
 */
export class IdleTimer {
  private lastActivity = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.arm(timeoutMs);
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => {
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor >= this.timeoutMs) {
        this.timer = undefined;
        this.onIdle();
      } else {
        this.arm(this.timeoutMs - idleFor);
      }
    }, delayMs);
  }
}
