import { EntitySchema } from '@mikro-orm/core';
import type { TenantRole } from '@foundation/kit';

export const ORG_SCHEMA = 'org';

export interface Org {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
}

export const OrgEntity = new EntitySchema<Org>({
  name: 'Org',
  schema: ORG_SCHEMA,
  tableName: 'orgs',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string' },
    slug: { type: 'string' },
    createdAt: { type: 'Date' },
  },
});

/** A user's membership; email and display name are copied from the account when added, for listing. */
export interface Membership {
  orgId: string;
  userId: string;
  email: string;
  displayName: string;
  role: TenantRole;
  createdAt: Date;
}

export const MembershipEntity = new EntitySchema<Membership>({
  name: 'Membership',
  schema: ORG_SCHEMA,
  tableName: 'memberships',
  properties: {
    orgId: { type: 'uuid', primary: true },
    userId: { type: 'uuid', primary: true },
    email: { type: 'string' },
    displayName: { type: 'string' },
    role: { type: 'string' },
    createdAt: { type: 'Date' },
  },
});

export const ORG_ENTITIES = [OrgEntity, MembershipEntity];
