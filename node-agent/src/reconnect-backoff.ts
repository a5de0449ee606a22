export interface ReconnectBackoffOptions {
  /** The first retry waits up to this long. */
  initialDelayMs?: number;
  /** No wait is longer than this. */
  maxDelayMs?: number;
  /** A number in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter (a uniformly random wait between 0 and the exponential ceiling), so
 * a thousand nodes cut off by one brain restart do not all come back in the same second.
 */
export class ReconnectBackoff {
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: ReconnectBackoffOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** The ceiling of the next wait, before jitter. */
  get ceilingMs(): number {
    // Capping the exponent keeps 2 ** attempt finite however long the server stays away.
    return Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempt, 30));
  }

  /** The wait before the next attempt; each call raises the ceiling for the one after. */
  nextDelayMs(): number {
    const delay = Math.floor(this.random() * this.ceilingMs);
    this.attempt += 1;
    return delay;
  }

  /** After a healthy connection the next failure starts from the shortest wait again. */
  reset(): void {
    this.attempt = 0;
  }
}
