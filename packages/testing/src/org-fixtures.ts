import { randomBytes } from 'node:crypto';
import type { ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema, Role, type Org } from '@foundation/contracts';
import { inOrg, signUp, type TestAccount } from './accounts.js';
import type { PlatformClients } from './test-platform.js';

/** A slug no other test uses. */
export function uniqueSlug(prefix = 'org'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** An org with one account in each role, all signed up for it. */
export interface OrgWithRoles {
  org: Org;
  owner: TestAccount;
  admin: TestAccount;
  member: TestAccount;
}

/** Signs up an owner, creates an org and adds an admin and a member (through the API, as a user would). */
export async function orgWithRoles(clients: PlatformClients): Promise<OrgWithRoles> {
  const [owner, admin, member] = await Promise.all([
    signUp(clients, 'Owner'),
    signUp(clients, 'Admin'),
    signUp(clients, 'Member'),
  ]);
  const { org } = await clients.org.createOrg({ name: 'Roles Org', slug: uniqueSlug('roles') }, owner.as);
  await clients.org.addMember({ email: admin.email, role: Role.ADMIN }, inOrg(owner, org!.id));
  await clients.org.addMember({ email: member.email, role: Role.MEMBER }, inOrg(owner, org!.id));
  return { org: org!, owner, admin, member };
}

/** The `field` of an INVALID_FIELD error's ErrorInfo: which request field was refused. */
export function invalidFieldOf(error: ConnectError): string | undefined {
  return error.findDetails(ErrorInfoSchema)[0]?.metadata.field;
}
