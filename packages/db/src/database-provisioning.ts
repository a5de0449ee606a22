import { escapeIdentifier as id, escapeLiteral as literal, type Client } from 'pg';
import { postgresUrl } from './postgres-url.js';
import { withSqlClient } from './sql-client.js';

/** Owns the database, the service schemas and everything in them; runs the migrations. */
export const DEFAULT_OWNER_ROLE = 'foundation_owner';
/** What services connect as: owns nothing, so row-level security always applies to it. */
export const DEFAULT_APP_ROLE = 'foundation_app';

export type ProvisioningOptions = {
  database: string;
  ownerPassword: string;
  appPassword: string;
  ownerRole?: string;
  appRole?: string;
};

export type ProvisionedDatabase = { ownerUrl: string; appUrl: string };

// Neither role may get around row-level security or create more roles or databases.
const RESTRICTED = 'LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION';

/**
 * Creates or repairs the two roles and the database that Foundation runs on, as a superuser.
 *
 * Idempotent and converging: an existing role gets the given password and the restricted attributes
 * back, an existing database is given back to the owner role, and the app role loses any membership in
 * the owner role (which would let it `SET ROLE` past row-level security). Roles are cluster-wide, so
 * several databases on one server may share them.
 */
export async function provisionDatabase(superuserUrl: string, options: ProvisioningOptions): Promise<ProvisionedDatabase> {
  const { database, ownerPassword, appPassword } = options;
  const ownerRole = options.ownerRole ?? DEFAULT_OWNER_ROLE;
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  if (ownerRole === appRole) throw new TypeError('the owner and app roles must differ, or RLS binds no one');
  await withSqlClient(superuserUrl, async (client) => {
    await ensureRole(client, ownerRole, ownerPassword);
    await ensureRole(client, appRole, appPassword);
    await client.query(`REVOKE ${id(ownerRole)} FROM ${id(appRole)}`);
    await ensureDatabase(client, database, ownerRole);
  });
  await withSqlClient(postgresUrl(superuserUrl, { database }), async (client) => {
    // PostgreSQL 15+ already does this; older servers and hand-made databases may not.
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  });
  return {
    ownerUrl: postgresUrl(superuserUrl, { user: ownerRole, password: ownerPassword, database }),
    appUrl: postgresUrl(superuserUrl, { user: appRole, password: appPassword, database }),
  };
}

async function ensureRole(client: Client, role: string, password: string): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const verb = exists.rowCount === 0 ? 'CREATE' : 'ALTER';
  await client.query(`${verb} ROLE ${id(role)} WITH ${RESTRICTED} PASSWORD ${literal(password)}`);
}

async function ensureDatabase(client: Client, database: string, ownerRole: string): Promise<void> {
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) {
    await client.query(`CREATE DATABASE ${id(database)} OWNER ${id(ownerRole)} ENCODING 'UTF8' TEMPLATE template0`);
  } else {
    await client.query(`ALTER DATABASE ${id(database)} OWNER TO ${id(ownerRole)}`);
  }
}
