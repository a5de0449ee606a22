import { randomBytes } from 'node:crypto';
import { ALL_SERVICE_MIGRATIONS, startRedisServer, type RedisServerProcess } from '@foundation/cli';
import { createTestDatabase, type TestDatabase } from '@foundation/db';
import { createTestKeyringFile } from '@foundation/testing';

export interface ExternalInfrastructure {
  database: TestDatabase;
  redis: RedisServerProcess;
  /** What a `foundation` process needs to use them instead of starting its own. Migrations are already applied. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database on the run's embedded PostgreSQL, a private redis-server and a master keyring
 * file, for `foundation` processes spawned by a test, as an operator would point them at real servers.
 */
export async function startExternalInfrastructure(): Promise<ExternalInfrastructure> {
  const database = await createTestDatabase({ services: ALL_SERVICE_MIGRATIONS });
  const keyring = await createTestKeyringFile();
  let redis: RedisServerProcess;
  try {
    redis = await startRedisServer();
  } catch (e) {
    await keyring.remove();
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
      FOUNDATION_MASTER_KEY_FILE: keyring.path,
    },
    close: async () => {
      await keyring.remove();
      await redis.stop();
      await database.drop();
    },
  };
}
