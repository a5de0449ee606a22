import type { Constructor } from '@mikro-orm/core';
import { Migrator, type Migration } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';

/** One service's schema and its migrations, in the order they must run. */
export type ServiceMigrations = {
  schema: string;
  migrations: { name: string; class: Constructor<Migration> }[];
};

/** A migration that a run applied. */
export type AppliedMigration = { schema: string; name: string };

/** MikroORM's bookkeeping table; one per service schema, so each service's history stays its own. */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';

/**
 * Applies the pending migrations of one service with MikroORM's Migrator, connected as `ownerUrl`.
 *
 * Settings that matter (see the MikroORM 6.6 Migrator source):
 * - `tableName: '<schema>.mikro_orm_migrations'`: the storage splits on the dot and reads and writes
 *   the table in that schema.
 * - `migrationsList`: the classes are given, so nothing is globbed from disk.
 * - `snapshot: false`: otherwise every run that applies something writes a `.snapshot-<db>.json` under
 *   `./migrations` of the working directory (errors silently ignored).
 * - `disableForeignKeys: false`: `true` would emit `set session_replication_role`, which only a
 *   superuser may set.
 * - one transaction for all pending migrations (`allOrNothing`): a failure leaves the schema as it was.
 *
 * `search_path` is the service schema first, so an unqualified `create table` in a migration lands in
 * the service's schema and never in `public`.
 */
export async function migrateSchema(
  ownerUrl: string,
  service: ServiceMigrations,
  log: (message: string) => void,
): Promise<AppliedMigration[]> {
  const { schema } = service;
  const orm = await MikroORM.init({
    clientUrl: ownerUrl,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    ensureDatabase: false,
    extensions: [Migrator],
    pool: { min: 0, max: 1 },
    driverOptions: { connection: { options: `-c search_path=${schema},public` } },
    migrations: {
      tableName: `${schema}.${MIGRATIONS_TABLE}`,
      migrationsList: service.migrations,
      snapshot: false,
      silent: true,
      transactional: true,
      allOrNothing: true,
      disableForeignKeys: false,
    },
  });
  try {
    orm.migrator.on('migrated', ({ name }) => log(`${schema}: applied ${name}`));
    const applied = await orm.migrator.up();
    return applied.map(({ name }) => ({ schema, name }));
  } finally {
    await orm.close();
  }
}
