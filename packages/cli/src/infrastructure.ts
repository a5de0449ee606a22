import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_APP_ROLE, provisionDatabase, readOrCreateSecretFile, runMigrations, startEmbeddedPostgres } from '@foundation/db';
import { ConfigError, type Logger } from '@foundation/kit';
import type { FoundationConfig } from './config.js';
import { startRedisServer } from './redis-server-process.js';
import { ALL_SERVICE_MIGRATIONS } from './service-migrations.js';

const EMBEDDED_DATABASE = 'foundation';

export interface Infrastructure {
  /** The app role's connection string services use. */
  databaseAppUrl: string;
  redisUrl: string;
  /** Signs the service tokens between this deployment's processes. */
  serviceKey: Uint8Array;
  /** Lines for the start banner: what runs where. */
  description: string[];
  stop(): Promise<void>;
}

/**
 * The PostgreSQL and Redis a `start` runs on: the servers named by DATABASE_URL /
 * FOUNDATION_DATABASE_APP_URL / FOUNDATION_REDIS_URL, or else embedded ones kept under the data dir, so
 * `npm start` needs nothing installed but a redis-server. Migrations run first unless disabled.
 */
export async function prepareInfrastructure(config: FoundationConfig, log: Logger): Promise<Infrastructure> {
  const stops: (() => Promise<void>)[] = [];
  const description: string[] = [];
  try {
    // Redis first: a missing redis-server is reported before a database is started for nothing.
    const redisUrl = await prepareRedis(config, stops, description);
    const database = await prepareDatabase(config, log, stops, description);
    if (config.FOUNDATION_MIGRATE_ON_START) await migrate(database, log);
    return {
      databaseAppUrl: database.appUrl,
      redisUrl,
      serviceKey: await serviceKey(config),
      description,
      stop: () => stopAll(stops),
    };
  } catch (e) {
    await stopAll(stops);
    throw e;
  }
}

/**
 * Applies every service's pending migrations as the schema owner, granting data access to the role services
 * connect as: the user of the app URL, which on an operator's server need not be called foundation_app.
 */
export async function migrate({ ownerUrl, appUrl }: { ownerUrl?: string; appUrl: string }, log: Logger): Promise<void> {
  if (!ownerUrl) throw new ConfigError('migrations need the schema owner: set DATABASE_URL');
  const appRole = decodeURIComponent(new URL(appUrl).username) || DEFAULT_APP_ROLE;
  const applied = await runMigrations(ownerUrl, ALL_SERVICE_MIGRATIONS, { appRole, log: (m) => log.info(m) });
  log.info({ applied: applied.length }, applied.length ? 'migrations applied' : 'database schema is up to date');
}

/** The embedded cluster of `npm start`, or the configured servers. */
export async function prepareDatabase(
  config: FoundationConfig,
  log: Logger,
  stops: (() => Promise<void>)[],
  description: string[],
): Promise<{ ownerUrl?: string; appUrl: string }> {
  if (usesExternalDatabase(config)) {
    if (!config.FOUNDATION_DATABASE_APP_URL) {
      throw new ConfigError('DATABASE_URL is set, so FOUNDATION_DATABASE_APP_URL must name the non-owner role services connect as');
    }
    description.push('PostgreSQL: external (DATABASE_URL / FOUNDATION_DATABASE_APP_URL)');
    return { ownerUrl: config.DATABASE_URL, appUrl: config.FOUNDATION_DATABASE_APP_URL };
  }
  const dataDir = await ensureDataDir(config);
  log.info({ dataDir }, 'starting embedded PostgreSQL');
  const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), persistent: true });
  stops.push(() => postgres.stop());
  const provisioned = await provisionDatabase(postgres.superuserUrl, {
    database: EMBEDDED_DATABASE,
    ownerPassword: await readOrCreateSecretFile(join(dataDir, 'owner.password')),
    appPassword: await readOrCreateSecretFile(join(dataDir, 'app.password')),
  });
  description.push(`PostgreSQL: embedded on 127.0.0.1:${postgres.port}, data in ${join(dataDir, 'postgres')}`);
  return provisioned;
}

/**
 * The configured service key; on a laptop (embedded PostgreSQL) one generated once into the data dir. A
 * deployment on its own servers must set it, the same in every process.
 */
async function serviceKey(config: FoundationConfig): Promise<Uint8Array> {
  if (config.FOUNDATION_SERVICE_KEY) return new TextEncoder().encode(config.FOUNDATION_SERVICE_KEY);
  if (usesExternalDatabase(config)) {
    throw new ConfigError('FOUNDATION_SERVICE_KEY must be set (the same random secret of at least 32 characters in every process of the deployment)');
  }
  return new TextEncoder().encode(await readOrCreateSecretFile(join(resolve(config.FOUNDATION_DATA_DIR), 'service.key')));
}

/** Whether the operator named their own PostgreSQL; otherwise `start` runs an embedded one. */
export function usesExternalDatabase(config: FoundationConfig): boolean {
  return config.DATABASE_URL !== undefined || config.FOUNDATION_DATABASE_APP_URL !== undefined;
}

async function prepareRedis(config: FoundationConfig, stops: (() => Promise<void>)[], description: string[]): Promise<string> {
  if (config.FOUNDATION_REDIS_URL) {
    description.push('Redis: external (FOUNDATION_REDIS_URL)');
    return config.FOUNDATION_REDIS_URL;
  }
  const dataDir = join(await ensureDataDir(config), 'redis');
  const redis = await startRedisServer({ dataDir });
  stops.push(() => redis.stop());
  description.push(`Redis: redis-server on 127.0.0.1:${redis.port}, data in ${dataDir}`);
  return redis.url;
}

/** Stops in reverse order of start. */
async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  for (const stop of stops.reverse()) await stop();
}

/**
 * The data dir of the embedded servers, created traversable but not listable by others: as root,
 * PostgreSQL runs as the postgres user and must reach its directory; the secrets beside it are 0600.
 */
async function ensureDataDir(config: FoundationConfig): Promise<string> {
  const dataDir = resolve(config.FOUNDATION_DATA_DIR);
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  return dataDir;
}
