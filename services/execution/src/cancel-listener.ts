import { blockingConnection, RUN_CANCEL_CHANNEL } from '@foundation/run-queue';
import type { Redis } from 'ioredis';

/**
 * Hears cancellations the workflow service announces and interrupts the runs this worker executes. The
 * announcement is a shortcut: each progress report also carries a pending cancellation.
 */
export class CancelListener {
  readonly #runs = new Map<string, () => void>();
  readonly #subscriber: Redis;

  constructor(redisUrl: string) {
    this.#subscriber = blockingConnection(redisUrl);
    this.#subscriber.on('message', (_channel: string, runId: string) => this.#runs.get(runId)?.());
  }

  async connect(): Promise<void> {
    await this.#subscriber.connect();
    await this.#subscriber.subscribe(RUN_CANCEL_CHANNEL);
  }

  /** Calls `onCancel` when `runId` is cancelled, until the returned function is called. */
  listen(runId: string, onCancel: () => void): () => void {
    this.#runs.set(runId, onCancel);
    return () => {
      if (this.#runs.get(runId) === onCancel) this.#runs.delete(runId);
    };
  }

  close(): void {
    this.#subscriber.disconnect();
  }
}
