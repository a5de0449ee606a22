export { Migration } from '@mikro-orm/migrations';
export {
  DEFAULT_APP_ROLE,
  DEFAULT_OWNER_ROLE,
  provisionDatabase,
  type ProvisionedDatabase,
  type ProvisioningOptions,
} from './database-provisioning.js';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type EmbeddedPostgresServer,
} from './embedded-postgres-server.js';
export { findFreePort } from './free-port.js';
export { runMigrations, type RunMigrationsOptions } from './migration-runner.js';
export { createOrm, type OrmOptions } from './orm.js';
export { postgresUrl, type PostgresUrlParts } from './postgres-url.js';
export { type AppliedMigration, type ServiceMigrations } from './schema-migrator.js';
export { readOrCreateSecretFile } from './secret-file.js';
export { withSqlClient } from './sql-client.js';
export { callTenantFunction, tenantFunctionSql, type TenantFunction } from './tenant-function.js';
export { tenantRlsSql } from './tenant-rls-sql.js';
export { dateOf, optionalDateOf } from './sql-values.js';
export {
  createSqlPool,
  isUniqueViolation,
  querySql,
  UNIQUE_VIOLATION,
  withSqlTransaction,
  withTenantSql,
  type SqlTransaction,
} from './tenant-sql.js';
export { withScope, withTenant, withUser, type Scope } from './tenant-transaction.js';
export {
  TEST_DATABASE_URL_VARIABLE,
  createTestDatabase,
  stopTestPostgres,
  type TestDatabase,
  type TestDatabaseOptions,
} from './test-database.js';
