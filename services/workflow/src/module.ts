import { RunProgressService, RunService, WorkflowService } from '@foundation/contracts';
import type { ConnectorCatalog } from '@foundation/connectors';
import { createSqlPool, querySql } from '@foundation/db';
import { EventFeed } from '@foundation/event-feed';
import type { Logger, ServiceModule } from '@foundation/kit';
import { RunQueue } from '@foundation/run-queue';
import { compileWorkflow, CompiledWorkflowCache, validateWorkflowSpec } from '@foundation/workflow-dsl';
import type { Redis } from 'ioredis';
import { RunLeases, type LeasePolicy } from './run-leases.js';
import { RunProgressServiceImpl } from './run-progress-service.js';
import { RunReconciler, type ReconcilerOptions } from './run-reconciler.js';
import { RunServiceImpl } from './run-service.js';
import { RunStarter } from './run-starter.js';
import { RunStore } from './run-store.js';
import { ScheduleSync } from './schedule-sync.js';
import { registerWebhookRoute } from './webhook-route.js';
import { WorkerSignals } from './worker-signals.js';
import { WorkflowServiceImpl, type SpecChecker } from './workflow-service.js';
import { WorkflowStore } from './workflow-store.js';

/** The Redis channels that announce a run's new events (the run id follows). */
const RUN_EVENTS_CHANNEL_PREFIX = 'foundation:workflow:run-events:';

export interface WorkflowModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  redisUrl: string;
  /** The process's shared Redis connection, for publishing notifications. */
  redis: Redis;
  catalog: ConnectorCatalog;
  log: Logger;
  leases: Omit<LeasePolicy, 'payloadMaxBytes'>;
  reconciler: Omit<ReconcilerOptions, 'maxClaims' | 'enqueueTimeoutMs'>;
  /** Largest event payload kept as it is; larger ones are truncated with a marker. */
  eventPayloadMaxBytes: number;
  /** How long StartRun waits for the queue before answering QUEUE_UNAVAILABLE. */
  enqueueTimeoutMs: number;
  webhookBodyLimit: string;
  /** How often the schedules in Redis are compared with PostgreSQL's published workflows and corrected. */
  scheduleResyncIntervalMs: number;
}

/**
 * The workflow service: definitions, runs and their events, the webhook route, schedules, and the run
 * reconciler. It alone writes the workflow schema; workers report to it through RunProgressService.
 */
export async function createWorkflowModule(options: WorkflowModuleOptions): Promise<ServiceModule> {
  const pool = createSqlPool(options.databaseUrl, options.databasePoolMax);
  const queue = new RunQueue(options.redisUrl);
  const feed = new EventFeed(options.redis, options.redisUrl, RUN_EVENTS_CHANNEL_PREFIX, options.log);
  const workflows = new WorkflowStore(pool);
  const schedules = new ScheduleSync(options.redisUrl, options.log, {
    scheduledWorkflows: () => workflows.scheduledWorkflows(),
    resyncIntervalMs: options.scheduleResyncIntervalMs,
  });
  await Promise.all([queue.connect(), feed.connect(), schedules.connect()]);

  const runs = new RunStore(pool, options.eventPayloadMaxBytes);
  // Published versions never change: one cache of compiled versions serves starts and claims.
  const compiled = new CompiledWorkflowCache();
  const leases = new RunLeases(pool, { ...options.leases, payloadMaxBytes: options.eventPayloadMaxBytes }, (run, spec) =>
    compiled.compile(run.workflowId, run.workflowVersion, spec).runTimeoutMs,
  );
  const starter = new RunStarter(workflows, runs, queue, compiled, options.enqueueTimeoutMs);
  const specs: SpecChecker = {
    problems: (spec) => validateWorkflowSpec(spec, { catalog: options.catalog }),
    hasWebhookTrigger: (spec) => compileWorkflow(spec).webhookTriggers().length > 0,
  };
  const reconciler = new RunReconciler(runs, queue, feed, options.log, {
    ...options.reconciler,
    maxClaims: options.leases.maxClaims,
    enqueueTimeoutMs: options.enqueueTimeoutMs,
  });
  await schedules.start(starter);
  reconciler.start();

  const workflowImpl = new WorkflowServiceImpl(workflows, specs, schedules);
  const runImpl = new RunServiceImpl(runs, starter, feed, new WorkerSignals(options.redis, options.log));
  const progressImpl = new RunProgressServiceImpl(leases, feed);
  return {
    name: 'workflow',
    serviceNames: [WorkflowService.typeName, RunService.typeName, RunProgressService.typeName],
    registerRpc: (router) => {
      router.service(WorkflowService, workflowImpl);
      router.service(RunService, runImpl);
      router.service(RunProgressService, progressImpl);
    },
    registerHttp: (app) => registerWebhookRoute(app, { workflows, starter, log: options.log, bodyLimit: options.webhookBodyLimit }),
    checkReady: async () => {
      await querySql(pool, 'select 1');
      await options.redis.ping();
    },
    close: async () => {
      await reconciler.stop();
      await schedules.close();
      feed.close();
      await queue.close();
      await pool.end();
    },
  };
}
