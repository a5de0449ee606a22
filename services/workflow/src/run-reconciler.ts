import type { EventFeed } from '@foundation/event-feed';
import type { Logger } from '@foundation/kit';
import type { RunJobState, RunQueue } from '@foundation/run-queue';
import type { RunStore, RunToReconcile } from './run-store.js';
import { endVerdict } from './run-verdicts.js';

export interface ReconcilerOptions {
  intervalMs: number;
  /** A queued run younger than this is left alone: its job is still being added. */
  queuedGraceMs: number;
  /** A running run whose lease expired less than this ago is left to BullMQ's stalled-job recovery. */
  leaseGraceMs: number;
  /** As the lease policy's: a run claimed this often is not queued again. */
  maxClaims: number;
  enqueueTimeoutMs: number;
  /** Runs looked at per pass. */
  batchSize: number;
}

/** Job states in which a worker has the run or will take it. */
const LIVE_JOB_STATES: ReadonlySet<RunJobState> = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Repairs runs that PostgreSQL says are queued or running but that no worker will finish: a start that
 * crashed between insert and enqueue, a Redis that lost its data, a worker that died after its job was
 * removed. PostgreSQL is the source of truth: a run with no live job is queued again (job id = run id)
 * or, past its deadline, its recovery budget, or with a pending cancellation, ended with a reason.
 */
export class RunReconciler {
  #timer: NodeJS.Timeout | undefined;
  #passing: Promise<void> | undefined;

  constructor(
    private readonly runs: RunStore,
    private readonly queue: RunQueue,
    private readonly feed: EventFeed,
    private readonly log: Logger,
    private readonly options: ReconcilerOptions,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#passing ??= this.pass()
        .catch((error: Error) => this.log.warn({ error: error.message }, 'run reconciliation failed; retrying next interval'))
        .then(() => undefined)
        .finally(() => (this.#passing = undefined));
    }, this.options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#passing;
  }

  /** One pass; returns how many runs it requeued or ended. */
  async pass(): Promise<number> {
    const now = Date.now();
    const candidates = await this.runs.toReconcile(new Date(now - this.options.queuedGraceMs), new Date(now - this.options.leaseGraceMs), this.options.batchSize);
    let repaired = 0;
    for (const candidate of candidates) {
      if (LIVE_JOB_STATES.has(await this.queue.jobState(candidate.id))) continue;
      await this.repair(candidate, now);
      repaired += 1;
    }
    return repaired;
  }

  private async repair({ id, orgId }: RunToReconcile, now: number): Promise<void> {
    const run = await this.runs.get(orgId, id);
    const verdict = endVerdict(run, now, this.options.maxClaims);
    if (verdict) {
      const ended = await this.runs.end(orgId, id, verdict.status, verdict.error);
      this.feed.notify(id, ended.lastSeq);
      this.log.warn({ runId: id, orgId, reason: verdict.error.reason }, 'reconciler ended a run no worker held');
      return;
    }
    await this.queue.removeJob(id);
    await this.queue.enqueue(id, { orgId }, this.options.enqueueTimeoutMs);
    this.log.warn({ runId: id, orgId, status: run.status, attempt: run.attempt }, 'reconciler queued a run that had no job');
  }
}
