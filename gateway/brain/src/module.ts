import { randomUUID } from 'node:crypto';
import type { Client } from '@connectrpc/connect';
import {
  BrainService,
  ExecutorService,
  PairingService,
  TaskService,
  type AgentRunService,
  type SecretsService,
  type SessionTaskSinkService,
} from '@foundation/contracts';
import type { ConnectorCatalog, ConnectorLimits } from '@foundation/connectors';
import { createSqlPool, querySql } from '@foundation/db';
import { grpcBidiStreamRoute, type Logger, type ServiceModule } from '@foundation/kit';
import type { Redis } from 'ioredis';
import { AgentExecuteTool } from './agent-execute-tool.js';
import { BrainServiceImpl, MISSED_HEARTBEATS_LIMIT } from './brain-service.js';
import { BrainSignals, type BrainSignal } from './brain-signals.js';
import { ConnectionRegistry, replacedError } from './connection-registry.js';
import { ExecutorServiceImpl } from './executor-service.js';
import { ExecutorStore } from './executor-store.js';
import { LeaseSweeper } from './lease-sweeper.js';
import { NodeAuthenticator, revokedError } from './node-authenticator.js';
import { PairingCodeStore } from './pairing-code-store.js';
import { PairingRateLimiter, type PairingRateLimitOptions } from './pairing-rate-limiter.js';
import { PairingServiceImpl } from './pairing-service.js';
import { TaskCloser } from './task-closer.js';
import { TaskDispatcher } from './task-dispatcher.js';
import { TaskEventRelay } from './task-event-relay.js';
import { TaskServiceImpl } from './task-service.js';
import { TaskStore } from './task-store.js';
import { ToolBridge } from './tool-bridge.js';

export interface BrainModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  redisUrl: string;
  /** The process's shared Redis connection, for publishing signals and counting pairing failures. */
  redis: Redis;
  log: Logger;
  /** How often nodes send a heartbeat; three missed end the stream. */
  heartbeatIntervalMs: number;
  /** How long a heartbeat keeps a task the node's. */
  leaseTtlMs: number;
  /** How often lapsed leases are looked for. */
  sweepIntervalMs: number;
  pairingRateLimit: PairingRateLimitOptions;
  catalog: ConnectorCatalog;
  connectors: ConnectorLimits;
  /** Where task events go: the session service. */
  sink: Client<typeof SessionTaskSinkService>;
  /** Resolves the secrets of tool-bridge connector actions. */
  secrets: Client<typeof SecretsService>;
  /** Runs tool-bridge agent_execute calls as child sessions: the session service. */
  agentRuns: Client<typeof AgentRunService>;
}

/**
 * The brain: pairing, the executor registry, the nodes' streams, task dispatch under leases, and the tool
 * bridge. Several instances may run against one database and Redis: pending tasks wait in PostgreSQL and
 * the instance holding a fitting node claims them; revocations, cancellations, new streams and wake-ups
 * reach the other instances through Redis pub/sub (BrainSignals).
 */
export async function createBrainModule(options: BrainModuleOptions): Promise<ServiceModule> {
  const { log } = options;
  const instanceId = randomUUID();
  const pool = createSqlPool(options.databaseUrl, options.databasePoolMax);
  const executors = new ExecutorStore(pool, options.heartbeatIntervalMs * MISSED_HEARTBEATS_LIMIT);
  const tasks = new TaskStore(pool);
  const registry = new ConnectionRegistry();
  const signals = new BrainSignals(options.redis, options.redisUrl, instanceId, log);
  await signals.connect((signal) => applySignal(registry, signal));
  const closer = new TaskCloser(tasks, options.sink, log);
  const sweeper = new LeaseSweeper(tasks, closer, registry, signals, options.sweepIntervalMs, log);
  const dispatcher = new TaskDispatcher(tasks, options.sink, options.leaseTtlMs, log);

  const brainImpl = new BrainServiceImpl({
    authenticator: new NodeAuthenticator(executors),
    executors,
    tasks,
    registry,
    signals,
    dispatcher,
    relay: new TaskEventRelay(tasks, options.sink, closer, log),
    closer,
    bridge: new ToolBridge(options.catalog, options.secrets, options.connectors, new AgentExecuteTool(options.agentRuns, log), log),
    policy: { heartbeatIntervalMs: options.heartbeatIntervalMs, leaseTtlMs: options.leaseTtlMs, instanceId },
    log,
  });
  const pairingImpl = new PairingServiceImpl(new PairingCodeStore(pool, executors), new PairingRateLimiter(options.redis, options.pairingRateLimit));
  const executorImpl = new ExecutorServiceImpl(executors, tasks, closer, signals, log);
  const taskImpl = new TaskServiceImpl(tasks, executors, registry, signals, closer, dispatcher);
  return {
    name: 'brain',
    serviceNames: [BrainService.typeName, PairingService.typeName, ExecutorService.typeName, TaskService.typeName],
    registerRpc: (router) => {
      router.service(BrainService, brainImpl);
      router.service(PairingService, pairingImpl);
      router.service(ExecutorService, executorImpl);
      router.service(TaskService, taskImpl);
    },
    // Every connected node holds a Connect stream open: on the kit's lean gRPC path its heap share is a third.
    grpcStreams: [grpcBidiStreamRoute(BrainService.method.connect, (requests, context) => brainImpl.connect(requests, context))],
    start: () => sweeper.start(),
    checkReady: async () => {
      await querySql(pool, 'select 1');
      await options.redis.ping();
    },
    close: async () => {
      await sweeper.stop();
      signals.close();
      await pool.end();
    },
  };
}

/** What a signal from any brain instance means for the streams this one holds. */
function applySignal(registry: ConnectionRegistry, signal: BrainSignal): void {
  switch (signal.kind) {
    case 'tasks-pending':
      for (const connection of registry.ofOrg(signal.orgId)) void connection.requestDispatch();
      return;
    case 'executor-revoked':
      registry.get(signal.executorId)?.end(revokedError());
      return;
    case 'executor-connected': {
      const older = registry.get(signal.executorId);
      if (older && older.connectionId !== signal.connectionId) older.end(replacedError());
      return;
    }
    case 'cancel-task':
      registry.get(signal.executorId)?.cancelTask(signal.taskId, signal.reason);
      return;
  }
}
