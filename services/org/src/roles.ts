import type { TenantRole } from '@foundation/kit';

/** Whether `actor` may add, change or remove a member who has (or would get) `subject`. */
export function mayManage(actor: TenantRole, subject: TenantRole): boolean {
  if (actor === 'owner') return true;
  return actor === 'admin' && subject !== 'owner';
}
