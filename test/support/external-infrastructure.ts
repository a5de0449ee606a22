import { randomBytes } from 'node:crypto';
import { ALL_SERVICE_MIGRATIONS, startRedisServer, type RedisServerProcess } from '@foundation/cli';
import { createTestDatabase, type TestDatabase } from '@foundation/db';

export interface ExternalInfrastructure {
  database: TestDatabase;
  redis: RedisServerProcess;
  /** What a `foundation` process needs to use them instead of starting its own. Migrations are already applied. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database on the run's embedded PostgreSQL and a private redis-server, for `foundation`
 * processes spawned by a test, as an operator would point them at real servers.
 */
export async function startExternalInfrastructure(): Promise<ExternalInfrastructure> {
  const database = await createTestDatabase({ services: ALL_SERVICE_MIGRATIONS });
  let redis: RedisServerProcess;
  try {
    redis = await startRedisServer();
  } catch (e) {
    await database.drop();
    throw e;
  }
  return {
    database,
    redis,
    env: {
      DATABASE_URL: database.ownerUrl,
      FOUNDATION_DATABASE_APP_URL: database.appUrl,
      FOUNDATION_REDIS_URL: redis.url,
      FOUNDATION_SERVICE_KEY: randomBytes(32).toString('base64'),
    },
    close: async () => {
      await redis.stop();
      await database.drop();
    },
  };
}
