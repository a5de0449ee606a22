import type { Logger } from '@foundation/kit';
import { Redis } from 'ioredis';

const CHANNEL_PREFIX = 'foundation:session:events:';

/**
 * Tells watchers that a session changed (new events, a new state). The message is only a wake-up call:
 * watchers read from PostgreSQL themselves, so a lost message delays a watcher until its next poll but
 * never loses or duplicates an event. One subscriber connection per process, one channel per watched
 * session, subscribed while at least one watcher listens.
 *
 * The workflow service's RunEventFeed is the same mechanism for runs; the two are to become one in a
 * shared package that depends on ioredis.
 */
export class SessionEventFeed {
  readonly #listeners = new Map<string, Set<() => void> & { ready: Promise<void> }>();
  readonly #subscriber: Redis;

  constructor(
    private readonly publisher: Redis,
    redisUrl: string,
    private readonly log: Logger,
  ) {
    // Waits through a Redis outage (no retry limit), as a subscription must; errors surface as polls.
    this.#subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('message', (channel: string) => {
      for (const listener of this.#listeners.get(channel.slice(CHANNEL_PREFIX.length)) ?? []) listener();
    });
  }

  async connect(): Promise<void> {
    await this.#subscriber.connect();
  }

  /** Announces a change of `sessionId`; a failure is logged, watchers then catch up by polling. */
  notify(sessionId: string, lastSeq: number): void {
    this.publisher.publish(CHANNEL_PREFIX + sessionId, String(lastSeq)).catch((error: Error) => {
      this.log.warn({ sessionId, error: error.message }, 'could not announce a session change; watchers will poll');
    });
  }

  /**
   * Calls `listener` whenever `sessionId` changes, until `unsubscribe`. `ready` resolves once Redis
   * confirmed the subscription (or could not: watchers then poll), so a reader that reads after it misses
   * no notification of what it did not read.
   */
  subscribe(sessionId: string, listener: () => void): { ready: Promise<void>; unsubscribe: () => void } {
    let entry = this.#listeners.get(sessionId);
    if (!entry) {
      const ready = this.#subscriber.subscribe(CHANNEL_PREFIX + sessionId).then(
        () => undefined,
        () => undefined,
      );
      entry = Object.assign(new Set<() => void>(), { ready });
      this.#listeners.set(sessionId, entry);
    }
    const listeners = entry;
    listeners.add(listener);
    const unsubscribe = () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(sessionId) === listeners) {
        this.#listeners.delete(sessionId);
        this.#subscriber.unsubscribe(CHANNEL_PREFIX + sessionId).catch(() => undefined);
      }
    };
    return { ready: listeners.ready, unsubscribe };
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}
