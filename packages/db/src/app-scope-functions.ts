import { escapeIdentifier as id, escapeLiteral as literal } from 'pg';
import { ORG_ID_SETTING, USER_ID_SETTING } from './scope-settings.js';

/** The schema shared by all services for the scope functions their RLS policies call. */
export const APP_SCOPE_SCHEMA = 'app';

/**
 * SQL (run as the owner role) that creates `app.current_org_id()` and `app.current_user_id()` and
 * lets `appRole` call them.
 *
 * They are `STABLE`, so a policy written as `org_id = (select app.current_org_id())` evaluates them once
 * per query rather than once per row. An unset or empty setting yields NULL, which matches no row:
 * a connection that never entered a scope sees nothing. `CREATE OR REPLACE` keeps this idempotent.
 */
export function appScopeFunctionsSql(appRole: string): string[] {
  const schema = id(APP_SCOPE_SCHEMA);
  const scopeFunction = (name: string, setting: string) =>
    `CREATE OR REPLACE FUNCTION ${schema}.${name}() RETURNS uuid LANGUAGE sql STABLE ` +
    `AS $$ SELECT nullif(current_setting(${literal(setting)}, true), '')::uuid $$`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    scopeFunction('current_org_id', ORG_ID_SETTING),
    scopeFunction('current_user_id', USER_ID_SETTING),
    `GRANT USAGE ON SCHEMA ${schema} TO ${id(appRole)}`,
    `GRANT EXECUTE ON FUNCTION ${schema}.current_org_id(), ${schema}.current_user_id() TO ${id(appRole)}`,
  ];
}
