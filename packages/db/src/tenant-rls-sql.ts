import { escapeIdentifier as id } from 'pg';
import { APP_SCOPE_SCHEMA } from './app-scope-functions.js';

/**
 * Statements for a migration that make `schema.table` tenant-scoped: row-level security enabled and
 * forced (so it binds the table owner too), and a policy `tenant_isolation` that lets a query see and
 * write only rows of the org set by `withTenant`. `WITH CHECK` stops a scoped writer from inserting
 * or moving a row into another org. The table also needs an index leading on the org column, which
 * is left to the migration because it knows the table's other keys.
 *
 * Usage inside a migration: `tenantRlsSql('workflow', 'runs').forEach((sql) => this.addSql(sql))`.
 */
export function tenantRlsSql(schema: string, table: string, orgColumn = 'org_id'): string[] {
  const target = `${id(schema)}.${id(table)}`;
  const sameOrg = `${id(orgColumn)} = (SELECT ${id(APP_SCOPE_SCHEMA)}.current_org_id())`;
  return [
    `ALTER TABLE ${target} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${target} FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON ${target} USING (${sameOrg}) WITH CHECK (${sameOrg})`,
  ];
}
