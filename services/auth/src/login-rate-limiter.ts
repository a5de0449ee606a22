import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginRateLimitOptions {
  /** Attempts allowed per account (normalized email) in one window. */
  perAccount: number;
  /** Attempts allowed per client address in one window. */
  perAddress: number;
  windowMs: number;
}

export class LoginRateLimitedError extends Error {
  override readonly name = 'LoginRateLimitedError';
  constructor(readonly retryAfterMs: number) {
    super(`too many login attempts; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

/**
 * Counts login attempts in Redis, shared by every auth instance: per account against password guessing on
 * one account, per client address against one client trying many accounts. A successful login clears the
 * account's count.
 */
export class LoginRateLimiter {
  private readonly byAccount: RateLimiterRedis;
  private readonly byAddress: RateLimiterRedis;

  constructor(redis: Redis, options: LoginRateLimitOptions) {
    const duration = Math.ceil(options.windowMs / 1000);
    this.byAccount = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'foundation:login:account', points: options.perAccount, duration });
    this.byAddress = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'foundation:login:address', points: options.perAddress, duration });
  }

  /** Counts one attempt; throws LoginRateLimitedError when either limit is spent. */
  async consume(email: string, clientAddress: string): Promise<void> {
    try {
      await Promise.all([this.byAccount.consume(email), this.byAddress.consume(clientAddress)]);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw new LoginRateLimitedError(e.msBeforeNext);
      throw e;
    }
  }

  async succeeded(email: string): Promise<void> {
    await this.byAccount.delete(email);
  }
}
