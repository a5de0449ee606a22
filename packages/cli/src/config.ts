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
});

export type FoundationConfig = z.output<typeof configSchema>;

export function readConfig(env: NodeJS.ProcessEnv): FoundationConfig {
  return parseEnvConfig(configSchema, env);
}
