import type pg from 'pg';
import { validate as validateUuid } from 'uuid';
import { ORG_ID_SETTING } from './scope-settings.js';

/** A tenant function as a migration declares it (see `tenantFunctionSql`). */
export interface TenantFunction {
  /** `schema.name`, lower case. */
  name: string;
  /** The parameters after the org id, as SQL (`'task_id uuid, lease uuid'`); the body names them qualified (`held_task.task_id`). */
  params: string;
  /** What it returns, as SQL: `setof brain.tasks`, `boolean`. */
  returns: string;
  /** PL/pgSQL statements that run once the org is set, ending in the RETURN its `returns` asks for. */
  body: string;
}

const FUNCTION_NAME = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/**
 * The SQL (for a migration) creating a tenant function: a SECURITY INVOKER PL/pgSQL function whose first
 * parameter is the org id, which it sets (as `withTenantSql` does) before running `body`. Called alone,
 * outside a transaction (`callTenantFunction`), it is one statement: one round trip to PostgreSQL instead
 * of the three or more of a tenant transaction (begin and the org, the statements, commit), for the hot
 * paths that change or read one thing.
 *
 * Row-level security holds as in a tenant transaction: the function runs as its caller (the app role),
 * so every table's policy applies, and shows and accepts only the org it was given. The org is set as
 * `withTenantSql` sets it, for the rest of the transaction, which for a statement on its own ends with the
 * function: it never outlives the call on a pooled connection. Never call one inside a transaction (it
 * would change the org of what follows); `callTenantFunction` does not. The function is VOLATILE, so each of
 * its statements sees what committed before it started, as the statements of a transaction at READ
 * COMMITTED do (a lock, then a read that must see what the lock's holder committed). Parameters and
 * columns may share names: `#variable_conflict use_column` makes a bare name the column, so the body
 * qualifies parameters with the function's name.
 */
export function tenantFunctionSql(fn: TenantFunction): string {
  if (!FUNCTION_NAME.test(fn.name)) throw new TypeError(`a tenant function is named schema.name in lower case, got ${JSON.stringify(fn.name)}`);
  const [schema, name] = fn.name.split('.');
  const params = fn.params.trim() === '' ? 'org_id uuid' : `org_id uuid, ${fn.params}`;
  return `create function ${fn.name}(${params})
    returns ${fn.returns}
    language plpgsql volatile security invoker
    set search_path = ${schema}, pg_temp
    as $fn$
    #variable_conflict use_column
    begin
      perform set_config('${ORG_ID_SETTING}', ${name}.org_id::text, true);
      ${fn.body}
    end
    $fn$`;
}

/**
 * Calls a tenant function (see `tenantFunctionSql`) for `orgId` on its own, outside any transaction: one
 * round trip. Its rows, as `select * from name(…)` gives them (a function returning a scalar gives one
 * column named after it). Everything the function does commits or fails as a whole.
 */
export async function callTenantFunction<Row extends object = Record<string, unknown>>(
  pool: pg.Pool,
  orgId: string,
  name: string,
  args: unknown[],
): Promise<Row[]> {
  if (!validateUuid(orgId)) throw new TypeError(`orgId must be a UUID, got ${JSON.stringify(orgId)}`);
  if (!FUNCTION_NAME.test(name)) throw new TypeError(`a tenant function is named schema.name in lower case, got ${JSON.stringify(name)}`);
  const placeholders = args.map((_, i) => `$${i + 2}`);
  const { rows } = await pool.query(`select * from ${name}(${['$1', ...placeholders].join(', ')})`, [orgId, ...args]);
  return rows as Row[];
}
