import { escapeIdentifier as id } from 'pg';
import { MIGRATIONS_TABLE } from './schema-migrator.js';

const DML = 'SELECT, INSERT, UPDATE, DELETE';

/**
 * SQL (run as the owner role after a service's migrations) that lets `appRole` use the service's
 * schema: data access on every table and sequence, never DDL, TRUNCATE or ownership.
 *
 * The grants are kept here rather than in migrations so migrations never need the app role's name.
 * Default privileges cover tables a later migration creates even before the runner's next pass. The
 * migrations table is the one exception: the app role must not be able to rewrite migration history.
 */
export function serviceSchemaGrantsSql(schema: string, appRole: string): string[] {
  const s = id(schema);
  const app = id(appRole);
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${app}`,
    `GRANT ${DML} ON ALL TABLES IN SCHEMA ${s} TO ${app}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT ${DML} ON TABLES TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${app}`,
    `REVOKE ALL ON TABLE ${s}.${id(MIGRATIONS_TABLE)} FROM ${app}`,
    // The id sequence of MikroORM's migrations table (a knex `increments()` column).
    `REVOKE ALL ON SEQUENCE ${s}.${id(`${MIGRATIONS_TABLE}_id_seq`)} FROM ${app}`,
  ];
}
