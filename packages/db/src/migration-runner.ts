import { escapeIdentifier as id, type Client } from 'pg';
import { appScopeFunctionsSql } from './app-scope-functions.js';
import { migrateSchema, type AppliedMigration, type ServiceMigrations } from './schema-migrator.js';
import { serviceSchemaGrantsSql } from './service-schema-grants.js';
import { withSqlClient } from './sql-client.js';

export type RunMigrationsOptions = {
  /** The role services connect as; it gets data access to every service schema. */
  appRole: string;
  log?: (message: string) => void;
};

// Lower-case identifiers only: they read the same quoted or not, in SQL and in `search_path`.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const RESERVED_SCHEMAS = new Set(['app', 'public', 'information_schema']);
const MIGRATION_LOCK = 'foundation:migrations';

/**
 * Brings the database to the latest schema of every given service, as the owner role.
 *
 * Creates the shared `app` schema with the scope functions, then for each service its schema, its
 * pending migrations and the app role's grants. Idempotent: a second run applies nothing and returns
 * an empty list. Refuses a superuser connection, because objects a superuser creates would not belong
 * to the owner role. Runs under an advisory lock, so services starting together migrate one at a time.
 */
export async function runMigrations(
  ownerUrl: string,
  services: ServiceMigrations[],
  { appRole, log = () => {} }: RunMigrationsOptions,
): Promise<AppliedMigration[]> {
  assertDistinctSchemaNames(services);
  return withSqlClient(ownerUrl, async (client) => {
    await assertNotSuperuser(client);
    // Held until this connection closes, which also covers a failed run.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
    await runAll(client, appScopeFunctionsSql(appRole));
    const applied: AppliedMigration[] = [];
    for (const service of services) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${id(service.schema)}`);
      applied.push(...(await migrateSchema(ownerUrl, service, log)));
      await runAll(client, serviceSchemaGrantsSql(service.schema, appRole));
    }
    return applied;
  });
}

function assertDistinctSchemaNames(services: ServiceMigrations[]): void {
  const seen = new Set<string>();
  for (const { schema } of services) {
    if (!SCHEMA_NAME.test(schema) || RESERVED_SCHEMAS.has(schema) || schema.startsWith('pg_')) {
      throw new TypeError(`"${schema}" cannot be a service schema: use a lower-case name of its own`);
    }
    if (seen.has(schema)) throw new TypeError(`two services claim the schema "${schema}"`);
    seen.add(schema);
  }
}

async function assertNotSuperuser(client: Client): Promise<void> {
  const { rows } = await client.query<{ rolsuper: boolean }>(
    'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
  );
  if (rows[0]?.rolsuper) {
    throw new Error('migrations must run as the database owner role, not as a superuser');
  }
}

async function runAll(client: Client, statements: string[]): Promise<void> {
  for (const sql of statements) await client.query(sql);
}
