import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeIdentifier as id } from 'pg';
import { DEFAULT_APP_ROLE, DEFAULT_OWNER_ROLE, provisionDatabase } from './database-provisioning.js';
import { startEmbeddedPostgres } from './embedded-postgres-server.js';
import { runMigrations } from './migration-runner.js';
import type { ServiceMigrations } from './schema-migrator.js';
import { withSqlClient } from './sql-client.js';

/** A superuser URL of a server for tests to use instead of starting an embedded one (e.g. on CI). */
export const TEST_DATABASE_URL_VARIABLE = 'FOUNDATION_TEST_DATABASE_URL';

export type TestDatabaseOptions = { services: ServiceMigrations[] };

export type TestDatabase = {
  ownerUrl: string;
  appUrl: string;
  superuserUrl: string;
  database: string;
  ownerRole: string;
  appRole: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
};

type TestServer = {
  superuserUrl: string;
  roles: { ownerRole: string; ownerPassword: string; appRole: string; appPassword: string };
  /** Databases created and not yet dropped, so a shared server can be cleaned up. */
  databases: Set<string>;
  stop(): Promise<void>;
};

let server: Promise<TestServer> | undefined;

/**
 * Creates a fresh, uniquely named database with the owner and app roles and the services' migrations
 * applied, for one test suite.
 *
 * All calls in a test process share one server: an embedded PostgreSQL started on first use (data in
 * the OS temp directory, deleted on stop and at process exit), or the server named by
 * `FOUNDATION_TEST_DATABASE_URL`. Role names carry a per-process suffix, so test runs sharing such a
 * server never reset each other's passwords.
 */
export async function createTestDatabase({ services }: TestDatabaseOptions): Promise<TestDatabase> {
  const { superuserUrl, roles, databases } = await (server ??= startTestServer());
  const database = `foundation_test_${randomBytes(6).toString('hex')}`;
  databases.add(database);
  const { ownerUrl, appUrl } = await provisionDatabase(superuserUrl, { database, ...roles });
  await runMigrations(ownerUrl, services, { appRole: roles.appRole });
  return {
    ownerUrl,
    appUrl,
    superuserUrl,
    database,
    ownerRole: roles.ownerRole,
    appRole: roles.appRole,
    drop: () => dropDatabase(superuserUrl, databases, database),
  };
}

/**
 * Stops the process's test server: an embedded one is shut down and deleted; on a server from
 * `FOUNDATION_TEST_DATABASE_URL`, the databases and roles this process created are dropped.
 */
export async function stopTestPostgres(): Promise<void> {
  const stopping = server;
  server = undefined;
  // A server that failed to start has nothing to stop; createTestDatabase already reported why.
  const started = await stopping?.catch(() => undefined);
  await started?.stop();
}

async function startTestServer(): Promise<TestServer> {
  const suffix = randomBytes(4).toString('hex');
  const roles = {
    ownerRole: `${DEFAULT_OWNER_ROLE}_${suffix}`,
    ownerPassword: randomBytes(18).toString('base64url'),
    appRole: `${DEFAULT_APP_ROLE}_${suffix}`,
    appPassword: randomBytes(18).toString('base64url'),
  };
  const databases = new Set<string>();
  const externalUrl = process.env[TEST_DATABASE_URL_VARIABLE];
  if (externalUrl) {
    const stop = async () => {
      for (const database of databases) await dropDatabase(externalUrl, databases, database);
      await withSqlClient(externalUrl, (client) =>
        client.query(`DROP ROLE IF EXISTS ${id(roles.appRole)}, ${id(roles.ownerRole)}`),
      );
    };
    return { superuserUrl: externalUrl, roles, databases, stop };
  }
  const dataDir = join(tmpdir(), `foundation-test-pg-${suffix}`);
  const embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
  return { superuserUrl: embedded.superuserUrl, roles, databases, stop: embedded.stop };
}

async function dropDatabase(superuserUrl: string, databases: Set<string>, database: string): Promise<void> {
  await withSqlClient(superuserUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${id(database)} WITH (FORCE)`));
  databases.delete(database);
}
