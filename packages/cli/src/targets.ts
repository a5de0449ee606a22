import { createAuthModule } from '@foundation/auth';
import { createBrainModule } from '@foundation/brain';
import { createBuiltinCatalog, type ConnectorLimits } from '@foundation/connectors';
import { createExecutionModule } from '@foundation/execution';
import {
  AccessTokenVerifier,
  ConfigError,
  createAuthnInterceptor,
  createDeferredTransportFactory,
  createLogger,
  createTenantInterceptor,
  FoundationServer,
  RpcMetrics,
  ServiceTokenIssuer,
  ServiceTokenVerifier,
  type Logger,
  type ServiceModule,
  roleFromProto,
} from '@foundation/kit';
import { createMetaModule } from '@foundation/meta';
import { createOrgModule } from '@foundation/org';
import { createSecretsModule } from '@foundation/secrets';
import { createSessionModule } from '@foundation/session';
import { createWorkflowModule } from '@foundation/workflow';
import { Redis } from 'ioredis';
import type { FoundationConfig } from './config.js';
import type { Infrastructure } from './infrastructure.js';
import { masterKeySource } from './master-key-source.js';
import { PLATFORM_VERSION } from './platform-version.js';
import { createServiceClients } from './service-clients.js';

/**
 * The services a process can run; `all` is every one of them. The meta service runs in every process.
 * `worker` is the execution service: the workflow worker, which serves no RPC.
 */
export const TARGETS = ['auth', 'org', 'secrets', 'workflow', 'session', 'brain', 'worker'] as const;
export type Target = (typeof TARGETS)[number];

/** How long a worker waits before claiming again a run of an org at its concurrency limit. */
const CAPACITY_RETRY_MS = 500;
/** Runs the reconciler looks at per pass. */
const RECONCILE_BATCH = 200;
/** How long the session service waits for the brain to take or cancel a task before answering UNAVAILABLE. */
const BRAIN_CALL_TIMEOUT_MS = 5_000;

