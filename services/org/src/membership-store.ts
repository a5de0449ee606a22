import { Code } from '@connectrpc/connect';
import { withScope, withTenant } from '@foundation/db';
import { rpcError, type PageWindow, type TenantRole } from '@foundation/kit';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { v7 as uuidv7 } from 'uuid';
import { MembershipEntity, OrgEntity, type Membership, type Org } from './entities.js';
import { assertMayManage } from './roles.js';

/** The account facts a membership row keeps. */
export interface Account {
  userId: string;
  email: string;
  displayName: string;
}

/**
 * Orgs and memberships. Every query runs in a scoped transaction, so row-level security decides what is
 * visible; the checks here are the business rules (roles, the last owner).
 */
export class MembershipStore {
  constructor(private readonly em: EntityManager) {}

  /** Creates the org with `owner` as its first member. */
  createOrg(name: string, slug: string, owner: Account): Promise<Org> {
    const orgId = uuidv7();
    return withScope(this.em.fork(), { orgId }, async (em) => {
      const now = new Date();
      const org = em.create(OrgEntity, { id: orgId, name, slug, createdAt: now });
      try {
        await em.flush();
      } catch (e) {
        if (e instanceof UniqueConstraintViolationException) {
          throw rpcError(Code.AlreadyExists, 'SLUG_TAKEN', `the slug "${slug}" is taken; choose another`, { field: 'slug' });
        }
        throw e;
      }
      // A second flush: the entities declare no relation, so the unit of work would not order the org first.
      em.create(MembershipEntity, { orgId, ...owner, role: 'owner', createdAt: now });
      await em.flush();
      return org;
    });
  }

  /** The orgs `userId` belongs to, oldest first (org ids are UUIDv7). */
  listOrgsOf(userId: string, window: PageWindow): Promise<{ org: Org; role: TenantRole }[]> {
    return withScope(this.em.fork(), { userId }, async (em) => {
      const memberships = await em.find(
        MembershipEntity,
        { userId, ...(window.after && { orgId: { $gt: window.after.id } }) },
        { orderBy: { orgId: 'asc' }, limit: window.limit + 1 },
      );
      const orgs = await em.find(OrgEntity, { id: { $in: memberships.map((m) => m.orgId) } });
      const byId = new Map(orgs.map((o) => [o.id, o]));
      return memberships.flatMap((m) => {
        const org = byId.get(m.orgId);
        return org ? [{ org, role: m.role }] : [];
      });
    });
  }

  getOrg(orgId: string): Promise<Org> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const org = await em.findOne(OrgEntity, { id: orgId });
      if (!org) throw rpcError(Code.NotFound, 'NOT_FOUND', 'the organization no longer exists');
      return org;
    });
  }

  roleOf(orgId: string, userId: string): Promise<TenantRole | undefined> {
    return withTenant(this.em.fork(), orgId, async (em) => (await em.findOne(MembershipEntity, { orgId, userId }))?.role);
  }

  /** Members in join order. */
  listMembers(orgId: string, window: PageWindow): Promise<Membership[]> {
    return withTenant(this.em.fork(), orgId, (em) =>
      em.find(
        MembershipEntity,
        window.after
          ? {
              orgId,
              $or: [
                { createdAt: { $gt: new Date(window.after.key) } },
                { createdAt: new Date(window.after.key), userId: { $gt: window.after.id } },
              ],
            }
          : { orgId },
        { orderBy: { createdAt: 'asc', userId: 'asc' }, limit: window.limit + 1 },
      ),
    );
  }

  /** Adds `account`; the caller has checked that the actor may grant `role`. */
  addMember(orgId: string, account: Account, role: TenantRole): Promise<Membership> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const membership = em.create(MembershipEntity, { orgId, ...account, role, createdAt: new Date() });
      try {
        await em.flush();
      } catch (e) {
        if (e instanceof UniqueConstraintViolationException) {
          throw rpcError(Code.AlreadyExists, 'ALREADY_MEMBER', `${account.email} is already a member of this organization`);
        }
        throw e;
      }
      return membership;
    });
  }

  updateRole(orgId: string, actorRole: TenantRole, userId: string, role: TenantRole): Promise<Membership> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const member = await this.lockedMember(em, orgId, userId);
      assertMayManage(actorRole, member.role);
      assertMayManage(actorRole, role);
      if (member.role === 'owner' && role !== 'owner') await this.assertNotLastOwner(em, orgId);
      member.role = role;
      await em.flush();
      return member;
    });
  }

  /** Removes `userId`; anyone may leave, managing others needs the role. */
  removeMember(orgId: string, actor: { userId: string; role: TenantRole }, userId: string): Promise<void> {
    return withTenant(this.em.fork(), orgId, async (em) => {
      const member = await this.lockedMember(em, orgId, userId);
      if (actor.userId !== userId) assertMayManage(actor.role, member.role);
      if (member.role === 'owner') await this.assertNotLastOwner(em, orgId);
      await em.nativeDelete(MembershipEntity, { orgId, userId });
    });
  }

  private async lockedMember(em: EntityManager, orgId: string, userId: string): Promise<Membership> {
    // Owners are locked together first, so two owners demoting each other cannot both succeed.
    await em.getConnection().execute("select 1 from org.memberships where org_id = ? and role = 'owner' for update", [orgId], 'all', em.getTransactionContext());
    const member = await em.findOne(MembershipEntity, { orgId, userId });
    if (!member) throw rpcError(Code.NotFound, 'NOT_FOUND', `user ${userId} is not a member of this organization`);
    return member;
  }

  private async assertNotLastOwner(em: EntityManager, orgId: string): Promise<void> {
    const owners = await em.count(MembershipEntity, { orgId, role: 'owner' });
    if (owners <= 1) {
      throw rpcError(Code.FailedPrecondition, 'LAST_OWNER', 'an organization needs an owner: make another member owner first');
    }
  }
}
