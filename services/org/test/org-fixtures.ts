import { randomBytes } from 'node:crypto';
import type { ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema, Role, type Org } from '@foundation/contracts';
import { postgresUrl } from '@foundation/db';
import { inOrg, signUp, type PlatformClients, type TestAccount, type TestPlatform } from '@foundation/testing';
import pg from 'pg';

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

/** Which connection to open to the platform's database. */
export type DatabaseRole = 'app' | 'owner' | 'superuser';

/**
 * Runs `work` on a plain `pg` connection to the platform's database as `role`: the app role and the schema
 * owner are bound by row-level security; the superuser sees every row (for checking what was written).
 */
export async function withDatabase<T>(platform: TestPlatform, role: DatabaseRole, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const { database } = platform;
  const url = { app: database.appUrl, owner: database.ownerUrl, superuser: postgresUrl(database.superuserUrl, { database: database.database }) }[role];
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
