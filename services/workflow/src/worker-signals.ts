import type { Logger } from '@foundation/kit';
import { RUN_CANCEL_CHANNEL } from '@foundation/run-queue';
import type { Redis } from 'ioredis';

/**
 * Tells workers at once that a running run was cancelled, so the node under way is interrupted now
 * rather than at the worker's next progress report (which also carries the request, in case this
 * message is lost).
 */
export class WorkerSignals {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  cancel(runId: string): void {
    this.redis.publish(RUN_CANCEL_CHANNEL, runId).catch((error: Error) => {
      this.log.warn({ runId, error: error.message }, 'could not signal a cancellation; the worker will see it at its next report');
    });
  }
}
