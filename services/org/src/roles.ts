import { Code } from '@connectrpc/connect';
import { rpcError, type TenantRole } from '@foundation/kit';

/** Whether `actor` may add, change or remove a member who has (or would get) `subject`. */
export function mayManage(actor: TenantRole, subject: TenantRole): boolean {
  if (actor === 'owner') return true;
  return actor === 'admin' && subject !== 'owner';
}

/** Throws PERMISSION_DENIED (ROLE_INSUFFICIENT) unless `actor` may manage a member with role `subject`. */
export function assertMayManage(actor: TenantRole, subject: TenantRole): void {
  if (!mayManage(actor, subject)) {
    const needed = subject === 'owner' ? 'an owner' : 'an owner or admin';
    throw rpcError(Code.PermissionDenied, 'ROLE_INSUFFICIENT', `only ${needed} may do this; your role is ${actor}`);
  }
}
