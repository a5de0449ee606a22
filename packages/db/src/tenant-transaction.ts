import type { EntityManager } from '@mikro-orm/postgresql';
import { validate as validateUuid } from 'uuid';
import { ORG_ID_SETTING, USER_ID_SETTING } from './scope-settings.js';

/** Who a transaction acts for; each id set here is visible to RLS policies through `app.*()`. */
export type Scope = { orgId?: string; userId?: string };


/**
 * Runs `work` in a new transaction whose row-level security scope is `scope`.
 *
 * The ids are set with `set_config(..., true)`, i.e. `SET LOCAL`: they end with the transaction, so a
 * pooled connection never carries one request's org into the next. Ids are checked to be UUIDs before
 * any query (a `TypeError` otherwise). It must open the transaction itself: inside an outer one, the
 * setting would outlive this call until the outer transaction ends, so that throws instead; pass both
 * ids to one `withScope` when a unit of work needs org and user.
 */
export async function withScope<T>(em: EntityManager, scope: Scope, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const settings: [string, string][] = [];
  if (scope.orgId !== undefined) settings.push([ORG_ID_SETTING, assertUuid('orgId', scope.orgId)]);
  if (scope.userId !== undefined) settings.push([USER_ID_SETTING, assertUuid('userId', scope.userId)]);
  if (em.isInTransaction()) {
    throw new Error('withScope must open its own transaction; it was called inside another one');
  }
  return em.transactional(async (tx) => {
    for (const [name, value] of settings) {
      await tx.execute('select set_config(?, ?, true)', [name, value]);
    }
    return work(tx);
  });
}

/** Runs `work` in a transaction scoped to one org: tenant tables show and accept only its rows. */
export function withTenant<T>(em: EntityManager, orgId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
  return withScope(em, { orgId }, work);
}

/** Runs `work` in a transaction scoped to one user, for policies such as "my memberships". */
export function withUser<T>(em: EntityManager, userId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
  return withScope(em, { userId }, work);
}

function assertUuid(name: string, value: string): string {
  if (!validateUuid(value)) throw new TypeError(`${name} must be a UUID, got ${JSON.stringify(value)}`);
  return value;
}
