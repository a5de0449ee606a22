import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '@foundation/kit';
import { blockingConnection, commandConnection, RUN_QUEUE_PREFIX } from '@foundation/run-queue';
import { compileWorkflow, type ScheduleTrigger, type WorkflowSpecJson } from '@foundation/workflow-dsl';
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

/** How often schedule changes that Redis did not take are tried again. */
const RETRY_INTERVAL_MS = 2_000;

/**
 * What a workflow's schedulers in Redis must become: these triggers registered, and the schedulers of these
 * other nodes (of earlier versions, or of an archived workflow) removed.
 */
interface ScheduleChange {
  orgId: string;
  register: ScheduleTrigger[];
  remove: string[];
}

/**
 * The `trigger.schedule` nodes of published workflows as BullMQ job schedulers (one per node, id
 * `<workflow>:<node>`), kept in Redis so they survive restarts of every process; and the worker that
 * turns each firing into a run of the latest version. A firing's job id is unique, and it is the run's
 * idempotency key, so a firing handled twice starts one run.
 *
 * PostgreSQL holds what is published; Redis follows. A change Redis does not take (it is down) is kept
 * and tried again every RETRY_INTERVAL_MS, so a publish or an archive does not fail over its schedules, and
 * a later change of the same workflow merges into the one still waiting.
 */
export class ScheduleSync {
  readonly #queueRedis: Redis;
  readonly #workerRedis: Redis;
  readonly #queue: Queue<ScheduleJobData>;
  /** Per workflow, the change Redis has not taken yet. */
  readonly #waiting = new Map<string, ScheduleChange>();
  /** Changes are applied one after another, so two of one workflow never interleave in Redis. */
  #changes: Promise<void> = Promise.resolve();
  readonly #retryTimer: NodeJS.Timeout;
  #retrying = false;
  #worker: Worker<ScheduleJobData> | undefined;

  constructor(
    redisUrl: string,
    private readonly log: Logger,
  ) {
    this.#queueRedis = commandConnection(redisUrl);
    this.#workerRedis = blockingConnection(redisUrl);
    this.#queue = new Queue<ScheduleJobData>(SCHEDULE_QUEUE, { connection: this.#queueRedis, prefix: RUN_QUEUE_PREFIX });
    this.#queue.on('error', () => undefined);
    this.#retryTimer = setInterval(() => {
      if (this.#waiting.size === 0 || this.#retrying) return;
      this.#retrying = true;
      void this.retryWaiting().finally(() => (this.#retrying = false));
    }, RETRY_INTERVAL_MS);
    this.#retryTimer.unref();
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
    const register = compileWorkflow(spec).scheduleTriggers();
    const kept = new Set(register.map((t) => t.nodeId));
    const remove = previous ? nodeIds(compileWorkflow(previous).scheduleTriggers()).filter((id) => !kept.has(id)) : [];
    await this.change(workflowId, { orgId, register, remove });
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
  async archived(orgId: string, workflowId: string, latest: WorkflowSpecJson): Promise<void> {
    await this.change(workflowId, { orgId, register: [], remove: nodeIds(compileWorkflow(latest).scheduleTriggers()) });
  }

  /**
   * Applies `change` after the changes before it, merged into the one still waiting for this workflow
   * (without `change`: the waiting one again). If Redis refuses, the merged change waits for the next try.
   */
  private change(workflowId: string, change?: ScheduleChange): Promise<void> {
    this.#changes = this.#changes.then(async () => {
      const waiting = this.#waiting.get(workflowId);
      const merged = mergeChanges(waiting, change);
      if (!merged) return;
      try {
        await this.apply(workflowId, merged);
      } catch (e) {
        if (!waiting) this.log.warn({ workflowId, error: (e as Error).message }, 'schedules not updated in Redis; trying again until it answers');
        this.#waiting.set(workflowId, merged);
        return;
      }
      this.#waiting.delete(workflowId);
      if (waiting) this.log.info({ workflowId }, 'schedules updated in Redis after waiting');
    });
    return this.#changes;
  }

  private async retryWaiting(): Promise<void> {
    for (const workflowId of [...this.#waiting.keys()]) await this.change(workflowId);
  }

  private async apply(workflowId: string, change: ScheduleChange): Promise<void> {
    for (const nodeId of change.remove) await this.#queue.removeJobScheduler(schedulerId(workflowId, nodeId));
    for (const trigger of change.register) {
      await this.#queue.upsertJobScheduler(
        schedulerId(workflowId, trigger.nodeId),
        { pattern: trigger.cron, tz: trigger.timezone },
        {
          name: 'fire',
          data: { orgId: change.orgId, workflowId, nodeId: trigger.nodeId },
          opts: { removeOnComplete: true, removeOnFail: { count: 100 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
        },
      );
    }
  }

  /**
   * Does not wait for a firing under way (a graceful close hangs while Redis is away): an abandoned firing
   * is retried from Redis, and its idempotency key keeps it to one run.
   */
  async close(): Promise<void> {
    clearInterval(this.#retryTimer);
    await this.#changes;
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

/**
 * `later` applied over `earlier`, which Redis may or may not have taken: every scheduler either registered
 * that `later` does not register is removed.
 */
function mergeChanges(earlier: ScheduleChange | undefined, later: ScheduleChange | undefined): ScheduleChange | undefined {
  if (!earlier || !later) return earlier ?? later;
  const registered = new Set(nodeIds(later.register));
  const remove = new Set([...earlier.remove, ...nodeIds(earlier.register), ...later.remove].filter((id) => !registered.has(id)));
  return { orgId: later.orgId, register: later.register, remove: [...remove] };
}

function nodeIds(triggers: ScheduleTrigger[]): string[] {
  return triggers.map((t) => t.nodeId);
}

function schedulerId(workflowId: string, nodeId: string): string {
  return `${workflowId}:${nodeId}`;
}
