import { Queue, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { commandConnection } from './redis-connections.js';
import { RUN_QUEUE_NAME, RUN_QUEUE_PREFIX, type RunJobData } from './run-queue-protocol.js';

export type RunJobState = JobState | 'unknown';

/** Redis did not take the job in time (down, unreachable, or too slow). */
export class QueueUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the run queue is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The producer side of the run queue. Its connection does not queue commands while Redis is away
 * (`enableOfflineQueue: false`) and `enqueue` has its own deadline, so starting a run fails within the
 * deadline instead of hanging until Redis returns.
 */
export class RunQueue {
  readonly #redis: Redis;
  readonly #queue: Queue<RunJobData>;

  constructor(redisUrl: string) {
    this.#redis = commandConnection(redisUrl);
    this.#queue = new Queue<RunJobData>(RUN_QUEUE_NAME, { connection: this.#redis, prefix: RUN_QUEUE_PREFIX });
    this.#queue.on('error', () => undefined);
  }

  /** Resolves once Redis answers (BullMQ connects the client itself). */
  async connect(): Promise<void> {
    await this.#queue.waitUntilReady();
  }

  /** Adds the run's job (job id = run id; adding an existing one is a no-op), or throws QueueUnavailableError. */
  async enqueue(runId: string, data: RunJobData, timeoutMs: number): Promise<void> {
    await this.#withDeadline(
      this.#queue.add('run', data, { jobId: runId, removeOnComplete: true, removeOnFail: { count: 1000 } }),
      timeoutMs,
    );
  }

  /** Where the run's job is; 'unknown' when there is none (finished and removed, or lost). */
  jobState(runId: string): Promise<RunJobState> {
    return this.#queue.getJobState(runId);
  }

  /** Removes a finished or lost job so the same run id can be queued again. */
  async removeJob(runId: string): Promise<void> {
    await this.#queue.remove(runId);
  }

  async close(): Promise<void> {
    await this.#queue.close().catch(() => undefined);
    this.#redis.disconnect();
  }

  async #withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (e) {
      throw new QueueUnavailableError(e);
    } finally {
      clearTimeout(timer);
    }
  }
}
