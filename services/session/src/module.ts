import type { Client } from '@connectrpc/connect';
import { AgentRunService, SessionService, SessionTaskSinkService, type TaskService } from '@foundation/contracts';
import { createSqlPool, querySql } from '@foundation/db';
import { EventFeed } from '@foundation/event-feed';
import type { Logger, ServiceModule } from '@foundation/kit';
import type { Redis } from 'ioredis';
import { AgentRunServiceImpl } from './agent-run-service.js';
import { BrainTasks } from './brain-tasks.js';
import { SessionLifecycle } from './session-lifecycle.js';
import { SessionServiceImpl } from './session-service.js';
import { SessionStore } from './session-store.js';
import { TaskSinkServiceImpl } from './task-sink-service.js';

/** The Redis channels that announce a session's changes (the session id follows). */
const SESSION_EVENTS_CHANNEL_PREFIX = 'foundation:session:events:';

export interface SessionModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  redisUrl: string;
  /** The process's shared Redis connection, for publishing notifications. */
  redis: Redis;
  /** The brain's TaskService, called as "session". */
  tasks: Client<typeof TaskService>;
  /** How long a call to the brain may take before the session service answers UNAVAILABLE. */
  brainCallTimeoutMs: number;
  log: Logger;
}

/**
 * The session service: coding-agent sessions, their turns (handed to the brain as tasks) and their
 * persisted events, and the one-turn sessions of `agent.run` nodes. It alone writes the session schema;
 * the brain reports to it through SessionTaskSinkService.
 */
export async function createSessionModule(options: SessionModuleOptions): Promise<ServiceModule> {
  const pool = createSqlPool(options.databaseUrl, options.databasePoolMax);
  const feed = new EventFeed(options.redis, options.redisUrl, SESSION_EVENTS_CHANNEL_PREFIX, options.log);
  await feed.connect();
  const store = new SessionStore(pool);
  const lifecycle = new SessionLifecycle(store, new BrainTasks(options.tasks, options.brainCallTimeoutMs, options.log), feed);
  const sessionImpl = new SessionServiceImpl(store, lifecycle, feed);
  const sinkImpl = new TaskSinkServiceImpl(store, feed);
  const agentRunImpl = new AgentRunServiceImpl(store, lifecycle, feed);
  return {
    name: 'session',
    serviceNames: [SessionService.typeName, SessionTaskSinkService.typeName, AgentRunService.typeName],
    registerRpc: (router) => {
      router.service(SessionService, sessionImpl);
      router.service(SessionTaskSinkService, sinkImpl);
      router.service(AgentRunService, agentRunImpl);
    },
    checkReady: async () => {
      await querySql(pool, 'select 1');
      await options.redis.ping();
    },
    close: async () => {
      feed.close();
      await pool.end();
    },
  };
}