/** Parses `--target`; a bad value is a ConfigError, which the CLI reports as a message, not a stack trace. */
export function parseTargets(text: string): Set<Target> {
  if (text === 'all') return new Set(TARGETS);
  const names = text.split(',').map((t) => t.trim());
  const unknown = names.filter((n) => !(TARGETS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new ConfigError(`--target: unknown target ${unknown.map((n) => JSON.stringify(n)).join(', ')}; choose all or any of ${TARGETS.join(', ')}`);
  }
  return new Set(names as Target[]);
}

export interface RunningTargets {
  server: FoundationServer;
  log: Logger;
  modules: ServiceModule[];
  /** Stops the server gracefully, then the connections the targets opened; calling it again waits for the first. */
  close(): Promise<void>;
}

/** Builds the server of the given targets with their dependencies; it does not listen yet. */
export async function buildTargets(
  config: FoundationConfig,
  targets: ReadonlySet<Target>,
  infrastructure: Pick<Infrastructure, 'databaseAppUrl' | 'redisUrl' | 'serviceKey'>,
  log = createLogger({ level: config.FOUNDATION_LOG_LEVEL, target: [...targets].join(',') }),
): Promise<RunningTargets> {
  // Before any connection is opened: a deployment without its master key stops here, naming the variables.
  const masterKeys = targets.has('secrets') ? await masterKeySource(config) : undefined;
  const inProcess = createDeferredTransportFactory();
  /** Clients that call other services as `caller`, proving it with a service token. */
  const clientsOf = (caller: string) =>
    createServiceClients(config, targets, inProcess.factory, new ServiceTokenIssuer(infrastructure.serviceKey, caller));
  // The kit's own calls (keys, API tokens, memberships) speak for the whole process.
  const clients = clientsOf([...targets].join('+'));
  const redis = new Redis(infrastructure.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  watchConnection(redis, log);
  await redis.connect();
  const catalog = createBuiltinCatalog();
  const modules: ServiceModule[] = [createMetaModule(PLATFORM_VERSION, catalog)];
  const database = { databaseUrl: infrastructure.databaseAppUrl, databasePoolMax: config.FOUNDATION_DATABASE_POOL_MAX };
  const connectorLimits: ConnectorLimits = {
    policy: {
      allowLoopback: config.FOUNDATION_CONNECTOR_ALLOW_LOOPBACK,
      allowPrivate: config.FOUNDATION_CONNECTOR_ALLOW_PRIVATE,
      allowedHosts: config.FOUNDATION_CONNECTOR_ALLOWED_HOSTS,
    },
    timeoutMs: config.FOUNDATION_CONNECTOR_TIMEOUT,
    maxResponseBytes: config.FOUNDATION_CONNECTOR_MAX_RESPONSE_BYTES,
    maxRedirects: config.FOUNDATION_CONNECTOR_MAX_REDIRECTS,
    baseUrls: { github: config.FOUNDATION_GITHUB_API_URL },
  };
  if (targets.has('auth')) {
    modules.push(
      await createAuthModule({
        ...database,
        redis,
        accessTokenTtlMs: config.FOUNDATION_ACCESS_TOKEN_TTL,
        refreshTokenTtlMs: config.FOUNDATION_REFRESH_TOKEN_TTL,
        loginRateLimit: {
          perAccount: config.FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ACCOUNT,
          perAddress: config.FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ADDRESS,
          windowMs: config.FOUNDATION_LOGIN_WINDOW,
        },
      }),
    );
  }
  if (targets.has('org')) modules.push(await createOrgModule({ ...database, auth: clientsOf('org').auth }));
  if (masterKeys) modules.push(await createSecretsModule({ ...database, masterKeys, log }));
  if (targets.has('workflow')) {
    modules.push(
      await createWorkflowModule({
        ...database,
        redisUrl: infrastructure.redisUrl,
        redis,
        catalog,
        log,
        leases: {
          leaseMs: config.FOUNDATION_RUN_LEASE,
          orgMaxRunning: config.FOUNDATION_ORG_MAX_RUNNING_RUNS,
          maxClaims: config.FOUNDATION_RUN_MAX_CLAIMS,
          capacityRetryMs: CAPACITY_RETRY_MS,
        },
        reconciler: {
          intervalMs: config.FOUNDATION_RECONCILE_INTERVAL,
          queuedGraceMs: config.FOUNDATION_RECONCILE_INTERVAL,
          leaseGraceMs: config.FOUNDATION_RUN_LEASE,
          batchSize: RECONCILE_BATCH,
        },
        eventPayloadMaxBytes: config.FOUNDATION_EVENT_PAYLOAD_MAX_BYTES,
        enqueueTimeoutMs: config.FOUNDATION_ENQUEUE_TIMEOUT,
        webhookBodyLimit: `${config.FOUNDATION_WEBHOOK_MAX_BYTES}b`,
        scheduleResyncIntervalMs: config.FOUNDATION_SCHEDULE_RESYNC_INTERVAL,
      }),
    );
  }
  if (targets.has('session')) {
    modules.push(
      await createSessionModule({
        ...database,
        redisUrl: infrastructure.redisUrl,
        redis,
        tasks: clientsOf('session').tasks,
        brainCallTimeoutMs: BRAIN_CALL_TIMEOUT_MS,
        log,
      }),
    );
  }
  if (targets.has('brain')) {
    const brain = clientsOf('brain');
    modules.push(
      await createBrainModule({
        ...database,
        redisUrl: infrastructure.redisUrl,
        redis,
        log,
        heartbeatIntervalMs: config.FOUNDATION_BRAIN_HEARTBEAT_INTERVAL,
        leaseTtlMs: config.FOUNDATION_TASK_LEASE,
        sweepIntervalMs: config.FOUNDATION_TASK_SWEEP_INTERVAL,
        pairingRateLimit: { maxFailuresPerAddress: config.FOUNDATION_PAIRING_MAX_ATTEMPTS_PER_ADDRESS, windowMs: config.FOUNDATION_PAIRING_WINDOW },
        catalog,
        connectors: connectorLimits,
        sink: brain.sessionTaskSink,
        secrets: brain.secrets,
        agentRuns: brain.agentRuns,
      }),
    );
  }
  if (targets.has('worker')) {
    const execution = clientsOf('execution');
    modules.push(
      await createExecutionModule({
        worker: {
          redisUrl: infrastructure.redisUrl,
          concurrency: config.FOUNDATION_WORKER_CONCURRENCY,
          leaseMs: config.FOUNDATION_RUN_LEASE,
          stalledIntervalMs: config.FOUNDATION_WORKER_STALLED_INTERVAL,
        },
        catalog,
        connectors: connectorLimits,
        progress: execution.runProgress,
        secrets: execution.secrets,
        agentRuns: execution.agentRuns,
        log,
      }),
    );
  }

  const accessTokens = new AccessTokenVerifier({
    fetchJwks: async () => JSON.parse((await clients.auth.getJwks({})).jwksJson),
    maxAgeMs: config.FOUNDATION_JWKS_MAX_AGE,
    refetchCooldownMs: config.FOUNDATION_JWKS_REFETCH_COOLDOWN,
  });
  const server = new FoundationServer({
    modules,
    log,
    metrics: new RpcMetrics(),
    readMaxBytes: config.FOUNDATION_READ_MAX_BYTES,
    shutdownGraceMs: config.FOUNDATION_SHUTDOWN_GRACE,
    trustForwardedFor: config.FOUNDATION_TRUST_FORWARDED_FOR,
    interceptors: [
      createAuthnInterceptor({
        accessTokens,
        authenticateApiToken: (token) => clients.auth.authenticateApiToken({ token }),
        apiTokenCacheTtlMs: config.FOUNDATION_API_TOKEN_CACHE_TTL,
        serviceTokens: new ServiceTokenVerifier(infrastructure.serviceKey),
      }),
      createTenantInterceptor({
        checkMembership: async (caller, orgId) => {
          const { role } = await clients.org.checkMembership({ orgId, userId: caller.userId });
          const tenantRole = roleFromProto(role);
          if (!tenantRole) throw new Error(`the org service answered an unknown role ${role}`);
          return tenantRole;
        },
        membershipCacheTtlMs: config.FOUNDATION_MEMBERSHIP_CACHE_TTL,
      }),
    ],
  });
  inProcess.resolve((interceptors) => server.inProcessTransport(interceptors));
  let closing: Promise<void> | undefined;
  return {
    server,
    log,
    modules,
    // Once: a second close (a signal during shutdown, a test's cleanup) waits for the first.
    close: () =>
      (closing ??= (async () => {
        await server.close();
        redis.disconnect();
      })()),
  };
}

/** Logs when Redis goes away and comes back, once per change (ioredis reports every failed retry). */
function watchConnection(redis: Redis, log: Logger): void {
  let reachable = true;
  redis.on('ready', () => {
    if (!reachable) log.info('Redis is reachable again');
    reachable = true;
  });
  redis.on('error', (error: Error) => {
    if (reachable) log.warn({ error: error.message }, 'Redis is unreachable; retrying');
    reachable = false;
  });
}
