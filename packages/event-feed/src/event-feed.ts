import type { Logger } from '@foundation/kit';
import { blockingConnection } from '@foundation/run-queue';
import type { Redis } from 'ioredis';

/** What `subscribe` returns: when the subscription is in place, and how to end it. */
export interface FeedSubscription {
  /**
   * Resolves once Redis confirmed the subscription (or could not: the reader then polls), so a reader
   * that reads after it misses no notification of what it did not read.
   */
  ready: Promise<void>;
  unsubscribe(): void;
}

/**
 * Tells readers that an event log stored in PostgreSQL (a run's, a session's) has changed. The message is
 * only a wake-up call: readers read the log themselves, so a lost message delays a reader until its next
 * poll but never loses or duplicates an event. One subscriber connection per feed, one Redis channel per
 * watched log (`channelPrefix` + its id), subscribed while at least one reader listens.
 */
export class EventFeed {
  readonly #listeners = new Map<string, Set<() => void> & { ready: Promise<void> }>();
  readonly #subscriber: Redis;

  constructor(
    private readonly publisher: Redis,
    redisUrl: string,
    /** Keeps the feeds of different logs apart on one Redis, e.g. "foundation:session:events:". */
    private readonly channelPrefix: string,
    private readonly log: Logger,
  ) {
    this.#subscriber = blockingConnection(redisUrl);
    this.#subscriber.on('message', (channel: string) => {
      for (const listener of this.#listeners.get(channel.slice(channelPrefix.length)) ?? []) listener();
    });
  }

  async connect(): Promise<void> {
    await this.#subscriber.connect();
  }

  /** Announces that the log of `id` changed (up to `lastSeq`); a failure is logged, readers then catch up by polling. */
  notify(id: string, lastSeq: number): void {
    this.publisher.publish(this.channelPrefix + id, String(lastSeq)).catch((error: Error) => {
      this.log.warn({ channel: this.channelPrefix + id, error: error.message }, 'could not announce new events; watchers will poll');
    });
  }

  /** Calls `listener` whenever the log of `id` changes, until `unsubscribe` is called. */
  subscribe(id: string, listener: () => void): FeedSubscription {
    let entry = this.#listeners.get(id);
    if (!entry) {
      const ready = this.#subscriber.subscribe(this.channelPrefix + id).then(
        () => undefined,
        () => undefined,
      );
      entry = Object.assign(new Set<() => void>(), { ready });
      this.#listeners.set(id, entry);
    }
    const listeners = entry;
    listeners.add(listener);
    const unsubscribe = () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(id) === listeners) {
        this.#listeners.delete(id);
        this.#subscriber.unsubscribe(this.channelPrefix + id).catch(() => undefined);
      }
    };
    return { ready: listeners.ready, unsubscribe };
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}
