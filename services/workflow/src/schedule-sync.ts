import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '@foundation/kit';
import { blockingConnection, commandConnection, RUN_QUEUE_PREFIX } from '@foundation/run-queue';
import { compileWorkflow, type WorkflowSpecJson } from '@foundation/workflow-dsl';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunStarter } from './run-starter.js';

const SCHEDULE_QUEUE = 'workflow-schedules';

/** What a schedule's jobs carry: ids only. */
interface ScheduleJobData {
  orgId: string;
  workflowId: string;
  nodeId: string;
}

/**
 * The `trigger.schedule` nodes of published workflows as BullMQ job schedulers (one per node, id
 * `<workflow>:<node>`), kept in Redis so they survive restarts of every process; and the worker that
 * turns each firing into a run of the latest version. A firing's job id is unique, and it is the run's
 * idempotency key, so a firing handled twice starts one run.
 */
export class ScheduleSync {
  readonly #queueRedis: Redis;
  readonly #workerRedis: Redis;
  readonly #queue: Queue<ScheduleJobData>;
  #worker: Worker<ScheduleJobData> | undefined;

  constructor(
    redisUrl: string,
    private readonly log: Logger,
  ) {
    this.#queueRedis = commandConnection(redisUrl);
    this.#workerRedis = blockingConnection(redisUrl);
    this.#queue = new Queue<ScheduleJobData>(SCHEDULE_QUEUE, { connection: this.#queueRedis, prefix: RUN_QUEUE_PREFIX });
    this.#queue.on('error', () => undefined);
  }

  /** Resolves once Redis answers (BullMQ connects the client itself). */
  async connect(): Promise<void> {
    await this.#queue.waitUntilReady();
  }

  /** Starts firing schedules into runs through `starter`. */
  startFiring(starter: RunStarter): void {
    this.#worker = new Worker<ScheduleJobData>(SCHEDULE_QUEUE, (job) => this.fire(starter, job), {
      connection: this.#workerRedis,
      prefix: RUN_QUEUE_PREFIX,
    });
    this.#worker.on('error', (error) => this.log.warn({ error: error.message }, 'schedule worker error'));
  }

  /** After a publish: the new version's schedules replace the previous version's. */
  async published(orgId: string, workflowId: string, spec: WorkflowSpecJson, previous?: WorkflowSpecJson): Promise<void> {
    const current = compileWorkflow(spec).scheduleTriggers();
    const kept = new Set(current.map((t) => t.nodeId));
    const dropped = previous ? compileWorkflow(previous).scheduleTriggers().filter((t) => !kept.has(t.nodeId)) : [];
    for (const trigger of dropped) await this.#queue.removeJobScheduler(schedulerId(workflowId, trigger.nodeId));
    for (const trigger of current) {
      await this.#queue.upsertJobScheduler(
        schedulerId(workflowId, trigger.nodeId),
        { pattern: trigger.cron, tz: trigger.timezone },
        { name: 'fire', data: { orgId, workflowId, nodeId: trigger.nodeId }, opts: { removeOnComplete: true, removeOnFail: { count: 100 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } } },
      );
    }
  }

  /**
   * Registers the schedules of every published workflow again (an upsert: existing ones are unchanged), at
   * start: PostgreSQL holds what should fire, and Redis may have lost it or missed a publish.
   */
  async restore(workflows: { orgId: string; workflowId: string; spec: WorkflowSpecJson }[]): Promise<void> {
    for (const { orgId, workflowId, spec } of workflows) await this.published(orgId, workflowId, spec);
    if (workflows.length > 0) this.log.info({ workflows: workflows.length }, 'schedules restored');
  }

  /** After an archive: its schedules stop. */
  async archived(workflowId: string, latest: WorkflowSpecJson): Promise<void> {
    for (const trigger of compileWorkflow(latest).scheduleTriggers()) {
      await this.#queue.removeJobScheduler(schedulerId(workflowId, trigger.nodeId));
    }
  }

  /**
   * Does not wait for a firing under way (a graceful close hangs while Redis is away): an abandoned firing
   * is retried from Redis, and its idempotency key keeps it to one run.
   */
  async close(): Promise<void> {
    await this.#worker?.close(true).catch(() => undefined);
    await this.#queue.close().catch(() => undefined);
    this.#queueRedis.disconnect();
    this.#workerRedis.disconnect();
  }

  private async fire(starter: RunStarter, job: Job<ScheduleJobData>): Promise<void> {
    const { orgId, workflowId, nodeId } = job.data;
    try {
      const run = await starter.start(orgId, {
        workflowId,
        version: 0,
        trigger: 'schedule',
        triggerNodeId: nodeId,
        inputs: {},
        triggerOutput: { firedAt: new Date(job.processedOn ?? Date.now()).toISOString() },
        idempotencyKey: job.id ?? '',
        startedBy: '',
        retryOf: '',
      });
      this.log.info({ workflowId, nodeId, runId: run.id }, 'schedule started a run');
    } catch (e) {
      // A workflow archived or changed under a firing: the schedule is stale; anything else is retried.
      const error = ConnectError.from(e);
      if (error.code === Code.FailedPrecondition || error.code === Code.NotFound || error.code === Code.InvalidArgument) {
        this.log.warn({ workflowId, nodeId, error: error.message }, 'schedule could not start a run; removing it');
        await this.#queue.removeJobScheduler(schedulerId(workflowId, nodeId));
        return;
      }
      throw e;
    }
  }
}

function schedulerId(workflowId: string, nodeId: string): string {
  return `${workflowId}:${nodeId}`;
}
