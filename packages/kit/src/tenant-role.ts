import { Role } from '@foundation/contracts';
import type { TenantRole } from './request-context.js';

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
