import { Code } from '@connectrpc/connect';
import { Role } from '@foundation/contracts';
import type { Tenant, TenantRole } from './request-context.js';
import { rpcError } from './rpc-error.js';

const TO_PROTO: Record<TenantRole, Role> = { owner: Role.OWNER, admin: Role.ADMIN, member: Role.MEMBER };

export function roleToProto(role: TenantRole): Role {
  return TO_PROTO[role];
}

/** The tenant role of a proto role, or undefined for ROLE_UNSPECIFIED and unknown numbers. */
export function roleFromProto(role: Role): TenantRole | undefined {
  switch (role) {
    case Role.OWNER:
      return 'owner';
    case Role.ADMIN:
      return 'admin';
    case Role.MEMBER:
      return 'member';
    default:
      return undefined;
  }
}

/**
 * PERMISSION_DENIED (ROLE_INSUFFICIENT) unless the caller is an owner or admin of the tenant: the rule for
 * changing what an organization shares (secrets, workflows). `action` completes "only an owner or admin
 * may …".
 */
export function assertOwnerOrAdmin(tenant: Tenant, action: string): void {
  if (tenant.role === 'member') {
    throw rpcError(Code.PermissionDenied, 'ROLE_INSUFFICIENT', `only an owner or admin may ${action}; your role is member`);
  }
}
