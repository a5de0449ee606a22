import { Redis } from 'ioredis';

/**
 * The two kinds of Redis connection the run queue's users open, in one place. Neither connects until
 * first used (BullMQ and the subscribers connect them), and neither lets an `error` event crash the
 * process: a failure surfaces through the call that hits it, and ioredis keeps reconnecting.
 */

/** For commands a caller waits on (adding jobs, reading job states): fails fast instead of queueing while Redis is away. */
export function commandConnection(url: string): Redis {
  return quiet(new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true }));
}

/** For blocking reads and subscriptions (BullMQ workers, pub/sub): waits through an outage, as BullMQ requires. */
export function blockingConnection(url: string): Redis {
  return quiet(new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true }));
}

function quiet(redis: Redis): Redis {
  redis.on('error', () => undefined);
  return redis;
}
