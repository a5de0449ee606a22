import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '@foundation/kit';
import { blockingConnection, commandConnection, RUN_QUEUE_PREFIX } from '@foundation/run-queue';
import { compileWorkflow, type ScheduleTrigger, type WorkflowSpecJson } from '@foundation/workflow-dsl';
import { Queue, Worker, type Job, type JobSchedulerJson } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunStarter } from './run-starter.js';
import type { ScheduledWorkflow } from './workflow-store.js';

const SCHEDULE_QUEUE = 'workflow-schedules';

/** What a schedule's jobs carry: ids only. */
interface ScheduleJobData {
  orgId: string;
  workflowId: string;
  nodeId: string;
}

/** How often a resync is tried again after Redis refused a schedule change or a resync. */
const RETRY_INTERVAL_MS = 2_000;
/** Schedulers read from Redis per call during a resync. */
const SCHEDULERS_PAGE = 1_000;

export interface ScheduleSyncOptions {
  /** Every published workflow that has a schedule: what Redis must hold. */
  scheduledWorkflows: () => Promise<ScheduledWorkflow[]>;
  /** How often Redis is compared with PostgreSQL and corrected, even when nothing failed. */
  resyncIntervalMs: number;
}

/**
 * The `trigger.schedule` nodes of published workflows as BullMQ job schedulers (one per node, id
 * `<workflow>:<node>`), kept in Redis so they survive restarts of every process; and the worker that
 * turns each firing into a run of the latest version. A firing's job id is unique, and it is the run's
 * idempotency key, so a firing handled twice starts one run.
 *
 * PostgreSQL holds what is published; Redis follows. A publish or an archive writes its schedules at once;
 * if Redis refuses (it is down), the change is not lost but left to a **resync**, which makes Redis hold
 * exactly the schedules of PostgreSQL's published workflows: missing or changed ones are registered, others
 * removed. A resync runs at start, every RETRY_INTERVAL_MS while Redis is behind, and every
 * `resyncIntervalMs` anyway (Redis may have lost its data, or another instance's write may have raced).
 */
export class ScheduleSync {
  readonly #queueRedis: Redis;
  readonly #workerRedis: Redis;
  readonly #queue: Queue<ScheduleJobData>;
  /** Writes to the schedulers are made one after another, so a resync never interleaves with a publish. */
  #writes: Promise<void> = Promise.resolve();
  /** Redis refused a write: it may lack a change until the next resync succeeds. */
  #behind = false;
  #lastResyncAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #worker: Worker<ScheduleJobData> | undefined;

  constructor(
    redisUrl: string,
    private readonly log: Logger,
    private readonly options: ScheduleSyncOptions,
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

  /** Resyncs, then fires schedules into runs through `starter` and keeps Redis in step with PostgreSQL. */
  async start(starter: RunStarter): Promise<void> {
    await this.resync();
    this.#worker = new Worker<ScheduleJobData>(SCHEDULE_QUEUE, (job) => this.fire(starter, job), {
      connection: this.#workerRedis,
      prefix: RUN_QUEUE_PREFIX,
    });
    this.#worker.on('error', (error) => this.log.warn({ error: error.message }, 'schedule worker error'));
    this.#timer = setInterval(() => {
      if (this.#behind || Date.now() - this.#lastResyncAt >= this.options.resyncIntervalMs) void this.resync();
    }, Math.min(RETRY_INTERVAL_MS, this.options.resyncIntervalMs));
    this.#timer.unref();
  }

  /** After a publish: the new version's schedules replace the previous version's. */
  async published(orgId: string, workflowId: string, spec: WorkflowSpecJson, previous?: WorkflowSpecJson): Promise<void> {
    const register = compileWorkflow(spec).scheduleTriggers();
    const kept = new Set(register.map((t) => t.nodeId));
    const remove = previous ? compileWorkflow(previous).scheduleTriggers().filter((t) => !kept.has(t.nodeId)) : [];
    await this.write(workflowId, async () => {
      for (const trigger of remove) await this.#queue.removeJobScheduler(schedulerId(workflowId, trigger.nodeId));
      for (const trigger of register) await this.register(orgId, workflowId, trigger);
    });
  }

  /** After an archive: its schedules stop. */
  async archived(workflowId: string, latest: WorkflowSpecJson): Promise<void> {
    await this.write(workflowId, async () => {
      for (const trigger of compileWorkflow(latest).scheduleTriggers()) await this.#queue.removeJobScheduler(schedulerId(workflowId, trigger.nodeId));
    });
  }

  /**
   * Makes Redis hold exactly the schedules of the published workflows in PostgreSQL. Leaves Redis marked
   * behind, to be tried again, if either does not answer.
   */
  resync(): Promise<void> {
    return this.write(undefined, async () => {
      const desired = new Map<string, { orgId: string; workflowId: string; trigger: ScheduleTrigger }>();
      for (const { orgId, workflowId, spec } of await this.options.scheduledWorkflows()) {
        for (const trigger of compileWorkflow(spec).scheduleTriggers()) desired.set(schedulerId(workflowId, trigger.nodeId), { orgId, workflowId, trigger });
      }
      const held = await this.heldSchedulers();
      let removed = 0;
      let registered = 0;
      for (const [key] of held) {
        if (desired.has(key)) continue;
        await this.#queue.removeJobScheduler(key);
        removed += 1;
      }
      for (const [key, { orgId, workflowId, trigger }] of desired) {
        const current = held.get(key);
        if (current && current.pattern === trigger.cron && current.tz === trigger.timezone) continue;
        await this.register(orgId, workflowId, trigger);
        registered += 1;
      }
      const wasBehind = this.#behind;
      this.#behind = false;
      this.#lastResyncAt = Date.now();
      if (registered > 0 || removed > 0 || wasBehind) this.log.info({ registered, removed, schedules: desired.size }, 'schedules resynced with PostgreSQL');
    });
  }

  /** Runs `work` after the writes before it; a failure leaves Redis behind, for the next resync. */
  private write(workflowId: string | undefined, work: () => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(work).catch((e: unknown) => {
      if (!this.#behind) {
        this.log.warn({ workflowId, error: (e as Error).message }, 'schedules not updated in Redis; a resync catches up once it answers');
      }
      this.#behind = true;
    });
    return this.#writes;
  }

  private async register(orgId: string, workflowId: string, trigger: ScheduleTrigger): Promise<void> {
    await this.#queue.upsertJobScheduler(
      schedulerId(workflowId, trigger.nodeId),
      { pattern: trigger.cron, tz: trigger.timezone },
      {
        name: 'fire',
        data: { orgId, workflowId, nodeId: trigger.nodeId },
        opts: { removeOnComplete: true, removeOnFail: { count: 100 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
      },
    );
  }

  /** Every scheduler in Redis, by key. */
  private async heldSchedulers(): Promise<Map<string, JobSchedulerJson>> {
    const held = new Map<string, JobSchedulerJson>();
    for (let start = 0; ; start += SCHEDULERS_PAGE) {
      const page = await this.#queue.getJobSchedulers(start, start + SCHEDULERS_PAGE - 1, true);
      for (const scheduler of page) held.set(scheduler.key, scheduler);
      if (page.length < SCHEDULERS_PAGE) return held;
    }
  }

  /**
   * Does not wait for a firing under way (a graceful close hangs while Redis is away): an abandoned firing
   * is retried from Redis, and its idempotency key keeps it to one run.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writes;
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
