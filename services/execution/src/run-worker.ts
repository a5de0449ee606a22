import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ClaimOutcome } from '@foundation/contracts';
import type { Logger } from '@foundation/kit';
import { blockingConnection, RUN_QUEUE_NAME, RUN_QUEUE_PREFIX, type RunJobData } from '@foundation/run-queue';
import type { CompiledWorkflowCache } from '@foundation/workflow-dsl';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { claimedRun } from './claimed-run.js';
import { RunExecution, type RunExecutionDeps } from './run-execution.js';

export interface RunWorkerOptions {
  redisUrl: string;
  /** Runs this process executes at once. */
  concurrency: number;
  /** The run lease; also BullMQ's job lock, so a dead worker's job is recovered about when its lease ends. */
  leaseMs: number;
  /** How often BullMQ looks for jobs whose worker died. */
  stalledIntervalMs: number;
}

/** How long to wait before claiming again after the workflow service could not be reached. */
const CLAIM_RETRY_MS = 1_000;
/** Spreads retried claims, so jobs delayed together do not come back together. */
const RETRY_JITTER_MS = 250;

/**
 * The BullMQ consumer of the run queue. A job only names a run: the worker claims it from the workflow
 * service and executes what the claim returns. A run it may not take yet (another worker's live lease,
 * the org at its concurrency limit, the workflow service unreachable) goes back to the queue delayed,
 * which frees the slot for other orgs' runs.
 */
export class RunWorker {
  readonly #redis: Redis;
  readonly #worker: Worker<RunJobData>;
  readonly #executions = new Set<RunExecution>();
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(
    options: RunWorkerOptions,
    private readonly deps: RunExecutionDeps & { compiled: CompiledWorkflowCache },
    private readonly log: Logger,
  ) {
    this.#redis = blockingConnection(options.redisUrl);
    this.#worker = new Worker<RunJobData>(RUN_QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: this.#redis,
      prefix: RUN_QUEUE_PREFIX,
      concurrency: options.concurrency,
      lockDuration: options.leaseMs,
      stalledInterval: options.stalledIntervalMs,
      // Recovery is bounded by the workflow service's claim count, not by BullMQ's stalled count.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      autorun: false,
    });
    this.#worker.on('error', (error) => log.warn({ error: error.message }, 'run worker error'));
  }

  start(): void {
    void this.#worker.run();
  }

  /**
   * Stops taking jobs and abandons the runs under way without waiting for them (a delay node may last
   * hours): their leases lapse and other workers resume them from their last checkpoint.
   */
  async close(): Promise<void> {
    for (const execution of this.#executions) execution.abandon();
    await this.#worker.close(true);
    this.#redis.disconnect();
  }

  private async process(job: Job<RunJobData>, token: string | undefined): Promise<void> {
    const runId = job.id!;
    let claim;
    try {
      claim = await this.deps.progress.claimRun({ runId, orgId: job.data.orgId, workerId: this.workerId });
    } catch (e) {
      this.log.warn({ runId, error: e instanceof Error ? e.message : String(e) }, 'could not claim a run; trying again shortly');
      return this.later(job, token, CLAIM_RETRY_MS);
    }
    switch (claim.outcome) {
      case ClaimOutcome.CLAIMED: {
        const run = claimedRun(runId, claim);
        const workflow = this.deps.compiled.compile(run.workflowId, run.workflowVersion, run.spec);
        const execution = new RunExecution(this.deps, run, workflow);
        this.#executions.add(execution);
        try {
          await execution.execute();
        } finally {
          this.#executions.delete(execution);
        }
        return;
      }
      case ClaimOutcome.LEASE_HELD:
      case ClaimOutcome.ORG_AT_CAPACITY:
        return this.later(job, token, claim.retryAfterMs);
      default:
        return;
    }
  }

  private async later(job: Job<RunJobData>, token: string | undefined, delayMs: number): Promise<never> {
    await job.moveToDelayed(Date.now() + delayMs + Math.floor(Math.random() * RETRY_JITTER_MS), token);
    throw new DelayedError();
  }
}
