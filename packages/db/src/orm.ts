import type { EntitySchema } from '@mikro-orm/core';
import { MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';

export type OrmOptions = {
  /** Usually the app role's URL: services never connect as the owner. */
  url: string;
  /** Entities are `EntitySchema` definitions, so no decorators or reflection are involved. */
  entities: EntitySchema[];
  /** Connections in the pool; defaults to 10. */
  poolMax?: number;
  /** Logs every query (MikroORM's own logger). */
  debug?: boolean;
};

/**
 * Creates the MikroORM instance a service works with.
 *
 * The global entity manager is locked (`allowGlobalContext: false`): every unit of work must fork it or
 * run in `withTenant`/`withScope`, so identity maps never leak between requests. The database is not
 * created on connect (`ensureDatabase: false`): provisioning does that, and the app role may not.
 */
export function createOrm({ url, entities, poolMax = 10, debug = false }: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities,
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    ensureDatabase: false,
    pool: { min: 0, max: poolMax },
    debug,
  });
}
