import { durationMs, parseEnvConfig, port } from '@foundation/kit';
import { decodeMasterKey, MASTER_KEY_FORMAT } from '@foundation/secrets';
import { z } from 'zod';

const flag = () => z.enum(['true', 'false']).transform((v) => v === 'true');
const count = () => z.coerce.number().int().min(1);
const url = () => z.url();

/**
 * Every setting of a Foundation process, read from the environment once in `main`. The README's
 * configuration table documents each; keep the two in step.
 */
export const configSchema = z.object({
  /** Address the server binds. */
  FOUNDATION_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port for gRPC, gRPC-Web, Connect and the HTTP routes; 0 picks a free one. */
  FOUNDATION_PORT: port().default(8080),
  FOUNDATION_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where `npm start` keeps embedded PostgreSQL and Redis data. */
  FOUNDATION_DATA_DIR: z.string().min(1).default('.foundation'),
  /** The schema owner's connection, for migrations. Unset: embedded PostgreSQL under the data dir. */
  DATABASE_URL: url().optional(),
  /** The app role's connection, for services (non-owner, so row-level security applies). */
  FOUNDATION_DATABASE_APP_URL: url().optional(),
  FOUNDATION_DATABASE_POOL_MAX: count().default(10),
  /** Run migrations when `start` begins (a Kubernetes deployment runs `foundation migrate` as a job instead). */
  FOUNDATION_MIGRATE_ON_START: flag().default(true),
  /** Unset: a redis-server from PATH, started on a free port with data under the data dir. */
  FOUNDATION_REDIS_URL: url().optional(),
  /**
   * The deployment's shared secret that signs service tokens between Foundation processes (≥ 32 random
   * characters). Unset with embedded PostgreSQL: generated into the data dir; otherwise required.
   */
  FOUNDATION_SERVICE_KEY: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  /**
   * The keyring file of master keys that wrap the orgs' secret data keys (JSON, mode 0600; see
   * docs/secrets.md); `foundation secrets rotate-master-key` adds keys to it. Unset with embedded
   * PostgreSQL: generated into the data dir; otherwise this or FOUNDATION_MASTER_KEY is required by the
   * secrets service.
   */
  FOUNDATION_MASTER_KEY_FILE: z.string().min(1).optional(),
  /** One master key instead of a keyring file; it cannot be rotated in place. */
  FOUNDATION_MASTER_KEY: z
    .string()
    .refine((text) => decodeMasterKey(text) !== undefined, `must be ${MASTER_KEY_FORMAT}`)
    .optional(),
  /** Where other processes serve a service this process does not run (split mode). */
  FOUNDATION_AUTH_URL: url().optional(),
  FOUNDATION_ORG_URL: url().optional(),
  FOUNDATION_SECRETS_URL: url().optional(),
  FOUNDATION_WORKFLOW_URL: url().optional(),
  FOUNDATION_SESSION_URL: url().optional(),
  FOUNDATION_BRAIN_URL: url().optional(),
  FOUNDATION_ACCESS_TOKEN_TTL: durationMs().default(600_000),
  FOUNDATION_REFRESH_TOKEN_TTL: durationMs().default(30 * 86_400_000),
  FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ACCOUNT: count().default(10),
  FOUNDATION_LOGIN_MAX_ATTEMPTS_PER_ADDRESS: count().default(100),
  FOUNDATION_LOGIN_WINDOW: durationMs().default(900_000),
  /** How long a verified API token or membership is reused before asking again (revocation delay). */
  FOUNDATION_API_TOKEN_CACHE_TTL: durationMs().default(10_000),
  FOUNDATION_MEMBERSHIP_CACHE_TTL: durationMs().default(5_000),
  FOUNDATION_JWKS_MAX_AGE: durationMs().default(300_000),
  FOUNDATION_JWKS_REFETCH_COOLDOWN: durationMs().default(10_000),
  /** Largest request message in bytes. */
  FOUNDATION_READ_MAX_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  FOUNDATION_SHUTDOWN_GRACE: durationMs().default(10_000),
  /** Trust X-Forwarded-For for client addresses (only behind Envoy or another proxy that sets it). */
  FOUNDATION_TRUST_FORWARDED_FOR: flag().default(false),
  /** Runs one worker process executes at once. */
  FOUNDATION_WORKER_CONCURRENCY: count().default(8),
  /** A worker's lease on a run; a run whose worker died is taken over about this long after. */
  FOUNDATION_RUN_LEASE: durationMs().default(30_000),
  /** How often workers look for runs whose worker died. */
  FOUNDATION_WORKER_STALLED_INTERVAL: durationMs().default(15_000),
  /** Runs of one organization running at once, across all workers. */
  FOUNDATION_ORG_MAX_RUNNING_RUNS: count().default(20),
  /** Times a run may be taken (first claim and recoveries) before it fails as unrecoverable. */
  FOUNDATION_RUN_MAX_CLAIMS: count().default(5),
  /** How often node-agents send a heartbeat to the brain; a node silent for three intervals is offline. */
  FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: durationMs().default(10_000),
  /** How long a node's heartbeat keeps a task its; a task whose lease lapses is reassigned or failed. */
  FOUNDATION_TASK_LEASE: durationMs().default(60_000),
  /** How often the brain looks for lapsed task leases (and offers pending tasks again). */
  FOUNDATION_TASK_SWEEP_INTERVAL: durationMs().default(5_000),
  /** Wrong pairing codes one client address may send per window before Pair answers RATE_LIMITED. */
  FOUNDATION_PAIRING_MAX_ATTEMPTS_PER_ADDRESS: count().default(20),
  FOUNDATION_PAIRING_WINDOW: durationMs().default(900_000),
  /** How often the reconciler looks for runs no worker holds. */
  FOUNDATION_RECONCILE_INTERVAL: durationMs().default(15_000),
  /** How often the schedules in Redis are compared with the published workflows and corrected. */
  FOUNDATION_SCHEDULE_RESYNC_INTERVAL: durationMs().pipe(z.number().min(1_000, 'must be at least 1s')).default(300_000),
  /** Largest run event payload kept whole; larger ones are truncated with a marker. */
  FOUNDATION_EVENT_PAYLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(64 * 1024),
  /** How long StartRun waits for Redis before answering QUEUE_UNAVAILABLE. */
  FOUNDATION_ENQUEUE_TIMEOUT: durationMs().default(1_000),
  /** Largest webhook body (bytes). */
  FOUNDATION_WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  /** Connector actions may reach loopback / private addresses (SSRF guard off for them: test setups only). */
  FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: flag().default(false),
  FOUNDATION_CONNECTOR_ALLOW_PRIVATE: flag().default(false),
  /** Comma-separated host names exempt from the loopback and private checks, e.g. an internal API. */
  FOUNDATION_CONNECTOR_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((text) => text.split(',').map((h) => h.trim()).filter((h) => h !== '')),
  /** Budget of one connector action, all requests and redirects included. */
  FOUNDATION_CONNECTOR_TIMEOUT: durationMs().default(30_000),
  FOUNDATION_CONNECTOR_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  FOUNDATION_CONNECTOR_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  /** The GitHub connector's API (GitHub Enterprise: https://host/api/v3). */
  FOUNDATION_GITHUB_API_URL: url().optional(),
});

export type FoundationConfig = z.output<typeof configSchema>;

export function readConfig(env: NodeJS.ProcessEnv): FoundationConfig {
  return parseEnvConfig(configSchema, env);
}
