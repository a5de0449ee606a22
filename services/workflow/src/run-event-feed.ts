import type { Logger } from '@foundation/kit';
import { blockingConnection } from '@foundation/run-queue';
import type { Redis } from 'ioredis';

const CHANNEL_PREFIX = 'foundation:workflow:run-events:';

/**
 * Tells watchers that a run has new events. The message is only a wake-up call (the last seq, an id):
 * watchers read the events themselves from PostgreSQL, so a lost message delays a watcher until its next
 * poll but never loses or duplicates an event. One subscriber connection per process, one Redis channel
 * per watched run, subscribed while at least one watcher listens.
 */
export class RunEventFeed {
  readonly #listeners = new Map<string, Set<() => void> & { ready: Promise<void> }>();
  readonly #subscriber: Redis;

  constructor(
    private readonly publisher: Redis,
    redisUrl: string,
    private readonly log: Logger,
  ) {
    this.#subscriber = blockingConnection(redisUrl);
    this.#subscriber.on('message', (channel: string) => {
      for (const listener of this.#listeners.get(channel.slice(CHANNEL_PREFIX.length)) ?? []) listener();
    });
  }

  async connect(): Promise<void> {
    await this.#subscriber.connect();
  }

  /** Announces new events of `runId`; a failure is logged, watchers then catch up by polling. */
  notify(runId: string, lastSeq: number): void {
    this.publisher.publish(CHANNEL_PREFIX + runId, String(lastSeq)).catch((error: Error) => {
      this.log.warn({ runId, error: error.message }, 'could not announce new run events; watchers will poll');
    });
  }

  /**
   * Calls `listener` whenever `runId` has new events, until `unsubscribe` is called. `ready` resolves once
   * Redis confirmed the subscription (or could not: watchers then poll), so a reader that reads after it
   * misses no notification of what it did not read.
   */
  subscribe(runId: string, listener: () => void): { ready: Promise<void>; unsubscribe: () => void } {
    let entry = this.#listeners.get(runId);
    if (!entry) {
      const ready = this.#subscriber.subscribe(CHANNEL_PREFIX + runId).then(
        () => undefined,
        () => undefined,
      );
      entry = Object.assign(new Set<() => void>(), { ready });
      this.#listeners.set(runId, entry);
    }
    const listeners = entry;
    listeners.add(listener);
    const unsubscribe = () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(runId) === listeners) {
        this.#listeners.delete(runId);
        this.#subscriber.unsubscribe(CHANNEL_PREFIX + runId).catch(() => undefined);
      }
    };
    return { ready: listeners.ready, unsubscribe };
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}
