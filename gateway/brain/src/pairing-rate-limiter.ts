import type { Redis } from 'ioredis';

const KEY_PREFIX = 'foundation:brain:pairing-failures:';

export interface PairingRateLimitOptions {
  /** Wrong codes one client address may send in one window. */
  maxFailuresPerAddress: number;
  windowMs: number;
}

/**
 * Counts wrong pairing codes per client address in Redis, shared by every brain instance, so nobody
 * guesses codes by trying them: after the limit, that address is refused until its window ends, right
 * codes included. A fixed window (the first failure sets the expiry) is enough for this.
 */
export class PairingRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly options: PairingRateLimitOptions,
  ) {}

  /** Milliseconds until the address may try again, or 0 when it may try now. */
  async retryAfterMs(address: string): Promise<number> {
    const key = KEY_PREFIX + address;
    const [count, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    if (Number(count ?? 0) < this.options.maxFailuresPerAddress) return 0;
    return Math.max(ttl, 1);
  }

  async recordFailure(address: string): Promise<void> {
    const key = KEY_PREFIX + address;
    // SET NX starts the window with its expiry; INCR keeps that expiry.
    await this.redis.multi().set(key, 0, 'PX', this.options.windowMs, 'NX').incr(key).exec();
  }
}
