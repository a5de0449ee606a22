import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, type Client, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import {
  MemberSchema,
  OrgSchema,
  type AddMemberRequest,
  type AuthService,
  type CheckMembershipRequest,
  type CreateOrgRequest,
  type ListMembersRequest,
  type ListMyOrgsRequest,
  type OrgService,
  type RemoveMemberRequest,
  type UpdateMemberRoleRequest,
} from '@foundation/contracts';
import {
  assertValid,
  nameViolations,
  pageOf,
  readPage,
  rpcError,
  requireCaller,
  requireTenant,
  roleFromProto,
  roleToProto,
  uuidViolations,
} from '@foundation/kit';
import type { Membership, Org } from './entities.js';
import type { Account, MembershipStore } from './membership-store.js';
import { assertMayManage } from './roles.js';
import { slugViolations } from './slug.js';

export class OrgServiceImpl implements ServiceImpl<typeof OrgService> {
  constructor(
    private readonly store: MembershipStore,
    private readonly auth: Client<typeof AuthService>,
  ) {}

  async createOrg(req: CreateOrgRequest, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    assertValid([...nameViolations('name', req.name), ...slugViolations('slug', req.slug)]);
    const me = await this.auth.getMe({}, { headers: { authorization: caller.authorization } });
    const owner: Account = { userId: caller.userId, email: me.user?.email ?? '', displayName: me.user?.displayName ?? '' };
    return { org: orgMessage(await this.store.createOrg(req.name.trim(), req.slug, owner)) };
  }

  async listMyOrgs(req: ListMyOrgsRequest, ctx: HandlerContext) {
    const caller = requireCaller(ctx);
    const window = readPage(req.page);
    const page = pageOf(await this.store.listOrgsOf(caller.userId, window), window, (m) => ({ key: m.org.id, id: m.org.id }));
    return {
      memberships: page.items.map((m) => ({ org: orgMessage(m.org), role: roleToProto(m.role) })),
      page: { nextPageToken: page.nextPageToken },
    };
  }

  async getOrg(_req: unknown, ctx: HandlerContext) {
    return { org: orgMessage(await this.store.getOrg(requireTenant(ctx).orgId)) };
  }

  async listMembers(req: ListMembersRequest, ctx: HandlerContext) {
    const window = readPage(req.page, 'page', isJoinTimeKey);
    const rows = await this.store.listMembers(requireTenant(ctx).orgId, window);
    const page = pageOf(rows, window, (m) => ({ key: m.createdAt.toISOString(), id: m.userId }));
    return { members: page.items.map(memberMessage), page: { nextPageToken: page.nextPageToken } };
  }

  async addMember(req: AddMemberRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    const role = roleFromProto(req.role);
    assertValid([
      ...(req.email.trim() === '' ? [{ field: 'email', description: 'is required' }] : []),
      ...(role ? [] : [{ field: 'role', description: 'must be ROLE_OWNER, ROLE_ADMIN or ROLE_MEMBER' }]),
    ]);
    // Authorize before looking the account up, so a member without the right learns nothing about emails.
    assertMayManage(tenant.role, role!);
    const { user } = await this.auth.lookupUser({ email: req.email }, { headers: { authorization: requireCaller(ctx).authorization } });
    const account: Account = { userId: user!.id, email: user!.email, displayName: user!.displayName };
    return { member: memberMessage(await this.store.addMember(tenant.orgId, account, role!)) };
  }

  async updateMemberRole(req: UpdateMemberRoleRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    const role = roleFromProto(req.role);
    assertValid([
      ...uuidViolations('user_id', req.userId),
      ...(role ? [] : [{ field: 'role', description: 'must be ROLE_OWNER, ROLE_ADMIN or ROLE_MEMBER' }]),
    ]);
    return { member: memberMessage(await this.store.updateRole(tenant.orgId, tenant.role, req.userId, role!)) };
  }

  async removeMember(req: RemoveMemberRequest, ctx: HandlerContext) {
    const tenant = requireTenant(ctx);
    assertValid(uuidViolations('user_id', req.userId));
    // Lower case, as the caller's id is: an upper-case UUID of yourself is still leaving, not removing another.
    await this.store.removeMember(tenant.orgId, { userId: requireCaller(ctx).userId, role: tenant.role }, req.userId.toLowerCase());
    return {};
  }

  async checkMembership(req: CheckMembershipRequest) {
    assertValid([...uuidViolations('org_id', req.orgId), ...uuidViolations('user_id', req.userId)]);
    const role = await this.store.roleOf(req.orgId.toLowerCase(), req.userId.toLowerCase());
    if (!role) throw rpcError(Code.PermissionDenied, 'NOT_A_MEMBER', 'you are not a member of the organization in X-Org-Id');
    return { role: roleToProto(role) };
  }

}

/** ListMembers pages by join time: its cursor key is a timestamp as `toISOString()` writes it. */
function isJoinTimeKey(key: string): boolean {
  const time = new Date(key);
  return !Number.isNaN(time.getTime()) && time.toISOString() === key;
}

function orgMessage(org: Org) {
  return create(OrgSchema, { id: org.id, name: org.name, slug: org.slug, createTime: timestampFromDate(org.createdAt) });
}

function memberMessage(m: Membership) {
  return create(MemberSchema, {
    userId: m.userId,
    email: m.email,
    displayName: m.displayName,
    role: roleToProto(m.role),
    joinTime: timestampFromDate(m.createdAt),
  });
}
